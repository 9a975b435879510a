"""API shapes of a customer. Input types are loose on purpose: the field rules in
validation.py decide, so the API, the portal and the import give the same messages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import ConfigDict, WithJsonSchema

from .validation import MAX_FEATURE_KEY, MAX_FEATURES, MAX_GROUPS, MAX_LOCATIONS, MAX_TAGS

# Values pass through untouched (no coercion: `true` must not become a discount of 1);
# the documented types are what a client should send.
Number = Annotated[Any, WithJsonSchema({"type": ["integer", "string", "null"]})]
Flag = Annotated[Any, WithJsonSchema({"type": ["boolean", "null"]})]
Text = Annotated[Any, WithJsonSchema({"type": ["string", "null"]})]


def _text(max_length: int):
    return Annotated[Any, WithJsonSchema({"type": ["string", "null"], "maxLength": max_length})]


def _names(max_items: int, max_length: int):
    return Annotated[
        Any,
        WithJsonSchema(
            {
                "type": ["array", "null"],
                "items": {"type": "string", "minLength": 1, "maxLength": max_length},
                "maxItems": max_items,
            }
        ),
    ]


GroupNames = _names(MAX_GROUPS, 100)
TagNames = _names(MAX_TAGS, 100)
LocationCodes = _names(MAX_LOCATIONS, 30)
Features = Annotated[
    Any,
    WithJsonSchema(
        {
            "type": ["object", "null"],
            "maxProperties": MAX_FEATURES,
            "propertyNames": {"maxLength": MAX_FEATURE_KEY},
        }
    ),
]


class CustomerIn(Schema):
    # An unknown field is refused by name rather than silently dropped.
    model_config = ConfigDict(extra="forbid")

    number: Number = Field(None, description="1-9,999,999; omitted: next free number")
    kind: Text = Field(None, description="private | business")
    title: _text(50) = None
    first_name: _text(100) = None
    last_name: _text(100) = Field(None, description="Name (family name)")
    company_name: _text(200) = None
    vat_id: _text(20) = None
    alias: _text(100) = None
    gender: Text = Field(None, description="female | male | diverse | empty")
    date_of_birth: Text = Field(None, description="YYYY-MM-DD, not in the future")
    street: _text(200) = None
    postcode: _text(20) = None
    city: _text(100) = Field(None, description="Place")
    care_of: _text(100) = None
    po_box: _text(50) = None
    country: _text(60) = Field(None, description="ISO 3166 code, e.g. DE")
    phone_private: _text(40) = None
    phone_business: _text(40) = None
    mobile: _text(40) = None
    fax: _text(40) = None
    email: _text(254) = None
    homepage: _text(200) = None
    iban: _text(50) = None
    bic: _text(20) = None
    institute: _text(100) = None
    discount: Number = Field(None, description="whole percent 0-100")
    price_level: Number = None
    loss_reason: _text(200) = None
    payment_method: Text = Field(
        None, description="cash | invoice | direct_debit | customer_account | card"
    )
    payment_term_days: Number = None
    favourite: Flag = None
    blocked: Flag = None
    lock_text: _text(200) = None
    newsletter: Flag = None
    invoices_by_email: Flag = None
    memo: _text(200) = Field(None, description="at most 200 characters")
    third_party_memo: _text(1000000) = Field(
        None, description="at most 1,000,000 characters; needs the thirdparty scope"
    )
    comments: _text(10000) = None
    groups: GroupNames = None
    tags: TagNames = None
    features: Features = None
    allowed_locations: LocationCodes = Field(
        None, description="location codes; empty: every location"
    )


class CustomerOut(Schema):
    number: int
    kind: str
    title: str
    first_name: str
    last_name: str
    company_name: str
    vat_id: str
    alias: str
    gender: str
    date_of_birth: dt.date | None
    street: str
    postcode: str
    city: str
    care_of: str
    po_box: str
    country: str
    phone_private: str
    phone_business: str
    mobile: str
    fax: str
    email: str
    homepage: str
    iban: str
    bic: str
    institute: str
    discount: int
    price_level: int
    loss_reason: str
    payment_method: str
    payment_term_days: int
    favourite: bool
    blocked: bool
    lock_text: str
    newsletter: bool
    invoices_by_email: bool
    memo: str
    third_party_memo: str
    comments: str
    groups: list[str]
    tags: list[str]
    features: dict[str, Any]
    allowed_locations: list[str]
    picture_url: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class CustomerSummary(Schema):
    number: int
    kind: str
    display_name: str
    first_name: str
    last_name: str
    company_name: str
    postcode: str
    city: str
    phone_private: str
    mobile: str
    email: str
    groups: list[str]
    blocked: bool
    lock_text: str


class CustomerPage(Schema):
    items: list[CustomerSummary]
    next_cursor: str | None


class HistoryEntry(Schema):
    at: dt.datetime
    action: str
    actor: str
    location: str
    changes: dict[str, Any]


class HistoryPage(Schema):
    items: list[HistoryEntry]
    next_cursor: str | None
