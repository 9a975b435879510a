"""Every create and change records who, when, where and which fields went from what to what."""

import pytest

from stammgast.core.errors import DomainError
from stammgast.customers import selectors, services
from stammgast.customers.models import Customer
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor

from .helpers import patch_json, post_json


@pytest.fixture(autouse=True)
def _in_tenant(admin_actor):
    """The test body reads the tenant's tables directly."""


def history(client, number=1, **params):
    response = client.get(f"/api/v1/customers/{number}/history", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_creation_by_an_api_client_at_a_location(tenant, location, make_api):
    till = make_api(tenant, ("pos",), location=location, name="Kasse Mitte")
    created = post_json(till, "/api/v1/customers", {"last_name": "Müller", "city": "Köln"})
    number = created.json()["number"]
    [entry] = history(till, number)["items"]
    assert entry["action"] == "created"
    assert entry["actor"] == "API: Kasse Mitte"
    assert entry["location"] == "mitte"
    assert entry["changes"]["last_name"] == [None, "Müller"]
    assert entry["changes"]["city"] == [None, "Köln"]
    assert entry["changes"]["number"] == [None, number]


def test_change_records_old_and_new_values_of_changed_fields_only(pos_api):
    post_json(pos_api, "/api/v1/customers", {"last_name": "Müller", "city": "Köln"})
    patch_json(
        pos_api,
        "/api/v1/customers/1",
        {"city": "Bonn", "last_name": "Müller", "email": "m@example.de"},
        etag='"1-1"',
    )
    newest, first = history(pos_api)["items"]
    assert newest["action"] == "updated"
    assert newest["actor"] == "API: Kasse 1"
    assert newest["location"] == ""
    assert newest["changes"] == {"city": ["Köln", "Bonn"], "email": ["", "m@example.de"]}
    assert first["action"] == "created"


def test_change_by_a_staff_user_names_the_user_and_location(tenant, location):
    user = tenant_services.create_staff_user(
        tenant=tenant,
        username="petra",
        password="Kaffee-und-Kuchen-42",
        role="cashier",
        location=location,
    )
    cashier = Actor.for_staff(tenant=tenant, user=user, role="cashier", location=location)
    customer = services.create_customer(actor=cashier, data={"last_name": "Schulz"})
    services.update_customer(actor=cashier, number=customer.number, data={"first_name": "Eva"})
    page = selectors.customer_history(actor=cashier, number=customer.number)
    changed, created = page.items
    assert (changed.actor_label, changed.location_code, changed.user) == ("petra", "mitte", user)
    assert changed.changes == {"first_name": ["", "Eva"]}
    assert (created.actor_label, created.location_code) == ("petra", "mitte")


def test_unchanged_data_records_nothing_and_keeps_the_version(pos_api):
    post_json(pos_api, "/api/v1/customers", {"last_name": "Müller"})
    response = patch_json(pos_api, "/api/v1/customers/1", {"last_name": "Müller"}, etag='"1-1"')
    assert response.status_code == 200
    assert response["ETag"] == '"1-1"'
    assert len(history(pos_api)["items"]) == 1


def test_created_and_last_changed_come_from_the_history(pos_api):
    created = post_json(pos_api, "/api/v1/customers", {"last_name": "Müller"}).json()
    changed = patch_json(pos_api, "/api/v1/customers/1", {"city": "Bonn"}, etag='"1-1"').json()
    newest, first = history(pos_api)["items"]
    assert created["created_at"] == changed["created_at"] == first["at"]
    assert changed["updated_at"] == newest["at"]
    assert changed["updated_at"] > changed["created_at"]


def test_long_texts_are_summarised_not_copied(tenant, make_api):
    reservations = make_api(tenant, ("thirdparty",), name="Reservierung")
    post_json(
        reservations, "/api/v1/customers", {"last_name": "Müller", "third_party_memo": "x" * 5000}
    )
    [entry] = history(reservations)["items"]
    assert "5000" in entry["changes"]["third_party_memo"][1]
    assert len(entry["changes"]["third_party_memo"][1]) < 100


def test_groups_and_blocking_are_recorded(make_customer, admin_actor):
    from stammgast.customers.models import CustomerGroup

    CustomerGroup.objects.create(name="Stammgäste")
    customer = make_customer()
    services.update_customer(
        actor=admin_actor, number=customer.number, data={"groups": ["Stammgäste"]}
    )
    services.block_customer(actor=admin_actor, number=customer.number, lock_text="Hausverbot")
    blocked, grouped, _created = selectors.customer_history(
        actor=admin_actor, number=customer.number
    ).items
    assert grouped.changes == {"groups": [[], ["Stammgäste"]]}
    assert blocked.action == "blocked"
    assert blocked.changes == {"blocked": [False, True], "lock_text": ["", "Hausverbot"]}
    assert blocked.actor_label == "system"


def test_history_pages_walk_every_entry_once(pos_api, make_customer, admin_actor):
    customer = make_customer()
    for i in range(11):
        services.update_customer(actor=admin_actor, number=customer.number, data={"memo": f"#{i}"})
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = history(pos_api, customer.number, **params)
        pages += 1
        assert len(page["items"]) <= 4
        seen += [e["changes"].get("memo", [None, "created"])[1] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert seen == [f"#{i}" for i in reversed(range(11))] + ["created"]


def test_history_with_a_bad_cursor_is_400(pos_api, make_customer):
    make_customer()
    for cursor in ("not-a-cursor", "eyJpZCI6ICJ4In0=", "W10="):
        response = pos_api.get("/api/v1/customers/1/history", {"cursor": cursor})
        assert response.status_code == 400, (cursor, response.content)
        assert response.json()["code"] == "invalid_cursor"


def test_history_of_an_unknown_customer_is_404(pos_api, admin_actor):
    assert pos_api.get("/api/v1/customers/99/history").status_code == 404
    with pytest.raises(DomainError):
        selectors.customer_history(actor=admin_actor, number=99)


def test_a_refused_change_records_nothing(pos_api, make_customer):
    make_customer()
    patch_json(pos_api, "/api/v1/customers/1", {"discount": "ten"}, etag='"1-1"')
    assert len(history(pos_api)["items"]) == 1
    assert Customer.objects.get().version == 1
