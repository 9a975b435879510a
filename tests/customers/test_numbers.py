"""Customer numbers: next free, a location's own range, explicit, never reused."""

import pytest

from stammgast.core.errors import Conflict, DomainError
from stammgast.customers import services
from stammgast.customers.models import Customer
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor

from .helpers import post_json


@pytest.fixture(autouse=True)
def _in_tenant(admin_actor):
    """The test body reads the tenant's tables directly."""


def new(actor, **data):
    data.setdefault("last_name", "Müller")
    return services.create_customer(actor=actor, data=data).number


def test_tenant_wide_numbers_count_up_from_one(admin_actor):
    assert [new(admin_actor) for _ in range(3)] == [1, 2, 3]


def test_a_location_bound_till_uses_its_locations_range(tenant, location, make_api):
    till = make_api(tenant, ("pos",), location=location, name="Kasse Mitte")
    numbers = [
        post_json(till, "/api/v1/customers", {"last_name": f"K{i}"}).json()["number"]
        for i in range(3)
    ]
    assert numbers == [100000, 100001, 100002]


def test_a_location_bound_staff_member_uses_its_range(tenant, location):
    user = tenant_services.create_staff_user(
        tenant=tenant,
        username="petra",
        password="Kaffee-und-Kuchen-42",
        role="cashier",
        location=location,
    )
    cashier = Actor.for_staff(tenant=tenant, user=user, role="cashier", location=location)
    assert new(cashier) == 100000


def test_a_location_without_a_range_uses_the_tenant_counter(tenant, location_b, make_api):
    till = make_api(tenant, ("pos",), location=location_b, name="Kasse Hafen")
    assert post_json(till, "/api/v1/customers", {"last_name": "A"}).json()["number"] == 1


def test_tenant_wide_creation_skips_location_ranges(tenant, admin_actor):
    tenant_services.create_location(tenant=tenant, code="nord", name="Nord", numbers=(3, 5))
    assert [new(admin_actor) for _ in range(4)] == [1, 2, 6, 7]


def test_tenant_wide_creation_skips_explicit_numbers(admin_actor):
    assert new(admin_actor, number=2) == 2
    assert new(admin_actor, number="4") == 4
    assert [new(admin_actor) for _ in range(3)] == [1, 3, 5]


def test_a_range_skips_numbers_already_given(tenant, location, make_api, admin_actor):
    new(admin_actor, number=100001)
    till = make_api(tenant, ("pos",), location=location, name="Kasse Mitte")
    numbers = [
        post_json(till, "/api/v1/customers", {"last_name": f"K{i}"}).json()["number"]
        for i in range(2)
    ]
    assert numbers == [100000, 100002]


def test_explicit_number_via_the_api(pos_api):
    response = post_json(pos_api, "/api/v1/customers", {"last_name": "A", "number": 9_999_999})
    assert response.status_code == 201, response.content
    assert response.json()["number"] == 9_999_999


def test_a_taken_number_is_409_and_creates_nothing(pos_api, admin_actor):
    new(admin_actor, number=42)
    response = post_json(pos_api, "/api/v1/customers", {"last_name": "B", "number": 42})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "number_taken"
    assert "number" in body["fields"]
    assert Customer.objects.count() == 1
    with pytest.raises(Conflict):
        new(admin_actor, number=42)


@pytest.mark.parametrize("number", [0, -1, 10_000_000, "abc", 1.5, "12a", True])
def test_a_number_outside_1_to_9999999_is_refused(pos_api, number):
    response = post_json(pos_api, "/api/v1/customers", {"last_name": "B", "number": number})
    assert response.status_code == 422
    assert "number" in response.json()["fields"]
    assert Customer.objects.count() == 0


def test_the_number_cannot_be_changed(pos_api, admin_actor):
    new(admin_actor)
    response = pos_api.patch(
        "/api/v1/customers/1", {"number": 5}, content_type="application/json", HTTP_IF_MATCH='"1-1"'
    )
    assert response.status_code == 422
    assert "number" in response.json()["fields"]
    assert Customer.objects.get().number == 1


def test_numbers_are_never_reused(tenant, location, make_api, admin_actor):
    assert [new(admin_actor) for _ in range(3)] == [1, 2, 3]
    Customer.objects.filter(number=3).delete()
    assert new(admin_actor) == 4
    till = make_api(tenant, ("pos",), location=location, name="Kasse Mitte")
    first = post_json(till, "/api/v1/customers", {"last_name": "K"}).json()["number"]
    Customer.objects.filter(number=first).delete()
    second = post_json(till, "/api/v1/customers", {"last_name": "K"}).json()["number"]
    assert second == first + 1


def test_an_exhausted_range_gives_a_clear_error(tenant, make_api):
    small = tenant_services.create_location(
        tenant=tenant, code="klein", name="Klein", numbers=(500, 501)
    )
    till = make_api(tenant, ("pos",), location=small, name="Kasse Klein")
    for _ in range(2):
        assert post_json(till, "/api/v1/customers", {"last_name": "K"}).status_code == 201
    response = post_json(till, "/api/v1/customers", {"last_name": "K"})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "number_range_exhausted"
    assert "500-501" in body["message"]
    assert Customer.objects.count() == 2


def test_a_used_up_range_stays_used_up_after_a_deletion(tenant, make_api):
    small = tenant_services.create_location(
        tenant=tenant, code="klein", name="Klein", numbers=(500, 501)
    )
    till = make_api(tenant, ("pos",), location=small, name="Kasse Klein")
    for _ in range(2):
        post_json(till, "/api/v1/customers", {"last_name": "K"})
    Customer.objects.filter(number=500).delete()
    response = post_json(till, "/api/v1/customers", {"last_name": "K"})
    assert response.status_code == 409
    assert not Customer.objects.filter(number=500).exists()


# --- ranges of locations ---------------------------------------------------------------


@pytest.mark.parametrize(
    "numbers", [(100500, 101500), (99000, 100000), (100999, 100999), (1, 9_999_999)]
)
def test_overlapping_ranges_are_refused(tenant, location, numbers):
    with pytest.raises(Conflict) as err:
        tenant_services.create_location(tenant=tenant, code="neu", name="Neu", numbers=numbers)
    assert err.value.code == "number_range_overlap"
    assert "mitte" in err.value.message
    assert not tenant_services.Location.objects.filter(code="neu").exists()


def test_adjacent_ranges_are_fine(tenant, location):
    neighbour = tenant_services.create_location(
        tenant=tenant, code="neu", name="Neu", numbers=(101000, 101999)
    )
    assert (neighbour.number_from, neighbour.number_to) == (101000, 101999)


def test_ranges_of_other_tenants_do_not_clash(tenant, location, other_tenant):
    other = tenant_services.create_location(
        tenant=other_tenant, code="mitte", name="Mitte", numbers=(100000, 100999)
    )
    assert other.number_from == 100000


@pytest.mark.parametrize("numbers", [(0, 10), (10, 5), (1, 10_000_000)])
def test_a_range_outside_the_number_space_is_refused(tenant, numbers):
    with pytest.raises(DomainError) as err:
        tenant_services.create_location(tenant=tenant, code="neu", name="Neu", numbers=numbers)
    assert "numbers" in err.value.fields


@pytest.mark.parametrize("text", ["1000", "a-b", "1000-", "1-2-3", "10000000-10000001"])
def test_a_badly_written_range_is_refused(text):
    with pytest.raises(DomainError) as err:
        tenant_services.parse_number_range(text)
    assert "numbers" in err.value.fields
