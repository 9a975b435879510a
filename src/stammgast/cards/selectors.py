"""Reads of the card database."""

from django.db.models import QuerySet

from .models import Card


def customer_ids_for_card(number: str) -> QuerySet:
    return Card.objects.filter(number=number, blocked=False).values("customer_id")
