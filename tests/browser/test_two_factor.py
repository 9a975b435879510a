"""Two-factor log-in in the browser: set it up from the QR page, then log in with the code."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.portal.test_two_factor import code_from

from .conftest import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True)

WATCH = """() => {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation',
    e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
}"""


def test_set_up_two_factor_and_log_in_with_the_code(live_server, shop, new_page):
    page = new_page()
    page.add_init_script(f"({WATCH})()")
    log_in(page, live_server.url, "kasse")

    page.get_by_role("link", name="Two-factor login").click()
    expect(page.locator("#two-factor-state")).to_contain_text("Two-factor login is off.")
    page.get_by_role("button", name="Set up two-factor login").click()
    expect(page.locator(".qr svg")).to_be_visible()
    assert page.evaluate("window.__violations") == []  # the QR code is no inline style
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from the app").fill(code_from(secret))
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have kept them safe").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.evaluate("window.__violations") == []

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/login/")
    page.fill("#id_username", "kasse")
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/login/code/")
    # Password alone opens nothing.
    page.goto(f"{live_server.url}/customers/")
    page.wait_for_url(f"{live_server.url}/login/?next=/customers/")
    page.goto(f"{live_server.url}/login/code/")
    page.get_by_label("Code").fill(code_from(secret, steps_ahead=1))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/customers/")
    expect(page.locator("table.customers tbody tr").first).to_be_visible()
