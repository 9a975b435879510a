"""Card endpoints of /api/v1 (under /customers/{number}/cards)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import ConfigDict, Field

from stammgast.core.http import ERRORS, json_response

from . import services

router = Router(tags=["cards"])


class CardIn(Schema):
    model_config = ConfigDict(extra="forbid")

    card: str = Field(max_length=64)
    kind: str = Field("mifare", max_length=10)


@router.post(
    "/{int:number}/cards", response={201: dict, **ERRORS}, summary="Assign a card to the customer"
)
def assign_card(request: HttpRequest, number: int, payload: CardIn):
    card = services.assign_card(
        actor=request.actor, customer_number=number, card_number=payload.card, kind=payload.kind
    )
    return json_response(201, {"card": card.number, "kind": card.kind, "customer": number})
