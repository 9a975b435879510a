"""Reads of consents, their log, the purposes and the legal texts."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import (
    AccessLogEntry,
    Consent,
    ConsentEvent,
    ConsentPurpose,
    ErasureRequest,
    LegalText,
    PrivacySettings,
    Purpose,
)


def purposes() -> list[tuple[str, str]]:
    """(key, label) of every purpose the active tenant asks consent for: the built-in ones,
    then its own."""
    own = [(p.key, p.label) for p in ConsentPurpose.objects.all()]
    return [(p.value, str(p.label)) for p in Purpose] + own


def purpose_keys() -> list[str]:
    return [key for key, _label in purposes()]


def current_legal_text(kind: str) -> LegalText | None:
    return LegalText.objects.filter(kind=kind).order_by("-version").first()


def legal_texts() -> QuerySet[LegalText]:
    return LegalText.objects.order_by("kind", "-version")


def consents_of(customer_id: int) -> dict[str, Consent]:
    """The current consents of a customer by purpose (purposes never answered are absent)."""
    return {
        c.purpose: c
        for c in Consent.objects.filter(customer_id=customer_id).select_related("legal_text")
    }


def consent_log(customer_id: int, *, limit: int | None = None) -> QuerySet[ConsentEvent]:
    qs = ConsentEvent.objects.filter(customer_id=customer_id).select_related("legal_text")
    return qs[:limit] if limit else qs


def customers_consenting(purpose: str) -> QuerySet:
    """The ids of the customers who have granted `purpose` (a subquery for the list filter)."""
    return Consent.objects.filter(purpose=purpose, granted=True).values("customer_id")


def privacy_settings() -> PrivacySettings:
    """The active tenant's privacy settings; the defaults where it saved none."""
    return PrivacySettings.objects.first() or PrivacySettings()


def erasure_requests() -> QuerySet[ErasureRequest]:
    return ErasureRequest.objects.order_by("-received_at", "-id")


def open_erasure_request(customer_id: int) -> ErasureRequest | None:
    return ErasureRequest.objects.filter(
        customer_id=customer_id, state=ErasureRequest.State.RECEIVED
    ).first()


ACCESS_PAGE_MAX = 200


def access_log(
    *, kind: str | None = None, before: int | None = None, limit: int = 50
) -> tuple[list[AccessLogEntry], int | None]:
    """A page of the access log, newest first, and the id to ask for the next page with."""
    qs = AccessLogEntry.objects.order_by("-id")
    if kind:
        qs = qs.filter(kind=kind)
    if before is not None:
        qs = qs.filter(id__lt=before)
    limit = max(1, min(limit, ACCESS_PAGE_MAX))
    rows = list(qs[: limit + 1])
    return rows[:limit], rows[limit - 1].pk if len(rows) > limit else None
