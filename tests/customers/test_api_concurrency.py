"""Two terminals never overwrite each other (ETag/If-Match); a retried POST creates nothing."""

import pytest

from stammgast.customers.models import Customer

from .helpers import patch_json, post_json


@pytest.fixture(autouse=True)
def _in_tenant(admin_actor):
    """The test body reads the tenant's tables directly."""


@pytest.fixture
def created(pos_api):
    response = post_json(pos_api, "/api/v1/customers", {"last_name": "Schmidt", "city": "Bonn"})
    assert response.status_code == 201, response.content
    return response


def test_create_answers_201_with_number_etag_and_location(created):
    body = created.json()
    assert body["number"] == 1
    assert created["ETag"] == '"1-1"'
    assert created["Location"] == "/api/v1/customers/1"


def test_get_gives_the_etag_and_if_none_match_gives_304(created, pos_api):
    got = pos_api.get("/api/v1/customers/1")
    assert got["ETag"] == '"1-1"'
    again = pos_api.get("/api/v1/customers/1", HTTP_IF_NONE_MATCH=got["ETag"])
    assert again.status_code == 304


def test_patch_without_if_match_is_428_and_changes_nothing(created, pos_api):
    response = patch_json(pos_api, "/api/v1/customers/1", {"city": "Köln"})
    assert response.status_code == 428
    assert response.json()["code"] == "if_match_required"
    assert pos_api.get("/api/v1/customers/1").json()["city"] == "Bonn"


def test_patch_with_a_fresh_etag_changes_and_gives_a_new_etag(created, pos_api):
    etag = pos_api.get("/api/v1/customers/1")["ETag"]
    response = patch_json(pos_api, "/api/v1/customers/1", {"city": "Köln"}, etag=etag)
    assert response.status_code == 200, response.content
    assert response.json()["city"] == "Köln"
    assert response["ETag"] != etag
    assert response["ETag"] == pos_api.get("/api/v1/customers/1")["ETag"]


def test_second_terminal_with_a_stale_etag_gets_412_and_nothing_changes(
    created, pos_api, tenant, make_api
):
    second_till = make_api(tenant, ("pos",), name="Kasse 2")
    etag = pos_api.get("/api/v1/customers/1")["ETag"]
    assert second_till.get("/api/v1/customers/1")["ETag"] == etag
    first = patch_json(pos_api, "/api/v1/customers/1", {"city": "Köln"}, etag=etag)
    assert first.status_code == 200
    second = patch_json(
        second_till, "/api/v1/customers/1", {"city": "Bonn", "memo": "x"}, etag=etag
    )
    assert second.status_code == 412, second.content
    assert second.json()["code"] == "stale_version"
    after = pos_api.get("/api/v1/customers/1").json()
    assert (after["city"], after["memo"], after["version"]) == ("Köln", "", 2)


@pytest.mark.parametrize("etag", ['"2-1"', "1-1", "garbage", '"1-x"'])
def test_an_etag_of_another_customer_or_malformed_is_412(created, pos_api, etag):
    response = patch_json(pos_api, "/api/v1/customers/1", {"city": "Köln"}, etag=etag)
    assert response.status_code == 412
    assert pos_api.get("/api/v1/customers/1").json()["city"] == "Bonn"


def test_weak_etag_is_accepted(created, pos_api):
    response = patch_json(pos_api, "/api/v1/customers/1", {"city": "Köln"}, etag='W/"1-1"')
    assert response.status_code == 200


# --- Idempotency-Key -------------------------------------------------------------------


def test_retried_post_returns_the_first_answer_and_creates_one_customer(pos_api, tenant):
    data = {"last_name": "Weber", "email": "weber@example.de"}
    first = post_json(pos_api, "/api/v1/customers", data, HTTP_IDEMPOTENCY_KEY="abc-1")
    retry = post_json(pos_api, "/api/v1/customers", data, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["ETag"] == first["ETag"]
    assert Customer.objects.filter(last_name="Weber").count() == 1
    # A new key is a new customer.
    other = post_json(pos_api, "/api/v1/customers", data, HTTP_IDEMPOTENCY_KEY="abc-2")
    assert other.json()["number"] == first.json()["number"] + 1


def test_same_key_with_a_different_body_is_422(pos_api):
    post_json(pos_api, "/api/v1/customers", {"last_name": "Weber"}, HTTP_IDEMPOTENCY_KEY="k")
    reused = post_json(
        pos_api, "/api/v1/customers", {"last_name": "Wagner"}, HTTP_IDEMPOTENCY_KEY="k"
    )
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert not Customer.objects.filter(last_name="Wagner").exists()


def test_a_refused_request_is_not_remembered(pos_api):
    bad = post_json(
        pos_api,
        "/api/v1/customers",
        {"last_name": "Weber", "discount": "ten"},
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert bad.status_code == 422
    assert Customer.objects.count() == 0
    fixed = post_json(
        pos_api,
        "/api/v1/customers",
        {"last_name": "Weber", "discount": 10},
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert fixed.status_code == 201, fixed.content
    assert Customer.objects.count() == 1


def test_keys_are_per_api_client(pos_api, tenant, make_api):
    web_shop = make_api(tenant, ("webshop",), name="Webshop")
    a = post_json(pos_api, "/api/v1/customers", {"last_name": "Weber"}, HTTP_IDEMPOTENCY_KEY="k")
    b = post_json(web_shop, "/api/v1/customers", {"last_name": "Weber"}, HTTP_IDEMPOTENCY_KEY="k")
    assert a.json()["number"] != b.json()["number"]
    assert Customer.objects.count() == 2


def test_a_too_long_key_is_400(pos_api):
    response = post_json(
        pos_api, "/api/v1/customers", {"last_name": "Weber"}, HTTP_IDEMPOTENCY_KEY="k" * 201
    )
    assert response.status_code == 400
    assert Customer.objects.count() == 0
