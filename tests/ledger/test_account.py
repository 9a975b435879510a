"""Payment on customer account: open items, settling them, the statement."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from stammgast.customers import services as customer_services
from stammgast.ledger import services as ledger_services
from stammgast.ledger.models import AccountEntry, OpenItem
from tests.customers.helpers import post_json


@pytest.fixture
def firm(admin_actor):
    return customer_services.create_customer(
        actor=admin_actor,
        data={"kind": "business", "company_name": "Bäckerei Kühn", "payment_term_days": 14},
    )


def charge(actor, customer, cents, bill):
    return ledger_services.charge_account(
        actor=actor, customer=customer, amount=cents, bill_id=bill, reference=f"Bon {bill}"
    )


def test_a_bill_on_account_is_an_open_item_due_after_the_term_of_payment(
    pos_api, admin_actor, firm
):
    item = charge(admin_actor, firm, 4590, 7)
    assert item.due_on == timezone.localdate() + dt.timedelta(days=14)
    account = pos_api.get("/api/v1/customers/1/account").json()
    assert account["balance"] == "45.90"
    assert [(i["reference"], i["open"]) for i in account["open_items"]] == [("Bon 7", "45.90")]


def test_settling_all_in_cash_or_one_from_credit(pos_api, admin_actor, firm):
    first, second = charge(admin_actor, firm, 1000, 1), charge(admin_actor, firm, 2500, 2)
    ledger_services.top_up_credit(actor=admin_actor, customer_number=1, amount=3000)
    one = post_json(
        pos_api,
        "/api/v1/customers/1/account/settlements",
        {"method": "credit", "items": [second.pk]},
        HTTP_IDEMPOTENCY_KEY="s-1",
    )
    assert one.status_code == 201, one.content
    assert one.json()["account"]["balance"] == "10.00"
    assert pos_api.get("/api/v1/customers/1/credit").json()["balance"] == "5.00"
    rest = post_json(
        pos_api,
        "/api/v1/customers/1/account/settlements",
        {"method": "cash"},
        HTTP_IDEMPOTENCY_KEY="s-2",
    )
    assert rest.status_code == 201
    assert rest.json()["account"] == {**rest.json()["account"], "balance": "0.00", "open_items": []}
    first.refresh_from_db()
    assert first.open_amount == 0 and first.settled_at is not None
    assert ledger_services.check_balances() == []
    again = post_json(
        pos_api,
        "/api/v1/customers/1/account/settlements",
        {"method": "cash"},
        HTTP_IDEMPOTENCY_KEY="s-3",
    )
    assert again.status_code == 422 and again.json()["code"] == "nothing_to_settle"


def test_settling_from_credit_needs_enough_credit_and_changes_nothing_otherwise(
    pos_api, admin_actor, firm
):
    charge(admin_actor, firm, 1000, 1)
    refused = post_json(
        pos_api,
        "/api/v1/customers/1/account/settlements",
        {"method": "credit"},
        HTTP_IDEMPOTENCY_KEY="s-1",
    )
    assert refused.status_code == 422 and refused.json()["code"] == "insufficient_credit"
    assert OpenItem.objects.get().open_amount == 1000
    assert AccountEntry.objects.count() == 1  # the charge only


@pytest.mark.parametrize("method", ["direct_debit", "bitcoin", ""])
def test_settling_with_an_unknown_method_is_refused(pos_api, admin_actor, firm, method):
    charge(admin_actor, firm, 1000, 1)
    response = post_json(
        pos_api,
        "/api/v1/customers/1/account/settlements",
        {"method": method},
        HTTP_IDEMPOTENCY_KEY="s-1",
    )
    assert response.status_code == 422 and "method" in response.json()["fields"]


def test_the_statement_has_opening_and_closing_balances(pos_api, admin_actor, firm):
    charge(admin_actor, firm, 1000, 1)
    AccountEntry.objects.update(at=timezone.now() - dt.timedelta(days=40))
    charge(admin_actor, firm, 2500, 2)
    ledger_services.settle_open_items(actor=admin_actor, customer_number=1, method="cash")
    today = timezone.localdate()
    found = pos_api.get(
        "/api/v1/customers/1/account/statement",
        {"start": (today - dt.timedelta(days=7)).isoformat(), "end": today.isoformat()},
    ).json()
    assert found["opening"] == "10.00"
    assert [e["kind"] for e in found["entries"]] == ["charge", "settlement", "settlement"]
    assert found["closing"] == "0.00"
    bad = pos_api.get(
        "/api/v1/customers/1/account/statement", {"start": today.isoformat(), "end": "2000-01-01"}
    )
    assert bad.status_code == 422
