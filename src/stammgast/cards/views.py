"""The cards app's part of the portal: the customer record's "Cards" register."""

from __future__ import annotations

from django.http import HttpRequest

from . import selectors


def cards_register(request: HttpRequest, customer) -> dict:
    return {"cards": selectors.cards_of_customer(customer_id=customer.pk)}
