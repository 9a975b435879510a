"""Row locks of pricing, always taken in primary-key order.

Booking a bill's subsidies locks the customer's allowance row before it counts what the
customer has used, so two tills posting at once for the same guest wait for each other
here and the second one counts the first one's use. FOR NO KEY UPDATE: the row's key does
not change, so nothing that refers to the customer need wait for it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError

from stammgast.core import db

from .models import SubsidyAllowance, SubsidyRule


def _ensure_allowances(customer_ids: list[int], tenant_id: int) -> None:
    have = set(
        SubsidyAllowance.objects.filter(customer_id__in=customer_ids).values_list(
            "customer_id", flat=True
        )
    )
    for customer_id in sorted(set(customer_ids) - have):
        try:
            with db.atomic():
                SubsidyAllowance.objects.create(customer_id=customer_id, tenant_id=tenant_id)
        except IntegrityError:
            pass  # made meanwhile by another till: it is there, which is all we need


def subsidy_allowances_for_update(
    customer_ids: Iterable[int], *, tenant_id: int
) -> list[SubsidyAllowance]:
    """The customers' allowance rows (made if missing), locked in primary-key order until
    the transaction ends."""
    ids = sorted(set(customer_ids))

    def lock() -> list[SubsidyAllowance]:
        qs = SubsidyAllowance.objects.select_for_update(no_key=True).filter(customer_id__in=ids)
        return list(qs.order_by("pk"))

    found = lock()
    if len(found) < len(ids):
        # A customer's first subsidy: make the row, then lock as usual.
        _ensure_allowances(ids, tenant_id)
        found = lock()
    return found


def subsidy_rule_for_update(rule_id: int) -> SubsidyRule | None:
    """The rule about to be changed, locked (two managers saving at once take turns)."""
    return (
        SubsidyRule.objects.select_for_update(no_key=True)
        .select_related("group")
        .filter(pk=rule_id)
        .first()
    )
