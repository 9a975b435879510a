"""The guests' area in a real browser on a phone-sized screen, with the mails going
through a real SMTP server: register, confirm by the link, complete the data, log in,
reset the password, edit, revoke the newsletter, top up through the sandbox provider,
download the data, delete the account."""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)

GUEST_PASSWORD = "Sonnenblume-im-Garten-7"
NEW_PASSWORD = "Regenbogen-ueber-Dresden-4"


@pytest.fixture
def area(shop):
    from stammgast.core.tenancy import tenant_scope
    from stammgast.privacy import services as privacy_services
    from stammgast.tenants.actor import Actor

    tenant = shop["tenant"]
    with tenant_scope(tenant):
        privacy_services.publish_legal_text(
            actor=Actor.system(tenant),
            kind="privacy",
            title="Datenschutzerklärung",
            body="Wir speichern, was Sie uns sagen.",
        )
        privacy_services.update_privacy_settings(
            actor=Actor.system(tenant), credit_at_erasure="forfeit", bill_retention_years=10
        )
    return tenant


def link_from(mailbox, count: int, kind: str) -> str:
    message = mailbox.wait_for(count)[count - 1]
    text = message.get_body(("plain",)).get_content()
    return re.search(rf"(http://\S+/{kind}/[\w-]+/)", text).group(1)


def test_a_guest_lives_through_the_whole_self_service(
    live_server, area, new_page, smtp_server, settings
):
    settings.STAMMGAST_PAYMENT_PROVIDERS = ["sandbox"]
    base = f"{live_server.url}/me/adler"
    page = new_page(width=390, height=844)  # a phone
    page.goto(f"{base}/register/")
    expect(page.get_by_role("heading", name="Register")).to_be_visible()
    page.get_by_label("E-mail").fill("erika@example.org")
    page.get_by_label("Password").fill(GUEST_PASSWORD)
    page.get_by_label("I accept the privacy policy and the terms.").check()
    page.get_by_label("Send me the newsletter.").check()
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#registered")).to_contain_text("We have sent you an e-mail")

    # The link from the mail, and the password chosen: the address is confirmed.
    page.goto(link_from(smtp_server, 1, "confirm"))
    page.get_by_label("Password").fill(GUEST_PASSWORD)
    page.get_by_role("button", name="Confirm and log in").click()

    # The data form: "Next" stays disabled until the required fields are filled.
    expect(page.get_by_role("heading", name="Your data")).to_be_visible()
    button = page.locator("#next")
    expect(button).to_be_disabled()
    page.get_by_label("First name").fill("Erika")
    expect(button).to_be_disabled()
    page.get_by_label("Name", exact=True).fill("Muster")
    expect(button).to_be_enabled()
    page.get_by_label("Place").fill("Dresden")
    button.click()
    expect(page.get_by_role("heading", name="Hello Erika Muster")).to_be_visible()
    newsletter = page.locator("#consents li[data-purpose=newsletter]")
    expect(newsletter).to_contain_text("given")

    # Revoke the newsletter.
    newsletter.get_by_role("button", name="Revoke").click()
    expect(page.locator("#consents li[data-purpose=newsletter]")).to_contain_text("not given")

    # Edit the data.
    page.get_by_role("link", name="Change my data").click()
    page.get_by_label("Place").fill("Leipzig")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#my-data")).to_contain_text("Leipzig")

    # Log out, forget the password, reset it by the mailed link, log in with the new one.
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("link", name="Forgotten your password?").click()
    page.get_by_label("E-mail").fill("erika@example.org")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator("#reset-sent")).to_be_visible()
    page.goto(link_from(smtp_server, 2, "reset"))
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the password").click()
    page.get_by_label("E-mail").fill("erika@example.org")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Hello Erika Muster")).to_be_visible()

    # Top up through the payment provider's own page (the sandbox).
    page.get_by_label("Top up (EUR, 5 to 500)").fill("20")
    page.locator("#top-up").get_by_role("button", name="Top up").click()
    expect(page.locator("#sandbox-amount")).to_have_text("20.00 EUR")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("20.00 EUR are credited")
    expect(page.locator("#balance")).to_contain_text("20.00 EUR")

    # Download the data.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    archive = zipfile.ZipFile(download.value.path())
    data = json.loads(archive.read("data.json"))
    assert data["customer"]["city"] == "Leipzig"

    # Delete the account: the password, then the mailed link, then the confirmation.
    page.get_by_role("link", name="Delete my data").click()
    expect(page.locator("#erasure-money")).to_contain_text("20.00 EUR will be forfeited")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator("#delete-sent")).to_be_visible()
    page.goto(link_from(smtp_server, 3, "delete"))
    page.get_by_role("button", name="Yes, delete my data").click()
    expect(page.locator("#erased")).to_be_visible()
    assert "is deleted" in smtp_server.wait_for(4)[3]["Subject"]
