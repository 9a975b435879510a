"""Reads of the ledger: balances, entries page by page, open items, statements."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError
from stammgast.customers import selectors as customer_selectors
from stammgast.customers.models import Customer
from stammgast.tenants.actor import Actor

from .models import (
    AccountEntry,
    CreditAccount,
    CreditEntry,
    CustomerAccount,
    GroupOverdraft,
    OpenItem,
)

MAX_PAGE = 200


def overdraft_limit(account: CreditAccount, customer: Customer) -> int:
    """How far below zero the customer may pay: the customer's own limit if one is set,
    else the largest of the customer's groups, else nothing."""
    if account.overdraft_limit is not None:
        return account.overdraft_limit
    limits = GroupOverdraft.objects.filter(
        group_id__in=customer_selectors.group_ids(customer)
    ).values_list("limit", flat=True)
    return max(limits, default=0)


@dataclass
class CreditSummary:
    customer: Customer
    balance: int
    currency: str
    overdraft_limit: int

    @property
    def available(self) -> int:
        return self.balance + self.overdraft_limit


def credit_summary(*, actor: Actor, customer_number: int) -> CreditSummary:
    customer = customer_selectors.get_customer(actor=actor, number=customer_number)
    account = CreditAccount.objects.filter(customer=customer).first() or CreditAccount(
        customer=customer, currency=actor.tenant.currency
    )
    return CreditSummary(
        customer=customer,
        balance=account.balance,
        currency=account.currency,
        overdraft_limit=overdraft_limit(account, customer),
    )


@dataclass
class EntryPage:
    items: list
    next_cursor: str | None


def _page(qs, cursor: str | None, limit: int) -> EntryPage:
    limit = max(1, min(limit, MAX_PAGE))
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
    next_cursor = None
    if len(rows) > limit:
        next_cursor = customer_selectors.encode_cursor({"id": rows[limit - 1].pk})
    return EntryPage(items=rows[:limit], next_cursor=next_cursor)


def credit_entries(
    *, actor: Actor, customer_number: int, cursor: str | None = None, limit: int = 50
) -> EntryPage:
    """The credit account's entries, newest first, a keyset page at a time."""
    customer = customer_selectors.get_customer(actor=actor, number=customer_number)
    return _page(CreditEntry.objects.filter(account__customer=customer), cursor, limit)


@dataclass
class AccountSummary:
    customer: Customer
    balance: int
    currency: str
    open_items: list[OpenItem]


def account_summary(*, actor: Actor, customer_number: int, limit: int = 200) -> AccountSummary:
    """What the customer owes, and the open items (oldest due first, at most `limit`)."""
    customer = customer_selectors.get_customer(actor=actor, number=customer_number)
    account = CustomerAccount.objects.filter(customer=customer).first()
    items = []
    if account is not None:
        items = list(
            OpenItem.objects.filter(account=account, open_amount__gt=0).order_by("due_on", "pk")[
                :limit
            ]
        )
    return AccountSummary(
        customer=customer,
        balance=account.balance if account else 0,
        currency=account.currency if account else actor.tenant.currency,
        open_items=items,
    )


@dataclass
class Statement:
    customer: Customer
    currency: str
    start: dt.date
    end: dt.date
    opening: int
    closing: int
    entries: list[AccountEntry]


MAX_STATEMENT_DAYS = 366 * 3


def account_statement(
    *, actor: Actor, customer_number: int, start: dt.date, end: dt.date
) -> Statement:
    """The customer account from `start` to `end` (local days, both included): the balance
    before, every entry, the balance after."""
    if end < start or (end - start).days > MAX_STATEMENT_DAYS:
        message = _("Choose a period of at most three years, its end not before its start.")
        raise DomainError("invalid_period", message, fields={"end": message}, status=422)
    customer = customer_selectors.get_customer(actor=actor, number=customer_number)
    account = CustomerAccount.objects.filter(customer=customer).first()
    currency = account.currency if account else actor.tenant.currency
    if account is None:
        return Statement(customer, currency, start, end, 0, 0, [])
    begin = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    finish = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    entries = AccountEntry.objects.filter(account=account)
    opening = entries.filter(at__lt=begin).aggregate(s=Sum("amount"))["s"] or 0
    within = list(entries.filter(at__gte=begin, at__lt=finish).order_by("at", "pk"))
    closing = opening + sum(e.amount for e in within)
    return Statement(customer, currency, start, end, opening, closing, within)
