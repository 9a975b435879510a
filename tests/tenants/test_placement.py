"""Tenants placed on two PostgreSQL clusters (docs/scaling.md).

Runs where a second cluster is configured (`make test` starts one on port 5433 with
scripts/clusters.sh and sets STAMMGAST_CLUSTERS). What a request did is checked on the
servers themselves: each cluster's own rows, read with SQL on its own connection, not
what the router says.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import Client

from stammgast.core.errors import DomainError
from stammgast.tenants import services as tenant_services
from stammgast.tenants.models import TenantHome
from tests.conftest import ApiClientFor
from tests.customers.helpers import post_json

SECOND = "second"
pytestmark = [
    pytest.mark.skipif(
        SECOND not in settings.DATABASES, reason="no second cluster (STAMMGAST_CLUSTERS)"
    ),
    pytest.mark.django_db(databases="__all__", transaction=True),
]
PASSWORD = "Kellner-Passwort-42"


def on_server(alias: str, sql: str, params=()) -> list[tuple]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def last_names_on(alias: str, tenant_id: int) -> list[str]:
    rows = on_server(
        alias,
        "SELECT last_name FROM customers_customer WHERE tenant_id = %s ORDER BY number",
        [tenant_id],
    )
    return [r[0] for r in rows]


@pytest.fixture
def two_clusters():
    here = tenant_services.create_tenant(slug="adler", name="Gasthaus Adler")
    there = tenant_services.create_tenant(slug="loewe", name="Gasthof Löwe", cluster=SECOND)
    return here, there


def key_for(tenant, scopes=("pos", "webshop")) -> ApiClientFor:
    _client, key = tenant_services.create_api_key(tenant=tenant, name="Kasse", scopes=list(scopes))
    return ApiClientFor(key)


def test_each_tenants_rows_are_on_its_own_cluster_and_nowhere_else(two_clusters):
    here, there = two_clusters
    assert here._state.db == "default" and there._state.db == SECOND
    for tenant, name in ((here, "Adler-Gast"), (there, "Löwe-Gast")):
        created = post_json(key_for(tenant), "/api/v1/customers", {"last_name": name})
        assert created.status_code == 201, created.content

    # The servers hold exactly their own tenant's rows.
    assert last_names_on("default", here.pk) == ["Adler-Gast"]
    assert last_names_on(SECOND, there.pk) == ["Löwe-Gast"]
    assert last_names_on("default", there.pk) == []
    assert last_names_on(SECOND, here.pk) == []
    assert on_server(SECOND, "SELECT id FROM tenants_tenant") == [(there.pk,)]
    # The API client and its history entry are on the tenant's cluster too.
    assert on_server(SECOND, "SELECT count(*) FROM tenants_apiclient")[0][0] == 1
    assert on_server(SECOND, "SELECT count(*) FROM customers_customerevent")[0][0] == 1
    # Row ids come from the second cluster's own id space: a move can keep them.
    (customer_id,) = on_server(SECOND, "SELECT id FROM customers_customer")[0]
    assert customer_id >= 2**40


def test_a_key_sees_only_its_tenants_customers(two_clusters):
    here, there = two_clusters
    adler, loewe = key_for(here), key_for(there)
    number_here = post_json(adler, "/api/v1/customers", {"last_name": "Nur-Adler"}).json()
    number_there = post_json(loewe, "/api/v1/customers", {"last_name": "Nur-Löwe"}).json()
    assert number_here["number"] == number_there["number"] == 1

    assert loewe.get("/api/v1/customers/1").json()["last_name"] == "Nur-Löwe"
    assert adler.get("/api/v1/customers/1").json()["last_name"] == "Nur-Adler"
    names = [c["last_name"] for c in loewe.get("/api/v1/customers").json()["items"]]
    assert names == ["Nur-Löwe"]
    assert loewe.get("/api/v1/customers", {"q": "Adler"}).json()["items"] == []
    found = adler.get("/api/v1/customers", {"q": "Adler"}).json()["items"]
    assert [c["last_name"] for c in found] == ["Nur-Adler"]


def test_staff_log_in_and_work_on_their_tenants_cluster(two_clusters):
    here, there = two_clusters
    tenant_services.create_staff_user(
        tenant=there, username="wirtin", password=PASSWORD, role="tenant_admin"
    )
    post_json(key_for(there), "/api/v1/customers", {"last_name": "Stammgast-Löwe"})
    post_json(key_for(here), "/api/v1/customers", {"last_name": "Stammgast-Adler"})
    # The user lives on the second cluster only.
    assert on_server(SECOND, "SELECT username FROM auth_user") == [("wirtin",)]
    assert on_server("default", "SELECT count(*) FROM auth_user WHERE username = 'wirtin'") == [
        (0,)
    ]

    browser = Client()
    answer = browser.post("/login/", {"username": "wirtin", "password": PASSWORD})
    assert answer.status_code == 302
    page = browser.get("/customers/").content.decode()
    assert "Stammgast-Löwe" in page and "Stammgast-Adler" not in page

    # A username is unique over all clusters.
    with pytest.raises(DomainError) as refused:
        tenant_services.create_staff_user(
            tenant=here, username="wirtin", password=PASSWORD, role="cashier"
        )
    assert refused.value.code == "user_exists"


def test_the_tenant_directory_and_cli_list_clusters_with_their_tenants(two_clusters, capsys):
    call_command("clusters")
    out = capsys.readouterr().out
    default_block, second_block = out.split(f"\n{SECOND}\t")
    assert "adler" in default_block and "loewe" not in default_block
    assert "loewe" in second_block and "adler" not in second_block

    with pytest.raises(DomainError) as refused:
        tenant_services.create_tenant(slug="baer", name="Bär", cluster="nowhere")
    assert refused.value.code == "unknown_cluster"
    assert not TenantHome.objects.filter(slug="baer").exists()


def test_a_tenant_on_a_cluster_that_is_down_gets_503_and_the_others_go_on(two_clusters):
    here, there = two_clusters
    adler, loewe = key_for(here), key_for(there)
    second = connections[SECOND]
    port = second.settings_dict["PORT"]
    second.close()
    second.settings_dict["PORT"] = "1"  # nothing listens there: the cluster is "down"
    try:
        answer = loewe.get("/api/v1/customers")
        assert answer.status_code == 503
        assert answer["Retry-After"]
        assert answer.json()["code"] == "database_busy"
        assert adler.get("/api/v1/customers").status_code == 200
    finally:
        second.close()
        second.settings_dict["PORT"] = port
    assert loewe.get("/api/v1/customers").status_code == 200


def test_a_directory_entry_naming_an_unknown_cluster_is_a_clear_503(two_clusters):
    here, there = two_clusters
    loewe = key_for(there)
    TenantHome.objects.filter(pk=there.pk).update(cluster="gone")
    with pytest.raises(DomainError) as refused:
        tenant_services.get_tenant("loewe")
    assert refused.value.status == 503 and "gone" in refused.value.message
    # Its key is not found where the directory points: refused, nothing leaks.
    from stammgast.tenants.keys import forget_cached_keys

    forget_cached_keys()
    assert loewe.get("/api/v1/customers").status_code == 401
    assert key_for(here).get("/api/v1/customers").status_code == 200


def test_moving_a_tenant_keeps_every_row_and_switches_its_home(two_clusters):
    here, there = two_clusters
    tenant_services.create_staff_user(
        tenant=here, username="chef", password=PASSWORD, role="tenant_admin"
    )
    adler = key_for(here)
    clerk = Client()
    assert clerk.post("/login/", {"username": "chef", "password": PASSWORD}).status_code == 302
    for i in range(30):
        assert post_json(adler, "/api/v1/customers", {"last_name": f"Gast {i}"}).status_code == 201
    before = last_names_on("default", here.pk)

    with pytest.raises(DomainError) as refused:
        tenant_services.move_tenant(slug="adler", to="default")
    assert refused.value.code == "same_cluster"

    moved = tenant_services.move_tenant(slug="adler", to=SECOND)
    assert moved.cluster == SECOND and moved.rows > 60

    assert last_names_on(SECOND, here.pk) == before
    assert last_names_on("default", here.pk) == []
    assert on_server("default", "SELECT count(*) FROM tenants_tenant WHERE id = %s", [here.pk]) == [
        (0,)
    ]
    assert on_server(SECOND, "SELECT username FROM auth_user ORDER BY username") == [("chef",)]
    # The same key and the same login work on, now against the second cluster.
    assert adler.get("/api/v1/customers/30").json()["last_name"] == "Gast 29"
    assert (
        post_json(adler, "/api/v1/customers", {"last_name": "Nach dem Umzug"}).json()["number"]
        == 31
    )
    # The clerk logged in before the move stays logged in and works on the new cluster.
    page = clerk.get("/customers/?q=Umzug")
    assert page.status_code == 200 and "Nach dem Umzug" in page.content.decode()
    # The other tenant was not touched.
    assert tenant_services.get_tenant("loewe")._state.db == SECOND


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.01)


def test_writes_during_a_move_are_refused_or_kept_never_lost(two_clusters):
    here, _there = two_clusters
    adler = key_for(here)
    post_json(adler, "/api/v1/customers", {"last_name": "Vorher"})
    accepted: list[str] = []
    refused: list[int] = []
    stop = threading.Event()

    def till() -> None:
        client = key_for(here)
        i = 0
        while not stop.is_set():
            i += 1
            name = f"Während {i}"
            answer = post_json(client, "/api/v1/customers", {"last_name": name})
            if answer.status_code == 201:
                accepted.append(name)
            else:
                assert answer.status_code == 503, answer.content
                assert answer["Retry-After"]
                refused.append(i)
        connections.close_all()

    worker = threading.Thread(target=till)
    worker.start()
    try:
        wait_for(lambda: len(accepted) >= 5 or not worker.is_alive())
        tenant_services.move_tenant(slug="adler", to=SECOND)
        after_move = len(accepted)
        wait_for(lambda: len(accepted) >= after_move + 5 or not worker.is_alive())
    finally:
        stop.set()
        worker.join()

    stored = set(last_names_on(SECOND, here.pk))
    assert set(accepted) <= stored, "a write answered 201 was lost"
    assert stored == {"Vorher", *accepted}, "a refused write was stored"
    assert last_names_on("default", here.pk) == []
    numbers = on_server(
        SECOND, "SELECT number FROM customers_customer WHERE tenant_id = %s", [here.pk]
    )
    assert len(numbers) == len({n for (n,) in numbers}) == len(stored)


def test_the_command_line_creates_and_moves_a_tenant_and_refuses_bad_aliases(capsys):
    call_command("tenant", "create", "baer", "--name", "Zum Bären", "--cluster", SECOND)
    assert "on cluster second" in capsys.readouterr().out
    call_command("tenant", "move", "baer", "--to", "default")
    out = capsys.readouterr().out
    assert "now lives on cluster default" in out and "verified" in out
    assert tenant_services.get_tenant("baer")._state.db == "default"
    assert on_server(SECOND, "SELECT count(*) FROM tenants_tenant WHERE slug = 'baer'") == [(0,)]

    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="nowhere.*default, second"):
        call_command("tenant", "move", "baer", "--to", "nowhere")
    assert TenantHome.objects.get(slug="baer").cluster == "default"


def test_an_import_on_the_second_cluster_keeps_nothing_on_a_dry_run_and_all_for_real(
    two_clusters, tmp_path
):
    _here, there = two_clusters
    path = tmp_path / "gaeste.csv"
    path.write_text("Name;Vorname\nLöwenherz;Richard\nBär;Balu\n", encoding="utf-8")
    call_command("import", "loewe", str(path), "--dry-run")
    assert last_names_on(SECOND, there.pk) == []
    call_command("import", "loewe", str(path))
    assert last_names_on(SECOND, there.pk) == ["Löwenherz", "Bär"]
    assert last_names_on("default", there.pk) == []
