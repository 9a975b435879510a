"""The portal as a head office and a till use it: rights, search hints, German data, lists."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def reload(shop, number):
    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers.models import Customer

    with tenant_scope(shop["tenant"]):
        return Customer.objects.get(number=number)


def block_as_head_office(shop, number, lock_text):
    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers import services
    from stammgast.tenants.actor import Actor

    with tenant_scope(shop["tenant"]):
        services.block_customer(
            actor=Actor.system(shop["tenant"]), number=number, lock_text=lock_text
        )


def test_a_cashier_cannot_lift_a_block_of_head_office(live_server, shop, new_page):
    number = shop["mueller"].number
    block_as_head_office(shop, number, "Hausverbot, bitte Zentrale anrufen")
    page = new_page()
    log_in(page, live_server.url, "kasse")
    page.goto(f"{live_server.url}/customers/{number}/settings/")
    expect(page.locator("#lock-banner")).to_contain_text("Hausverbot, bitte Zentrale anrufen")
    expect(page.locator("#lock-banner")).to_contain_text("Tenant administrator")

    page.get_by_role("link", name="Edit", exact=True).click()
    blocked = page.get_by_label("Locked customer")
    expect(blocked).to_be_checked()
    expect(blocked).to_be_disabled()
    expect(page.get_by_label("Lock text")).to_be_disabled()
    expect(page.locator("#register-panel")).to_contain_text(
        "only that role or a higher one may lift or change it"
    )
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#lock-banner")).to_be_visible()
    assert reload(shop, number).blocked is True


def test_a_short_search_shows_a_quiet_hint(live_server, shop, new_page):
    page = new_page(locale="de-DE")
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/")
    search = page.get_by_role("searchbox", name="Suche")
    search.press_sequentially("mü", delay=50)
    expect(page.locator("#search-hint")).to_have_text(
        "Die Suche beginnt ab 3 Zeichen (oder mit einer Kundennummer)."
    )
    expect(page.get_by_role("alert")).to_have_count(0)
    # Still typing: the list stays whole until the search can look for something.
    expect(page.locator("table.customers tbody tr")).to_have_count(3)
    search.press_sequentially("l", delay=50)
    expect(page.locator("table.customers tbody tr")).to_have_count(1)
    expect(page.locator("#search-hint")).to_have_count(0)
