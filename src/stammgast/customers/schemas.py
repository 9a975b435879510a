"""API shapes of a customer. Input types are loose on purpose: the field rules in
validation.py decide, so the API, the portal and the import give the same messages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import ConfigDict, WithJsonSchema

# Values pass through untouched (no coercion: `true` must not become a discount of 1);
# the documented types are what a client should send.
Number = Annotated[Any, WithJsonSchema({"type": ["integer", "string", "null"]})]
Flag = Annotated[Any, WithJsonSchema({"type": ["boolean", "null"]})]
Text = Annotated[Any, WithJsonSchema({"type": ["string", "null"]})]
Names = Annotated[Any, WithJsonSchema({"type": ["array", "null"], "items": {"type": "string"}})]
Features = Annotated[Any, WithJsonSchema({"type": ["object", "null"]})]


class CustomerIn(Schema):
    # An unknown field is refused by name rather than silently dropped.
    model_config = ConfigDict(extra="forbid")

    number: Number = Field(None, description="1-9,999,999; omitted: next free number")
    kind: Text = Field(None, description="private | business")
    title: Text = None
    first_name: Text = None
    last_name: Text = Field(None, description="Name (family name)")
    company_name: Text = None
    vat_id: Text = None
    alias: Text = None
    gender: Text = Field(None, description="female | male | diverse | empty")
    date_of_birth: Text = Field(None, description="YYYY-MM-DD, not in the future")
    street: Text = None
    postcode: Text = None
    city: Text = Field(None, description="Place")
    care_of: Text = None
    po_box: Text = None
    country: Text = Field(None, description="ISO 3166 code, e.g. DE")
    phone_private: Text = None
    phone_business: Text = None
    mobile: Text = None
    fax: Text = None
    email: Text = None
    homepage: Text = None
    iban: Text = None
    bic: Text = None
    institute: Text = None
    discount: Number = Field(None, description="whole percent 0-100")
    price_level: Number = None
    loss_reason: Text = None
    payment_method: Text = Field(
        None, description="cash | invoice | direct_debit | customer_account | card"
    )
    payment_term_days: Number = None
    favourite: Flag = None
    blocked: Flag = None
    lock_text: Text = None
    newsletter: Flag = None
    invoices_by_email: Flag = None
    memo: Text = Field(None, description="at most 200 characters")
    third_party_memo: Text = Field(
        None, description="at most 1,000,000 characters; needs the thirdparty scope"
    )
    comments: Text = None
    groups: Names = None
    tags: Names = None
    features: Features = None
    allowed_locations: Names = Field(None, description="location codes; empty: every location")


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
