"""Credit and customer-account endpoints of /api/v1 (under /customers/{number}/).

Every POST moves money and needs an `Idempotency-Key`: a retry books nothing and answers
with the first booking.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from pydantic import ConfigDict, WithJsonSchema

from stammgast.core.errors import DomainError
from stammgast.core.http import ERRORS, json_response
from stammgast.core.money import check_currency, format_amount, parse_amount

from . import selectors, services
from .models import AccountEntry, CreditEntry, OpenItem

router = Router(tags=["credit and customer account"])

# Amounts pass through untouched to core.money.parse_amount: text with at most two
# decimals ("12.50"); JSON numbers with a fraction are refused, never rounded.
Amount = Annotated[
    Any,
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?[0-9]{1,9}([.,][0-9]{1,2})?$", "example": "12.50"}
    ),
]
Text = Annotated[Any, WithJsonSchema({"type": ["string", "null"], "maxLength": 200})]


class MovementIn(Schema):
    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: Text = Field(None, description="the tenant's currency; empty: that one")
    terminal: Text = Field(None, description="the till or device, as the caller names it")
    reason: Text = None


class PaymentIn(MovementIn):
    bill_id: int | None = Field(None, description="the bill the payment belongs to")


class TransferIn(MovementIn):
    to_customer: int = Field(description="number of the customer who gets the credit")


class SettlementIn(Schema):
    model_config = ConfigDict(extra="forbid")

    method: str = Field(description="cash | card | transfer | credit")
    items: list[int] | None = Field(None, max_length=500, description="open items; empty: all")
    terminal: Text = None


def _key(request: HttpRequest) -> str:
    key = request.headers.get("Idempotency-Key")
    if not key:
        raise DomainError(
            "idempotency_key_required",
            _("Send an Idempotency-Key with every request that moves money."),
            fields={"Idempotency-Key": _("Required.")},
            status=428,
        )
    return key


def _amount(payload: MovementIn, request: HttpRequest, *, signed: bool = False) -> int:
    check_currency(payload.currency, request.actor.tenant.currency)
    return parse_amount(payload.amount, allow_negative=signed)


def entry_out(entry: CreditEntry | AccountEntry) -> dict:
    out = {
        "id": entry.pk,
        "kind": entry.kind,
        "amount": format_amount(entry.amount),
        "amount_cents": entry.amount,
        "balance_after": format_amount(entry.balance_after),
        "balance_after_cents": entry.balance_after,
        "currency": entry.currency,
        "at": entry.at,
        "actor": entry.actor_label,
        "location": entry.location_code,
        "terminal": entry.terminal,
        "reason": entry.reason,
        "bill_id": entry.bill_id,
    }
    if isinstance(entry, AccountEntry):
        out["method"] = entry.method
        out["open_item"] = entry.open_item_id
    return out


def _credit_out(request: HttpRequest, number: int) -> dict:
    summary = selectors.credit_summary(actor=request.actor, customer_number=number)
    return {
        "customer": number,
        "balance": format_amount(summary.balance),
        "balance_cents": summary.balance,
        "currency": summary.currency,
        "overdraft_limit": format_amount(summary.overdraft_limit),
        "available": format_amount(summary.available),
        "available_cents": summary.available,
    }


class CreditOut(Schema):
    customer: int
    balance: str
    balance_cents: int
    currency: str
    overdraft_limit: str
    available: str
    available_cents: int


class EntryOut(Schema):
    id: int
    kind: str
    amount: str
    amount_cents: int
    balance_after: str
    balance_after_cents: int
    currency: str
    at: dt.datetime
    actor: str
    location: str
    terminal: str
    reason: str
    bill_id: int | None
    method: str | None = None
    open_item: int | None = None


class BookedOut(Schema):
    entry: EntryOut
    credit: CreditOut


class EntryPageOut(Schema):
    items: list[EntryOut]
    next_cursor: str | None


def _booked(request: HttpRequest, number: int, entry: CreditEntry):
    body = {"entry": entry_out(entry), "credit": _credit_out(request, number)}
    return json_response(201, body)


@router.get("/{int:number}/credit", response={200: CreditOut, **ERRORS}, summary="Credit balance")
def credit(request: HttpRequest, number: int):
    return json_response(200, _credit_out(request, number))


@router.get(
    "/{int:number}/credit/entries",
    response={200: EntryPageOut, **ERRORS},
    summary="Credit entries, newest first",
)
def credit_entries(request: HttpRequest, number: int, cursor: str | None = None, limit: int = 50):
    page = selectors.credit_entries(
        actor=request.actor, customer_number=number, cursor=cursor, limit=limit
    )
    return json_response(
        200, {"items": [entry_out(e) for e in page.items], "next_cursor": page.next_cursor}
    )


@router.post(
    "/{int:number}/credit/top-ups", response={201: BookedOut, **ERRORS}, summary="Top up credit"
)
def top_up(request: HttpRequest, number: int, payload: MovementIn):
    entry = services.top_up_credit(
        actor=request.actor,
        customer_number=number,
        amount=_amount(payload, request),
        terminal=payload.terminal or "",
        reason=payload.reason or "",
        idempotency_key=_key(request),
    )
    return _booked(request, number, entry)


@router.post(
    "/{int:number}/credit/payments", response={201: BookedOut, **ERRORS}, summary="Pay with credit"
)
def pay(request: HttpRequest, number: int, payload: PaymentIn):
    entry = services.pay_with_credit(
        actor=request.actor,
        customer_number=number,
        amount=_amount(payload, request),
        terminal=payload.terminal or "",
        bill_id=payload.bill_id,
        idempotency_key=_key(request),
    )
    return _booked(request, number, entry)


@router.post(
    "/{int:number}/credit/refunds",
    response={201: BookedOut, **ERRORS},
    summary="Refund onto credit",
)
def refund(request: HttpRequest, number: int, payload: PaymentIn):
    entry = services.refund_credit(
        actor=request.actor,
        customer_number=number,
        amount=_amount(payload, request),
        reason=payload.reason or "",
        terminal=payload.terminal or "",
        bill_id=payload.bill_id,
        idempotency_key=_key(request),
    )
    return _booked(request, number, entry)


@router.post(
    "/{int:number}/credit/payouts", response={201: BookedOut, **ERRORS}, summary="Pay out credit"
)
def pay_out(request: HttpRequest, number: int, payload: MovementIn):
    entry = services.pay_out_credit(
        actor=request.actor,
        customer_number=number,
        amount=_amount(payload, request),
        reason=payload.reason or "",
        terminal=payload.terminal or "",
        idempotency_key=_key(request),
    )
    return _booked(request, number, entry)


@router.post(
    "/{int:number}/credit/corrections",
    response={201: BookedOut, **ERRORS},
    summary="Correct credit (amount may be negative; reason required)",
)
def correct(request: HttpRequest, number: int, payload: MovementIn):
    entry = services.correct_credit(
        actor=request.actor,
        customer_number=number,
        amount=_amount(payload, request, signed=True),
        reason=payload.reason or "",
        idempotency_key=_key(request),
    )
    return _booked(request, number, entry)


@router.post(
    "/{int:number}/credit/transfers",
    response={201: BookedOut, **ERRORS},
    summary="Transfer credit to another customer",
)
def transfer(request: HttpRequest, number: int, payload: TransferIn):
    out, _into = services.transfer_credit(
        actor=request.actor,
        from_number=number,
        to_number=payload.to_customer,
        amount=_amount(payload, request),
        reason=payload.reason or "",
        idempotency_key=_key(request),
    )
    return _booked(request, number, out)


# --- customer account ------------------------------------------------------------------------


def _item_out(item: OpenItem) -> dict:
    return {
        "id": item.pk,
        "bill_id": item.bill_id,
        "reference": item.reference,
        "amount": format_amount(item.amount),
        "open": format_amount(item.open_amount),
        "open_cents": item.open_amount,
        "created_at": item.created_at,
        "due_on": item.due_on,
    }


class OpenItemOut(Schema):
    id: int
    bill_id: int | None
    reference: str
    amount: str
    open: str
    open_cents: int
    created_at: dt.datetime
    due_on: dt.date


class AccountOut(Schema):
    customer: int
    balance: str
    balance_cents: int
    currency: str
    open_items: list[OpenItemOut]


def _account_out(request: HttpRequest, number: int) -> dict:
    summary = selectors.account_summary(actor=request.actor, customer_number=number)
    return {
        "customer": number,
        "balance": format_amount(summary.balance),
        "balance_cents": summary.balance,
        "currency": summary.currency,
        "open_items": [_item_out(i) for i in summary.open_items],
    }


@router.get(
    "/{int:number}/account", response={200: AccountOut, **ERRORS}, summary="Customer account"
)
def account(request: HttpRequest, number: int):
    return json_response(200, _account_out(request, number))


class SettledOut(Schema):
    entries: list[EntryOut]
    account: AccountOut


@router.post(
    "/{int:number}/account/settlements",
    response={201: SettledOut, **ERRORS},
    summary="Settle open items (all, or those named)",
)
def settle(request: HttpRequest, number: int, payload: SettlementIn):
    entries = services.settle_open_items(
        actor=request.actor,
        customer_number=number,
        method=payload.method,
        item_ids=payload.items or None,
        terminal=payload.terminal or "",
        idempotency_key=_key(request),
    )
    body = {"entries": [entry_out(e) for e in entries], "account": _account_out(request, number)}
    return json_response(201, body)


class StatementOut(Schema):
    customer: int
    currency: str
    start: dt.date
    end: dt.date
    opening: str
    closing: str
    entries: list[EntryOut]


@router.get(
    "/{int:number}/account/statement",
    response={200: StatementOut, **ERRORS},
    summary="Statement of the customer account for a period",
)
def statement(request: HttpRequest, number: int, start: dt.date, end: dt.date):
    found = selectors.account_statement(
        actor=request.actor, customer_number=number, start=start, end=end
    )
    return json_response(
        200,
        {
            "customer": number,
            "currency": found.currency,
            "start": found.start,
            "end": found.end,
            "opening": format_amount(found.opening),
            "closing": format_amount(found.closing),
            "entries": [entry_out(e) for e in found.entries],
        },
    )
