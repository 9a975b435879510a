"""Tills writing at the same moment: numbers are never handed out twice, retries create one."""

import threading

import pytest
from django.db import connection, connections

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services
from stammgast.customers.models import Customer
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor
from tests.conftest import ApiClientFor

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the in-memory SQLite test database is one connection; this needs a server",
    ),
]


def in_threads(n, work):
    errors = []
    barrier = threading.Barrier(n)

    def run(i):
        try:
            barrier.wait()
            work(i)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_parallel_creations_get_distinct_numbers(db):
    tenant = tenant_services.create_tenant(slug="gasthaus", name="Gasthaus")
    mitte = tenant_services.create_location(
        tenant=tenant, code="mitte", name="Mitte", numbers=(5000, 5999)
    )

    def work(i):
        location = mitte if i % 2 else None
        with tenant_scope(tenant):
            actor = Actor.system(tenant, location=location)
            for j in range(5):
                services.create_customer(actor=actor, data={"last_name": f"T{i}-{j}"})

    in_threads(6, work)
    with tenant_scope(tenant):
        numbers = sorted(Customer.objects.values_list("number", flat=True))
    assert numbers == list(range(1, 16)) + list(range(5000, 5015))


def test_parallel_retries_of_one_request_create_one_customer(db):
    tenant = tenant_services.create_tenant(slug="gasthaus", name="Gasthaus")
    _client, key = tenant_services.create_api_key(tenant=tenant, name="Kasse", scopes=["pos"])
    answers = []

    def work(i):
        api = ApiClientFor(key)
        response = api.post(
            "/api/v1/customers",
            {"last_name": "Weber"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="same",
        )
        answers.append((response.status_code, response.json().get("number")))

    in_threads(4, work)
    with tenant_scope(tenant):
        assert Customer.objects.count() == 1
    assert set(answers) == {(201, 1)}
