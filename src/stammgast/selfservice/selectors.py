"""Reads of the self-service area: a tenant's settings, what a guest still has to accept."""

from __future__ import annotations

from stammgast.privacy import selectors as privacy_selectors
from stammgast.privacy.models import LegalTextKind, Purpose
from stammgast.tenants.models import Tenant

from .models import GuestAccount, SelfServiceSettings


def settings_for(tenant: Tenant) -> SelfServiceSettings:
    """The tenant's settings; the defaults where it saved none."""
    found = SelfServiceSettings.objects.filter(tenant_id=tenant.pk).first()
    return found or SelfServiceSettings(tenant=tenant)


def texts_to_accept(account: GuestAccount) -> list[str]:
    """The purposes (data processing, terms) whose text has a version newer than the one
    the guest accepted."""
    if account.customer_id is None:
        return []
    consents = privacy_selectors.consents_of(account.customer_id)
    due = []
    for purpose, kind in (
        (Purpose.DATA_PROCESSING, LegalTextKind.PRIVACY),
        (Purpose.TERMS, LegalTextKind.TERMS),
    ):
        current = privacy_selectors.current_legal_text(kind)
        if current is None:
            continue
        given = consents.get(purpose)
        if (
            given is None
            or not given.granted
            or given.legal_text_id is None
            or (given.legal_text.version < current.version)
        ):
            due.append(purpose)
    return due
