"""The callback endpoint: credited exactly once, and only on a valid signed success."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from django.utils import timezone

from stammgast.ledger import services as ledger_services
from stammgast.ledger.models import CreditEntry, EntryKind
from stammgast.payments import services
from stammgast.payments.models import TopUpPayment, TopUpStatus

from .conftest import SANDBOX, balance, send_callback, top_up_entries


@pytest.fixture
def payment(guest, customer):
    payment, _url = services.start_top_up(
        actor=guest, customer_number=customer.number, amount=2_500, return_url="/me/credit/"
    )
    return payment


def _refreshed(payment) -> TopUpPayment:
    return TopUpPayment.objects.get(pk=payment.pk)


def test_a_signed_success_credits_the_amount_once_and_names_the_guest(
    web, tenant, payment, customer
):
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    response = send_callback(web, tenant, body, signature)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "code": "credited",
        "reference": payment.reference,
        "status": "succeeded",
        "late": False,
    }
    assert balance(customer) == 2_500
    entry = CreditEntry.objects.get()
    assert entry.kind == EntryKind.TOP_UP
    assert entry.amount == 2_500
    assert entry.actor_label == "guest (self-service)"
    assert entry.terminal == "online: sandbox"
    assert entry.reason == f"online top-up {payment.reference} (self_service)"
    stored = _refreshed(payment)
    assert stored.status == TopUpStatus.SUCCEEDED
    assert stored.ledger_entry_id == entry.pk
    assert stored.provider_transaction_id == f"sbx-{payment.reference}"
    assert stored.completed_at is not None
    assert ledger_services.check_balances() == []


def test_a_duplicate_callback_is_acknowledged_without_a_second_credit(
    web, tenant, payment, customer
):
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    assert send_callback(web, tenant, body, signature).json()["code"] == "credited"
    again = send_callback(web, tenant, body, signature)
    assert again.status_code == 200
    assert again.json()["code"] == "already_credited"
    # A fresh callback for the same payment (the provider's retry, re-signed) too.
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    assert send_callback(web, tenant, body, signature).json()["code"] == "already_credited"
    assert balance(customer) == 2_500
    assert top_up_entries(customer) == 1


@pytest.mark.parametrize("outcome", ["failed", "cancelled"])
def test_a_decline_or_cancel_credits_nothing_and_closes_the_payment(
    web, tenant, payment, customer, outcome
):
    body, signature = SANDBOX.callback_for(payment, outcome)
    response = send_callback(web, tenant, body, signature)
    assert response.status_code == 200
    assert response.json()["code"] == outcome
    assert _refreshed(payment).status == outcome
    assert balance(customer) == 0
    assert top_up_entries(customer) == 0
    # The same word again is a duplicate; nothing changes.
    assert send_callback(web, tenant, body, signature).json()["code"] == "duplicate"
    assert top_up_entries(customer) == 0


@pytest.mark.parametrize("before", ["cancelled", "failed"])
def test_a_late_success_after_a_cancel_or_decline_is_credited_once(
    web, tenant, payment, customer, before
):
    body, signature = SANDBOX.callback_for(payment, before)
    send_callback(web, tenant, body, signature)
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    response = send_callback(web, tenant, body, signature)
    assert response.json() == {
        "code": "credited",
        "reference": payment.reference,
        "status": "succeeded",
        "late": True,
    }
    assert send_callback(web, tenant, body, signature).json()["code"] == "already_credited"
    assert balance(customer) == 2_500
    assert top_up_entries(customer) == 1
    assert _refreshed(payment).outcome_note == f"paid after {before}"


def test_a_late_success_after_expiry_is_credited_once(web, tenant, payment, customer):
    later = timezone.now() + services.EXPIRES_AFTER + dt.timedelta(seconds=1)
    assert services.expire_stale_top_ups(now=later) == 1
    assert _refreshed(payment).status == TopUpStatus.EXPIRED
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    response = send_callback(web, tenant, body, signature)
    assert response.json()["code"] == "credited"
    assert response.json()["late"] is True
    send_callback(web, tenant, body, signature)
    assert balance(customer) == 2_500
    assert top_up_entries(customer) == 1


def test_a_late_decline_after_success_changes_nothing(web, tenant, payment, customer):
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    send_callback(web, tenant, body, signature)
    body, signature = SANDBOX.callback_for(payment, "failed")
    response = send_callback(web, tenant, body, signature)
    assert response.status_code == 200
    assert response.json()["code"] == "ignored"
    assert _refreshed(payment).status == TopUpStatus.SUCCEEDED
    assert balance(customer) == 2_500


def test_expiry_leaves_settled_payments_alone(guest, customer, payment, web, tenant):
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    send_callback(web, tenant, body, signature)
    later = timezone.now() + services.EXPIRES_AFTER * 2
    assert services.expire_stale_top_ups(now=later) == 0
    assert _refreshed(payment).status == TopUpStatus.SUCCEEDED


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=" + "0" * 64, "sha256=deadbeef", "garbage", "sha256=" + "ä" * 64],
)
def test_a_bad_signature_is_400_and_changes_nothing(web, tenant, payment, customer, signature):
    body, _good = SANDBOX.callback_for(payment, "succeeded")
    response = send_callback(web, tenant, body, signature)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"
    assert _refreshed(payment).status == TopUpStatus.PENDING
    assert top_up_entries(customer) == 0


def test_a_signature_from_another_key_is_refused(web, tenant, payment, customer, settings):
    body, _good = SANDBOX.callback_for(payment, "succeeded")
    settings.STAMMGAST_PAYMENT_SANDBOX_SECRET = "someone else's key"
    forged = SANDBOX.sign(body)
    settings.STAMMGAST_PAYMENT_SANDBOX_SECRET = ""
    assert send_callback(web, tenant, body, forged).status_code == 400
    assert top_up_entries(customer) == 0


def test_a_tampered_amount_breaks_the_signature(web, tenant, payment, customer):
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    tampered = body.replace(b'"amount":2500', b'"amount":250000')
    assert tampered != body
    response = send_callback(web, tenant, tampered, signature)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"
    assert balance(customer) == 0


def test_a_signed_amount_other_than_the_payments_is_refused(web, tenant, payment, customer):
    # A provider (or its configuration) at fault: signed, but not what was asked for.
    body, signature = SANDBOX.callback_for(payment, "succeeded", amount=250_000)
    response = send_callback(web, tenant, body, signature)
    assert response.status_code == 422
    assert response.json()["code"] == "amount_mismatch"
    assert "25.00 EUR" in response.json()["fields"]["amount"][0]
    assert _refreshed(payment).status == TopUpStatus.PENDING
    assert top_up_entries(customer) == 0
    # The right callback still works afterwards.
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    assert send_callback(web, tenant, body, signature).json()["code"] == "credited"


def test_a_signed_callback_for_an_unknown_payment_is_404(web, tenant, payment, customer):
    body = orjson.dumps(
        {
            "reference": "nothing-like-this",
            "status": "succeeded",
            "amount": 2_500,
            "currency": "EUR",
            "transaction_id": "sbx-x",
        }
    )
    response = send_callback(web, tenant, body, SANDBOX.sign(body))
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_payment"


def test_a_callback_to_another_tenant_finds_no_payment(
    web, tenant, other_tenant, payment, customer
):
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    response = send_callback(web, other_tenant, body, signature)
    assert response.status_code == 404
    assert top_up_entries(customer) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"{}",
        b'{"reference": "x", "status": "refunded", "amount": 1, "currency": "EUR",'
        b' "transaction_id": "t"}',
        b'{"reference": "x", "status": "succeeded", "amount": 25.0, "currency": "EUR",'
        b' "transaction_id": "t"}',
    ],
)
def test_a_signed_body_that_says_nothing_clear_is_400(web, tenant, payment, body):
    response = send_callback(web, tenant, body, SANDBOX.sign(body))
    assert response.status_code == 400
    assert response.json()["code"] == "bad_callback"


def test_the_endpoint_answers_json_for_wrong_methods_providers_and_tenants(web, tenant, payment):
    response = web.get(f"/pay/{tenant.slug}/callback/sandbox/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    response = send_callback(web, tenant, body, signature, provider="acme")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_provider"
    response = web.post("/pay/nobody/callback/sandbox/", data=body, content_type="application/json")
    assert response.status_code == 404
    assert TopUpPayment.objects.get().status == TopUpStatus.PENDING


def test_a_provider_switched_off_takes_no_callbacks(web, tenant, payment, customer, settings):
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    settings.STAMMGAST_PAYMENT_PROVIDERS = []
    response = send_callback(web, tenant, body, signature)
    assert response.status_code == 404
    assert top_up_entries(customer) == 0


def test_the_status_endpoint_tells_how_the_payment_stands(web, tenant, payment):
    response = web.get(f"/pay/{tenant.slug}/status/{payment.reference}/")
    assert response.json() == {
        "reference": payment.reference,
        "status": "pending",
        "amount": "25.00",
        "amount_cents": 2_500,
        "currency": "EUR",
    }
    assert web.get(f"/pay/{tenant.slug}/status/unknown/").status_code == 404


def test_the_database_itself_allows_one_entry_per_succeeded_payment(
    web, tenant, guest, payment, customer
):
    from django.db import IntegrityError, transaction

    body, signature = SANDBOX.callback_for(payment, "succeeded")
    send_callback(web, tenant, body, signature)
    entry = _refreshed(payment).ledger_entry
    other, _url = services.start_top_up(
        actor=guest, customer_number=customer.number, amount=2_500, return_url="/me/"
    )
    # Succeeded without an entry, an entry on a payment not succeeded, one entry for two
    # payments: each refused by a constraint, whatever a future bug in the services does.
    for change in (
        {"status": TopUpStatus.SUCCEEDED},
        {"ledger_entry": entry},
        {"status": TopUpStatus.SUCCEEDED, "ledger_entry": entry},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            TopUpPayment.objects.filter(pk=other.pk).update(**change)
    with pytest.raises(IntegrityError), transaction.atomic():
        TopUpPayment.objects.filter(pk=payment.pk).update(ledger_entry=None)
