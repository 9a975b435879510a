"""Blocking and unblocking are separate rights, and a block is lifted only by its rank or above."""

import pytest
from django.utils import translation

from stammgast.core.errors import PermissionDenied
from stammgast.customers import services
from stammgast.customers.models import Customer
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor

from .helpers import patch_json


@pytest.fixture(autouse=True)
def _in_tenant_in_german(admin_actor):
    """The test body reads the tenant's tables directly; messages are German, the default."""
    with translation.override("de"):
        yield


def staff(tenant, role, location=None):
    user = tenant_services.create_staff_user(
        tenant=tenant,
        username=f"{role}-{location.code if location else 'hq'}",
        password="Kaffee-und-Kuchen-42",
        role=role,
        location=location,
    )
    return Actor.for_staff(tenant=tenant, user=user, role=role, location=location)


def test_a_cashier_blocks_but_cannot_unblock(tenant, location, make_customer):
    customer = make_customer()
    cashier = staff(tenant, "cashier", location)
    services.block_customer(actor=cashier, number=customer.number, lock_text="Karte verloren")
    with pytest.raises(PermissionDenied) as refused:
        services.unblock_customer(actor=cashier, number=customer.number)
    assert refused.value.fields["blocked"] == ["Sie dürfen keine Sperren aufheben."]
    stored = Customer.objects.get()
    assert stored.blocked is True
    assert stored.lock_text == "Karte verloren"
    assert stored.blocked_by_role == "cashier"

    manager = staff(tenant, "location_manager", location)
    services.unblock_customer(actor=manager, number=customer.number)
    stored = Customer.objects.get()
    assert stored.blocked is False
    assert stored.blocked_by_role == ""


def test_head_office_block_is_lifted_only_by_head_office(
    tenant, location, admin_actor, make_customer
):
    customer = make_customer()
    services.block_customer(actor=admin_actor, number=customer.number, lock_text="Zentrale")
    manager = staff(tenant, "location_manager", location)
    cashier = staff(tenant, "cashier", location)
    for actor in (manager, cashier):
        with pytest.raises(PermissionDenied) as refused:
            services.unblock_customer(actor=actor, number=customer.number)
        assert "Zentrale" in refused.value.message
        # Nor may they rewrite the lock text of a block above them.
        with pytest.raises(PermissionDenied):
            services.block_customer(actor=actor, number=customer.number, lock_text="anders")
    stored = Customer.objects.get()
    assert (stored.blocked, stored.lock_text, stored.version) == (True, "Zentrale", 2)

    services.unblock_customer(actor=admin_actor, number=customer.number)
    assert Customer.objects.get().blocked is False


def test_a_managers_block_is_not_lifted_by_a_till(tenant, location, pos_api, make_customer):
    customer = make_customer()
    manager = staff(tenant, "location_manager", location)
    services.block_customer(actor=manager, number=customer.number, lock_text="Hausverbot")
    response = patch_json(
        pos_api, "/api/v1/customers/1", {"blocked": False, "lock_text": ""}, etag='"1-2"'
    )
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "block_not_allowed"
    assert "Standortleitung" in body["message"]
    assert "blocked" in body["fields"]
    assert Customer.objects.get().blocked is True


def test_a_till_lifts_a_block_a_till_set(tenant, pos_api, make_customer):
    make_customer()
    blocked = patch_json(
        pos_api,
        "/api/v1/customers/1",
        {"blocked": True, "lock_text": "Karte gesperrt"},
        etag='"1-1"',
    )
    assert blocked.status_code == 200
    assert Customer.objects.get().blocked_by_role == "cashier"
    lifted = patch_json(
        pos_api, "/api/v1/customers/1", {"blocked": False, "lock_text": ""}, etag=blocked["ETag"]
    )
    assert lifted.status_code == 200, lifted.content
    assert Customer.objects.get().blocked is False


def test_a_customer_created_blocked_carries_the_creators_rank(tenant, location, make_customer):
    manager = staff(tenant, "location_manager", location)
    customer = services.create_customer(
        actor=manager, data={"last_name": "Schmidt", "blocked": True, "lock_text": "Prüfen"}
    )
    assert customer.blocked_by_role == "location_manager"
    with pytest.raises(PermissionDenied):
        services.unblock_customer(actor=staff(tenant, "cashier", location), number=customer.number)
