"""Migrations 0006-0008: a missing phone number becomes NULL and back, search keeps working."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import selectors, services
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor

BEFORE = [("customers", "0005_search_form")]
E164 = ("phone_private_e164", "mobile_e164", "phone_business_e164")


def _migrate(target) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target or executor.loader.graph.leaf_nodes())


def _stored() -> dict[int, tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT number, {', '.join(E164)} FROM customers_customer")
        return {row[0]: row[1:] for row in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_missing_numbers_become_null_and_back():
    tenant = tenant_services.create_tenant(slug="migration", name="Migration")
    actor = Actor.system(tenant)
    with tenant_scope(tenant):
        services.create_customer(
            actor=actor, data={"number": 1, "last_name": "Nummer", "mobile": "0151 23456789"}
        )
        services.create_customer(actor=actor, data={"number": 2, "last_name": "Ohnenummer"})
    assert _stored() == {1: (None, "+4915123456789", None), 2: (None, None, None)}
    try:
        _migrate(BEFORE)
        assert _stored() == {1: ("", "+4915123456789", ""), 2: ("", "", "")}
    finally:
        _migrate(None)
    assert _stored() == {1: (None, "+4915123456789", None), 2: (None, None, None)}

    # The search index follows new and changed customers (on SQLite its triggers were
    # dropped with the rebuilt table and had to be made again).
    with tenant_scope(tenant):
        services.create_customer(actor=actor, data={"number": 3, "last_name": "Wiederfinden"})
        services.update_customer(actor=actor, number=2, data={"last_name": "Umbenannt"})
        found = selectors.list_customers(actor=actor, f=selectors.CustomerFilter(q="wiederf"))
        renamed = selectors.list_customers(actor=actor, f=selectors.CustomerFilter(q="umbenan"))
        gone = selectors.list_customers(actor=actor, f=selectors.CustomerFilter(q="ohnenum"))
    assert [c.number for c in found.items] == [3]
    assert [c.number for c in renamed.items] == [2]
    assert gone.items == []
