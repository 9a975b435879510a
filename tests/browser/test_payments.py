"""The sandbox provider's hosted page in a real browser: pay, decline, back to the shop."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from stammgast.core.tenancy import tenant_scope
from stammgast.ledger.models import CreditAccount
from stammgast.payments import services
from stammgast.payments.models import TopUpPayment
from stammgast.tenants.actor import Actor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _sandbox_offered(settings):
    settings.STAMMGAST_PAYMENT_PROVIDERS = ["sandbox"]


def _start(shop, amount: int):
    tenant, guest = shop["tenant"], shop["mueller"]
    with tenant_scope(tenant):
        payment, url = services.start_top_up(
            actor=Actor.for_guest(tenant=tenant, customer_number=guest.number),
            customer_number=guest.number,
            amount=amount,
            return_url=f"/pay/{tenant.slug}/status/PLACEHOLDER/",
        )
        # The page the guest returns to does not exist yet: the status answer stands in.
        TopUpPayment.objects.filter(pk=payment.pk).update(
            return_url=f"/pay/{tenant.slug}/status/{payment.reference}/"
        )
    return payment, url


def test_a_guest_pays_on_the_sandbox_page_and_comes_back_credited(live_server, shop, new_page):
    payment, url = _start(shop, 2_550)
    page = new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(live_server.url + url)
    # Its own stylesheet, served by the app under the CSP (no inline style).
    expect(page.locator(".sandbox-bar")).to_have_css("background-color", "rgb(59, 42, 107)")
    assert not problems, problems
    expect(page.get_by_role("heading")).to_have_text("Pay Gasthaus Adler")
    expect(page.locator("#sandbox-amount")).to_have_text("25.50 EUR")
    page.get_by_role("button", name="Pay", exact=True).click()
    page.wait_for_url(f"**/status/{payment.reference}/?top_up={payment.reference}&status=succeeded")
    expect(page.locator("body")).to_contain_text('"status":"succeeded"')
    with tenant_scope(shop["tenant"]):
        assert CreditAccount.objects.get(customer=shop["mueller"]).balance == 2_550
    # Back to the provider's page: paid, no buttons any more.
    page.goto(live_server.url + url)
    expect(page.get_by_role("status")).to_contain_text("This payment has been made.")
    expect(page.get_by_role("button", name="Pay", exact=True)).to_have_count(0)


def test_a_german_guest_declines_and_nothing_is_credited(live_server, shop, new_page):
    payment, url = _start(shop, 1_000)
    page = new_page(locale="de-DE")
    page.goto(live_server.url + url)
    expect(page.get_by_role("heading")).to_have_text("Gasthaus Adler bezahlen")
    page.get_by_role("button", name="Ablehnen").click()
    page.wait_for_url("**status=failed")
    with tenant_scope(shop["tenant"]):
        assert TopUpPayment.objects.get().status == "failed"
        assert not CreditAccount.objects.filter(customer=shop["mueller"], balance__gt=0).exists()
