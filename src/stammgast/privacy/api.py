"""Consent endpoints of /api/v1: /customers/{number}/consents."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict, WithJsonSchema

from stammgast.core.access import note_access
from stammgast.core.errors import DomainError
from stammgast.core.http import ERRORS, json_response
from stammgast.customers import selectors as customer_selectors

from . import selectors, services
from .models import AccessKind, Consent, ConsentEvent

router = Router(tags=["consents"])

LOG_PAGE_MAX = 200
Text = Annotated[Any, WithJsonSchema({"type": ["string", "null"], "maxLength": 200})]


class ConsentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(
        max_length=50,
        description="newsletter, marketing, data_processing, "
        "terms, or a purpose the tenant defined",
    )
    granted: bool
    text_version: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="version of the text the guest saw (the terms for 'terms', else the "
        "privacy policy); empty: the current one",
    )
    channel: str | None = Field(None, max_length=20, description="api (default) | paper")
    note: Text = None


class ConsentOut(Schema):
    purpose: str
    label: str
    granted: bool | None
    at: dt.datetime | None
    channel: str | None
    text_kind: str | None
    text_version: int | None


class ConsentEventOut(Schema):
    id: int
    purpose: str
    granted: bool
    at: dt.datetime
    channel: str
    text_kind: str | None
    text_version: int | None
    actor: str
    note: str


class LogQuery(Schema):
    before: int | None = Field(None, ge=1, description="next_before of the page before")
    limit: int = Field(50, ge=1, le=LOG_PAGE_MAX)


class ConsentsOut(Schema):
    customer: int
    consents: list[ConsentOut]


class ConsentLogOut(Schema):
    items: list[ConsentEventOut]
    next_before: int | None


def _text(record: Consent | ConsentEvent) -> dict:
    text = record.legal_text
    return {
        "text_kind": text.kind if text else None,
        "text_version": text.version if text else None,
    }


def _consents(number: int, customer_id: int) -> dict:
    current = selectors.consents_of(customer_id)
    out = []
    for key, label in selectors.purposes():
        c = current.get(key)
        row = {"purpose": key, "label": label, "granted": None, "at": None, "channel": None}
        row.update(text_kind=None, text_version=None)
        if c is not None:
            row.update(granted=c.granted, at=c.at, channel=c.channel, **_text(c))
        out.append(row)
    return {"customer": number, "consents": out}


@router.get(
    "/{int:number}/consents",
    response={200: ConsentsOut, **ERRORS},
    summary="The customer's consents: every purpose with its current state",
)
def consents(request: HttpRequest, number: int):
    customer = customer_selectors.get_customer(actor=request.actor, number=number)
    note_access(actor=request.actor, kind="record", what="consents", customer_number=number)
    return json_response(200, _consents(number, customer.pk))


@router.get(
    "/{int:number}/consents/log",
    response={200: ConsentLogOut, **ERRORS},
    summary="Every grant and revocation, newest first",
)
def consent_log(request: HttpRequest, number: int, params: Query[LogQuery]):
    before, limit = params.before, params.limit
    customer = customer_selectors.get_customer(actor=request.actor, number=number)
    note_access(actor=request.actor, kind="record", what="consent log", customer_number=number)
    qs = selectors.consent_log(customer.pk).order_by("-id")
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs[: limit + 1])
    items = [
        {
            "id": e.pk,
            "purpose": e.purpose,
            "granted": e.granted,
            "at": e.at,
            "channel": e.channel,
            "actor": e.actor_label,
            "note": e.note,
            **_text(e),
        }
        for e in rows[:limit]
    ]
    next_before = rows[limit - 1].pk if len(rows) > limit else None
    return json_response(200, {"items": items, "next_before": next_before})


@router.post(
    "/{int:number}/consents",
    response={200: ConsentsOut, **ERRORS},
    summary="Record a consent given or revoked (with its channel and text version)",
)
def record_consent(request: HttpRequest, number: int, payload: ConsentIn):
    services.record_consent(
        actor=request.actor,
        number=number,
        purpose=payload.purpose,
        granted=payload.granted,
        text_version=payload.text_version,
        channel=payload.channel,
        note=payload.note or "",
    )
    customer = customer_selectors.get_customer(actor=request.actor, number=number)
    return json_response(200, _consents(number, customer.pk))


access_router = Router(tags=["access log"])


class AccessQuery(Schema):
    kind: str | None = Field(None, description="export | data_download | list | record")
    before: int | None = Field(None, ge=1, description="next_before of the page before")
    limit: int = Field(50, ge=1, le=selectors.ACCESS_PAGE_MAX)


class AccessEntryOut(Schema):
    id: int
    at: dt.datetime
    kind: str
    actor: str
    channel: str
    what: str
    count: int | None
    customer: int | None


class AccessPageOut(Schema):
    items: list[AccessEntryOut]
    next_before: int | None


@access_router.get(
    "", response={200: AccessPageOut, **ERRORS}, summary="Who read personal data, newest first"
)
def access_log(request: HttpRequest, params: Query[AccessQuery]):
    request.actor.require("privacy.access_log", _("This key may not read the access log."))
    if params.kind is not None and params.kind not in AccessKind.values:
        raise DomainError(
            "invalid",
            _("Some fields are not valid."),
            fields={"kind": _("Choose one of: %(k)s.") % {"k": ", ".join(AccessKind.values)}},
            status=422,
        )
    rows, next_before = selectors.access_log(
        kind=params.kind, before=params.before, limit=params.limit
    )
    items = [
        {
            "id": e.pk,
            "at": e.at,
            "kind": e.kind,
            "actor": e.actor_label,
            "channel": e.channel,
            "what": e.what,
            "count": e.count,
            "customer": e.customer_number,
        }
        for e in rows
    ]
    return json_response(200, {"items": items, "next_before": next_before})
