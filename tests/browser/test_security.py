"""The portal and the API's docs work under the content security policy: no violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

WATCH = """() => {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation',
    e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
}"""


def test_portal_pages_and_api_docs_run_without_a_policy_violation(live_server, shop, new_page):
    page = new_page()
    messages = []
    page.on("console", lambda m: messages.append(m.text))
    page.add_init_script(f"({WATCH})()")
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/")
    page.get_by_role("searchbox", name="Search").fill("Mül")
    expect(page.locator("table.customers tbody tr").first).to_contain_text("Müller")
    page.goto(f"{live_server.url}/customers/1/credit/")
    expect(page.locator("#credit-balance")).to_contain_text("0.00")
    page.goto(f"{live_server.url}/")
    expect(page.locator(".legend").first).to_be_visible()
    assert page.evaluate("window.__violations") == []
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("stammgast API")
    assert page.evaluate("window.__violations") == []
    assert not [m for m in messages if "Content Security Policy" in m], messages
