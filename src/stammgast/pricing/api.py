"""The quote endpoint of /api/v1: a basket priced for a customer or anonymously."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from pydantic import ConfigDict, WithJsonSchema

from stammgast.core.errors import DomainError, FieldErrors
from stammgast.core.http import ERRORS, json_response
from stammgast.core.money import format_amount
from stammgast.customers import selectors as customer_selectors

from . import services

router = Router(tags=["prices"])

Prices = Annotated[
    Any,
    WithJsonSchema(
        {
            "type": "object",
            "description": 'price per price level, e.g. {"1": "4.90", "2": "3.90"}',
            "additionalProperties": {"type": "string"},
            "maxProperties": 99,
        }
    ),
]
CustomerRef = Annotated[
    Any,
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "integer", "description": "customer number"},
                {"type": "object", "maxProperties": 1},
                {"type": "null"},
            ]
        }
    ),
]


class LineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(max_length=100)
    category: str = Field("", max_length=100)
    quantity: int = Field(1, ge=1, le=services.MAX_QUANTITY)
    discountable: bool = True
    prices: Prices


class QuoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    customer: CustomerRef = Field(
        None, description='number, {"card": ...} or {"email": ...}; empty: anonymous'
    )
    price_level: int | None = Field(None, ge=1, le=99, description="the operator's override")
    at: dt.datetime | None = Field(None, description="when the guest will pay; empty: now")
    lines: list[LineIn] = Field(max_length=services.MAX_LINES)


class QuotedLineOut(Schema):
    item: str
    category: str
    quantity: int
    price_level: int
    unit_price: str
    discount: str
    subsidy: str
    subsidy_rule: str
    total: str
    total_cents: int


class QuoteOut(Schema):
    customer: int | None
    currency: str
    lines: list[QuotedLineOut]
    gross: str
    discount: str
    subsidy: str
    total: str
    total_cents: int


@router.post("/quote", response={200: QuoteOut, **ERRORS}, summary="Price a basket")
def quote(request: HttpRequest, payload: QuoteIn):
    """Each line's unit price (at the customer's price level), discount and subsidy, and
    the totals. Writes nothing: a subsidy is used when the bill is posted."""
    data = payload.model_dump(exclude_unset=True)
    errors = FieldErrors()
    lines = services.read_lines(data.get("lines"), errors)
    errors.raise_if_any("invalid_basket", _("The basket cannot be priced."))
    customer = None
    if data.get("customer") is not None:
        customer = customer_selectors.customer_by_reference(
            actor=request.actor, ref=data["customer"]
        )
    if customer is not None and customer.blocked:
        text = customer.lock_text or _("No lock text given.")
        raise DomainError(
            "customer_blocked",
            _("The customer is blocked: %(text)s") % {"text": text},
            fields={"customer": text},
            status=422,
        )
    found = services.quote_basket(
        actor=request.actor,
        lines=lines,
        customer=customer,
        price_level=data.get("price_level"),
        at=data.get("at"),
    )
    return json_response(
        200,
        {
            "customer": customer.number if customer else None,
            "currency": request.actor.tenant.currency,
            "lines": [line.as_dict() for line in found.lines],
            "gross": format_amount(found.gross),
            "discount": format_amount(found.discount),
            "subsidy": format_amount(found.subsidy),
            "total": format_amount(found.total),
            "total_cents": found.total,
        },
    )
