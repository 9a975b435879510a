"""A subsidy is used when the bill is posted: checked again under a lock, booked once,
given back when the bill is cancelled; two tills at once never both use the last one."""

from __future__ import annotations

import itertools
import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from stammgast.bills.models import Bill
from stammgast.core.errors import DomainError
from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.customers.models import CustomerGroup
from stammgast.pricing import services as pricing_services
from stammgast.pricing.models import SubsidyUse
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor
from tests.customers.helpers import post_json
from tests.pricing.conftest import LUNCH, first_monday_of_next_month, local_noon, quote

_keys = itertools.count(1)


@pytest.fixture
def till(tenant, make_api):
    mitte = tenant_services.create_location(tenant=tenant, code="mitte", name="Mitte")
    return make_api(tenant, ("pos",), location=mitte, name="Kasse 1")


@pytest.fixture
def every_day(admin_actor, canteen):
    """2.50 off a meal for staff, once a day, every day."""
    return pricing_services.create_subsidy_rule(
        actor=admin_actor,
        data={
            "name": "Essenszuschuss",
            "group": "Belegschaft",
            "categories": ["meal"],
            "kind": "fixed",
            "value": "2.50",
        },
    )


def bill_from_quote(number: str, found: dict) -> dict:
    """A bill as a till posts it after quoting: the quote's lines, cash for the rest."""
    return {
        "number": number,
        "terminal": "T1",
        "customer": found["customer_number"],
        "lines": [
            {
                "item": line["item"],
                "category": line["category"],
                "quantity": line["quantity"],
                "unit_price": line["unit_price"],
                "discount": line["discount"],
                "subsidy": line["subsidy"],
            }
            for line in found["lines"]
        ],
        "payments": [{"method": "cash", "amount": found["to_pay"]}],
    }


def post_bill(client, body):
    return post_json(client, "/api/v1/bills", body, HTTP_IDEMPOTENCY_KEY=f"k-{next(_keys)}")


def test_a_posted_bill_uses_the_subsidy_and_a_cancelled_one_gives_it_back(till, worker, every_day):
    found = quote(till, {"customer_number": 1, "lines": [LUNCH]}).json()
    assert found["subsidy"] == "2.50"
    posted = post_bill(till, bill_from_quote("1", found))
    assert posted.status_code == 201, posted.content
    use = SubsidyUse.objects.get()
    bill = Bill.objects.get()
    assert (use.bill_id, use.line, use.amount, use.meals, use.customer_id) == (
        bill.pk,
        0,
        250,
        1,
        worker.pk,
    )
    # The quote now says so; a till that posts the old quote again is refused, whole.
    assert quote(till, {"customer_number": 1, "lines": [LUNCH]}).json()["subsidy"] == "0.00"
    again = post_bill(till, bill_from_quote("2", found))
    assert again.status_code == 409, again.content
    assert again.json()["code"] == "subsidy_used_up"
    assert list(again.json()["fields"]) == ["lines.0.subsidy"]
    assert Bill.objects.count() == 1 and SubsidyUse.objects.count() == 1
    cancelled = post_json(
        till, f"/api/v1/bills/{posted.json()['id']}/cancellation", {}, HTTP_IDEMPOTENCY_KEY="c1"
    )
    assert cancelled.status_code == 201, cancelled.content
    use.refresh_from_db()
    assert use.released_at is not None and use.released_by == "API: Kasse 1"
    # Given back: the subsidy is there again, and the record of the first use stays.
    assert quote(till, {"customer_number": 1, "lines": [LUNCH]}).json()["subsidy"] == "2.50"
    assert post_bill(till, bill_from_quote("3", found)).status_code == 201
    assert SubsidyUse.objects.count() == 2


def test_a_claim_above_what_the_rule_grants_is_refused(till, worker, every_day):
    found = quote(till, {"customer_number": 1, "lines": [LUNCH]}).json()
    greedy = bill_from_quote("1", found)
    greedy["lines"][0]["subsidy"] = "3.00"
    greedy["payments"][0]["amount"] = "1.50"
    refused = post_bill(till, greedy)
    assert refused.status_code == 409 and "lines.0.subsidy" in refused.json()["fields"]
    assert not Bill.objects.exists() and not SubsidyUse.objects.exists()


def test_a_smaller_claim_is_booked_as_claimed(admin_actor, worker, every_day):
    today = timezone.now()
    claim = {"line": 3, "category": "meal", "quantity": 1, "unit_price": 500, "amount": 100}
    uses = pricing_services.book_subsidies(
        actor=admin_actor, customer=worker, bill_id=7, at=today, claims=[claim]
    )
    assert [(u.line, u.amount, u.meals) for u in uses] == [(3, 100, 1)]


def test_booking_the_same_bill_twice_books_once(admin_actor, worker, every_day):
    claim = {"line": 0, "category": "meal", "quantity": 1, "unit_price": 500, "amount": 250}
    for _ in range(2):
        pricing_services.book_subsidies(
            actor=admin_actor, customer=worker, bill_id=9, at=timezone.now(), claims=[claim]
        )
    assert SubsidyUse.objects.count() == 1


@pytest.mark.parametrize(
    "claim",
    [
        {"line": 0, "category": "meal", "quantity": 1, "unit_price": 500, "amount": 600},
        {"line": 0, "category": "meal", "quantity": 0, "unit_price": 500, "amount": 100},
        {"line": 0, "category": "meal", "quantity": 1, "unit_price": "5.00", "amount": 100},
        {"line": 0, "category": "meal", "quantity": 1, "unit_price": 500, "amount": -1},
    ],
)
def test_a_claim_that_is_not_a_bills_line_is_refused(admin_actor, worker, every_day, claim):
    with pytest.raises(DomainError) as refused:
        pricing_services.book_subsidies(
            actor=admin_actor, customer=worker, bill_id=1, at=timezone.now(), claims=[claim]
        )
    assert refused.value.code == "invalid_subsidy" and "lines.0.subsidy" in refused.value.fields
    assert not SubsidyUse.objects.exists()


def test_the_day_and_weekday_of_a_booking_are_those_of_the_bill(admin_actor, worker, lunch_rule):
    monday = first_monday_of_next_month()
    saturday = monday.replace(day=monday.day + 5)
    claim = {"line": 0, "category": "meal", "quantity": 1, "unit_price": 500, "amount": 250}
    with pytest.raises(DomainError) as refused:
        pricing_services.book_subsidies(
            actor=admin_actor, customer=worker, bill_id=1, at=local_noon(saturday), claims=[claim]
        )
    assert refused.value.code == "subsidy_used_up" and refused.value.status == 409
    pricing_services.book_subsidies(
        actor=admin_actor, customer=worker, bill_id=2, at=local_noon(monday), claims=[claim]
    )
    assert SubsidyUse.objects.get().day == monday


def test_a_stopped_rule_grants_nothing_at_posting(admin_actor, worker, every_day):
    found = pricing_services.quote(actor=admin_actor, customer=worker, lines=[LUNCH])
    pricing_services.deactivate_subsidy_rule(actor=admin_actor, rule_id=every_day.pk)
    with pytest.raises(DomainError) as refused:
        pricing_services.book_subsidies(
            actor=admin_actor, customer=worker, bill_id=1, at=found.at, claims=found
        )
    assert refused.value.code == "subsidy_used_up"


# --- two tills at once -------------------------------------------------------------------

POSTGRES = connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first_subsidy", [False, True], ids=["second-meal", "first-ever"])
def test_two_tills_booking_the_last_daily_allowance_at_once_only_one_succeeds(first_subsidy):
    """Several tills per guest post at once for the guest's last meal of the day: exactly
    one gets it. `first-ever`: the guest's first subsidy (the lock row is made meanwhile)."""
    tenant = tenant_services.create_tenant(slug="kantine", name="Kantine")
    actor = Actor.system(tenant)
    guests = 3
    tills = 8 if POSTGRES else 4
    with tenant_scope(tenant):
        CustomerGroup.objects.create(name="Belegschaft")
        rule = pricing_services.create_subsidy_rule(
            actor=actor,
            data={"name": "Mittag", "group": "Belegschaft", "kind": "fixed", "value": "2.50",
                  "times_per_day": 1 if first_subsidy else 2},
        )  # fmt: skip
        customers = [
            customer_services.create_customer(
                actor=actor, data={"last_name": f"Gast {n}", "groups": ["Belegschaft"]}
            )
            for n in range(guests)
        ]
        at = timezone.now()
        claim = {"line": 0, "category": "meal", "quantity": 1, "unit_price": 500, "amount": 250}
        # One meal a day left for each guest: the only one, or the second of two.
        for n, customer in enumerate(customers if not first_subsidy else []):
            pricing_services.book_subsidies(
                actor=actor, customer=customer, bill_id=1000 + n, at=at, claims=[claim]
            )
    booked, refused, failures = [], [], []
    start = threading.Barrier(tills * guests)

    def till(customer, bill_id: int) -> None:
        try:
            with tenant_scope(tenant):
                start.wait(timeout=60)
                try:
                    with transaction.atomic():
                        pricing_services.book_subsidies(
                            actor=actor, customer=customer, bill_id=bill_id, at=at, claims=[claim]
                        )
                    booked.append(customer.pk)
                except DomainError as exc:
                    assert exc.code == "subsidy_used_up" and exc.status == 409, exc
                    refused.append(customer.pk)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=till, args=(customer, 10 * customer.pk + t))
        for customer in customers
        for t in range(tills)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert not failures, failures[:3]
    assert sorted(booked) == sorted(c.pk for c in customers)
    assert len(refused) == guests * (tills - 1)
    with tenant_scope(tenant):
        for customer in customers:
            uses = SubsidyUse.objects.filter(customer=customer, rule=rule)
            assert uses.count() == rule.times_per_day == sum(u.meals for u in uses)
