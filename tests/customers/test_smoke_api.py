"""First API round trip: create, read, change with ETag."""

import json


def test_create_read_and_change_a_customer(pos_api):
    created = pos_api.post(
        "/api/v1/customers", json.dumps({"last_name": "Müller"}), content_type="application/json"
    )
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    got = pos_api.get(f"/api/v1/customers/{number}")
    assert got.json()["last_name"] == "Müller"
    changed = pos_api.patch(
        f"/api/v1/customers/{number}",
        json.dumps({"city": "Köln"}),
        content_type="application/json",
        HTTP_IF_MATCH=got["ETag"],
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["city"] == "Köln"
    stale = pos_api.patch(
        f"/api/v1/customers/{number}",
        json.dumps({"city": "Bonn"}),
        content_type="application/json",
        HTTP_IF_MATCH=got["ETag"],
    )
    assert stale.status_code == 412
    assert pos_api.get(f"/api/v1/customers/{number}").json()["city"] == "Köln"
