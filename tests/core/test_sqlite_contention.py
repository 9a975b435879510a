"""On SQLite one connection writes at a time: other tenants' writes wait, and none fails."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.exchange import services as exchange_services
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor
from tests.conftest import ApiClientFor
from tests.customers.helpers import post_json


@pytest.mark.django_db(transaction=True)
def test_other_tenants_write_while_one_tenant_imports_and_nobody_sees_a_5xx(tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    big = tenant_services.create_tenant(slug="gross", name="Großkunde")
    rows = "".join(f"Gast {i};Köln;0221 {1000000 + i}\n" for i in range(3000))
    path = tmp_path / "kunden.csv"
    path.write_text("Name;Ort;Telefon privat\n" + rows, encoding="utf-8")
    tills = []
    for n in range(3):
        tenant = tenant_services.create_tenant(slug=f"klein-{n}", name=f"Klein {n}")
        _client, key = tenant_services.create_api_key(tenant=tenant, name="Kasse", scopes=["pos"])
        tills.append(ApiClientFor(key))
    statuses: list[int] = []
    failures: list[BaseException] = []

    def till_writes(client):
        try:
            for i in range(15):
                response = post_json(client, "/api/v1/customers", {"last_name": f"Gast {i}"})
                statuses.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    def import_big():
        try:
            with tenant_scope(big):
                result = exchange_services.import_customers(
                    actor=Actor.system(big), path=path, batch_size=500
                )
                assert result.created == 3000, result.as_dict()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=import_big)]
    threads += [threading.Thread(target=till_writes, args=(c,)) for c in tills]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures, failures
    assert statuses and all(s == 201 for s in statuses), statuses
    with tenant_scope(big):
        from stammgast.customers.models import Customer

        assert Customer.objects.count() == 3000
    assert connection.vendor in ("sqlite", "postgresql")


def test_a_write_that_waited_out_the_busy_timeout_is_a_503_with_retry_after(pos_api, monkeypatch):
    from django.db import OperationalError

    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(customer_services, "create_customer", locked)
    response = post_json(pos_api, "/api/v1/customers", {"last_name": "A"})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "database_busy"
