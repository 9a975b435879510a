"""Row locks of the payments app: a top-up is locked before its state is read or changed.

Two callbacks for one payment (a provider's retry meeting its first try, a duplicate sent
by a second server) wait for each other here, so only the first one sees it pending.
The credit account is locked after the payment, always in this order (lock_objects of the
ledger), so a callback and a sweep of stale payments cannot deadlock.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from stammgast.core.errors import NotFound

from .models import TopUpPayment


def top_up_for_update(reference: str) -> TopUpPayment:
    """The active tenant's top-up with this reference, locked (its customer read along,
    not locked)."""
    try:
        return (
            TopUpPayment.objects.select_for_update(no_key=True, of=("self",))
            .select_related("customer")
            .get(reference=reference)
        )
    except TopUpPayment.DoesNotExist:
        raise NotFound(_("There is no such payment."), code="unknown_payment") from None
