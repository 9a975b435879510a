"""A guest's own data: download it, and delete it by a confirmed link."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.test import Client

from stammgast.core.tenancy import tenant_scope
from stammgast.customers.models import Customer
from stammgast.ledger import services as ledger_services
from stammgast.privacy.models import ErasureRequest
from stammgast.selfservice.models import GuestAccount
from stammgast.tenants.actor import Actor

from .conftest import AREA, PASSWORD, complete, confirm, link_in, register

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def guest(tenant, policy, browser, mailoutbox, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    register(browser)
    confirm(browser, mailoutbox[0])
    complete(browser, city="Dresden")
    mailoutbox.clear()
    with tenant_scope(tenant):
        number = Customer.objects.get().number
        ledger_services.top_up_credit(
            actor=Actor.system(tenant),
            customer_number=number,
            amount=1250,
            idempotency_key="k1",
        )
    return browser


def test_the_guest_downloads_everything_stored_about_them(guest):
    answer = guest.get(f"{AREA}/download/")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/zip"
    data = json.loads(zipfile.ZipFile(io.BytesIO(answer.content)).read("data.json"))
    assert data["customer"]["city"] == "Dresden"
    assert data["selfservice"]["email"] == "erika@example.org"
    assert data["credit_entries"][0]["amount_cents"] == 1250
    assert {c["purpose"] for c in data["consents"]} == {"data_processing"}


def test_credit_left_is_paid_out_before_the_guest_can_delete(tenant, guest, mailoutbox):
    page = guest.get(f"{AREA}/delete/").content.decode()
    assert "Have it paid out at one of our locations" in page and "12.50 EUR" in page
    assert 'name="password"' not in page


def test_the_guest_deletes_their_data_after_confirming_by_mail(tenant, guest, mailoutbox):
    from stammgast.privacy import services as privacy_services

    with tenant_scope(tenant):
        privacy_services.update_privacy_settings(
            actor=Actor.system(tenant), credit_at_erasure="forfeit", bill_retention_years=10
        )
    page = guest.get(f"{AREA}/delete/").content.decode()
    assert "12.50 EUR" in page and "will be forfeited" in page
    assert guest.post(f"{AREA}/delete/", {"password": "falsch"}).status_code == 200
    assert mailoutbox == []
    guest.post(f"{AREA}/delete/", {"password": PASSWORD})
    (mail,) = mailoutbox
    path = link_in(mail, "delete")
    assert "12.50 EUR" in mail.body
    with tenant_scope(tenant):
        assert Customer.objects.get().last_name == "Muster"  # nothing happens before
    answer = guest.post(path)
    assert "Your data is deleted" in answer.content.decode()
    assert mailoutbox[-1].to == ["erika@example.org"]
    assert "is deleted" in mailoutbox[-1].subject
    with tenant_scope(tenant):
        customer = Customer.all_tenants.get()
        assert customer.erased_at is not None and customer.email == ""
        assert not GuestAccount.objects.exists()
        request = ErasureRequest.objects.get()
        assert request.channel == "selfservice" and request.completed_at is not None
    # Confirmed twice: a clear answer, nothing more happens.
    again = Client(HTTP_ACCEPT_LANGUAGE="en").post(path)
    assert again.status_code == 410
    assert "not valid, or its work is done" in again.content.decode()
    # The account is gone: the address and password open nothing.
    answer = guest.post(f"{AREA}/login/", {"email": "erika@example.org", "password": PASSWORD})
    assert answer.status_code == 403


def test_the_guest_sees_bills_and_cards_and_blocks_a_lost_card(tenant, guest):
    from stammgast.bills import services as bill_services
    from stammgast.cards import services as card_services
    from stammgast.cards.selectors import customers_with_card
    from stammgast.tenants import services as tenant_services

    location = tenant_services.create_location(tenant=tenant, code="mitte", name="Mitte")
    with tenant_scope(tenant):
        actor = Actor.system(tenant)
        number = Customer.objects.get().number
        card_services.assign_card(actor=actor, customer_number=number, card_number="C-1001")
        bill_services.post_bill(
            actor=actor,
            data={
                "number": "B-7",
                "terminal": "T1",
                "location": location.code,
                "customer": number,
                "lines": [{"item": "Suppe", "unit_price": "4.20"}],
                "payments": [{"method": "cash", "amount": "4.20"}],
            },
        )
    page = guest.get(f"{AREA}/").content.decode()
    assert "4.20 EUR" in page and "C-1001" in page
    guest.post(f"{AREA}/cards/block/", {"card": "C-1001"})
    assert "blocked" in guest.get(f"{AREA}/").content.decode()
    with tenant_scope(tenant):
        assert not customers_with_card(tenant_id=tenant.pk, value="C-1001").exists()
    # Another customer's card is not the guest's to block.
    with tenant_scope(tenant):
        other = customer_services_create(tenant)
        card_services.assign_card(actor=actor, customer_number=other, card_number="C-2002")
    guest.post(f"{AREA}/cards/block/", {"card": "C-2002"})
    with tenant_scope(tenant):
        assert customers_with_card(tenant_id=tenant.pk, value="C-2002").exists()


def customer_services_create(tenant) -> int:
    from stammgast.customers import services as customer_services

    return customer_services.create_customer(
        actor=Actor.system(tenant), data={"last_name": "Andere"}
    ).number
