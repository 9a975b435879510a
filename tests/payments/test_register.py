"""The customer record's "Online payments" register: each attempt and how it ended."""

from __future__ import annotations

from django.test import Client

from stammgast.payments import services
from stammgast.tenants import services as tenant_services

from .conftest import SANDBOX, send_callback


def test_a_clerk_sees_the_guests_online_payments_and_how_they_ended(tenant, guest, customer, web):
    paid, _url = services.start_top_up(
        actor=guest, customer_number=customer.number, amount=2_500, return_url="/me/"
    )
    declined, _url = services.start_top_up(
        actor=guest, customer_number=customer.number, amount=1_000, return_url="/me/"
    )
    for payment, outcome in ((paid, "succeeded"), (declined, "failed")):
        send_callback(web, tenant, *SANDBOX.callback_for(payment, outcome))
    user = tenant_services.create_staff_user(
        tenant=tenant, username="kasse", password="Kellner-Passwort-42", role="cashier"
    )
    clerk = Client(HTTP_ACCEPT_LANGUAGE="en")
    clerk.force_login(user)
    page = clerk.get(f"/customers/{customer.number}/online-payments/")
    assert page.status_code == 200
    text = page.content.decode()
    assert paid.reference in text and declined.reference in text
    assert "25.00 EUR" in text and "succeeded" in text and "failed" in text
    assert "guest (self-service) (self-service)" in text
    # The credit register names the payment's reference on its entry.
    credit = clerk.get(f"/customers/{customer.number}/credit/").content.decode()
    assert f"online top-up {paid.reference}" in credit


def test_no_online_payments_yet(tenant, customer):
    user = tenant_services.create_staff_user(
        tenant=tenant, username="chefin", password="Kellner-Passwort-42", role="tenant_admin"
    )
    clerk = Client(HTTP_ACCEPT_LANGUAGE="de")
    clerk.force_login(user)
    page = clerk.get(f"/customers/{customer.number}/online-payments/")
    assert "Noch keine Online-Zahlungen." in page.content.decode()
