"""A location leaves its group: new tenant, empty customer base; the old customers stay."""

import pytest

from stammgast.core.errors import Conflict
from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.customers.models import Customer, CustomerEvent
from stammgast.tenants import services
from stammgast.tenants.models import ApiClient, Location, Membership


@pytest.fixture
def group_with_customers(tenant, location, location_b, admin_actor):
    for i in range(3):
        customer_services.create_customer(actor=admin_actor, data={"last_name": f"Gast{i}"})
    customer_services.create_customer(
        actor=admin_actor, data={"last_name": "Nur Mitte", "allowed_locations": ["mitte"]}
    )
    customer_services.create_customer(
        actor=admin_actor, data={"last_name": "Beide", "allowed_locations": ["mitte", "hafen"]}
    )
    return tenant


def test_the_leaving_location_starts_with_an_empty_customer_base(
    group_with_customers, location, make_api, django_capture_on_commit_callbacks
):
    till = make_api(group_with_customers, ("pos",), location=location, name="Kasse Mitte")
    assert len(till.get("/api/v1/customers").json()["items"]) == 5
    with django_capture_on_commit_callbacks(execute=True):
        new_tenant = services.detach_location(
            location=location, new_slug="mitte-gmbh", new_name="Mitte GmbH"
        )
    assert new_tenant.slug == "mitte-gmbh"
    with tenant_scope(new_tenant):
        assert Customer.objects.count() == 0
        assert [loc.code for loc in Location.objects.all()] == ["mitte"]
    with tenant_scope(group_with_customers):
        assert Customer.objects.count() == 5
        assert [loc.code for loc in Location.objects.all()] == ["hafen"]
    # The till went with its location and sees none of the old customers.
    assert till.get("/api/v1/customers").json()["items"] == []
    for number in range(1, 6):
        assert till.get(f"/api/v1/customers/{number}").status_code == 404
    assert till.get("/api/v1/customers/lookup", {"email": "x@example.de"}).json() == []


def test_the_till_creates_customers_in_the_new_tenant(
    group_with_customers, location, make_api, django_capture_on_commit_callbacks
):
    till = make_api(group_with_customers, ("pos",), location=location, name="Kasse Mitte")
    first = till.post(
        "/api/v1/customers", {"last_name": "Vorher"}, content_type="application/json"
    ).json()["number"]
    with django_capture_on_commit_callbacks(execute=True):
        new_tenant = services.detach_location(
            location=location, new_slug="mitte-gmbh", new_name="Mitte GmbH"
        )
    after = till.post(
        "/api/v1/customers", {"last_name": "Nachher"}, content_type="application/json"
    )
    assert after.status_code == 201, after.content
    # The new tenant's range starts again at the beginning of the location's range.
    assert after.json()["number"] == first
    with tenant_scope(new_tenant):
        assert list(Customer.objects.values_list("last_name", flat=True)) == ["Nachher"]
    assert Customer.objects.filter(last_name="Vorher").exists()


def test_restrictions_to_the_leaving_location_are_released(
    group_with_customers, location, location_b, make_api
):
    untouched = Customer.objects.get(last_name="Gast0")
    services.detach_location(location=location, new_slug="mitte-gmbh", new_name="Mitte GmbH")
    both = Customer.objects.get(last_name="Beide")
    assert [loc.code for loc in both.allowed_locations.all()] == ["hafen"]
    # The released customers changed (new ETag, new "last changed"); the others did not.
    assert both.version == 2
    assert both.updated_at > both.created_at
    untouched.refresh_from_db()
    assert untouched.version == 1
    only = Customer.objects.get(last_name="Nur Mitte")
    # Still restricted, so the other locations do not suddenly see the leaving one's guest.
    assert only.location_restricted
    assert list(only.allowed_locations.all()) == []
    hafen_till = make_api(group_with_customers, ("pos",), location=location_b, name="Kasse Hafen")
    assert hafen_till.get(f"/api/v1/customers/{only.number}").status_code == 404
    assert hafen_till.get(f"/api/v1/customers/{both.number}").status_code == 200
    assert CustomerEvent.objects.filter(action="location_released").count() == 2


def test_staff_and_keys_of_the_location_move_with_it(group_with_customers, location, location_b):
    services.create_staff_user(
        tenant=group_with_customers,
        username="petra",
        password="Kaffee-und-Kuchen-42",
        role="cashier",
        location=location,
    )
    services.create_staff_user(
        tenant=group_with_customers,
        username="hans",
        password="Kaffee-und-Kuchen-42",
        role="cashier",
        location=location_b,
    )
    services.create_api_key(
        tenant=group_with_customers, name="Kasse Mitte", scopes=["pos"], location=location
    )
    services.create_api_key(tenant=group_with_customers, name="Zentrale", scopes=["pos"])
    new_tenant = services.detach_location(
        location=location, new_slug="mitte-gmbh", new_name="Mitte GmbH"
    )
    with tenant_scope(new_tenant):
        assert [m.user.username for m in Membership.objects.all()] == ["petra"]
        assert [c.name for c in ApiClient.objects.all()] == ["Kasse Mitte"]
    with tenant_scope(group_with_customers):
        assert [m.user.username for m in Membership.objects.all()] == ["hans"]
        assert [c.name for c in ApiClient.objects.all()] == ["Zentrale"]


def test_a_taken_slug_changes_nothing(group_with_customers, location, other_tenant):
    with pytest.raises(Conflict):
        services.detach_location(location=location, new_slug=other_tenant.slug, new_name="X")
    with tenant_scope(group_with_customers):
        assert Location.objects.filter(code="mitte").exists()
        assert Customer.objects.get(last_name="Beide").allowed_locations.count() == 2


def test_an_actor_from_before_the_move_gets_a_clear_conflict(group_with_customers, location):
    from stammgast.tenants.actor import Actor

    stale = Actor.system(group_with_customers, location=location)
    services.detach_location(location=location, new_slug="mitte-gmbh", new_name="Mitte GmbH")
    with pytest.raises(Conflict) as err:
        customer_services.create_customer(actor=stale, data={"last_name": "Spät"})
    assert err.value.code == "location_moved"
    assert not Customer.objects.filter(last_name="Spät").exists()
