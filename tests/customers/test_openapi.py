"""The API describes itself: OpenAPI document and docs page."""


def test_openapi_lists_the_customer_endpoints(client, db):
    response = client.get("/api/v1/openapi.json")
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


def test_docs_page_is_served(client, db):
    assert client.get("/api/v1/docs").status_code == 200
