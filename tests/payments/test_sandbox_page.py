"""The sandbox provider's hosted page, end to end through HTTP: start, redirect, pay,
callback, back to the shop with the credit raised."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from stammgast.ledger import selectors as ledger_selectors
from stammgast.payments import services
from stammgast.payments.models import TopUpPayment, TopUpStatus

from .conftest import SANDBOX, balance, send_callback, top_up_entries


def _start(guest, customer, amount=2_500, return_url="/me/credit/?tab=1"):
    return services.start_top_up(
        actor=guest, customer_number=customer.number, amount=amount, return_url=return_url
    )


def test_pay_on_the_sandbox_page_raises_the_balance_once(web, tenant, guest, customer):
    payment, url = _start(guest, customer)
    page = web.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Pay Gasthaus Adler" in text
    assert "25.00 EUR" in text
    assert 'value="pay"' in text and 'value="decline"' in text and 'value="cancel"' in text

    back = web.post(url, {"action": "pay"})
    assert back.status_code == 302
    target = urlsplit(back["Location"])
    assert target.path == "/me/credit/"
    assert parse_qs(target.query) == {
        "tab": ["1"],
        "top_up": [payment.reference],
        "status": ["succeeded"],
    }
    summary = ledger_selectors.credit_summary(actor=guest, customer_number=customer.number)
    assert summary.balance == 2_500

    # Back on the page (the browser's back button), the payment is done: nothing to click.
    again = web.get(url)
    assert 'value="pay"' not in again.content.decode()
    assert "This payment has been made." in again.content.decode()
    # A form sent twice (a double click that got through) books nothing more.
    assert web.post(url, {"action": "pay"}).status_code == 200
    # And the provider's duplicate callback neither.
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    assert send_callback(web, tenant, body, signature).json()["code"] == "already_credited"
    assert balance(customer) == 2_500
    assert top_up_entries(customer) == 1


@pytest.mark.parametrize(("action", "status"), [("decline", "failed"), ("cancel", "cancelled")])
def test_decline_and_cancel_go_back_without_credit(web, guest, customer, action, status):
    payment, url = _start(guest, customer, return_url="/me/credit/")
    back = web.post(url, {"action": action})
    assert back.status_code == 302
    assert back["Location"] == f"/me/credit/?top_up={payment.reference}&status={status}"
    assert TopUpPayment.objects.get().status == status
    assert balance(customer) == 0


def test_paying_after_our_side_expired_the_payment_is_a_late_success(web, guest, customer):
    payment, url = _start(guest, customer)
    services.expire_stale_top_ups(now=timezone.now() + services.EXPIRES_AFTER * 2)
    # The provider does not know our expiry: its page still takes the payment...
    assert 'value="pay"' in web.get(url).content.decode()
    back = web.post(url, {"action": "pay"})
    # ...and the money taken is credited.
    assert "status=succeeded" in back["Location"]
    assert balance(customer) == 2_500
    assert TopUpPayment.objects.get().outcome_note == "paid after expired"


def test_an_unknown_button_changes_nothing(web, guest, customer):
    _payment, url = _start(guest, customer)
    response = web.post(url, {"action": "refund"})
    assert response.status_code == 400
    assert "Choose one of the buttons." in response.content.decode()
    assert TopUpPayment.objects.get().status == TopUpStatus.PENDING


def test_the_page_speaks_german(guest, customer):
    _payment, url = _start(guest, customer)
    text = Client(HTTP_ACCEPT_LANGUAGE="de").get(url).content.decode()
    assert "Gasthaus Adler bezahlen" in text
    assert "Bezahlen" in text and "Ablehnen" in text and "Abbrechen" in text
    assert "Aufladung des Guthabens" in text


def test_an_unknown_payment_or_tenant_shows_a_clear_page(web, tenant):
    response = web.get(f"/pay/{tenant.slug}/sandbox/nothing-here/")
    assert response.status_code == 404
    assert "There is no such payment." in response.content.decode()
    assert web.get("/pay/nobody/sandbox/abc/").status_code == 404


def test_the_page_is_gone_where_the_sandbox_is_not_offered(web, guest, customer, settings):
    _payment, url = _start(guest, customer)
    settings.STAMMGAST_PAYMENT_PROVIDERS = []
    response = web.post(url, {"action": "pay"})
    assert response.status_code == 404
    assert balance(customer) == 0


def test_the_page_needs_the_csrf_token_like_any_form(guest, customer):
    _payment, url = _start(guest, customer)
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url, {"action": "pay"}).status_code == 403
    assert balance(customer) == 0


def test_a_staff_session_of_another_tenant_does_not_change_whose_payment_it_is(
    web, tenant, other_tenant, guest, customer
):
    from stammgast.tenants import services as tenant_services

    user = tenant_services.create_staff_user(
        tenant=other_tenant, username="fremd", password="Kellner-Passwort-42", role="cashier"
    )
    web.force_login(user)
    _payment, url = _start(guest, customer)
    assert web.post(url, {"action": "pay"}).status_code == 302
    assert balance(customer) == 2_500


def test_expiry_is_half_an_hour(guest, customer):
    payment, _url = _start(guest, customer)
    assert payment.expires_at - payment.created_at == dt.timedelta(minutes=30)
