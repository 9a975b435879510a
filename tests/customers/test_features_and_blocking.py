"""Tenant-defined features, tags, comments, favourites and blocking through the API."""

import pytest

from stammgast.customers.models import Customer, FeatureDefinition, Tag

from .helpers import patch_json, post_json


@pytest.fixture
def features(admin_actor):
    FeatureDefinition.objects.create(key="shoe_size", label="Schuhgröße", type="number")
    FeatureDefinition.objects.create(key="vip", label="VIP", type="boolean")
    FeatureDefinition.objects.create(key="since", label="Kunde seit", type="date")
    FeatureDefinition.objects.create(
        key="seat", label="Lieblingsplatz", type="choice", choices=["Fenster", "Terrasse"]
    )
    FeatureDefinition.objects.create(key="note", label="Notiz", type="text")


def test_features_of_every_type_are_stored(pos_api, features):
    values = {
        "shoe_size": 43,
        "vip": True,
        "since": "2020-05-01",
        "seat": "Terrasse",
        "note": "mag es ruhig",
    }
    response = post_json(pos_api, "/api/v1/customers", {"last_name": "A", "features": values})
    assert response.status_code == 201, response.content
    assert response.json()["features"] == values


@pytest.mark.parametrize(
    "values",
    [
        {"shoe_size": "43"},
        {"shoe_size": True},
        {"vip": "yes"},
        {"since": "01.05.2020"},
        {"seat": "Keller"},
        {"note": "x" * 1001},
        {"unknown": 1},
    ],
)
def test_wrong_feature_values_are_refused(pos_api, features, values):
    response = post_json(pos_api, "/api/v1/customers", {"last_name": "A", "features": values})
    assert response.status_code == 422
    [key] = values
    assert f"features.{key}" in response.json()["fields"]
    assert Customer.objects.count() == 0


def test_another_tenants_features_do_not_exist_here(other_api, features, other_tenant):
    response = post_json(
        other_api, "/api/v1/customers", {"last_name": "A", "features": {"vip": True}}
    )
    assert response.status_code == 422
    assert "features.vip" in response.json()["fields"]


def test_tags_are_created_once_and_kept_sorted(pos_api, admin_actor):
    post_json(pos_api, "/api/v1/customers", {"last_name": "A", "tags": ["vegan", "Espresso"]})
    body = post_json(
        pos_api, "/api/v1/customers", {"last_name": "B", "tags": ["vegan", "vegan", " vegan "]}
    ).json()
    assert body["tags"] == ["vegan"]
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["Espresso", "vegan"]


def test_unknown_group_is_refused(pos_api, admin_actor):
    response = post_json(pos_api, "/api/v1/customers", {"last_name": "A", "groups": ["VIP"]})
    assert response.status_code == 422
    assert "groups" in response.json()["fields"]


def test_blocking_shows_the_lock_text_to_the_till(pos_api, admin_actor):
    post_json(pos_api, "/api/v1/customers", {"last_name": "A", "mobile": "0151 23456789"})
    response = patch_json(
        pos_api,
        "/api/v1/customers/1",
        {"blocked": True, "lock_text": "Bitte an die Leitung wenden"},
        etag='"1-1"',
    )
    assert response.status_code == 200, response.content
    [found] = pos_api.get("/api/v1/customers/lookup", {"phone": "015123456789"}).json()
    assert found["blocked"] is True
    assert found["lock_text"] == "Bitte an die Leitung wenden"
    history = pos_api.get("/api/v1/customers/1/history").json()["items"]
    assert history[0]["action"] == "blocked"
    unblocked = patch_json(
        pos_api, "/api/v1/customers/1", {"blocked": False, "lock_text": ""}, etag=response["ETag"]
    )
    assert unblocked.json()["blocked"] is False
    assert pos_api.get("/api/v1/customers/1/history").json()["items"][0]["action"] == "unblocked"


def test_webshop_may_not_block(tenant, make_api, pos_api, admin_actor):
    post_json(pos_api, "/api/v1/customers", {"last_name": "A"})
    shop = make_api(tenant, ("webshop",), name="Webshop")
    response = patch_json(shop, "/api/v1/customers/1", {"blocked": True}, etag='"1-1"')
    assert response.status_code == 403
    assert "blocked" in response.json()["fields"]
    assert Customer.objects.get().blocked is False


def test_flags_comments_and_contact_fields_round_trip(pos_api, admin_actor):
    data = {
        "kind": "business",
        "company_name": "Adler GmbH",
        "vat_id": "de 136695976",
        "title": "Dr.",
        "first_name": "Eva",
        "last_name": "Adler",
        "alias": "Evi",
        "gender": "female",
        "street": "Hauptstr. 1",
        "postcode": "50667",
        "city": "Köln",
        "care_of": "Büro",
        "po_box": "1234",
        "country": "DE",
        "fax": "0221 1234567",
        "homepage": "adler.example",
        "favourite": True,
        "invoices_by_email": True,
        "newsletter": True,
        "comments": "Nussallergie\nmag Fensterplatz",
        "loss_reason": "",
    }
    response = post_json(pos_api, "/api/v1/customers", data)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["vat_id"] == "DE136695976"
    assert body["homepage"] == "https://adler.example"
    assert body["comments"] == "Nussallergie\nmag Fensterplatz"
    assert body["favourite"] is body["invoices_by_email"] is body["newsletter"] is True
    assert body["fax"].replace(" ", "") == "+492211234567"
    for field in ("company_name", "title", "alias", "gender", "street", "care_of", "po_box"):
        assert body[field] == data[field]
