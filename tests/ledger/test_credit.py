"""Prepaid credit through the API: top-ups, payments, limits, corrections, idempotency."""

from __future__ import annotations

import itertools

import pytest

from stammgast.customers import services as customer_services
from stammgast.customers.models import CustomerEvent, CustomerGroup
from stammgast.ledger import services as ledger_services
from stammgast.ledger.models import CreditAccount, CreditEntry
from tests.customers.helpers import post_json

_keys = itertools.count(1)


def book(client, number, what, body, key=None):
    key = key or f"k-{next(_keys)}"
    return post_json(
        client, f"/api/v1/customers/{number}/credit/{what}", body, HTTP_IDEMPOTENCY_KEY=key
    )


@pytest.fixture
def guest(admin_actor):
    return customer_services.create_customer(actor=admin_actor, data={"last_name": "Gast"})


def balance(client, number=1) -> str:
    return client.get(f"/api/v1/customers/{number}/credit").json()["balance"]


def test_top_up_then_pay_and_the_balance_is_the_sum_of_the_entries(pos_api, guest):
    made = book(pos_api, 1, "top-ups", {"amount": "20.00", "terminal": "Kasse 2"})
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["entry"]["kind"] == "top_up" and body["entry"]["amount"] == "20.00"
    assert body["credit"]["balance"] == "20.00" and body["credit"]["currency"] == "EUR"
    paid = book(pos_api, 1, "payments", {"amount": "7,55"})
    assert paid.status_code == 201, paid.content
    assert paid.json()["entry"]["amount"] == "-7.55"
    assert balance(pos_api) == "12.45"
    assert ledger_services.check_balances() == []
    entries = pos_api.get("/api/v1/customers/1/credit/entries").json()["items"]
    assert [e["kind"] for e in entries] == ["payment", "top_up"]
    assert entries[1]["terminal"] == "Kasse 2" and entries[1]["actor"] == "API: Kasse 1"


def test_not_enough_credit_is_refused_with_what_is_available(pos_api, guest):
    book(pos_api, 1, "top-ups", {"amount": "5"})
    refused = book(pos_api, 1, "payments", {"amount": "5.01"})
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "insufficient_credit" and "5.00" in body["message"]
    assert balance(pos_api) == "5.00"
    assert CreditEntry.objects.count() == 1


def test_a_group_or_the_customer_may_allow_an_overdraft(pos_api, guest, admin_actor):
    CustomerGroup.objects.create(name="Personal")
    customer_services.update_customer(actor=admin_actor, number=1, data={"groups": ["Personal"]})
    ledger_services.set_group_overdraft(actor=admin_actor, group_name="Personal", limit=1000)
    assert book(pos_api, 1, "payments", {"amount": "10.00"}).status_code == 201
    assert balance(pos_api) == "-10.00"
    assert book(pos_api, 1, "payments", {"amount": "0.01"}).json()["code"] == "insufficient_credit"
    ledger_services.set_overdraft_limit(actor=admin_actor, customer_number=1, limit=2000)
    assert book(pos_api, 1, "payments", {"amount": "10.00"}).status_code == 201
    assert balance(pos_api) == "-20.00"


def test_a_blocked_customer_cannot_pay_and_the_till_sees_the_lock_text(pos_api, guest, admin_actor):
    book(pos_api, 1, "top-ups", {"amount": "10"})
    customer_services.block_customer(actor=admin_actor, number=1, lock_text="Karte gestohlen")
    refused = book(pos_api, 1, "payments", {"amount": "1"})
    assert refused.status_code == 422
    assert refused.json()["code"] == "customer_blocked"
    assert "Karte gestohlen" in refused.json()["message"]


def test_a_retry_with_the_same_key_books_nothing_and_answers_the_same(pos_api, guest):
    first = book(pos_api, 1, "top-ups", {"amount": "10"}, key="abc")
    again = book(pos_api, 1, "top-ups", {"amount": "10"}, key="abc")
    assert first.status_code == again.status_code == 201
    assert again.json()["entry"] == first.json()["entry"]
    assert balance(pos_api) == "10.00"
    other = book(pos_api, 1, "top-ups", {"amount": "11"}, key="abc")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_a_money_post_without_an_idempotency_key_is_428(pos_api, guest):
    response = post_json(pos_api, "/api/v1/customers/1/credit/top-ups", {"amount": "10"})
    assert response.status_code == 428
    assert response.json()["code"] == "idempotency_key_required"
    assert not CreditEntry.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "1.005"}, "amount"),
        ({"amount": "1,005"}, "amount"),
        ({"amount": 10.5}, "amount"),
        ({"amount": "1000000.01"}, "amount"),
        ({"amount": "zehn"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": "10", "currency": "USD"}, "currency"),
        ({"amount": "10", "colour": "red"}, "colour"),
        ({}, "amount"),
    ],
)
def test_bad_amounts_are_refused_naming_the_field_and_book_nothing(pos_api, guest, body, field):
    response = book(pos_api, 1, "top-ups", body)
    assert 400 <= response.status_code < 500, response.content
    assert field in response.json().get("fields", {}), response.json()
    assert not CreditEntry.objects.exists()


def test_a_correction_needs_staff_or_an_admin_and_a_reason(tenant, make_api, guest, admin_actor):
    shop = make_api(tenant, ("webshop",), name="Shop")
    assert book(shop, 1, "corrections", {"amount": "5", "reason": "x"}).status_code == 403
    with pytest.raises(Exception) as err:
        ledger_services.correct_credit(actor=admin_actor, customer_number=1, amount=500, reason="")
    assert getattr(err.value, "code", "") == "reason_required"
    ledger_services.top_up_credit(actor=admin_actor, customer_number=1, amount=1000)
    entry = ledger_services.correct_credit(
        actor=admin_actor, customer_number=1, amount=-250, reason="Doppelt gebucht"
    )
    assert entry.amount == -250 and entry.reason == "Doppelt gebucht"
    assert CreditAccount.objects.get().balance == 750
    # Down, a correction is held to the balance (and the overdraft) like a payment.
    with pytest.raises(Exception) as err:
        ledger_services.correct_credit(
            actor=admin_actor, customer_number=1, amount=-751, reason="x"
        )
    assert err.value.code == "insufficient_credit"


def test_pay_out_is_at_most_the_balance(admin_actor, guest):
    ledger_services.top_up_credit(actor=admin_actor, customer_number=1, amount=1000)
    with pytest.raises(Exception) as err:
        ledger_services.pay_out_credit(actor=admin_actor, customer_number=1, amount=1001)
    assert err.value.code == "insufficient_credit"
    ledger_services.pay_out_credit(actor=admin_actor, customer_number=1, amount=1000)
    assert CreditAccount.objects.get().balance == 0


def test_credit_moves_to_another_customer_in_one_step(pos_api, admin_actor, guest):
    customer_services.create_customer(actor=admin_actor, data={"last_name": "Neu"})
    book(pos_api, 1, "top-ups", {"amount": "30"})
    moved = book(pos_api, 1, "transfers", {"amount": "12.50", "to_customer": 2})
    assert moved.status_code == 403  # a till may not move credit between customers
    ledger_services.transfer_credit(actor=admin_actor, from_number=1, to_number=2, amount=1250)
    assert balance(pos_api, 1) == "17.50" and balance(pos_api, 2) == "12.50"
    assert ledger_services.check_balances() == []


def test_every_movement_is_in_the_customers_history(pos_api, guest):
    book(pos_api, 1, "top-ups", {"amount": "10"})
    event = CustomerEvent.objects.filter(action="credit").get()
    assert event.changes == {"credit": ["0.00", "10.00"], "entry": [None, "top_up"]}
    assert event.actor_label == "API: Kasse 1"


def test_another_tenants_customer_is_not_found(other_api, guest):
    assert book(other_api, 1, "top-ups", {"amount": "10"}).status_code == 404
    assert other_api.get("/api/v1/customers/1/credit").status_code == 404
    assert not CreditEntry.objects.exists()


def test_a_read_only_key_sees_the_balance_but_books_nothing(tenant, make_api, guest):
    reader = make_api(tenant, ("readonly",), name="Lesen")
    assert reader.get("/api/v1/customers/1/credit").json()["balance"] == "0.00"
    assert book(reader, 1, "top-ups", {"amount": "10"}).status_code == 403
