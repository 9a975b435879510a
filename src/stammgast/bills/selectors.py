"""Reads of bills: one bill, a customer's bills page by page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError, NotFound
from stammgast.customers import selectors as customer_selectors
from stammgast.tenants.actor import Actor

from .models import Bill

MAX_PAGE = 200


def visible_bills(actor: Actor) -> QuerySet[Bill]:
    """A till or staff member bound to a location sees that location's bills; head office
    and unbound clients see all the tenant's."""
    qs = Bill.objects.all()
    if actor.location_bound:
        qs = qs.filter(location=actor.location)
    return qs


def get_bill(*, actor: Actor, bill_uid: str) -> Bill:
    try:
        key = uuid.UUID(str(bill_uid))
    except ValueError:
        key = None
    bill = (
        visible_bills(actor).select_related("location", "cancels").filter(uid=key).first()
        if key
        else None
    )
    if bill is None:
        raise NotFound(_("There is no bill %(id)s.") % {"id": bill_uid})
    return bill


@dataclass
class BillPage:
    items: list[Bill]
    next_cursor: str | None


def customer_bills(
    *, actor: Actor, customer_number: int, cursor: str | None = None, limit: int = 50
) -> BillPage:
    """The customer's bills (and cancellations), newest first."""
    customer = customer_selectors.get_customer(actor=actor, number=customer_number)
    limit = max(1, min(limit, MAX_PAGE))
    qs = Bill.objects.filter(customer=customer).select_related("location", "cancels")
    position = customer_selectors.decode_cursor(cursor)
    if position is not None:
        try:
            qs = qs.filter(pk__lt=int(position["id"]))
        except (KeyError, TypeError, ValueError):
            raise DomainError(
                "invalid_cursor",
                _("The cursor is not valid."),
                status=400,
                fields={"cursor": _("Not valid.")},
            ) from None
    rows = list(qs.order_by("-pk")[: limit + 1])
    next_cursor = (
        customer_selectors.encode_cursor({"id": rows[limit - 1].pk}) if len(rows) > limit else None
    )
    return BillPage(items=rows[:limit], next_cursor=next_cursor)
