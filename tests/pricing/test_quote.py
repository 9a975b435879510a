"""The quote: price levels, discount, subsidies; and a bill's subsidies booked once."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from stammgast.bills import services as bill_services
from stammgast.core.errors import DomainError
from stammgast.core.money import format_amount, parse_amount
from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.customers.models import CustomerGroup
from stammgast.pricing import services as pricing_services
from stammgast.pricing.models import SubsidyUse
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor
from tests.customers.helpers import post_json

_keys = itertools.count()
LUNCH = {"item": "MEN1", "category": "meal", "prices": {"1": "6.00", "2": "5.00", "3": "4.50"}}
COFFEE = {"item": "KAF", "category": "drink", "prices": {"1": "2.00", "2": "1.80"}}
CAKE = {"item": "KUC", "category": "cake", "discountable": False, "prices": {"1": "3.00"}}


def quote(client, body):
    return post_json(client, "/api/v1/pricing/quote", body)


@pytest.fixture
def canteen(admin_actor):
    CustomerGroup.objects.create(name="Belegschaft")
    CustomerGroup.objects.create(name="Gäste")
    pricing_services.set_group_price_level(
        actor=admin_actor, group_name="Belegschaft", price_level=2
    )
    pricing_services.set_group_price_level(actor=admin_actor, group_name="Gäste", price_level=3)
    worker = customer_services.create_customer(
        actor=admin_actor, data={"last_name": "Koch", "groups": ["Belegschaft"], "discount": 10}
    )
    return worker


def test_the_price_level_comes_from_override_customer_groups_then_the_default(
    pos_api, admin_actor, canteen
):
    anonymous = quote(pos_api, {"lines": [LUNCH]}).json()
    assert anonymous["lines"][0]["unit_price"] == "6.00" and anonymous["customer"] is None
    by_group = quote(pos_api, {"customer": 1, "lines": [LUNCH]}).json()["lines"][0]
    assert (by_group["price_level"], by_group["unit_price"]) == (2, "5.00")
    customer_services.update_customer(
        actor=admin_actor, number=1, data={"groups": ["Belegschaft", "Gäste"]}
    )
    best = quote(pos_api, {"customer": 1, "lines": [LUNCH, COFFEE]}).json()["lines"]
    assert [(line["price_level"], line["unit_price"]) for line in best] == [
        (3, "4.50"),
        (2, "1.80"),
    ]
    customer_services.update_customer(actor=admin_actor, number=1, data={"price_level": 3})
    own = quote(pos_api, {"customer": 1, "lines": [LUNCH, COFFEE]}).json()["lines"]
    # Level 3 is the customer's own; coffee has no price there and sells at the default.
    assert [(line["price_level"], line["unit_price"]) for line in own] == [(3, "4.50"), (1, "2.00")]
    missing = quote(pos_api, {"customer": 1, "price_level": 3, "lines": [COFFEE]})
    assert missing.status_code == 422 and "lines.0.prices" in missing.json()["fields"]
    override = quote(pos_api, {"customer": 1, "price_level": 1, "lines": [LUNCH]}).json()
    assert override["lines"][0]["unit_price"] == "6.00"


def test_the_discount_applies_to_discountable_lines_only(pos_api, canteen):
    found = quote(pos_api, {"customer": 1, "lines": [{**COFFEE, "quantity": 3}, CAKE]}).json()
    coffee, cake = found["lines"]
    assert (coffee["discount"], coffee["total"]) == ("0.54", "4.86")  # 10 % of 5.40
    assert (cake["discount"], cake["total"]) == ("0.00", "3.00")
    assert found["total"] == "7.86"


def test_the_web_shop_quotes_anonymously_then_again_for_the_guest_who_logs_in(
    tenant, make_api, canteen
):
    shop = make_api(tenant, ("webshop",), name="Webshop")
    basket = {"lines": [{**LUNCH, "quantity": 2}, COFFEE]}
    before = quote(shop, basket).json()
    after = quote(shop, {**basket, "customer": {"number": 1}}).json()
    assert before["total"] == "14.00"
    # Level 2 for the staff group (10.00 + 1.80), then 10 % off: 10.62.
    assert after["total"] == "10.62" and after["discount"] == "1.18"


@pytest.fixture
def subsidy(admin_actor, canteen):
    return pricing_services.create_subsidy_rule(
        actor=admin_actor,
        data={
            "name": "Mittagszuschuss",
            "group": "Belegschaft",
            "categories": ["meal"],
            "kind": "fixed",
            "value": "2.50",
            "times_per_day": 1,
            "weekdays": [0, 1, 2, 3, 4],
            "monthly_cap": "40.00",
        },
    )


def _weekday(day: int) -> str:
    today = timezone.localdate()
    date = today - dt.timedelta(days=(today.weekday() - day) % 7)
    return timezone.make_aware(dt.datetime.combine(date, dt.time(12))).isoformat()


def test_a_subsidy_by_group_category_and_weekday(pos_api, subsidy):
    monday = quote(
        pos_api, {"customer": 1, "at": _weekday(0), "lines": [{**LUNCH, "quantity": 2}, COFFEE]}
    )
    lunch, coffee = monday.json()["lines"]
    assert (lunch["subsidy"], lunch["subsidy_rule"]) == ("2.50", "Mittagszuschuss")  # once a day
    assert coffee["subsidy"] == "0.00"
    sunday = quote(pos_api, {"customer": 1, "at": _weekday(6), "lines": [LUNCH]}).json()
    assert sunday["lines"][0]["subsidy"] == "0.00"


def test_a_subsidy_is_never_more_than_the_meal(pos_api, admin_actor, subsidy):
    cheap = {"item": "SUP", "category": "meal", "prices": {"2": "1.99"}}
    found = quote(pos_api, {"customer": 1, "at": _weekday(1), "lines": [cheap]}).json()
    assert found["lines"][0]["subsidy"] == "1.79"  # 1.99 less 10 % discount, not 2.50
    assert found["lines"][0]["total"] == "0.00"


def _post(actor, number, at, subsidy_amount, terminal="T1"):
    paid = 450 - parse_amount(subsidy_amount)
    return bill_services.post_bill(
        actor=actor,
        idempotency_key=f"b{next(_keys)}",
        data={
            "number": f"{next(_keys)}",
            "terminal": terminal,
            "location": "kantine",
            "at": at,
            "customer": number,
            "lines": [
                {
                    "item": "MEN1",
                    "category": "meal",
                    "unit_price": "5.00",
                    "discount": "0.50",
                    "subsidy": subsidy_amount,
                }
            ],
            "payments": [{"method": "cash", "amount": format_amount(paid)}],
        },
    )


def test_a_bill_uses_the_subsidy_once_a_day_and_a_cancellation_gives_it_back(
    tenant, admin_actor, subsidy
):
    tenant_services.create_location(tenant=tenant, code="kantine", name="Kantine")
    monday = _weekday(0)
    first = _post(admin_actor, 1, monday, "2.50")
    with pytest.raises(DomainError) as err:
        _post(admin_actor, 1, monday, "2.50")
    assert err.value.code == "subsidy_used_up" and "lines.0.subsidy" in err.value.fields
    bill_services.cancel_bill(actor=admin_actor, bill_uid=str(first.uid))
    assert _post(admin_actor, 1, monday, "2.50").total == 200
    assert SubsidyUse.objects.filter(released_at__isnull=True).count() == 1


def test_the_monthly_cap(tenant, admin_actor, canteen):
    tenant_services.create_location(tenant=tenant, code="kantine", name="Kantine")
    pricing_services.create_subsidy_rule(
        actor=admin_actor,
        data={
            "name": "Klein",
            "group": "Belegschaft",
            "kind": "fixed",
            "value": "2.00",
            "monthly_cap": "3.00",
        },
    )
    today = timezone.localdate()
    first = timezone.make_aware(dt.datetime.combine(today.replace(day=1), dt.time(12))).isoformat()
    second = timezone.make_aware(dt.datetime.combine(today.replace(day=2), dt.time(12))).isoformat()
    if today.day < 2:
        pytest.skip("needs two days of this month that are not in the future")
    _post(admin_actor, 1, first, "2.00")
    with pytest.raises(DomainError):
        _post(admin_actor, 1, second, "2.00")
    assert _post(admin_actor, 1, second, "1.00").total == 350


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{**LUNCH, "quantity": 0}]}, "lines.0.quantity"),
        ({"lines": [{**LUNCH, "quantity": 10_000}]}, "lines.0.quantity"),
        ({"lines": [{**LUNCH, "prices": {"1": 6.5}}]}, "lines.0.prices.1"),
        ({"lines": [{**LUNCH, "prices": {"1": "6.005"}}]}, "lines.0.prices.1"),
        ({"lines": [{**LUNCH, "prices": {"100": "6.00"}}]}, "lines.0.prices"),
        ({"lines": [LUNCH] * 201}, "lines"),
        ({"lines": [LUNCH], "coupon": "x"}, "coupon"),
    ],
)
def test_bad_baskets_are_refused_naming_the_field(pos_api, body, field):
    response = quote(pos_api, body)
    assert 400 <= response.status_code < 500, response.content
    assert field in response.json().get("fields", {}), response.json()


def test_another_tenants_customer_is_not_found(other_api, canteen):
    assert quote(other_api, {"customer": 1, "lines": [LUNCH]}).status_code == 404


def test_only_an_admin_changes_prices_and_subsidies(tenant, canteen):
    user = tenant_services.create_staff_user(
        tenant=tenant, username="kasse", password="Kellner-Passwort-42", role="cashier"
    )
    cashier = Actor.for_staff(tenant=tenant, user=user, role="cashier", location=None)
    with pytest.raises(DomainError) as err:
        pricing_services.set_group_price_level(actor=cashier, group_name="Gäste", price_level=1)
    assert err.value.status == 403


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_tills_posting_at_once_never_both_use_the_last_allowance():
    tenant = tenant_services.create_tenant(slug="kantine", name="Kantine")
    actor = Actor.system(tenant)
    tenant_services.create_location(tenant=tenant, code="kantine", name="Kantine")
    with tenant_scope(tenant):
        CustomerGroup.objects.create(tenant=tenant, name="Belegschaft")
        customer_services.create_customer(
            actor=actor, data={"last_name": "Koch", "groups": ["Belegschaft"]}
        )
        pricing_services.create_subsidy_rule(
            actor=actor,
            data={"name": "Mittag", "group": "Belegschaft", "kind": "fixed", "value": "2.50"},
        )
    outcomes = []
    start = threading.Barrier(2)

    def till(n):
        try:
            with tenant_scope(tenant):
                start.wait()
                _post(actor, 1, timezone.now().isoformat(), "2.50", terminal=f"T{n}")
                outcomes.append("posted")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=till, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["posted", "subsidy_used_up"]
    with tenant_scope(tenant):
        assert SubsidyUse.objects.count() == 1
