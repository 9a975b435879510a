"""A staff user's two-factor devices live on the user's cluster and move with the tenant.

Runs where a second cluster is configured (STAMMGAST_CLUSTERS, as test_placement.py).
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from stammgast.tenants import services as tenant_services
from tests.portal.test_two_factor import code_from, enrol

SECOND = "second"
PASSWORD = "Kellner-Passwort-42"
pytestmark = [
    pytest.mark.skipif(
        SECOND not in settings.DATABASES, reason="no second cluster (STAMMGAST_CLUSTERS)"
    ),
    pytest.mark.django_db(databases="__all__", transaction=True),
]


def devices_on(alias: str, user_id: int) -> tuple[int, int]:
    """(authenticator apps, recovery codes) of the user, counted on that server itself."""
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM otp_totp_totpdevice WHERE user_id = %s", [user_id])
        apps = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM otp_static_statictoken t JOIN otp_static_staticdevice d"
            " ON d.id = t.device_id WHERE d.user_id = %s",
            [user_id],
        )
        return apps, cursor.fetchone()[0]


def log_in(username: str, code: str) -> Client:
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    first = browser.post("/login/", {"username": username, "password": PASSWORD})
    assert first["Location"] == "/login/code/"
    second = browser.post("/login/code/", {"code": code})
    assert second.status_code == 302 and second["Location"] == "/", second.content.decode()
    return browser


def test_devices_live_with_their_user_and_move_with_the_tenant():
    tenant_services.create_tenant(slug="adler", name="Gasthaus Adler")
    there = tenant_services.create_tenant(slug="loewe", name="Gasthof Löwe", cluster=SECOND)
    user = tenant_services.create_staff_user(
        tenant=there, username="kellner", password=PASSWORD, role="cashier"
    )
    assert user._state.db == SECOND
    secret, codes = enrol(user)
    assert devices_on(SECOND, user.pk) == (1, 10)
    assert devices_on("default", user.pk) == (0, 0)

    browser = log_in("kellner", code_from(secret, steps_ahead=1))
    assert browser.get("/customers/").status_code == 200
    assert "10 recovery codes are left." in browser.get("/two-factor/").content.decode()

    tenant_services.move_tenant(slug="loewe", to="default")
    assert devices_on("default", user.pk) == (1, 10)
    assert devices_on(SECOND, user.pk) == (0, 0)

    # After the move the log-in still asks for the second factor, and takes it there.
    browser = log_in("kellner", codes[0])
    assert browser.get("/customers/").status_code == 200
    assert devices_on("default", user.pk) == (1, 9)
