"""Faults a fuzzing and fault review found, each kept out by a test named after the fix."""

from __future__ import annotations

import base64
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.customers.models import Customer
from stammgast.exchange.models import Job
from stammgast.tenants import services as tenant_services
from stammgast.tenants.models import Location
from tests.customers.helpers import patch_json, post_json, put_picture


@pytest.fixture
def one(admin_actor):
    return customer_services.create_customer(
        actor=admin_actor, data={"last_name": "Müller", "city": "Bonn"}
    )


@pytest.fixture(autouse=True)
def _in_tenant(admin_actor):
    """The test body reads the tenant's tables directly."""


@pytest.fixture(autouse=True)
def _var_dir(tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()


def json_4xx(response, status: int | None = None) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if status is not None:
        assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] and body["message"]
    return body


# --- JSON for every answer under /api/ -----------------------------------------------------


def test_unmatched_api_paths_answer_with_json_404(pos_api):
    for path in ("/api/v1/nothing", "/api/v2/customers", "/api/", "/api/v1/customers/abc"):
        assert json_4xx(pos_api.get(path), 404)["code"] == "not_found"


def test_a_method_an_address_does_not_take_is_a_json_405_with_allow(pos_api, one):
    response = pos_api.delete("/api/v1/customers")
    assert json_4xx(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"] and "POST" in response["Allow"]


def test_multipart_without_a_boundary_is_a_json_400(tenant, make_api, one):
    for scopes in (("readonly",), ("exchange",)):
        api = make_api(tenant, scopes, name=f"k-{scopes[0]}")
        response = api.post("/api/v1/imports", b"--x", content_type="multipart/form-data")
        assert json_4xx(response)["code"] in ("bad_multipart", "bad_request", "permission_denied")
    response = pos_api_put = make_api(tenant, ("pos",), name="till").put(
        "/api/v1/customers/1/picture", b"--x", content_type="multipart/form-data"
    )
    assert json_4xx(pos_api_put)["code"] in ("bad_multipart", "bad_request")
    assert response.status_code == 400


# --- parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01"])
def test_far_out_dates_in_a_filter_are_refused_naming_the_field(pos_api, tenant, make_api, day):
    body = json_4xx(pos_api.get("/api/v1/customers", {"created_to": day}), 400)
    assert body["code"] == "invalid_filter" and "created_to" in body["fields"]
    exporter = make_api(tenant, ("exchange",), name="Export")
    body = json_4xx(post_json(exporter, "/api/v1/exports", {"changed_from": day}))
    assert "changed_from" in body["fields"]
    assert not Job.objects.exists()


def test_far_out_dates_in_the_portal_list_show_an_error_not_a_crash(tenant, one):
    user = tenant_services.create_staff_user(
        tenant=tenant, username="kasse", password="Kellner-Passwort-42", role="cashier"
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    page = client.get("/customers/", {"created_from": "9999-12-31", "q": "müll"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Enter a date from 1900-01-01 to 2999-12-31." in html
    assert "Müller" in html  # the valid part of the filter still filters


def _forged(values: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        _forged({"number": 1}),
        _forged({"id": float("inf")}).replace("Infinity", "Infinity"),
        "Infinity",
        "x" * 5000,
        "a:b:c",
        "",
    ],
)
def test_forged_and_garbage_cursors_are_refused(pos_api, one, cursor):
    for path in ("/api/v1/customers", "/api/v1/customers/1/history"):
        response = pos_api.get(path, {"cursor": cursor})
        if cursor == "":
            assert response.status_code == 200
        else:
            assert json_4xx(response, 400)["code"] == "invalid_cursor"


def test_a_cursor_handed_out_leads_to_the_next_page(pos_api, admin_actor):
    for n in range(3):
        customer_services.create_customer(actor=admin_actor, data={"last_name": f"Gast {n}"})
    first = pos_api.get("/api/v1/customers", {"limit": 2}).json()
    second = pos_api.get("/api/v1/customers", {"limit": 2, "cursor": first["next_cursor"]})
    assert [c["number"] for c in second.json()["items"]] == [3]


def test_an_if_match_of_thousands_of_digits_is_412_not_a_crash(pos_api, one):
    response = patch_json(pos_api, "/api/v1/customers/1", {"city": "X"}, etag=f'"1-{"9" * 5000}"')
    assert json_4xx(response, 412)["code"] == "stale_version"
    assert Customer.objects.get().city == "Bonn"


def test_unknown_query_parameters_are_refused_naming_them(pos_api, one):
    for path in ("/api/v1/customers", "/api/v1/customers/1", "/api/v1/customers/1/history"):
        body = json_4xx(pos_api.get(path, {"sort_by": "name"}), 422)
        assert body["code"] == "unknown_parameter" and "sort_by" in body["fields"]
    body = json_4xx(pos_api.get("/api/v1/customers", {"sort": "shoe"}), 400)
    assert "sort" in body["fields"]


# --- export and import requests -----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"separator": "ab"},
        {"separator": "\x00"},
        {"language": "fr"},
        {"bloked": True},
        {"blocked": "perhaps"},
    ],
)
def test_export_with_a_bad_option_or_unknown_field_is_refused_before_any_job(
    tenant, make_api, body
):
    exporter = make_api(tenant, ("exchange",), name="Export")
    json_4xx(post_json(exporter, "/api/v1/exports", body))
    assert not Job.objects.exists()


def test_an_export_body_that_is_no_json_object_is_refused(tenant, make_api):
    exporter = make_api(tenant, ("exchange",), name="Export")
    for body in ("AAA", "[1]", '"x"'):
        json_4xx(exporter.post("/api/v1/exports", body, content_type="application/json"))
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "mapping",
    ['{"Nachname\\u0000": "last_name"}', '{"Nachname": "last\\u0000name"}', "[1, 2]"],
)
def test_an_import_mapping_with_control_characters_is_refused(tenant, make_api, mapping):
    importer = make_api(tenant, ("exchange",), name="Import")
    upload = io.BytesIO("Nachname\nMüller\n".encode())
    upload.name = "kunden.csv"
    response = importer.post("/api/v1/imports", {"file": upload, "mapping": mapping})
    assert "mapping" in json_4xx(response, 422)["fields"]
    assert not Job.objects.exists()


# --- rules -------------------------------------------------------------------------------


def test_a_till_learns_nothing_of_a_customer_another_location_keeps(tenant, make_api):
    mitte = tenant_services.create_location(tenant=tenant, code="mitte", name="Mitte")
    tenant_services.create_location(tenant=tenant, code="hafen", name="Hafen")
    with tenant_scope(tenant):
        from stammgast.tenants.actor import Actor

        customer_services.create_customer(
            actor=Actor.system(tenant),
            data={"number": 4711, "last_name": "Geheim", "allowed_locations": ["hafen"]},
        )
    till = make_api(tenant, ("pos",), location=mitte)
    body = json_4xx(post_json(till, "/api/v1/customers", {"number": 4711, "last_name": "X"}), 409)
    assert body["code"] == "number_not_available"
    assert "4711" not in json.dumps(body)


@pytest.mark.parametrize("scopes", [("webshop",), ("thirdparty",)])
def test_only_tills_and_staff_may_restrict_a_customer_to_locations(tenant, make_api, one, scopes):
    tenant_services.create_location(tenant=tenant, code="hafen", name="Hafen")
    shop = make_api(tenant, scopes, name="Shop")
    response = patch_json(
        shop, "/api/v1/customers/1", {"allowed_locations": ["hafen"]}, etag='"1-1"'
    )
    assert json_4xx(response, 403)["fields"]["allowed_locations"]
    created = post_json(
        shop, "/api/v1/customers", {"last_name": "X", "allowed_locations": ["hafen"]}
    )
    assert json_4xx(created, 403)["code"] == "field_not_allowed"
    till = make_api(tenant, ("pos",), name="Kasse")
    response = patch_json(
        till, "/api/v1/customers/1", {"allowed_locations": ["HAFEN"]}, etag='"1-1"'
    )
    assert response.status_code == 200, response.content
    assert response.json()["allowed_locations"] == ["hafen"]


def test_removing_a_picture_there_is_none_of_changes_nothing(pos_api, one):
    response = pos_api.delete("/api/v1/customers/1/picture")
    assert response.status_code == 200
    assert response["ETag"] == '"1-1"'
    assert Customer.objects.get().version == 1


def test_a_picture_put_still_works_through_the_json_error_layer(pos_api, one):
    from tests.customers.helpers import png

    response = put_picture(pos_api, "/api/v1/customers/1/picture", png())
    assert response.status_code == 200, response.content


def test_invisible_characters_are_removed_from_stored_and_searched_text(pos_api):
    made = post_json(
        pos_api, "/api/v1/customers", {"last_name": "Mül\u200bler\u00ad", "city": "\ufeffBonn"}
    )
    assert made.status_code == 201, made.content
    assert (made.json()["last_name"], made.json()["city"]) == ("Müller", "Bonn")
    found = pos_api.get("/api/v1/customers", {"q": "Mül\u200bler"}).json()["items"]
    assert [c["number"] for c in found] == [made.json()["number"]]


def test_a_customer_carries_at_most_100_tags(pos_api):
    body = json_4xx(
        post_json(
            pos_api, "/api/v1/customers", {"last_name": "A", "tags": [f"t{i}" for i in range(101)]}
        ),
        422,
    )
    assert "tags" in body["fields"]
    assert not Customer.objects.exists()
    made = post_json(
        pos_api, "/api/v1/customers", {"last_name": "A", "tags": [f"t{i}" for i in range(100)]}
    )
    assert made.status_code == 201


def test_location_codes_in_any_case_name_one_location(tenant):
    out = io.StringIO()
    call_command("location", "create", tenant.slug, "BER", "--name", "Berlin", stdout=out)
    with tenant_scope(tenant):
        assert list(Location.objects.values_list("code", flat=True)) == ["ber"]
    assert tenant_services.get_location(tenant, "Ber").name == "Berlin"


def test_every_json_body_refuses_a_field_it_does_not_know(tenant, make_api, one):
    """Walks the OpenAPI schema: a misspelt field is a 422 naming it, never ignored."""
    api = make_api(tenant, ("pos", "exchange", "thirdparty"))
    schema = api.get("/api/v1/openapi.json").json()
    tried = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            url = ("/api/v1" + path if not path.startswith("/api/") else path).replace(
                "{number}", "1"
            )
            for name in ("{id}", "{bill_id}"):
                url = url.replace(name, "3f1c9a52-0000-4000-8000-000000000001")
            url = url.replace("{rule_id}", "1")
            response = api.generic(
                method.upper(),
                url,
                json.dumps({"zz_unknown": 1}),
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY="k-1",
                HTTP_IF_MATCH='"1-1"',
            )
            body = json_4xx(response, 422)
            assert "zz_unknown" in json.dumps(body), (method, url, body)
            tried.append(f"{method} {url}")
    assert len(tried) >= 10, tried
