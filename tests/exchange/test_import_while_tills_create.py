"""A till creating a customer while a large import runs waits milliseconds, not for the
import: the import reserved its numbers in a transaction of its own at the start."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.customers.models import Customer
from stammgast.exchange import services as exchange_services
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import Tenant

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite has one writer: a till waits for any import there (docs/security.md)",
)


def _file(tmp_path, rows: int, bad_row: int | None = None):
    lines = ["Name;Ort"]
    for i in range(rows):
        name = f"Gast {i}" if i != bad_row else ""  # a private customer needs a name
        lines.append(f"{name};Köln")
    path = tmp_path / "kunden.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.django_db(transaction=True)
def test_a_till_creates_a_customer_while_a_large_import_runs(tmp_path):
    tenant = tenant_services.create_tenant(slug="gross", name="Großkunde")
    actor = Actor.system(tenant)
    path = _file(tmp_path, 3000)
    halfway, go_on = threading.Event(), threading.Event()
    outcome: dict = {}

    def progress(done: int, total: int | None, stages=None) -> None:
        if done >= 1000 and not halfway.is_set():
            halfway.set()
            go_on.wait(timeout=60)  # the import's transaction stays open meanwhile

    def run_import() -> None:
        try:
            with tenant_scope(tenant):
                outcome["import"] = exchange_services.import_customers(
                    actor=actor, path=path, batch_size=250, progress=progress
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome["import_error"] = exc
        finally:
            connections.close_all()

    importer = threading.Thread(target=run_import)
    importer.start()
    try:
        assert halfway.wait(timeout=120), outcome
        started = time.monotonic()
        made = {}

        def till() -> None:
            try:
                with tenant_scope(tenant):
                    made["customer"] = customer_services.create_customer(
                        actor=actor, data={"last_name": "Vom Tresen"}
                    )
            finally:
                connections.close_all()

        till_thread = threading.Thread(target=till)
        till_thread.start()
        till_thread.join(timeout=30)
        waited = time.monotonic() - started
        assert "customer" in made, "the till's create did not finish while the import ran"
        assert waited < 5, f"the till waited {waited:.1f} s"
    finally:
        go_on.set()
        importer.join(timeout=300)
    assert "import_error" not in outcome, outcome.get("import_error")
    assert outcome["import"].created == 3000
    with tenant_scope(tenant):
        numbers = list(Customer.objects.values_list("number", flat=True))
        assert len(numbers) == len(set(numbers)) == 3001
        # The till's number is none of the import's.
        till_number = made["customer"].number
        assert Customer.objects.filter(number=till_number, last_name="Vom Tresen").exists()


@pytest.mark.django_db(transaction=True)
def test_an_import_that_keeps_nothing_gives_its_numbers_back(tmp_path):
    tenant = tenant_services.create_tenant(slug="klein", name="Klein")
    actor = Actor.system(tenant)
    with tenant_scope(tenant):
        customer_services.create_customer(actor=actor, data={"last_name": "Erster"})
        before = Tenant.objects.get(pk=tenant.pk).number_counter
        result = exchange_services.import_customers(actor=actor, path=_file(tmp_path, 50, 10))
        assert not result.applied and result.errors_total == 1
        assert Tenant.objects.get(pk=tenant.pk).number_counter == before
        made = customer_services.create_customer(actor=actor, data={"last_name": "Zweiter"})
        assert made.number == before + 1
