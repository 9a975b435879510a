"""Fixtures for import/export: customers to export, a place for files, a clean tenant."""

from __future__ import annotations

import pytest
from django.http import HttpRequest
from django.test import Client

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import Role

PASSWORD = "Ein-langes-Passwort-1"


def staff(tenant, username, role, location=None, language="de"):
    """A logged-in portal client of a staff user with `role`."""
    tenant_services.create_staff_user(
        tenant=tenant, username=username, password=PASSWORD, role=role, location=location
    )
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.login(request=HttpRequest(), username=username, password=PASSWORD)
    return client


@pytest.fixture
def admin_client(tenant):
    return staff(tenant, "chefin", Role.TENANT_ADMIN)


@pytest.fixture(autouse=True)
def _var_dir(tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()


@pytest.fixture
def some_customers(admin_actor):
    def make(actor=admin_actor):
        create = customer_services.create_customer
        return [
            create(
                actor=actor,
                data={
                    "title": "Dr.",
                    "first_name": "Jürgen",
                    "last_name": "Weiß",
                    "gender": "male",
                    "date_of_birth": "1980-02-29",
                    "street": "Hauptstraße 1",
                    "postcode": "01067",
                    "city": "Dresden",
                    "country": "DE",
                    "phone_private": "0351 1234567",
                    "mobile": "+49 171 2345678",
                    "email": "juergen@example.de",
                    "iban": "DE89370400440532013000",
                    "discount": 10,
                    "price_level": 2,
                    "payment_method": "invoice",
                    "payment_term_days": 14,
                    "favourite": True,
                },
            ),
            create(actor=actor, data={"last_name": '=HYPERLINK("http://x")', "alias": "+1"}),
            create(actor=actor, data={"first_name": "Ana", "blocked": True, "lock_text": "Zu"}),
        ]

    return make


@pytest.fixture
def empty_tenant(db):
    return tenant_services.create_tenant(slug="neu", name="Neuer Standort")


@pytest.fixture
def empty_actor(empty_tenant):
    return Actor.system(empty_tenant)


@pytest.fixture
def scoped():
    return tenant_scope
