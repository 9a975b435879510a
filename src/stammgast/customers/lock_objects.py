"""Row locks of the customers app, always taken in primary-key order.

Two writers that lock the same rows in the same order wait for each other instead of
deadlocking. Every `select_for_update` of this app is here.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from stammgast.core import db
from stammgast.tenants.models import Location, Tenant

from .models import Customer


def _for_update(qs: QuerySet) -> QuerySet:
    # Only the customer rows: a join for the visibility rule must not lock link rows.
    # NO KEY: a change of a customer changes no key, so it need not wait for the rows that
    # refer to the customer (history entries, credit entries) others are writing.
    if db.connection().features.has_select_for_update_of:
        return qs.select_for_update(of=("self",), no_key=True)
    return qs.select_for_update(no_key=True)


def customer_for_update(visible: QuerySet[Customer], number: int) -> Customer | None:
    """The customer with `number` among `visible`, locked until the transaction ends."""
    return _for_update(visible.filter(number=number)).first()


def customers_for_update(visible: QuerySet[Customer], numbers: Iterable[int]) -> list[Customer]:
    """The customers with these numbers among `visible`, locked in primary-key order."""
    return list(_for_update(visible.filter(number__in=list(numbers)).order_by("pk")))


# FOR NO KEY UPDATE, not FOR UPDATE: every row written for the tenant (an import's customers
# above all) holds a FOR KEY SHARE lock on the tenant's row until it commits, and FOR UPDATE
# would wait for that; moving a counter changes no key, so it need not.


def tenant_counter_for_update(tenant_id: int) -> Tenant:
    """The tenant's row, whose number counter the caller is about to move."""
    return Tenant.objects.select_for_update(no_key=True).get(pk=tenant_id)


def location_counter_for_update(location_id: int) -> Location | None:
    """The location's row (its own number range's counter), or None if it left the group."""
    return Location.objects.select_for_update(no_key=True).filter(pk=location_id).first()
