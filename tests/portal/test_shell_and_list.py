"""Log-in, language, dashboard and the customer list with its filters."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

from django.http import HttpRequest
from django.test import Client
from django.utils import timezone

from stammgast.core.tenancy import tenant_scope
from stammgast.customers.models import Customer, CustomerGroup
from stammgast.tenants import services as tenant_services

from .conftest import PASSWORD


def numbers_in(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-number="(\d+)"', html)]


def test_log_in_and_out_and_the_shell_shows_tenant_and_location(tenant, location):
    tenant_services.create_staff_user(
        tenant=tenant, username="kasse", password=PASSWORD, role="cashier", location=location
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.post("/login/", {"username": "kasse", "password": PASSWORD}).status_code == 302
    home = client.get("/").content.decode()
    assert "Gasthaus Adler" in home and "Mitte" in home and "Cashier" in home
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_log_in_is_refused_after_ten_failures(tenant):
    tenant_services.create_staff_user(
        tenant=tenant, username="kasse", password=PASSWORD, role="cashier"
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(9):
        wrong = client.post("/login/", {"username": "kasse", "password": "falsch"})
        assert "Please enter a correct username and password" in wrong.content.decode()
    tenth = client.post("/login/", {"username": "kasse", "password": "falsch"})
    assert tenth.status_code == 429
    refused = client.post("/login/", {"username": "kasse", "password": PASSWORD})
    assert refused.status_code == 429
    assert "Too many failed log-in attempts. Wait 15 minutes" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_password_change(tenant, staff_client):
    client = staff_client("cashier", username="kasse")
    done = client.post(
        "/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Neues-Passwort-77",
            "new_password2": "Neues-Passwort-77",
        },
    )
    assert done.status_code == 302
    assert Client().login(request=HttpRequest(), username="kasse", password="Neues-Passwort-77")


def test_the_browser_language_decides_and_the_switch_overrides(tenant, staff_client):
    client = staff_client("tenant_admin")
    german = Client(HTTP_ACCEPT_LANGUAGE="de")
    german.cookies = client.cookies
    assert "Kunden" in german.get("/").content.decode()
    assert ">Customers<" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "de", "next": "/"})
    assert ">Kunden<" in client.get("/").content.decode()


def test_dashboard_figures_and_chart(tenant, location, staff_client, make_customer):
    make_customer(tenant, newsletter=True)
    blocked = make_customer(tenant, last_name="Sperr")
    old = make_customer(tenant, last_name="Alt")
    with tenant_scope(tenant):
        Customer.objects.filter(pk=blocked.pk).update(blocked=True)
        Customer.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - dt.timedelta(days=400), created_location=location
        )
    html = staff_client("tenant_admin").get("/").content.decode()
    figures = re.findall(r'<span class="value">(\d+)</span><span class="label">([^<]+)<', html)
    assert figures == [
        ("3", "Customers"),
        ("2", "New this month"),
        ("1", "Blocked"),
        ("1", "Newsletter consents"),
    ]
    assert "<svg" in html and "<rect" in html
    assert "No location" in html


def test_search_filter_sort_and_export_link(tenant, location, staff_client, make_customer):
    with tenant_scope(tenant):
        CustomerGroup.objects.create(tenant=tenant, name="VIP")
    a = make_customer(tenant, last_name="Müller", city="Köln", groups=["VIP"], newsletter=True)
    b = make_customer(tenant, last_name="Bauer", city="Bonn")
    c = make_customer(tenant, last_name="Schmidt", city="Köln")
    client = staff_client("tenant_admin")

    assert numbers_in(client.get("/customers/?q=mül").content.decode()) == [a.number]
    assert numbers_in(client.get("/customers/?q=köln").content.decode()) == [a.number, c.number]
    assert numbers_in(client.get("/customers/?group=VIP").content.decode()) == [a.number]
    assert numbers_in(client.get("/customers/?newsletter=false").content.decode()) == [
        b.number,
        c.number,
    ]
    assert numbers_in(client.get("/customers/?sort=-number").content.decode()) == [
        c.number,
        b.number,
        a.number,
    ]
    assert numbers_in(client.get("/customers/?sort=name").content.decode()) == [
        b.number,
        a.number,
        c.number,
    ]
    # Too short to search: a quiet hint, no error, and the list as the other filters say.
    short = client.get("/customers/?q=m&newsletter=false").content.decode()
    assert "Search starts at 3 characters" in short
    assert 'role="alert"' not in short
    assert "has-error" not in short
    assert numbers_in(short) == [b.number, c.number]

    html = client.get("/customers/?q=köln&newsletter=true&sort=-name").content.decode()
    export = re.search(r'id="export-link" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert urlsplit(export).path == "/exchange/export/"
    assert parse_qs(urlsplit(export).query) == {
        "q": ["köln"],
        "newsletter": ["true"],
        "sort": ["-name"],
    }


def test_htmx_search_answers_with_the_results_only(tenant, staff_client, make_customer):
    make_customer(tenant, last_name="Müller")
    html = (
        staff_client("tenant_admin")
        .get("/customers/?q=mül", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="customer-results")
        .content.decode()
    )
    assert html.startswith('<section id="customer-results"')
    assert "Müller" in html


def test_keyset_pages(tenant, staff_client, make_customer):
    made = [make_customer(tenant, last_name=f"Gast {i}").number for i in range(55)]
    client = staff_client("tenant_admin")
    first = client.get("/customers/").content.decode()
    assert numbers_in(first) == made[:50]
    next_url = re.search(r'href="(\?[^"]*cursor=[^"]+)"', first).group(1).replace("&amp;", "&")
    assert numbers_in(client.get("/customers/" + next_url).content.decode()) == made[50:]
    broken = client.get("/customers/?cursor=kaputt")
    assert broken.status_code == 200
    assert "start from the first page" in broken.content.decode()


def test_the_dashboard_query_count_does_not_grow_with_customers(
    tenant, location, staff_client, make_customer, django_assert_max_num_queries
):
    client = staff_client("tenant_admin")
    make_customer(tenant)
    with django_assert_max_num_queries(12) as few:
        client.get("/")
    for i in range(30):
        make_customer(tenant, last_name=f"Gast {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/")


def test_a_location_bound_dashboard_counts_only_what_the_location_may_serve(
    tenant, location, location_b, staff_client, make_customer
):
    make_customer(tenant, last_name="Überall")
    make_customer(tenant, last_name="Nur Hafen", allowed_locations=["hafen"])
    html = staff_client("location_manager", location=location).get("/").content.decode()
    figures = dict(
        (label, int(n))
        for n, label in re.findall(
            r'<span class="value">(\d+)</span><span class="label">([^<]+)<', html
        )
    )
    assert figures["Customers"] == 1
    assert "Mitte" in html


def test_the_history_has_older_pages(tenant, staff_client, make_customer):
    from stammgast.customers import services as customer_services
    from stammgast.tenants.actor import Actor

    customer = make_customer(tenant)
    with tenant_scope(tenant):
        for i in range(55):
            customer_services.update_customer(
                actor=Actor.system(tenant), number=customer.number, data={"memo": f"Notiz {i}"}
            )
    client = staff_client("tenant_admin")
    first = client.get(f"/customers/{customer.number}/history/").content.decode()
    assert "Notiz 54" in first and "Notiz 3<" not in first
    older = re.search(r'href="(\?cursor=[^"]+)">Older entries', first).group(1)
    rest = client.get(f"/customers/{customer.number}/history/{older}").content.decode()
    assert "Notiz 3<" in rest and "created" in rest


def test_a_bad_filter_value_is_marked_and_the_other_filters_still_apply(
    tenant, staff_client, make_customer
):
    a = make_customer(tenant, last_name="Müller", city="Köln")
    make_customer(tenant, last_name="Schmidt", city="Bonn")
    html = staff_client("tenant_admin").get("/customers/?q=köln&price_level=0").content.decode()
    assert numbers_in(html) == [a.number]
    assert 'id="id_price_level_error"' in html


def test_numbered_pages_forth_and_back(tenant, staff_client, make_customer):
    for i in range(120):
        make_customer(tenant, last_name=f"Gast {i:03d}")
    client = staff_client("read_only")

    def open_page(url):
        html = client.get(url).content.decode()
        position = re.search(r'id="page-position">([^<]*)<', html).group(1)
        page = re.search(r'id="page-number"[^>]*>([^<]*)<', html).group(1)
        links = {rel: re.search(rf'rel="{rel}" href="([^"]+)"', html) for rel in ("prev", "next")}
        links = {k: m.group(1).replace("&amp;", "&") for k, m in links.items() if m}
        return numbers_in(html), position, page, links

    numbers, position, page, links = open_page("/customers/?sort=number")
    assert (numbers, position, page) == (list(range(1, 51)), "1–50 of 120", "Page 1 of 3")
    assert set(links) == {"next"}
    numbers, position, page, links = open_page("/customers/" + links["next"])
    assert (numbers, position, page) == (list(range(51, 101)), "51–100 of 120", "Page 2 of 3")
    numbers, position, page, links = open_page("/customers/" + links["next"])
    assert (numbers, position, page) == (list(range(101, 121)), "101–120 of 120", "Page 3 of 3")
    assert set(links) == {"prev"}
    # Back from the last page: read backwards from its first customer.
    numbers, position, page, links = open_page("/customers/" + links["prev"])
    assert (numbers, position, page) == (list(range(51, 101)), "51–100 of 120", "Page 2 of 3")
    numbers, position, page, links = open_page("/customers/" + links["prev"])
    assert (numbers, position) == (list(range(1, 51)), "1–50 of 120")
    assert set(links) == {"next"}

    german = client.get("/customers/?sort=-changed", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "1–50 von 120" in german
    assert numbers_in(german)[:2] == [120, 119]
