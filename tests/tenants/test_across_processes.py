"""Log-in throttling and the API-key cache hold across server processes.

What one process does (failed log-ins, revoking a key, a location leaving its group) is
done here in a second Python process on the same database and data directory; this test
process plays the other server worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor
from tests.conftest import ApiClientFor

PASSWORD = "Kellner-Passwort-42"


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{db.get('USER') or 'postgres'}@{host}:{port}/{db['NAME']}"


def in_another_process(code: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "stammgast.settings",
        "STAMMGAST_VAR_DIR": str(settings.VAR_DIR),
    }
    script = "import django\ndjango.setup()\n" + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def var_dir(tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()


@pytest.mark.django_db(transaction=True)
def test_a_user_locked_out_in_one_process_is_locked_out_in_another(var_dir):
    tenant = tenant_services.create_tenant(slug="adler", name="Gasthaus Adler")
    tenant_services.create_staff_user(
        tenant=tenant, username="kasse", password=PASSWORD, role="cashier"
    )
    in_another_process(
        """
        from django.test import Client
        client = Client()
        for _ in range(10):
            client.post("/login/", {"username": "kasse", "password": "falsch"})
        """
    )
    refused = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/login/", {"username": "kasse", "password": PASSWORD}
    )
    assert refused.status_code == 429
    assert "Too many failed log-in attempts" in refused.content.decode()
    # The admin's log-in counts the same failures.
    admin = Client().post("/admin/login/", {"username": "kasse", "password": PASSWORD})
    assert admin.status_code == 429


@pytest.mark.django_db(transaction=True)
def test_a_key_revoked_in_one_process_is_refused_by_another_on_the_next_request(var_dir):
    tenant = tenant_services.create_tenant(slug="adler", name="Gasthaus Adler")
    with tenant_scope(tenant):
        customer_services.create_customer(actor=Actor.system(tenant), data={"last_name": "A"})
    client, key = tenant_services.create_api_key(tenant=tenant, name="Kasse", scopes=["pos"])
    till = ApiClientFor(key)
    assert till.get("/api/v1/customers/1").status_code == 200  # verified and kept here
    in_another_process(
        f"""
        from stammgast.tenants import services
        from stammgast.tenants.models import ApiClient
        services.revoke_api_key(client=ApiClient.all_tenants.get(pk={client.pk}))
        """
    )
    assert till.get("/api/v1/customers/1").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_detached_locations_key_sees_the_old_group_on_no_process(var_dir):
    tenant = tenant_services.create_tenant(slug="adler", name="Gasthaus Adler")
    location = tenant_services.create_location(tenant=tenant, code="hafen", name="Hafen")
    with tenant_scope(tenant):
        customer_services.create_customer(actor=Actor.system(tenant), data={"last_name": "A"})
    _client, key = tenant_services.create_api_key(
        tenant=tenant, name="Kasse Hafen", scopes=["pos"], location=location
    )
    till = ApiClientFor(key)
    assert till.get("/api/v1/customers/1").status_code == 200
    in_another_process(
        f"""
        from stammgast.tenants import services
        from stammgast.tenants.models import Location
        location = Location.all_tenants.get(pk={location.pk})
        services.detach_location(location=location, new_slug="hafen-neu", new_name="Hafen")
        """
    )
    # The till now belongs to the new, empty customer base.
    assert till.get("/api/v1/customers/1").status_code == 404
    assert till.get("/api/v1/customers").json()["items"] == []
