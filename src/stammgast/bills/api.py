"""Bill endpoints of /api/v1: post a closed bill, read it, cancel it."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from pydantic import ConfigDict, WithJsonSchema

from stammgast.core.errors import DomainError
from stammgast.core.http import ERRORS, json_response
from stammgast.core.money import format_amount

from . import selectors, services
from .models import Bill

router = Router(tags=["bills"])

Amount = Annotated[Any, WithJsonSchema({"type": "string", "example": "3.50"})]


class LineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(max_length=100, description="the till's article id")
    name: str = Field("", max_length=200)
    category: str = Field("", max_length=100, description="what subsidy rules match")
    quantity: int = Field(1, ge=1, le=services.MAX_QUANTITY)
    unit_price: Amount
    discount: Amount = "0"
    subsidy: Amount = "0"
    total: Amount = None


class PaymentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    method: str = Field(description="cash | card | credit | on_account | voucher")
    amount: Amount


Customer = Annotated[
    Any,
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "integer", "description": "customer number"},
                {
                    "type": "object",
                    "maxProperties": 1,
                    "properties": {
                        "number": {"type": "integer"},
                        "card": {"type": "string"},
                        "email": {"type": "string"},
                    },
                },
                {"type": "null"},
            ]
        }
    ),
]


class BillIn(Schema):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(max_length=50, description="the till's bill number")
    terminal: str = Field(max_length=50)
    location: str | None = Field(
        None,
        max_length=30,
        description="location code; a till bound to a location may leave it out",
    )
    at: str | None = Field(None, description="ISO time of the bill; empty: now")
    currency: str | None = Field(None, max_length=3)
    customer: Customer = None
    lines: list[LineIn] = Field(max_length=services.MAX_LINES)
    payments: list[PaymentIn] = Field(max_length=services.MAX_PAYMENTS)


class CancellationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(
        "", max_length=50, description="number of the cancelling bill; empty: S-<number>"
    )


class LineOut(Schema):
    item: str
    name: str
    category: str
    quantity: int
    unit_price: str
    discount: str
    subsidy: str
    total: str


class PaymentOut(Schema):
    method: str
    amount: str


class BillOut(Schema):
    id: uuid.UUID
    number: str
    location: str
    terminal: str
    at: dt.datetime
    currency: str
    total: str
    total_cents: int
    customer: dict | None
    lines: list[LineOut]
    payments: list[PaymentOut]
    cancels: uuid.UUID | None
    cancelled_by: uuid.UUID | None


class BillPageOut(Schema):
    items: list[BillOut]
    next_cursor: str | None


def bill_out(bill: Bill, *, new: bool = False) -> dict:
    # A bill just posted has no cancellation; asking would cost a query.
    cancelled_by = None if new else getattr(bill, "cancelled_by", None)
    return {
        "id": bill.uid,
        "number": bill.number,
        "location": bill.location.code,
        "terminal": bill.terminal,
        "at": bill.at,
        "currency": bill.currency,
        "total": format_amount(bill.total),
        "total_cents": bill.total,
        "customer": bill.customer_snapshot or None,
        "lines": [
            {
                **line,
                **{
                    k: format_amount(line[k])
                    for k in ("unit_price", "discount", "subsidy", "total")
                },
            }
            for line in bill.lines
        ],
        "payments": [{**p, "amount": format_amount(p["amount"])} for p in bill.payments],
        "cancels": bill.cancels.uid if bill.cancels_id else None,
        "cancelled_by": cancelled_by.uid if cancelled_by else None,
    }


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


@router.post("/bills", response={201: BillOut, **ERRORS}, summary="Post a closed bill")
def post_bill(request: HttpRequest, payload: BillIn):
    """Booked at once with its money (credit payment, customer account, subsidies), or not
    at all. Posting the same bill again (same Idempotency-Key, or same number, terminal and
    content) answers with the bill already posted."""
    data = payload.model_dump(exclude_unset=True)
    bill = services.post_bill(actor=request.actor, data=data, idempotency_key=_key(request))
    return json_response(201, bill_out(bill))


@router.get("/bills/{bill_id}", response={200: BillOut, **ERRORS}, summary="A bill")
def get_bill(request: HttpRequest, bill_id: uuid.UUID):
    return json_response(200, bill_out(selectors.get_bill(actor=request.actor, bill_uid=bill_id)))


@router.post(
    "/bills/{bill_id}/cancellation",
    response={201: BillOut, **ERRORS},
    summary="Cancel a bill (a new bill reverses it and its money)",
)
def cancel_bill(request: HttpRequest, bill_id: uuid.UUID, payload: CancellationIn):
    cancellation = services.cancel_bill(
        actor=request.actor,
        bill_uid=str(bill_id),
        number=payload.number,
        idempotency_key=_key(request),
    )
    found = selectors.get_bill(actor=request.actor, bill_uid=cancellation.uid)
    return json_response(201, bill_out(found))


@router.get(
    "/customers/{int:number}/bills",
    response={200: BillPageOut, **ERRORS},
    summary="A customer's bills, newest first",
)
def customer_bills(request: HttpRequest, number: int, cursor: str | None = None, limit: int = 50):
    page = selectors.customer_bills(
        actor=request.actor, customer_number=number, cursor=cursor, limit=limit
    )
    return json_response(
        200, {"items": [bill_out(b) for b in page.items], "next_cursor": page.next_cursor}
    )
