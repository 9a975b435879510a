"""Credit in the portal, in a real browser: a top-up shows the new balance at once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_tops_up_credit_and_sees_the_entry_and_the_balance(live_server, shop, new_page):
    page = new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/1/")
    # The group opens on its first register, the credit.
    page.get_by_role("link", name="Credit, cards & bills").click()
    expect(page.locator(".subtabs [aria-current=page]")).to_have_text("Credit")
    expect(page.locator("#credit-balance")).to_contain_text("0.00 EUR")
    form = page.locator("#top-up")
    form.get_by_label("Amount").fill("25,50")
    form.get_by_label("Reason").fill("Bar eingezahlt")
    form.get_by_role("button", name="Top up").click()
    expect(page.get_by_role("status").or_(page.locator(".messages"))).to_contain_text(
        "New balance: 25.50 EUR"
    )
    expect(page.locator("#credit-balance")).to_contain_text("25.50 EUR")
    first = page.locator("#credit-entries tbody tr").first
    expect(first).to_contain_text("top-up")
    expect(first).to_contain_text("25.50")
    expect(first).to_contain_text("Bar eingezahlt")

    # The admin may correct; a refused correction says why.
    correction = page.locator("#correct")
    correction.get_by_label("Amount").fill("-30")
    correction.get_by_label("Reason").fill("Fehlbuchung")
    correction.get_by_role("button", name="Book correction").click()
    expect(page.locator("body")).to_contain_text("Not enough credit: 25.50 EUR available.")
    expect(page.locator("#credit-balance")).to_contain_text("25.50 EUR")


def test_a_cashier_tops_up_but_cannot_correct(live_server, shop, new_page):
    page = new_page()
    log_in(page, live_server.url, username="kasse")
    page.goto(f"{live_server.url}/customers/2/credit/")
    expect(page.locator("#top-up")).to_be_visible()
    expect(page.locator("#correct")).to_have_count(0)
