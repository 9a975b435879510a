"""Tenants on a cluster reached through PgBouncer in transaction mode.

`make test` starts PgBouncer 1.18 (Debian's; it cannot keep prepared statements) in front
of the second cluster and configures the cluster "pooled" as the second cluster reached
through it (its test database is the second's: STAMMGAST_TEST_MIRRORS). That the traffic
went through PgBouncer is read off PgBouncer's own statistics.
"""

from __future__ import annotations

import logging

import psycopg
import pytest
from django.conf import settings
from django.db import connections

from stammgast.customers import records
from stammgast.tenants import services as tenant_services
from tests.conftest import ApiClientFor
from tests.customers.helpers import post_json

POOLED = "pooled"
pytestmark = [
    pytest.mark.skipif(POOLED not in settings.DATABASES, reason="no cluster behind PgBouncer"),
    pytest.mark.django_db(
        databases=["default", "second", *settings.STAMMGAST_REPLICAS.get("second", []), POOLED],
        transaction=True,
    ),
]


def pooler_console() -> psycopg.Connection:
    """PgBouncer's admin console."""
    real = settings.DATABASES_AS_CONFIGURED[POOLED]
    return psycopg.connect(
        host=real["HOST"], port=real["PORT"], user=real["USER"], dbname="pgbouncer",
        autocommit=True, prepare_threshold=None,
    )  # fmt: skip


def pooler_transactions(database: str) -> int:
    """PgBouncer's count of transactions it passed on for `database`."""
    with pooler_console() as admin:
        cursor = admin.execute("SHOW STATS")
        columns = [c.name for c in cursor.description]
        rows = cursor.fetchall()
    stats = {row[0]: dict(zip(columns, row, strict=True)) for row in rows}
    return int(stats.get(database, {}).get("total_xact_count", 0))


@pytest.fixture
def through_pooler():
    """Point the "pooled" connection at PgBouncer as configured (the test set-up mirrored
    it to the second cluster's test database, which PgBouncer forwards to)."""
    connection = connections[POOLED]
    mirrored = connection.settings_dict
    real = settings.DATABASES_AS_CONFIGURED[POOLED]
    connection.close()
    connection.settings_dict = {
        **mirrored,
        "HOST": real["HOST"],
        "PORT": real["PORT"],
        "OPTIONS": real["OPTIONS"],
        "DISABLE_SERVER_SIDE_CURSORS": real.get("DISABLE_SERVER_SIDE_CURSORS", False),
    }
    records._NOT_PREPARING.discard(POOLED)
    try:
        yield connection
    finally:
        database = connection.settings_dict["NAME"]
        connection.close()
        connection.settings_dict = mirrored
        records._NOT_PREPARING.discard(POOLED)
        # PgBouncer keeps its server connections to the test database open; drop them, so
        # that the test run can drop the database at its end.
        with pooler_console() as admin:
            admin.execute(f'KILL "{database}"')
            admin.execute(f'RESUME "{database}"')


def test_a_tenant_behind_pgbouncer_works_and_its_traffic_goes_through_it(through_pooler):
    database = through_pooler.settings_dict["NAME"]
    before = pooler_transactions(database)
    tenant = tenant_services.create_tenant(slug="kantine", name="Kantine", cluster=POOLED)
    _client, key = tenant_services.create_api_key(tenant=tenant, name="Kasse", scopes=["pos"])
    till = ApiClientFor(key)
    for i in range(20):
        body = {"last_name": f"Gast {i}", "mobile": f"+49151000000{i:02d}"}
        assert post_json(till, "/api/v1/customers", body).status_code == 201
    # The tills' reads (prepared where the cluster allows it) and a page of the list.
    for i in range(20):
        assert till.get(f"/api/v1/customers/{i + 1}").json()["last_name"] == f"Gast {i}"
        found = till.get("/api/v1/customers/lookup", {"phone": f"+49151000000{i:02d}"})
        assert [c["number"] for c in found.json()] == [i + 1]
    assert len(till.get("/api/v1/customers", {"limit": 100}).json()["items"]) == 20
    # Configured with ?pool_mode=transaction: no prepared statements there at all.
    assert through_pooler.connection.prepare_threshold is None
    assert pooler_transactions(database) - before >= 60


def test_prepared_statements_that_a_pooler_loses_are_turned_off_by_themselves(
    through_pooler, caplog
):
    """Configured without ?pool_mode: the tills' prepared reads meet server connections
    that do not know their statements. Every read still answers, and the server stops
    preparing there and says which setting to change."""
    through_pooler.close()
    through_pooler.settings_dict = {
        **through_pooler.settings_dict,
        "OPTIONS": {**through_pooler.settings_dict["OPTIONS"], "prepare_threshold": 5},
    }
    tenant = tenant_services.create_tenant(slug="mensa", name="Mensa", cluster=POOLED)
    _client, key = tenant_services.create_api_key(tenant=tenant, name="Kasse", scopes=["pos"])
    till = ApiClientFor(key)
    assert post_json(till, "/api/v1/customers", {"last_name": "Hungrig"}).status_code == 201
    real = settings.DATABASES_AS_CONFIGURED[POOLED]
    caplog.set_level(logging.WARNING, logger="stammgast.customers.records")
    for _ in range(30):
        # Another client holds a server connection in a transaction, so the till's next
        # transaction goes to another one (PgBouncer hands out the last used first).
        with psycopg.connect(
            host=real["HOST"], port=real["PORT"], user=real["USER"],
            dbname=through_pooler.settings_dict["NAME"], prepare_threshold=None,
        ) as other:  # fmt: skip
            other.execute("SELECT 1")
            assert till.get("/api/v1/customers/1").json()["last_name"] == "Hungrig"
        if POOLED in records._NOT_PREPARING:
            break
    assert POOLED in records._NOT_PREPARING
    assert "pool_mode=transaction" in caplog.text
    assert till.get("/api/v1/customers/1").json()["last_name"] == "Hungrig"
