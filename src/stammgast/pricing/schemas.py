"""API shapes of pricing. Input types are loose on purpose: the readers in validation.py
decide, so the API and the portal give the same messages (a float price is refused by
name, not silently rounded; `true` is not a quantity of 1)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import ConfigDict, WithJsonSchema

from .models import MAX_LEVEL, MAX_TIMES_PER_DAY, MIN_LEVEL
from .validation import MAX_CATEGORIES, MAX_LINES, MAX_QUANTITY, MAX_TEXT


def _loose(schema: dict) -> Any:
    return Annotated[Any, WithJsonSchema(schema)]


Amount = {"type": "string", "pattern": r"^[0-9]{1,7}([.,][0-9]{1,2})?$", "example": "4.90"}
Level = {"type": "integer", "minimum": MIN_LEVEL, "maximum": MAX_LEVEL}
Prices = _loose(
    {
        "type": "object",
        "description": 'price per price level, e.g. {"1": "4.90", "2": "3.90"}',
        "propertyNames": {"pattern": "^[0-9]{1,2}$"},
        "additionalProperties": Amount,
        "minProperties": 1,
        "maxProperties": MAX_LEVEL,
    }
)


class QuoteLineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    item: _loose({"type": "string", "minLength": 1, "maxLength": MAX_TEXT}) = Field(
        description="the till's article id"
    )
    category: _loose({"type": "string", "maxLength": MAX_TEXT}) = Field(
        "", description="what subsidy rules match"
    )
    quantity: _loose({"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY}) = 1
    discountable: _loose({"type": "boolean"}) = Field(
        True, description="whether the customer's discount applies"
    )
    prices: Prices


class QuoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    customer_number: int | None = Field(
        None, ge=1, le=9_999_999, description="the customer; or `card` or `email`; none: anonymous"
    )
    card: str | None = Field(None, min_length=1, max_length=100, description="a card's number")
    email: str | None = Field(None, min_length=1, max_length=254)
    price_level: _loose({**Level, "type": ["integer", "null"]}) = Field(
        None, description="the operator's override of the price level"
    )
    at: _loose({"type": ["string", "null"], "format": "date-time"}) = Field(
        None, description="when the guest pays (weekday, day and month of subsidies); empty: now"
    )
    lines: list[QuoteLineIn] = Field(min_length=1, max_length=MAX_LINES)


class QuotedLineOut(Schema):
    item: str
    category: str
    quantity: int
    discountable: bool
    price_level: int
    unit_price: str
    unit_price_cents: int
    gross: str
    gross_cents: int
    discount: str
    discount_cents: int
    subsidy: str
    subsidy_cents: int
    subsidy_rule: str | None
    subsidy_meals: int
    total: str
    total_cents: int


class QuoteOut(Schema):
    customer_number: int | None
    currency: str
    at: dt.datetime
    price_level_source: str = Field(description="override | customer | group | default")
    lines: list[QuotedLineOut]
    gross: str
    gross_cents: int
    discount: str
    discount_cents: int
    subsidy: str
    subsidy_cents: int
    to_pay: str
    to_pay_cents: int


class RuleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: _loose({"type": "string", "minLength": 1, "maxLength": MAX_TEXT}) = None
    group: _loose({"type": "string", "description": "customer group's name"}) = None
    categories: _loose(
        {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
            "maxItems": MAX_CATEGORIES,
            "description": "empty: every category",
        }
    ) = None
    kind: _loose({"type": "string", "enum": ["fixed", "percent"]}) = None
    value: _loose(
        {
            "type": ["string", "integer"],
            "description": 'fixed: an amount ("2.50"); percent: a whole percent 1-100',
        }
    ) = None
    times_per_day: _loose({"type": "integer", "minimum": 1, "maximum": MAX_TIMES_PER_DAY}) = None
    weekdays: _loose(
        {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": 6},
            "minItems": 1,
            "maxItems": 7,
            "description": "0 = Monday ... 6 = Sunday; default all",
        }
    ) = None
    valid_from: _loose({"type": ["string", "null"], "format": "date"}) = None
    valid_to: _loose({"type": ["string", "null"], "format": "date"}) = None
    monthly_cap: _loose({"type": ["string", "null"], "description": "an amount; none: no cap"}) = (
        None
    )
    active: _loose({"type": "boolean"}) = None


class RuleOut(Schema):
    id: int
    name: str
    group: str
    categories: list[str]
    kind: str
    amount: str | None = Field(description="fixed: the amount per meal")
    amount_cents: int | None
    percent: int | None = Field(description="percent: off per meal")
    times_per_day: int
    weekdays: list[int]
    valid_from: dt.date | None
    valid_to: dt.date | None
    monthly_cap: str | None
    monthly_cap_cents: int | None
    active: bool


class RuleListOut(Schema):
    items: list[RuleOut]


class GroupLevelOut(Schema):
    group: str
    price_level: int | None


class GroupLevelListOut(Schema):
    items: list[GroupLevelOut]


class GroupLevelsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    levels: _loose(
        {
            "type": "object",
            "description": 'group name -> price level (null: none), e.g. {"Staff": 2}',
            "additionalProperties": {**Level, "type": ["integer", "null"]},
            "maxProperties": 200,
        }
    )
