"""The API describes itself: OpenAPI document and docs page, to staff and API keys."""

import re

from django.test import Client

from stammgast.tenants import services as tenant_services


def test_openapi_lists_the_customer_endpoints(pos_api):
    response = pos_api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    paths = spec["paths"]
    for path in (
        "/api/v1/customers",
        "/api/v1/customers/lookup",
        "/api/v1/customers/{number}",
        "/api/v1/customers/{number}/history",
        "/api/v1/customers/{number}/picture",
        "/api/v1/customers/{number}/cards",
    ):
        assert path in paths, path
    assert {"get", "patch"} <= set(paths["/api/v1/customers/{number}"])
    schemas = spec["components"]["schemas"]
    customer_in = schemas["CustomerIn"]["properties"]
    assert customer_in["discount"]["type"] == ["integer", "string", "null"]
    assert customer_in["newsletter"]["type"] == ["boolean", "null"]
    assert schemas["CustomerIn"].get("additionalProperties") is False


def test_docs_and_schema_need_a_staff_log_in_or_a_key(client, tenant, settings):
    assert client.get("/api/v1/openapi.json").status_code == 401
    assert client.get("/api/v1/docs")["Location"].startswith("/login/")
    user = tenant_services.create_staff_user(
        tenant=tenant, username="chefin", password="Kellner-Passwort-42", role="tenant_admin"
    )
    staff = Client()
    staff.force_login(user)
    page = staff.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    # Swagger UI comes from this server: no other host is named in the page.
    assert not re.search(r'(src|href)="https?://', html), html
    assert "swagger-ui-bundle.js" in html
    settings.PUBLIC_API_DOCS = True
    assert client.get("/api/v1/openapi.json").status_code == 200
