"""The Credit and Account registers: booking from the portal, with the same rules."""

from __future__ import annotations

import pytest
from django.test import Client

from stammgast.customers import services as customer_services
from stammgast.ledger import services as ledger_services
from stammgast.ledger.models import CreditEntry
from stammgast.tenants import services as tenant_services


@pytest.fixture
def guest(admin_actor):
    return customer_services.create_customer(actor=admin_actor, data={"last_name": "Gast"})


def staff(tenant, role, username):
    user = tenant_services.create_staff_user(
        tenant=tenant, username=username, password="Kellner-Passwort-42", role=role
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_a_form_sent_twice_books_once(tenant, guest):
    admin = staff(tenant, "tenant_admin", "chefin")
    form = {"amount": "10", "reason": "", "idempotency_key": "form-1"}
    assert admin.post("/ledger/1/top-up/", form).status_code == 302
    assert admin.post("/ledger/1/top-up/", form).status_code == 302
    assert CreditEntry.objects.count() == 1
    page = admin.get("/customers/1/credit/").content.decode()
    assert "10.00 EUR" in page


def test_a_cashier_may_not_correct_even_by_posting_the_form(tenant, guest):
    cashier = staff(tenant, "cashier", "kasse")
    response = cashier.post(
        "/ledger/1/correct/", {"amount": "5", "reason": "x", "idempotency_key": "k"}, follow=True
    )
    assert "You may not correct credit." in response.content.decode()
    assert not CreditEntry.objects.exists()


def test_settling_and_the_printable_statement(tenant, guest, admin_actor):
    ledger_services.charge_account(
        actor=admin_actor, customer=guest, amount=1250, reference="Bon 7"
    )
    admin = staff(tenant, "tenant_admin", "chefin")
    account = admin.get("/customers/1/account/").content.decode()
    assert "Bon 7" in account and "12.50 EUR" in account
    assert (
        admin.post("/ledger/1/settle/", {"method": "cash", "idempotency_key": "s"}).status_code
        == 302
    )
    statement = admin.get("/ledger/1/statement/").content.decode()
    assert 'id="closing"' in statement and "0.00" in statement
    assert "Statement of the customer account" in statement
