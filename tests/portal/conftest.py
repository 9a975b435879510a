"""Portal fixtures: staff users per role, logged-in clients, customers."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor

PASSWORD = "Kellner-Passwort-42"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff_client(tenant):
    """A logged-in browser-like client for a new staff user of `tenant` with a role."""

    def make(role: str, *, username: str | None = None, location=None, tenant_=None) -> Client:
        user = tenant_services.create_staff_user(
            tenant=tenant_ or tenant,
            username=username or f"{role}-user",
            password=PASSWORD,
            role=role,
            location=location,
        )
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(user)
        client.user = user
        return client

    return make


@pytest.fixture
def make_customer():
    def make(tenant, **data):
        with tenant_scope(tenant):
            return customer_services.create_customer(
                actor=Actor.system(tenant), data={"last_name": "Müller", **data}
            )

    return make


def reload(tenant, number):
    from stammgast.customers.models import Customer

    with tenant_scope(tenant):
        return Customer.objects.get(number=number)
