"""Writes to the card database."""

from django.db import IntegrityError
from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import Conflict, DomainError
from stammgast.customers import selectors as customer_selectors
from stammgast.tenants.actor import Actor

from .models import Card, CardKind


@db.atomic
def assign_card(
    *, actor: Actor, customer_number: int, card_number: str, kind: str = CardKind.MIFARE
) -> Card:
    actor.require("customers.change", _("You may not change customers."))
    card_number = (card_number or "").strip()
    if not card_number or len(card_number) > 64 or not card_number.isprintable():
        raise DomainError(
            "invalid_card",
            _("A card number has 1 to 64 characters."),
            fields={"card": _("A card number has 1 to 64 characters.")},
            status=422,
        )
    if kind not in CardKind.values:
        raise DomainError(
            "invalid_card",
            _("Unknown card type."),
            fields={"kind": _("Choose one of: %(v)s.") % {"v": ", ".join(CardKind.values)}},
            status=422,
        )
    customer = customer_selectors.get_customer(actor=actor, number=customer_number)
    try:
        with db.atomic():
            return Card.objects.create(
                tenant=actor.tenant, number=card_number, kind=kind, customer=customer
            )
    except IntegrityError:
        raise Conflict(
            "card_taken",
            _("This card belongs to another customer."),
            fields={"card": _("Already assigned.")},
        ) from None


def block_cards_of_erased_customer(*, customer_id: int) -> int:
    """Block every card of a customer whose data is being erased (in the caller's
    transaction): a found card must not lead to the tombstone."""
    return Card.objects.filter(customer_id=customer_id, blocked=False).update(blocked=True)


def cards_of_customer(*, customer_id: int) -> list[dict]:
    """The customer's cards as plain values (for the person's data download)."""
    return [
        {
            "number": c.number,
            "kind": c.kind,
            "blocked": c.blocked,
            "created_at": c.created_at.isoformat(),
        }
        for c in Card.objects.filter(customer_id=customer_id).order_by("created_at", "pk")
    ]


@db.atomic
def block_lost_card(*, actor: Actor, customer_number: int, card_number: str) -> Card:
    """Block a card its holder lost (the guest themselves, or staff for them); a blocked
    card opens nothing at the tills. Blocking it again changes nothing."""
    actor.require("customers.change", _("You may not change customers."))
    customer = customer_selectors.get_customer(actor=actor, number=customer_number)
    card = (
        Card.objects.select_for_update()
        .filter(customer=customer, number=(card_number or "").strip()[:64])
        .first()
    )
    if card is None:
        raise DomainError(
            "unknown_card",
            _("This card is not one of the customer's cards."),
            fields={"card": _("Not one of the customer's cards.")},
            status=404,
        )
    if not card.blocked:
        card.blocked = True
        card.save(update_fields=["blocked"])
    return card
