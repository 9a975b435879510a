"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
# body are still ordinary synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "Theke-Passwort-2024"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/install-browser.sh` first.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """Open a page in a fresh browser context (own cookies) with a browser language."""
    contexts = []

    in_flight: set = set()

    def make(locale: str = "en-US", width: int = 1280, height: int = 900):
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        context.on("request", lambda request: in_flight.add(request))
        context.on("requestfinished", lambda request: in_flight.discard(request))
        context.on("requestfailed", lambda request: in_flight.discard(request))
        contexts.append(context)
        return context.new_page()

    yield make
    # Let the last click's requests finish on the server (a form sent by htmx, say): the
    # test database is emptied next, which must not meet a request still writing.
    pages = [page for context in contexts for page in context.pages]
    deadline = time.monotonic() + 10
    while in_flight and pages and time.monotonic() < deadline:
        pages[0].wait_for_timeout(50)  # Playwright delivers the requests' ends meanwhile
    for context in contexts:
        context.close()


@pytest.fixture
def shop(transactional_db):
    """A tenant with two locations, staff users and a few customers."""
    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers import services as customer_services
    from stammgast.customers.models import CustomerGroup
    from stammgast.tenants import services as tenant_services
    from stammgast.tenants.actor import Actor

    tenant = tenant_services.create_tenant(slug="adler", name="Gasthaus Adler")
    mitte = tenant_services.create_location(tenant=tenant, code="mitte", name="Adler Mitte")
    tenant_services.create_location(tenant=tenant, code="hafen", name="Adler Hafen")
    tenant_services.create_staff_user(
        tenant=tenant, username="chefin", password=PASSWORD, role="tenant_admin"
    )
    tenant_services.create_staff_user(
        tenant=tenant, username="kasse", password=PASSWORD, role="cashier", location=mitte
    )
    with tenant_scope(tenant):
        CustomerGroup.objects.create(tenant=tenant, name="Stammgäste")
        actor = Actor.system(tenant, location=mitte)
        rows = [
            {
                "first_name": "Jürgen",
                "last_name": "Müller",
                "city": "Köln",
                "postcode": "50667",
                "email": "juergen.mueller@example.de",
                "mobile": "0171 2345678",
                "groups": ["Stammgäste"],
                "newsletter": True,
            },
            {"first_name": "Anna", "last_name": "Schmidt", "city": "Bonn", "postcode": "53111"},
            {
                "kind": "business",
                "company_name": "Bäckerei Kühn",
                "first_name": "Ole",
                "last_name": "Kühn",
                "city": "Berlin",
                "postcode": "10115",
            },
        ]
        customers = [customer_services.create_customer(actor=actor, data=row) for row in rows]
    return {"tenant": tenant, "customers": customers, "mueller": customers[0]}


def log_in(page, base_url: str, username: str = "chefin") -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base_url}/")
