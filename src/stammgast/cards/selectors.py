"""Reads of the card database."""

from django.db.models import QuerySet

from .models import Card


def customers_with_card(*, tenant_id: int, value: str) -> QuerySet:
    """The ids of the customers holding an unblocked card with this number (at most one).

    Takes the tenant as given, not the active one: the customers app compiles the lookup
    that uses this once and runs it for every tenant.
    """
    return Card.all_tenants.filter(tenant_id=tenant_id, number=value, blocked=False).values(
        "customer_id"
    )


def cards_of_customer(*, customer_id: int) -> list[Card]:
    """The customer's cards, newest first (the active tenant's only)."""
    return list(Card.objects.filter(customer_id=customer_id).order_by("-created_at", "-pk"))
