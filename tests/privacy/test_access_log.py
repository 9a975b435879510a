"""The access log: who read personal data, what, how many; tills' reads logged after
their answer."""

from __future__ import annotations

import pytest
from django.test import Client

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.privacy.models import AccessLogEntry
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor


@pytest.fixture
def guests(admin_actor):
    return [
        customer_services.create_customer(
            actor=admin_actor, data={"last_name": name, "mobile": f"0171 234567{i}"}
        )
        for i, name in enumerate(["Adler", "Bauer", "Conrad"])
    ]


def entries(tenant):
    with tenant_scope(tenant):
        return list(
            AccessLogEntry.objects.order_by("id").values_list(
                "kind", "actor_label", "what", "count", "customer_number"
            )
        )


def test_tills_reads_are_logged_one_row_each(tenant, make_api, guests):
    api = make_api(tenant, ("pos",))
    assert api.get(f"/api/v1/customers/{guests[0].number}").status_code == 200
    assert api.get("/api/v1/customers/lookup?phone=0171 2345671").status_code == 200
    assert api.get("/api/v1/customers?q=Bauer").status_code == 200
    logged = entries(tenant)
    assert logged[0] == ("record", "API: Kasse 1", "", 1, guests[0].number)
    assert logged[1][:2] == ("record", "API: Kasse 1") and logged[1][3:] == (1, guests[1].number)
    assert logged[2][0] == "list" and "Bauer" in logged[2][2] and logged[2][3] == 1


def test_an_export_is_logged_with_its_filter_and_count(
    tenant, make_api, guests, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    api = make_api(tenant, ("exchange",))
    answer = api.post("/api/v1/exports", {"q": "Conrad"}, content_type="application/json")
    assert answer.status_code in (201, 202), answer.content
    (export,) = [e for e in entries(tenant) if e[0] == "export"]
    assert "Conrad" in export[2] and export[3] == 1


def test_tenant_admins_read_the_log_in_the_portal_and_the_api(tenant, make_api, guests):
    till = make_api(tenant, ("pos",))
    till.get(f"/api/v1/customers/{guests[2].number}")
    user = tenant_services.create_staff_user(
        tenant=tenant, username="chefin", password="Kellner-Passwort-42", role="tenant_admin"
    )
    admin = Client(HTTP_ACCEPT_LANGUAGE="en")
    admin.force_login(user)
    page = admin.get("/privacy/access-log/").content.decode()
    assert "API: Kasse 1" in page and f"Customer {guests[2].number}" in page
    audit = make_api(tenant, ("exchange",), name="Revision")
    listed = audit.get("/api/v1/access-log?kind=record").json()["items"]
    assert [e["customer"] for e in listed] == [guests[2].number]
    assert till.get("/api/v1/access-log").status_code == 403
    assert audit.get("/api/v1/access-log?kind=everything").status_code == 422


def test_cashiers_may_not_read_the_log(tenant, guests):
    user = tenant_services.create_staff_user(
        tenant=tenant, username="kasse", password="Kellner-Passwort-42", role="cashier"
    )
    cashier = Client(HTTP_ACCEPT_LANGUAGE="en")
    cashier.force_login(user)
    assert cashier.get("/privacy/access-log/").status_code == 403


def test_another_tenants_log_is_not_shown(tenant, other_tenant, make_api, guests):
    make_api(tenant, ("pos",)).get(f"/api/v1/customers/{guests[0].number}")
    other = make_api(other_tenant, ("exchange",), name="Fremd")
    assert other.get("/api/v1/access-log").json()["items"] == []


@pytest.mark.django_db(transaction=True)
def test_the_writer_thread_writes_what_gathered_in_one_go(tenant, make_api, settings):
    import time

    from stammgast.core.access import flush_access_log

    settings.STAMMGAST_ACCESS_LOG_DELAY = 0.2
    with tenant_scope(tenant):
        numbers = [
            customer_services.create_customer(
                actor=Actor.system(tenant), data={"last_name": f"Gast {i}"}
            ).number
            for i in range(3)
        ]
    api = make_api(tenant, ("pos",))
    for number in numbers:
        assert api.get(f"/api/v1/customers/{number}").status_code == 200
    deadline = time.monotonic() + 5
    while len(entries(tenant)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    flush_access_log()
    assert sorted(e[4] for e in entries(tenant)) == sorted(numbers)
