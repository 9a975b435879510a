"""Fixtures of the payment tests: the sandbox provider switched on, a guest and helpers."""

from __future__ import annotations

import pytest
from django.test import Client

from stammgast.customers import services as customer_services
from stammgast.ledger.models import CreditAccount, CreditEntry
from stammgast.payments import providers
from stammgast.tenants.actor import Actor

SANDBOX = providers.SandboxProvider()


@pytest.fixture(autouse=True)
def _sandbox_offered(settings):
    # An installation offers the sandbox only when told to (it moves no money).
    settings.STAMMGAST_PAYMENT_PROVIDERS = ["sandbox"]


@pytest.fixture
def customer(admin_actor):
    return customer_services.create_customer(
        actor=admin_actor, data={"first_name": "Greta", "last_name": "Gast"}
    )


@pytest.fixture
def guest(tenant, customer):
    return Actor.for_guest(tenant=tenant, customer_number=customer.number)


@pytest.fixture
def web():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def balance(customer) -> int:
    account = CreditAccount.objects.filter(customer_id=customer.pk).first()
    return account.balance if account else 0


def top_up_entries(customer) -> int:
    return CreditEntry.objects.filter(account__customer_id=customer.pk).count()


def send_callback(web: Client, tenant, body: bytes, signature: str, provider: str = "sandbox"):
    """POST a callback as a provider's server does: raw JSON body, signature header."""
    return web.post(
        f"/pay/{tenant.slug}/callback/{provider}/",
        data=body,
        content_type="application/json",
        headers={"Stammgast-Signature": signature},
    )
