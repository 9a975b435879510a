"""Posting bills: money booked with the bill, all or nothing; the customer's snapshot."""

from __future__ import annotations

import itertools

import pytest

from stammgast.bills.models import Bill
from stammgast.customers import services as customer_services
from stammgast.ledger import services as ledger_services
from stammgast.ledger.models import CreditAccount, CreditEntry, OpenItem
from stammgast.tenants import services as tenant_services
from tests.customers.helpers import patch_json, post_json

_keys = itertools.count(1)


@pytest.fixture(autouse=True)
def _in_tenant(admin_actor):
    """The test body reads the tenant's tables directly."""


@pytest.fixture
def mitte(tenant):
    return tenant_services.create_location(tenant=tenant, code="mitte", name="Mitte")


@pytest.fixture
def till(tenant, make_api, mitte):
    return make_api(tenant, ("pos",), location=mitte, name="Kasse 1")


@pytest.fixture
def guest(admin_actor, mitte):
    customer = customer_services.create_customer(
        actor=admin_actor,
        data={
            "first_name": "Anna",
            "last_name": "Schmidt",
            "street": "Ring 1",
            "city": "Köln",
            "discount": 10,
        },
    )
    ledger_services.top_up_credit(actor=admin_actor, customer_number=customer.number, amount=2000)
    return customer


def post(client, body, key=None):
    return post_json(client, "/api/v1/bills", body, HTTP_IDEMPOTENCY_KEY=key or f"b-{next(_keys)}")


def bill(number="100", **extra):
    return {
        "number": number,
        "terminal": "T1",
        "lines": [
            {
                "item": "KAF",
                "name": "Kaffee",
                "category": "drinks",
                "quantity": 2,
                "unit_price": "2.80",
            },
            {
                "item": "KUC",
                "name": "Kuchen",
                "category": "food",
                "unit_price": "3.90",
                "discount": "0.39",
            },
        ],
        "payments": [{"method": "cash", "amount": "9.11"}],
        **extra,
    }


def test_a_cash_bill_without_a_customer(till):
    response = post(till, bill())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total"] == "9.11" and body["location"] == "mitte" and body["customer"] is None
    assert [line["total"] for line in body["lines"]] == ["5.60", "3.51"]


def test_a_credit_payment_is_booked_with_the_bill(till, guest):
    response = post(till, bill(customer=1, payments=[{"method": "credit", "amount": "9.11"}]))
    assert response.status_code == 201, response.content
    entry = CreditEntry.objects.get(kind="payment")
    assert entry.amount == -911 and entry.bill_id == Bill.objects.get().pk
    assert CreditAccount.objects.get().balance == 2000 - 911
    assert till.get("/api/v1/customers/1/bills").json()["items"][0]["total"] == "9.11"


def test_not_enough_credit_posts_nothing(till, guest):
    big = bill(customer=1, payments=[{"method": "credit", "amount": "9.11"}])
    ledger_services.pay_with_credit(actor=till_actor(guest), customer_number=1, amount=1500)
    response = post(till, big)
    assert response.status_code == 422 and response.json()["code"] == "insufficient_credit"
    assert not Bill.objects.exists()


def till_actor(guest):
    from stammgast.tenants.actor import Actor

    return Actor.system(guest.tenant)


def test_on_account_makes_an_open_item(till, guest):
    response = post(
        till,
        bill(
            customer=1,
            payments=[
                {"method": "on_account", "amount": "5.00"},
                {"method": "cash", "amount": "4.11"},
            ],
        ),
    )
    assert response.status_code == 201, response.content
    item = OpenItem.objects.get()
    assert item.amount == 500 and item.bill_id == Bill.objects.get().pk


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payments": [{"method": "cash", "amount": "9.10"}]}, "payments"),
        ({"payments": [{"method": "bitcoin", "amount": "9.11"}]}, "payments.0.method"),
        ({"payments": [{"method": "cash", "amount": "9.111"}]}, "payments.0.amount"),
        ({"lines": []}, "lines"),
        ({"number": ""}, "number"),
        ({"currency": "USD"}, "currency"),
        ({"at": "gestern"}, "at"),
        ({"at": "2099-01-01T10:00:00+01:00"}, "at"),
        ({"payments": [{"method": "credit", "amount": "9.11"}]}, "customer"),
        ({"location": "hafen"}, "location"),
    ],
)
def test_bad_bills_are_refused_naming_the_field_and_post_nothing(till, change, field):
    response = post(till, bill(**change))
    assert 400 <= response.status_code < 500, response.content
    body = response.json()
    assert field in body.get("fields", {}), body
    assert not Bill.objects.exists()


def test_a_retry_posts_one_bill_and_another_content_under_the_number_is_409(till, guest):
    first = post(till, bill(customer=1, payments=[{"method": "credit", "amount": "9.11"}]), key="x")
    again = post(till, bill(customer=1, payments=[{"method": "credit", "amount": "9.11"}]), key="y")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert CreditEntry.objects.filter(kind="payment").count() == 1
    other = post(till, bill(payments=[{"method": "cash", "amount": "9.11"}]), key="z")
    assert other.status_code == 409 and other.json()["code"] == "bill_number_taken"


def test_a_blocked_customer_cannot_be_on_a_bill(till, guest, admin_actor):
    customer_services.block_customer(actor=admin_actor, number=1, lock_text="Hausverbot")
    response = post(till, bill(customer=1))
    assert response.status_code == 422 and "Hausverbot" in response.json()["message"]


def test_the_bill_keeps_the_customer_as_they_were(till, guest, admin_actor):
    made = post(till, bill(customer=1)).json()
    patch_json(till, "/api/v1/customers/1", {"last_name": "Meier", "city": "Bonn"}, etag='"1-1"')
    snapshot = till.get(f"/api/v1/bills/{made['id']}").json()["customer"]
    assert (snapshot["last_name"], snapshot["city"], snapshot["discount"]) == (
        "Schmidt",
        "Köln",
        10,
    )


def test_a_cancellation_reverses_the_bill_and_its_money(till, guest):
    made = post(
        till,
        bill(
            customer=1,
            payments=[
                {"method": "credit", "amount": "5.00"},
                {"method": "on_account", "amount": "4.11"},
            ],
        ),
    ).json()
    response = post_json(
        till, f"/api/v1/bills/{made['id']}/cancellation", {}, HTTP_IDEMPOTENCY_KEY="c-1"
    )
    assert response.status_code == 201, response.content
    cancellation = response.json()
    assert cancellation["total"] == "-9.11" and cancellation["cancels"] == made["id"]
    assert CreditAccount.objects.get().balance == 2000
    assert OpenItem.objects.get().open_amount == 0
    assert ledger_services.check_balances() == []
    twice = post_json(
        till, f"/api/v1/bills/{made['id']}/cancellation", {}, HTTP_IDEMPOTENCY_KEY="c-2"
    )
    assert twice.status_code == 409
    assert till.get(f"/api/v1/bills/{made['id']}").json()["cancelled_by"] == cancellation["id"]


def test_another_locations_till_sees_neither_the_bill_nor_may_post_for_it(tenant, make_api, till):
    made = post(till, bill()).json()
    hafen = tenant_services.create_location(tenant=tenant, code="hafen", name="Hafen")
    other = make_api(tenant, ("pos",), location=hafen, name="Kasse Hafen")
    assert other.get(f"/api/v1/bills/{made['id']}").status_code == 404
    assert post(other, bill(number="200", location="mitte")).status_code == 422


def test_a_bill_post_needs_an_idempotency_key(till):
    response = post_json(till, "/api/v1/bills", bill())
    assert response.status_code == 428
    assert not Bill.objects.exists()
