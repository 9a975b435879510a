"""Row locks of the ledger, always taken in primary-key order.

A payment locks its account, checks the balance and books; two tills paying from one
account wait for each other here, so the balance can never be spent twice. The locks are
FOR NO KEY UPDATE: a balance is no key, so the entries others insert (which lock the
account's key) need not wait. A transfer
locks both accounts, the lower key first, so two opposite transfers cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError

from stammgast.core import db

from .models import CreditAccount, CustomerAccount, OpenItem


def _ensure(model, customer_ids: Iterable[int], currency: str) -> None:
    have = set(
        model.objects.filter(customer_id__in=list(customer_ids)).values_list(
            "customer_id", flat=True
        )
    )
    for customer_id in sorted(set(customer_ids) - have):
        try:
            with db.atomic():
                model.objects.create(customer_id=customer_id, currency=currency)
        except IntegrityError:
            pass  # made meanwhile by another request: it is there, which is all we need


def credit_accounts_for_update(
    customer_ids: Iterable[int], currency: str
) -> dict[int, CreditAccount]:
    """The customers' credit accounts (made if missing), locked, by customer id."""
    ids = list(customer_ids)

    def lock() -> dict[int, CreditAccount]:
        locked = CreditAccount.objects.select_for_update(no_key=True).filter(customer_id__in=ids)
        return {a.customer_id: a for a in locked.order_by("pk")}

    found = lock()
    if len(found) < len(set(ids)):
        # A customer's first movement: make the account, then lock as usual.
        _ensure(CreditAccount, ids, currency)
        found = lock()
    return found


def credit_account_for_update(customer_id: int, currency: str) -> CreditAccount:
    return credit_accounts_for_update([customer_id], currency)[customer_id]


def customer_account_for_update(customer_id: int, currency: str) -> CustomerAccount:
    """The customer's account (made if missing), locked."""
    _ensure(CustomerAccount, [customer_id], currency)
    return CustomerAccount.objects.select_for_update(no_key=True).get(customer_id=customer_id)


def open_items_for_update(account: CustomerAccount, ids: Iterable[int] | None) -> list[OpenItem]:
    """The account's open items (those named, or all still open), locked in key order."""
    qs = OpenItem.objects.select_for_update(no_key=True).filter(account=account, open_amount__gt=0)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return list(qs.order_by("pk"))
