"""Scans read from a streaming replica; a client always reads its own writes.

Runs where the second cluster has a replica (`make test`: scripts/clusters.sh starts one
with pg_basebackup on port 5434 and sets STAMMGAST_REPLICAS). Replay on the replica is
paused with pg_wal_replay_pause(), so what the replica has and what the primary has
differ, checked with SQL on each server.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client

from stammgast.core import replicas
from stammgast.tenants import services as tenant_services
from tests.conftest import ApiClientFor
from tests.customers.helpers import post_json

SECOND = "second"
REPLICAS = settings.STAMMGAST_REPLICAS.get(SECOND, [])
pytestmark = [
    pytest.mark.skipif(not REPLICAS, reason="no replica of the second cluster configured"),
    pytest.mark.django_db(databases=["default", SECOND, *REPLICAS], transaction=True),
]
PASSWORD = "Kellner-Passwort-42"


def on_server(alias: str, sql: str, params=()) -> list[tuple]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.fixture
def replica():
    """The replica alias, connected to the real replica (the test set-up points a mirror
    at its primary's test database, which replication has brought to the replica)."""
    alias = REPLICAS[0]
    connection = connections[alias]
    mirrored = connection.settings_dict
    real = settings.DATABASES_AS_CONFIGURED[alias]
    connection.close()
    connection.settings_dict = {**mirrored, "HOST": real["HOST"], "PORT": real["PORT"]}
    replicas.forget_health()
    try:
        yield alias
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
        connection.close()
        connection.settings_dict = mirrored
        replicas.forget_health()


def caught_up(replica: str) -> None:
    """Until the replica has replayed everything the primary wrote so far."""
    (target,) = on_server(SECOND, "SELECT pg_current_wal_lsn()::text")[0]
    deadline = time.monotonic() + 30
    while True:
        (replayed,) = on_server(replica, "SELECT pg_last_wal_replay_lsn()::text")[0]
        if replicas.parse_position(replayed) >= replicas.parse_position(target):
            return
        assert time.monotonic() < deadline, "the replica does not catch up"
        time.sleep(0.05)


def pause(replica: str) -> None:
    on_server(replica, "SELECT pg_wal_replay_pause()")
    replicas.forget_health()


def names(answer) -> list[str]:
    return [c["last_name"] for c in answer.json()["items"]]


@pytest.fixture
def loewe(replica):
    tenant = tenant_services.create_tenant(slug="loewe", name="Gasthof Löwe", cluster=SECOND)
    _client, key = tenant_services.create_api_key(tenant=tenant, name="Kasse", scopes=["pos"])
    return tenant, key


def test_lists_come_from_the_replica_and_a_writer_reads_its_own_write(replica, loewe):
    tenant, key = loewe
    till, other_till = ApiClientFor(key), ApiClientFor(key)
    assert post_json(till, "/api/v1/customers", {"last_name": "Erster"}).status_code == 201
    caught_up(replica)
    pause(replica)

    written = post_json(till, "/api/v1/customers", {"last_name": "Zweiter"})
    assert written.status_code == 201
    position = written[replicas.POSITION_HEADER]
    assert replicas.parse_position(position) is not None

    # On the servers: the primary has both, the paused replica only the first.
    count = "SELECT count(*) FROM customers_customer WHERE tenant_id = %s"
    assert on_server(SECOND, count, [tenant.pk]) == [(2,)]
    assert on_server(replica, count, [tenant.pk]) == [(1,)]

    # The writer sends its position back: it sees its write (the primary answers).
    mine = till.get("/api/v1/customers", HTTP_STAMMGAST_POSITION=position)
    assert names(mine) == ["Erster", "Zweiter"]
    # Another client with no position is answered by the replica, which is behind.
    assert names(other_till.get("/api/v1/customers")) == ["Erster"]
    # A single record is never read from a replica.
    assert till.get("/api/v1/customers/2").json()["last_name"] == "Zweiter"

    on_server(replica, "SELECT pg_wal_replay_resume()")
    caught_up(replica)
    replicas.forget_health()
    assert names(other_till.get("/api/v1/customers")) == ["Erster", "Zweiter"]


def test_the_portal_shows_a_clerk_the_customer_just_created(replica, loewe):
    tenant, key = loewe
    tenant_services.create_staff_user(
        tenant=tenant, username="wirtin", password=PASSWORD, role="tenant_admin"
    )
    clerk = Client()
    assert clerk.post("/login/", {"username": "wirtin", "password": PASSWORD}).status_code == 302
    caught_up(replica)
    pause(replica)
    assert (
        post_json(ApiClientFor(key), "/api/v1/customers", {"last_name": "Fremd"}).status_code == 201
    )

    # Written by someone else: the clerk's list comes from the paused replica.
    assert "Fremd" not in clerk.get("/customers/").content.decode()
    created = clerk.post(
        "/customers/new/", {"kind": "person", "last_name": "Eigenhändig", "country": "DE"}
    )
    assert created.status_code == 302, created.content.decode()[:2000]
    listed = clerk.get("/customers/").content.decode()
    # The session carries the clerk's write position: the primary answers, with both.
    assert "Eigenhändig" in listed and "Fremd" in listed


def test_a_replica_that_is_down_or_too_far_behind_is_skipped(replica, loewe, settings):
    tenant, key = loewe
    till = ApiClientFor(key)
    assert post_json(till, "/api/v1/customers", {"last_name": "Da"}).status_code == 201
    caught_up(replica)
    pause(replica)
    assert (
        post_json(ApiClientFor(key), "/api/v1/customers", {"last_name": "Neu"}).status_code == 201
    )
    assert names(till.get("/api/v1/customers")) == ["Da"]  # the replica answers

    # Behind by more than the limit (any pending WAL counts once the limit is 0).
    settings.STAMMGAST_REPLICA_MAX_LAG = -1
    replicas.forget_health()
    assert names(till.get("/api/v1/customers")) == ["Da", "Neu"]
    settings.STAMMGAST_REPLICA_MAX_LAG = 30

    # Down: nothing listens where the replica was.
    connection = connections[replica]
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict = {**connection.settings_dict, "PORT": "1"}
    replicas.forget_health()
    try:
        answer = till.get("/api/v1/customers")
        assert answer.status_code == 200
        assert names(answer) == ["Da", "Neu"]
    finally:
        connection.close()
        connection.settings_dict = {**connection.settings_dict, "PORT": port}
