"""Another tenant's key never reaches a customer: every endpoint answers 404 or finds nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from stammgast.cards.services import assign_card
from stammgast.core.tenancy import TenantNotActive, tenant_scope
from stammgast.customers.models import Customer, CustomerEvent
from stammgast.tenants.models import Location

from .helpers import patch_json, png, post_json, put_picture

NUMBER = 4711


@pytest.fixture
def guest(admin_actor, make_customer):
    customer = make_customer(
        number=NUMBER,
        first_name="Anna",
        last_name="Müller",
        email="anna.mueller@example.de",
        mobile="0151 23456789",
        postcode="50667",
        city="Köln",
    )
    assign_card(actor=admin_actor, customer_number=NUMBER, card_number="CARD-0001")
    return customer


def _picture():
    return SimpleUploadedFile("face.png", png(), content_type="image/png")


# (method, path, what the other tenant gets)
ENDPOINTS = [
    ("get", f"/api/v1/customers/{NUMBER}", 404),
    ("patch", f"/api/v1/customers/{NUMBER}", 404),
    ("get", f"/api/v1/customers/{NUMBER}/history", 404),
    ("put_picture", f"/api/v1/customers/{NUMBER}/picture", 404),
    ("post_picture", f"/api/v1/customers/{NUMBER}/picture", 404),
    ("delete", f"/api/v1/customers/{NUMBER}/picture", 404),
    ("post_card", f"/api/v1/customers/{NUMBER}/cards", 404),
    ("get", "/api/v1/customers?q=Müller", []),
    ("get", "/api/v1/customers?q=koln", []),
    ("get", f"/api/v1/customers?q={NUMBER}", []),
    ("get", "/api/v1/customers", []),
    ("get", "/api/v1/customers/lookup?phone=%2B4915123456789", []),
    ("get", "/api/v1/customers/lookup?email=anna.mueller@example.de", []),
    ("get", "/api/v1/customers/lookup?card=CARD-0001", []),
]


def _call(client, method, path):
    if method == "patch":
        return patch_json(client, path, {"city": "Bonn"}, etag=f'"{NUMBER}-1"')
    if method == "put_picture":
        return put_picture(client, path, png())
    if method == "post_picture":
        return client.post(path, {"picture": _picture()})
    if method == "post_card":
        return post_json(client, path, {"card": "CARD-0002"})
    return getattr(client, method)(path)


@pytest.mark.parametrize(("method", "path", "expected"), ENDPOINTS)
def test_another_tenants_key_sees_nothing(guest, pos_api, other_api, method, path, expected):
    # The own tenant's key reaches the customer on the same endpoint...
    if method == "get":
        own = pos_api.get(path)
        assert own.status_code == 200, own.content
        if isinstance(expected, list):
            body = own.json()
            items = body["items"] if isinstance(body, dict) else body
            assert [c["number"] for c in items] == [NUMBER]
    # ...the other tenant's does not.
    response = _call(other_api, method, path)
    if isinstance(expected, int):
        assert response.status_code == expected, response.content
        assert response.json()["code"] == "not_found"
    else:
        assert response.status_code == 200, response.content
        body = response.json()
        items = body["items"] if isinstance(body, dict) else body
        assert items == expected


def test_nothing_changed_by_the_other_tenants_calls(guest, pos_api, other_api):
    for method, path, _expected in ENDPOINTS:
        _call(other_api, method, path)
    got = pos_api.get(f"/api/v1/customers/{NUMBER}").json()
    assert got["version"] == 1
    assert got["city"] == "Köln"
    assert got["picture_url"] is None
    assert CustomerEvent.objects.filter(customer=guest).count() == 1
    assert [c.number for c in guest.cards.all()] == ["CARD-0001"]


def test_each_tenant_has_its_own_numbers(tenant, other_tenant, pos_api, other_api):
    mine = post_json(pos_api, "/api/v1/customers", {"last_name": "Adler"}).json()
    theirs = post_json(other_api, "/api/v1/customers", {"last_name": "Krone"}).json()
    # Both start at 1: numbers are per tenant, and each key sees only its own customer.
    assert mine["number"] == theirs["number"] == 1
    assert pos_api.get("/api/v1/customers/1").json()["last_name"] == "Adler"
    assert other_api.get("/api/v1/customers/1").json()["last_name"] == "Krone"


def test_a_tenant_owned_query_without_an_active_tenant_raises(tenant):
    for model in (Customer, CustomerEvent, Location):
        with pytest.raises(TenantNotActive):
            list(model.objects.all())
    with tenant_scope(tenant):
        assert list(Customer.objects.all()) == []


def test_a_row_of_another_tenant_cannot_be_saved(tenant, other_tenant, make_customer):
    customer = make_customer()
    with tenant_scope(other_tenant), pytest.raises(TenantNotActive):
        customer.save()


def test_an_unknown_or_missing_key_is_401(guest, client):
    assert client.get(f"/api/v1/customers/{NUMBER}").status_code == 401
    response = client.get(
        f"/api/v1/customers/{NUMBER}", HTTP_AUTHORIZATION="Bearer sg_deadbeef_nothing"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_another_tenants_groups_and_locations_cannot_be_named(
    tenant, other_tenant, other_api, location
):
    from stammgast.customers.models import CustomerGroup

    with tenant_scope(tenant):
        CustomerGroup.objects.create(name="Stammgäste")
    response = post_json(
        other_api,
        "/api/v1/customers",
        {"last_name": "Krone", "groups": ["Stammgäste"], "allowed_locations": ["mitte"]},
    )
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"groups", "allowed_locations"}
    with tenant_scope(other_tenant):
        assert Customer.objects.count() == 0


def test_a_picture_is_shown_only_to_its_own_tenant(guest, pos_api, other_api):
    assert put_picture(pos_api, f"/api/v1/customers/{NUMBER}/picture", png()).status_code == 200
    url = pos_api.get(f"/api/v1/customers/{NUMBER}").json()["picture_url"]
    assert pos_api.get(url).status_code == 200
    refused = other_api.get(url)
    assert refused.status_code == 404
    assert refused.json()["code"] == "not_found"
    assert pos_api.get(url.replace("/api/v1/", "/media/")).status_code == 404
