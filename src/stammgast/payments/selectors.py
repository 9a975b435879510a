"""Reads of online top-ups: one by its public reference, a customer's latest."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from stammgast.core.errors import NotFound, PermissionDenied
from stammgast.customers import selectors as customer_selectors
from stammgast.tenants.actor import Actor

from .models import TopUpPayment

MAX_LISTED = 50


def top_up_by_reference(*, reference: str) -> TopUpPayment:
    """The active tenant's top-up with this reference (the reference is the capability:
    whoever was given it may see how the payment went)."""
    payment = (
        TopUpPayment.objects.select_related("customer", "tenant")
        .filter(reference=reference[:40])
        .first()
    )
    if payment is None:
        raise NotFound(_("There is no such payment."), code="unknown_payment")
    return payment


def top_ups_of_customer(
    *, actor: Actor, customer_number: int, limit: int = 20
) -> QuerySet[TopUpPayment]:
    """A customer's latest online top-ups, newest first (at most MAX_LISTED)."""
    if actor.guest and actor.own_customer != customer_number:
        raise PermissionDenied(_("A guest sees only their own payments."))
    customer = customer_selectors.get_payer(actor=actor, number=customer_number)
    return TopUpPayment.objects.filter(customer_id=customer.pk).order_by("-id")[
        : max(1, min(limit, MAX_LISTED))
    ]


def pending_top_ups(*, customer_id: int) -> int:
    """How many online top-ups of the customer wait for the provider's answer."""
    return TopUpPayment.objects.filter(customer_id=customer_id, status="pending").count()


def top_ups_for_data_download(*, customer_id: int) -> list[dict]:
    """Every online top-up of the customer, as plain values (the person's data download)."""
    return [
        {
            "reference": p.reference,
            "amount_cents": p.amount,
            "currency": p.currency,
            "provider": p.provider,
            "status": p.status,
            "created_at": p.created_at.isoformat(),
            "completed_at": p.completed_at.isoformat() if p.completed_at else None,
        }
        for p in TopUpPayment.objects.filter(customer_id=customer_id).order_by("id")
    ]
