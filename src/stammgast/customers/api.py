"""Customer endpoints of /api/v1: thin handlers over services and selectors."""

from __future__ import annotations

import re

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Schema
from ninja.files import UploadedFile

from stammgast.api import encode_json, json_response, run_idempotent
from stammgast.core.direct import DirectRoute
from stammgast.core.errors import DomainError

from . import records, selectors, services
from .models import Customer, CustomerEvent
from .schemas import (
    CardIn,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerSummary,
    ErrorOut,
    HistoryPage,
)

router = Router(tags=["customers"])
ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    412: ErrorOut,
    422: ErrorOut,
    428: ErrorOut,
}


def customer_out(c: Customer) -> dict:
    data = {
        f: getattr(c, f)
        for f in CustomerOut.model_fields
        if f not in {"groups", "tags", "allowed_locations", "picture_url"}
    }
    data.update(selectors.customer_relation_names(c))
    data["picture_url"] = records.picture_url(c.number) if c.picture else None
    return CustomerOut(**data).model_dump(mode="json")


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
    data = payload.model_dump(exclude_unset=True)

    def run():
        customer = services.create_customer(actor=request.actor, data=data)
        return 201, customer_out(customer)

    status, body = run_idempotent(request, run)
    return json_response(
        status,
        body,
        {
            "ETag": f'"{body["number"]}-{body["version"]}"',
            "Location": f"/api/v1/customers/{body['number']}",
        },
    )


class ListQuery(Schema):
    q: str = ""
    group: str | None = None
    blocked: bool | None = None
    location: str | None = None
    newsletter: bool | None = None
    tag: str | None = None
    cursor: str | None = None
    limit: int = 50


@router.get("", response={200: CustomerPage, **ERRORS}, summary="List and search customers")
def list_customers(request: HttpRequest, filters: Query[ListQuery]):
    f = selectors.CustomerFilter(
        q=filters.q,
        group=filters.group,
        blocked=filters.blocked,
        location=filters.location,
        newsletter=filters.newsletter,
        tag=filters.tag,
    )
    page = selectors.list_customers(
        actor=request.actor, f=f, cursor=filters.cursor, limit=filters.limit, only=SUMMARY_FIELDS
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
    found = selectors.lookup_customers(actor=request.actor, phone=phone, email=email, card=card)
    return json_response(200, found)


@router.get("/{int:number}", response={200: CustomerOut, **ERRORS}, summary="Get a customer")
def get_customer(request: HttpRequest, number: int):
    record, etag = _customer_record(request.actor, number)
    if request.headers.get("If-None-Match") == etag:
        return HttpResponse(status=304, headers={"ETag": etag})
    return json_response(200, record, {"ETag": etag})


def _customer_record(actor, number: int) -> tuple[dict, str]:
    record = records.customer_record(actor=actor, number=number)
    return record, record.pop("etag")


# The same two reads for the tills, answered past the framework (core/direct.py): only
# their plain 200 answers; every other request takes the handlers above.


def _direct_customer(actor, match, query):
    if query:
        return None
    record, etag = _customer_record(actor, int(match[1]))
    return encode_json(record), {"ETag": etag}


def _direct_lookup_by_phone(actor, match, query):
    if len(query) != 1 or query[0][0] != "phone" or len(query[0][1]) != 1:
        return None
    found = selectors.lookup_customers(actor=actor, phone=query[0][1][0])
    return encode_json(found), {}


DIRECT_ROUTES = [
    # Django's int converter: ASCII digits only.
    DirectRoute(
        re.compile(r"/api/v1/customers/([0-9]+)"), _direct_customer, ("HTTP_IF_NONE_MATCH",)
    ),
    DirectRoute(re.compile(r"/api/v1/customers/lookup"), _direct_lookup_by_phone),
]


_ETAG_RE = re.compile(r'^(?:W/)?"(\d+)-(\d+)"$')


@router.patch(
    "/{int:number}",
    response={200: CustomerOut, **ERRORS},
    summary="Change a customer (needs If-Match)",
)
def patch_customer(request: HttpRequest, number: int, payload: CustomerIn):
    """Send the ETag of your last GET in `If-Match`; if someone changed the customer since,
    the answer is 412 and nothing is changed."""
    if_match = request.headers.get("If-Match")
    if not if_match:
        raise DomainError(
            "if_match_required",
            _("Send the ETag of the customer you read in the If-Match header."),
            status=428,
        )
    match = _ETAG_RE.match(if_match.strip())
    if not match or int(match[1]) != number:
        raise DomainError(
            "stale_version", _("The If-Match header does not match this customer."), status=412
        )
    customer = services.update_customer(
        actor=request.actor,
        number=number,
        data=payload.model_dump(exclude_unset=True),
        expected_version=int(match[2]),
    )
    return json_response(200, customer_out(customer), {"ETag": customer.etag})


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
    customer = services.set_customer_picture(actor=request.actor, number=number, upload=picture)
    return json_response(200, customer_out(customer), {"ETag": customer.etag})


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
    customer = services.set_customer_picture(actor=request.actor, number=number, upload=None)
    return json_response(200, customer_out(customer), {"ETag": customer.etag})


@router.post(
    "/{int:number}/cards", response={201: dict, **ERRORS}, summary="Assign a card to the customer"
)
def assign_card(request: HttpRequest, number: int, payload: CardIn):
    from stammgast.cards.services import assign_card as assign

    card = assign(
        actor=request.actor, customer_number=number, card_number=payload.card, kind=payload.kind
    )
    return json_response(201, {"card": card.number, "kind": card.kind, "customer": number})
