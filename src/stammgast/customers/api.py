"""Customer endpoints of /api/v1: thin handlers over services and selectors."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile

from stammgast.core.access import note_access
from stammgast.core.errors import DomainError
from stammgast.core.http import ERRORS, expected_version, json_response

from . import selectors, services
from .filters import filter_in_words, parse_filter
from .models import Customer, CustomerEvent
from .schemas import (
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerSummary,
    HistoryPage,
)

router = Router(tags=["customers"])


def record_response(actor, number: int, status: int = 200, **headers: str) -> HttpResponse:
    """The customer's record as every endpoint answers it, with its ETag."""
    record = selectors.customer_record(actor=actor, number=number)
    return json_response(status, record, {"ETag": record.pop("etag"), **headers})


# What a summary shows (display_name is made of kind and the name fields).
SUMMARY_FIELDS = (
    "number", "kind", "first_name", "last_name", "company_name", "alias", "postcode", "city",
    "phone_private", "mobile", "email", "blocked", "lock_text",
)  # fmt: skip


def customer_summary(c: Customer) -> dict:
    return {
        "number": c.number,
        "kind": c.kind,
        "display_name": c.display_name,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "company_name": c.company_name,
        "postcode": c.postcode,
        "city": c.city,
        "phone_private": c.phone_private,
        "mobile": c.mobile,
        "email": c.email,
        "groups": c.group_names,
        "blocked": c.blocked,
        "lock_text": c.lock_text,
    }


@router.post("", response={201: CustomerOut, **ERRORS}, summary="Create a customer")
def create_customer(request: HttpRequest, payload: CustomerIn):
    """Creates a customer; send `Idempotency-Key` so a retried request creates nothing."""
    customer = services.create_customer(
        actor=request.actor,
        data=payload.model_dump(exclude_unset=True),
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return record_response(
        request.actor, customer.number, 201, Location=f"/api/v1/customers/{customer.number}"
    )


class ListQuery(Schema):
    """The list's parameters as the documentation shows them; they are read by the one
    filter parser (customers/filters.py), which refuses unknown ones."""

    q: str = Field("", description="search text; every word of 3+ characters must occur")
    group: str | None = None
    tag: str | None = None
    location: str | None = Field(None, description="customers this location may serve")
    blocked: str | None = Field(None, description="true | false")
    newsletter: str | None = Field(None, description="true | false")
    consent: str | None = Field(
        None, description="a consent purpose (newsletter, marketing, ...) the customers granted"
    )
    price_level: str | None = Field(None, description="1-99")
    created_from: str | None = Field(None, description="YYYY-MM-DD")
    created_to: str | None = Field(None, description="YYYY-MM-DD")
    changed_from: str | None = Field(None, description="YYYY-MM-DD")
    changed_to: str | None = Field(None, description="YYYY-MM-DD")
    sort: str | None = Field(
        None, description="number, name, postcode, created, changed; '-' before: descending"
    )
    cursor: str | None = Field(None, description="next_cursor of the page before")
    limit: int = Field(50, description=f"1-{selectors.MAX_PAGE}; others are brought into it")


@router.get("", response={200: CustomerPage, **ERRORS}, summary="List and search customers")
def list_customers(request: HttpRequest, params: Query[ListQuery]):
    f = parse_filter(request.GET, also=("cursor", "limit"))
    page = selectors.list_customers(
        actor=request.actor, f=f, cursor=params.cursor, limit=params.limit, only=SUMMARY_FIELDS
    )
    note_access(
        actor=request.actor,
        kind="list",
        what=filter_in_words(f),
        count=len(page.items),
    )
    # Plain values already; written as they are (the schema above documents them).
    return json_response(
        200,
        {"items": [customer_summary(c) for c in page.items], "next_cursor": page.next_cursor},
    )


@router.get(
    "/lookup",
    response={200: list[CustomerSummary], **ERRORS},
    summary="Find customers by phone (caller ID), e-mail or card",
)
def lookup(
    request: HttpRequest,
    phone: str | None = None,
    email: str | None = None,
    card: str | None = None,
):
    """Exactly one parameter. `card` is answered by the card database (the cards app)."""
    given = {key: request.GET.get(key) for key in request.GET}
    found = selectors.lookup_customers(actor=request.actor, **given)
    note_access(
        actor=request.actor,
        kind="record",
        what="lookup by " + ", ".join(sorted(given))[:50],
        count=len(found),
        customer_number=found[0]["number"] if len(found) == 1 else None,
    )
    return json_response(200, found)


@router.get("/{int:number}", response={200: CustomerOut, **ERRORS}, summary="Get a customer")
def get_customer(request: HttpRequest, number: int):
    record = selectors.customer_record(actor=request.actor, number=number)
    note_access(actor=request.actor, kind="record", customer_number=number, count=1)
    etag = record.pop("etag")
    if request.headers.get("If-None-Match") == etag:
        return HttpResponse(status=304, headers={"ETag": etag})
    return json_response(200, record, {"ETag": etag})


@router.patch(
    "/{int:number}",
    response={200: CustomerOut, **ERRORS},
    summary="Change a customer (needs If-Match)",
)
def patch_customer(request: HttpRequest, number: int, payload: CustomerIn):
    """Send the ETag of your last GET in `If-Match`; if someone changed the customer since,
    the answer is 412 and nothing is changed."""
    services.update_customer(
        actor=request.actor,
        number=number,
        data=payload.model_dump(exclude_unset=True),
        expected_version=expected_version(request, number),
    )
    return record_response(request.actor, number)


@router.get(
    "/{int:number}/history",
    response={200: HistoryPage, **ERRORS},
    summary="Who changed what, when and where",
)
def history(request: HttpRequest, number: int, cursor: str | None = None, limit: int = 50):
    page = selectors.customer_history(
        actor=request.actor, number=number, cursor=cursor, limit=limit
    )
    # Rendered like the customer itself, so "at" compares equal to created_at/updated_at.
    body = HistoryPage(items=[_event_out(e) for e in page.items], next_cursor=page.next_cursor)
    return json_response(200, body.model_dump(mode="json"))


def _event_out(e: CustomerEvent) -> dict:
    return {
        "at": e.at,
        "action": e.action,
        "actor": e.actor_label,
        "location": e.location_code,
        "changes": e.changes,
    }


@router.put(
    "/{int:number}/picture",
    response={200: CustomerOut, **ERRORS},
    summary="Upload the customer's picture (JPEG, PNG, WebP, GIF; at most 2 MB)",
)
def put_picture(request: HttpRequest, number: int, picture: File[UploadedFile]):
    services.set_customer_picture(actor=request.actor, number=number, upload=picture)
    return record_response(request.actor, number)


@router.post(
    "/{int:number}/picture", response={200: CustomerOut, **ERRORS}, include_in_schema=False
)
def post_picture(request: HttpRequest, number: int, picture: File[UploadedFile]):
    return put_picture(request, number, picture)


@router.get(
    "/{int:number}/picture",
    response={200: None, **ERRORS},
    summary="The customer's picture (image bytes)",
)
def get_picture(request: HttpRequest, number: int):
    customer = selectors.get_customer(actor=request.actor, number=number)
    if not customer.picture:
        raise DomainError("not_found", _("This customer has no picture."), status=404)
    response = FileResponse(customer.picture.open("rb"))
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.delete(
    "/{int:number}/picture",
    response={200: CustomerOut, **ERRORS},
    summary="Remove the customer's picture",
)
def delete_picture(request: HttpRequest, number: int):
    services.set_customer_picture(actor=request.actor, number=number, upload=None)
    return record_response(request.actor, number)
