"""Scopes of API keys, roles of staff, and customers restricted to some locations."""

import pytest

from stammgast.core.errors import NotFound, PermissionDenied
from stammgast.customers import selectors, services
from stammgast.customers.models import Customer
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor

from .helpers import patch_json, post_json


@pytest.fixture(autouse=True)
def _in_tenant(admin_actor):
    """The test body reads the tenant's tables directly."""


def staff(tenant, role, location=None, username=None):
    user = tenant_services.create_staff_user(
        tenant=tenant,
        username=username or role,
        password="Kaffee-und-Kuchen-42",
        role=role,
        location=location,
    )
    return Actor.for_staff(tenant=tenant, user=user, role=role, location=location)


# --- API scopes ------------------------------------------------------------------------


def test_readonly_key_reads_but_cannot_write(tenant, make_api, make_customer):
    make_customer()
    reader = make_api(tenant, ("readonly",), name="Auswertung")
    assert reader.get("/api/v1/customers/1").status_code == 200
    assert reader.get("/api/v1/customers", {"q": "müller"}).json()["items"]
    created = post_json(reader, "/api/v1/customers", {"last_name": "Neu"})
    assert created.status_code == 403
    assert created.json()["code"] == "permission_denied"
    changed = patch_json(reader, "/api/v1/customers/1", {"city": "Bonn"}, etag='"1-1"')
    assert changed.status_code == 403
    card = post_json(reader, "/api/v1/customers/1/cards", {"card": "C1"})
    assert card.status_code == 403
    assert reader.delete("/api/v1/customers/1/picture").status_code == 403
    assert Customer.objects.count() == 1
    assert Customer.objects.get().version == 1


def test_webshop_may_not_change_payment_fields(tenant, make_api, make_customer):
    make_customer()
    shop = make_api(tenant, ("webshop",), name="Webshop")
    response = patch_json(
        shop, "/api/v1/customers/1", {"discount": 10, "city": "Bonn"}, etag='"1-1"'
    )
    assert response.status_code == 403
    assert "discount" in response.json()["fields"]
    assert Customer.objects.get().city == ""


def test_revoked_key_stops_working(tenant, make_customer):
    make_customer()
    client, key = tenant_services.create_api_key(tenant=tenant, name="Alt", scopes=["pos"])
    tenant_services.revoke_api_key(client=client)
    from tests.conftest import ApiClientFor

    assert ApiClientFor(key).get("/api/v1/customers/1").status_code == 401


# --- staff roles -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("discount", 10),
        ("iban", "DE89370400440532013000"),
        ("price_level", 2),
        ("payment_method", "invoice"),
        ("payment_term_days", 14),
    ],
)
def test_cashier_cannot_change_payment_fields(tenant, location, make_customer, field, value):
    make_customer()
    cashier = staff(tenant, "cashier", location)
    with pytest.raises(PermissionDenied) as err:
        services.update_customer(actor=cashier, number=1, data={field: value, "city": "Bonn"})
    assert field in err.value.fields
    customer = Customer.objects.get()
    assert (customer.city, customer.version) == ("", 1)


def test_cashier_can_change_the_name(tenant, location, make_customer):
    make_customer()
    cashier = staff(tenant, "cashier", location)
    customer = services.update_customer(actor=cashier, number=1, data={"first_name": "Eva"})
    assert customer.first_name == "Eva"


def test_cashier_cannot_create_with_a_discount(tenant, location):
    cashier = staff(tenant, "cashier", location)
    with pytest.raises(PermissionDenied) as err:
        services.create_customer(actor=cashier, data={"last_name": "X", "discount": 5})
    assert "discount" in err.value.fields
    assert Customer.objects.count() == 0


def test_location_manager_may_change_payment_fields(tenant, location, make_customer):
    make_customer()
    manager = staff(tenant, "location_manager", location)
    assert services.update_customer(actor=manager, number=1, data={"discount": 10}).discount == 10


def test_read_only_staff_cannot_create_or_change(tenant, make_customer):
    make_customer()
    reader = staff(tenant, "read_only")
    assert selectors.get_customer(actor=reader, number=1).last_name == "Müller"
    with pytest.raises(PermissionDenied):
        services.create_customer(actor=reader, data={"last_name": "X"})
    with pytest.raises(PermissionDenied):
        services.update_customer(actor=reader, number=1, data={"city": "Bonn"})


def test_only_tenant_admins_apply_defaults(tenant, location):
    manager = staff(tenant, "location_manager", location)
    with pytest.raises(PermissionDenied):
        services.apply_tenant_default(actor=manager, field="newsletter")


# --- location restriction --------------------------------------------------------------


@pytest.fixture
def restricted(location, location_b, make_customer):
    """1: for every location; 2: only Hafen; 3: only Mitte; 4: Mitte and Hafen."""
    make_customer(last_name="Alle")
    make_customer(last_name="Hafenkunde", allowed_locations=["hafen"])
    make_customer(last_name="Mittekunde", allowed_locations=["mitte"])
    make_customer(last_name="Beide", allowed_locations=["mitte", "hafen"])


def test_location_bound_key_sees_its_own_and_unrestricted_customers(
    tenant, location, make_api, restricted
):
    till = make_api(tenant, ("pos",), location=location, name="Kasse Mitte")
    assert till.get("/api/v1/customers/1").status_code == 200
    assert till.get("/api/v1/customers/3").status_code == 200
    assert till.get("/api/v1/customers/4").status_code == 200
    hidden = till.get("/api/v1/customers/2")
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "not_found"
    listed = till.get("/api/v1/customers").json()["items"]
    assert [c["number"] for c in listed] == [1, 3, 4]
    assert till.get("/api/v1/customers", {"q": "hafenkunde"}).json()["items"] == []
    assert till.get("/api/v1/customers/2/history").status_code == 404
    assert patch_json(till, "/api/v1/customers/2", {"city": "X"}, etag='"2-1"').status_code == 404
    assert post_json(till, "/api/v1/customers/2/cards", {"card": "C9"}).status_code == 404


def test_location_bound_key_does_not_find_a_hidden_customer_by_lookup(
    tenant, location, make_api, make_customer, location_b
):
    make_customer(email="geheim@example.de", mobile="0151 23456789", allowed_locations=["hafen"])
    till = make_api(tenant, ("pos",), location=location, name="Kasse Mitte")
    assert till.get("/api/v1/customers/lookup", {"email": "geheim@example.de"}).json() == []
    assert till.get("/api/v1/customers/lookup", {"phone": "015123456789"}).json() == []


def test_unbound_key_and_head_office_see_everyone(tenant, make_api, restricted):
    head_office = make_api(tenant, ("pos",), name="Zentrale")
    listed = head_office.get("/api/v1/customers").json()["items"]
    assert [c["number"] for c in listed] == [1, 2, 3, 4]


def test_location_bound_staff_sees_the_same_as_the_key(tenant, location, restricted):
    cashier = staff(tenant, "cashier", location)
    visible = selectors.visible_customers(cashier).order_by("number")
    assert [c.number for c in visible] == [1, 3, 4]
    with pytest.raises(NotFound):
        services.update_customer(actor=cashier, number=2, data={"city": "X"})


def test_location_filter_of_the_list(pos_api, restricted):
    listed = pos_api.get("/api/v1/customers", {"location": "hafen"}).json()["items"]
    assert [c["number"] for c in listed] == [1, 2, 4]


def test_unknown_location_in_the_restriction_is_refused(pos_api, location):
    response = post_json(
        pos_api, "/api/v1/customers", {"last_name": "X", "allowed_locations": ["nirgendwo"]}
    )
    assert response.status_code == 422
    assert "allowed_locations" in response.json()["fields"]
    assert Customer.objects.count() == 0


def test_lifting_the_restriction_shows_the_customer_everywhere(
    tenant, location, make_api, restricted, admin_actor
):
    till = make_api(tenant, ("pos",), location=location, name="Kasse Mitte")
    services.update_customer(actor=admin_actor, number=2, data={"allowed_locations": []})
    assert till.get("/api/v1/customers/2").status_code == 200


def test_a_read_names_groups_tags_and_locations_sorted(restricted, pos_api, admin_actor):
    from stammgast.customers.catalogue import create_customer_group

    for name in ("VIP", "Stammgäste"):
        create_customer_group(actor=admin_actor, name=name)
    services.update_customer(
        actor=admin_actor,
        number=4,
        data={"groups": ["VIP", "Stammgäste"], "tags": ["vegan", "laktosefrei"]},
        expected_version=1,
    )
    both = pos_api.get("/api/v1/customers/4").json()
    assert both["groups"] == ["Stammgäste", "VIP"]
    assert both["tags"] == ["laktosefrei", "vegan"]
    assert both["allowed_locations"] == ["hafen", "mitte"]
    everywhere = pos_api.get("/api/v1/customers/1").json()
    assert (everywhere["groups"], everywhere["tags"], everywhere["allowed_locations"]) == (
        [],
        [],
        [],
    )
