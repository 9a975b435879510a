"""The portal in a real browser: search, edit, block, language, concurrent edits."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def open_edit_form(page, heading):
    """Click Edit and wait until htmx has swapped and settled the form: while it settles,
    labels and ids of the old and the new register can briefly disagree."""
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", name=f"Edit: {heading}")).to_be_visible()
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def reload(shop, number):
    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers.models import Customer

    with tenant_scope(shop["tenant"]):
        return Customer.objects.get(number=number)


def test_log_in_search_and_open_the_customer(live_server, shop, new_page):
    page = new_page()
    log_in(page, live_server.url)
    expect(page.locator(".whoami")).to_contain_text("Gasthaus Adler")
    expect(page.locator(".stat").first).to_contain_text("3")

    page.get_by_role("link", name="Customers", exact=True).click()
    expect(page.locator("table.customers tbody tr")).to_have_count(3)
    page.get_by_role("searchbox", name="Search").press_sequentially("mül", delay=50)
    # As-you-type: the list narrows without pressing Enter.
    expect(page.locator("table.customers tbody tr")).to_have_count(1)
    expect(page.locator("table.customers tbody")).to_contain_text("Jürgen Müller")
    expect(page).to_have_url(re.compile(r"q=m%C3%BCl|q=mül"))
    expect(page.locator("#export-link")).to_have_attribute(
        "href", re.compile(r"^/exchange/export/\?q=")
    )

    page.get_by_role("link", name="Jürgen Müller").click()
    expect(page.locator("h1")).to_contain_text("Jürgen Müller")
    page.get_by_role("link", name="Contact & payment").click()
    expect(page.get_by_role("link", name="Address and contact")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator("#register-panel")).to_contain_text("Köln")
    expect(page).to_have_url(re.compile(r"/address/$"))


def test_edit_with_a_validation_error_then_fix_it(live_server, shop, new_page):
    number = shop["mueller"].number
    page = new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/{number}/payment/")
    open_edit_form(page, "Payment information")
    page.get_by_label("Discount (%)").fill("12,5")
    page.get_by_label("Term of payment (days)").fill("14")
    expect(page.get_by_label("Discount (%)")).to_have_value("12,5")
    page.get_by_role("button", name="Save").click()

    error = page.locator("#id_discount_error")
    expect(error).to_contain_text("whole number")
    expect(page.get_by_label("Discount (%)")).to_have_value("12,5")
    expect(page.get_by_label("Term of payment (days)")).to_have_value("14")
    assert reload(shop, number).discount == 0

    page.get_by_label("Discount (%)").fill("12")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("The changes have been saved.")
    expect(page.locator("#register-panel")).to_contain_text("12")
    saved = reload(shop, number)
    assert (saved.discount, saved.payment_term_days) == (12, 14)


def test_block_with_a_lock_text_and_see_it_in_the_list(live_server, shop, new_page):
    number = shop["mueller"].number
    page = new_page()
    log_in(page, live_server.url, "kasse")
    page.goto(f"{live_server.url}/customers/{number}/settings/")
    open_edit_form(page, "Settings")
    page.get_by_label("Locked customer").check()
    page.get_by_label("Lock text").fill("Hausverbot bis Jahresende")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#lock-banner")).to_contain_text("Hausverbot bis Jahresende")

    page.get_by_role("link", name="Customers", exact=True).first.click()
    row = page.locator(f'tr[data-number="{number}"]')
    expect(row).to_have_class(re.compile("is-blocked"))
    expect(row).to_contain_text("Blocked")
    expect(row).to_contain_text("Hausverbot bis Jahresende")
    page.get_by_label("Blocked", exact=True).select_option("true")
    expect(page.locator("table.customers tbody tr")).to_have_count(1)


def test_switch_language(live_server, shop, new_page):
    page = new_page(locale="de-DE")
    log_in(page, live_server.url)
    expect(page.locator(".mainnav")).to_contain_text("Kunden")
    page.get_by_label("Sprache").select_option("en")
    page.get_by_role("button", name="Sprache wechseln").click()
    expect(page.locator(".mainnav")).to_contain_text("Customers")
    page.goto(f"{live_server.url}/customers/")
    expect(page.locator("h1")).to_have_text("Customers")
    page.get_by_label("Language").select_option("de")
    page.get_by_role("button", name="Switch language").click()
    expect(page.locator("h1")).to_have_text("Kunden")


def test_a_concurrent_edit_is_refused_and_nothing_is_lost(live_server, shop, new_page):
    number = shop["mueller"].number
    first, second = new_page(), new_page()
    log_in(first, live_server.url, "chefin")
    log_in(second, live_server.url, "kasse")
    for page in (first, second):
        page.goto(f"{live_server.url}/customers/{number}/address/edit/")

    first.get_by_label("Place").fill("Düsseldorf")
    first.get_by_label("Postcode").fill("40213")
    first.get_by_role("button", name="Save").click()
    expect(first.locator(".messages")).to_contain_text("The changes have been saved.")

    second.get_by_label("Place").fill("Aachen")
    second.get_by_label("Street/No.").fill("Domplatz 1")
    second.get_by_label("Postcode").fill("52062")
    second.get_by_role("button", name="Save").click()
    expect(second.locator("#form-errors")).to_contain_text("Someone else changed this customer")
    expect(second.get_by_label("Place")).to_have_value("Aachen")
    expect(second.get_by_label("Street/No.")).to_have_value("Domplatz 1")
    expect(second.locator("#id_city_saved")).to_contain_text("Düsseldorf")
    assert reload(shop, number).city == "Düsseldorf"

    # Having seen the other change, saving again is a deliberate overwrite.
    second.get_by_role("button", name="Save").click()
    expect(second.locator(".messages")).to_contain_text("The changes have been saved.")
    assert reload(shop, number).city == "Aachen"


def test_usable_on_a_tablet_and_by_keyboard(live_server, shop, new_page):
    number = shop["mueller"].number
    page = new_page(width=768, height=1024)
    log_in(page, live_server.url)
    for path in ("/", "/customers/", f"/customers/{number}/", f"/customers/{number}/master/edit/"):
        page.goto(live_server.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"

    page.goto(f"{live_server.url}/customers/{number}/")
    page.get_by_role("link", name="Settings").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Settings")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="Settings")).to_be_focused()
    # The Edit button is reached with Tab after the remaining tabs.
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "edit-register":
            break
    expect(page.locator("#edit-register")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Locked customer")).to_be_focused()


def test_after_the_session_ends_a_tab_click_shows_the_login_page(live_server, shop, new_page):
    page = new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/{shop['mueller'].number}/")
    page.context.clear_cookies()
    page.get_by_role("link", name="History").click()
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    expect(page.locator("h1")).to_have_text("Log in")
