"""The quote: which price level, the discount, the subsidies; what the API answers."""

from __future__ import annotations

import datetime as dt

import pytest

from stammgast.cards import services as card_services
from stammgast.customers import services as customer_services
from stammgast.pricing import services as pricing_services
from stammgast.pricing.models import SubsidyUse
from tests.pricing.conftest import (
    CAKE,
    COFFEE,
    LUNCH,
    first_monday_of_next_month,
    local_noon,
    quote,
)


def levels(body):
    return [(line["price_level"], line["unit_price"]) for line in body["lines"]]


def test_the_price_level_comes_from_override_then_own_then_groups_then_default(
    pos_api, admin_actor, worker
):
    basket = {"customer_number": 1, "lines": [LUNCH]}
    anonymous = quote(pos_api, {"lines": [LUNCH]}).json()
    assert (anonymous["price_level_source"], levels(anonymous)) == ("default", [(1, "6.00")])
    by_group = quote(pos_api, basket).json()
    assert (by_group["price_level_source"], levels(by_group)) == ("group", [(2, "5.00")])
    customer_services.update_customer(actor=admin_actor, number=1, data={"price_level": 3})
    own = quote(pos_api, basket).json()
    assert (own["price_level_source"], levels(own)) == ("customer", [(3, "4.50")])
    override = quote(pos_api, {**basket, "price_level": 1}).json()
    assert (override["price_level_source"], levels(override)) == ("override", [(1, "6.00")])
    # Without groups and with the default level: the tenant's default.
    customer_services.update_customer(
        actor=admin_actor, number=1, data={"price_level": 1, "groups": []}
    )
    assert levels(quote(pos_api, basket).json()) == [(1, "6.00")]


def test_the_best_group_level_is_per_item_the_lowest_price_of_the_groups_levels(
    pos_api, admin_actor, worker
):
    customer_services.update_customer(
        actor=admin_actor, number=1, data={"groups": ["Belegschaft", "Gäste", "Azubis"]}
    )
    found = quote(pos_api, {"customer_number": 1, "lines": [LUNCH, COFFEE]}).json()
    # Lunch is cheapest at the guests' level 3; coffee has no price there: level 2.
    assert levels(found) == [(3, "4.50"), (2, "1.80")]


def test_a_line_without_a_price_at_the_level_is_refused_naming_the_line(pos_api, worker):
    found = quote(pos_api, {"customer_number": 1, "lines": [LUNCH, CAKE]})
    assert found.status_code == 422
    body = found.json()
    assert body["code"] == "no_price" and list(body["fields"]) == ["lines.1.prices"]
    (message,) = body["fields"]["lines.1.prices"]
    assert "KUC" in message and "2" in message
    overridden = quote(pos_api, {"price_level": 3, "lines": [COFFEE]})
    assert overridden.status_code == 422 and "lines.0.prices" in overridden.json()["fields"]


def test_the_discount_applies_to_discountable_lines_only(pos_api, worker):
    cake_for_staff = {**CAKE, "prices": {"2": "3.00"}}
    found = quote(
        pos_api, {"customer_number": 1, "lines": [{**COFFEE, "quantity": 3}, cake_for_staff]}
    ).json()
    coffee, cake = found["lines"]
    # 10 % of 3 x 1.80 = 5.40: 0.54.
    assert (coffee["discount"], coffee["discount_cents"], coffee["total"]) == ("0.54", 54, "4.86")
    assert (cake["discount"], cake["total"]) == ("0.00", "3.00")
    assert (found["gross"], found["discount"], found["to_pay"]) == ("8.40", "0.54", "7.86")


def test_the_discount_is_rounded_half_up_per_line(pos_api, admin_actor, worker):
    customer_services.update_customer(actor=admin_actor, number=1, data={"discount": 5})
    line = {"item": "X", "prices": {"2": "0.10"}, "quantity": 1}
    found = quote(pos_api, {"customer_number": 1, "lines": [line, line]}).json()
    # 5 % of 0.10 = 0.005: 0.01 on each line (half up), not 0.01 for the basket.
    assert [line["discount"] for line in found["lines"]] == ["0.01", "0.01"]


def test_web_shop_quotes_anonymously_then_again_for_the_guest_who_logs_in(tenant, make_api, worker):
    """Seed 001: the web shop prices the basket for anyone, then, when the guest logs in
    or registers during checkout, again with that guest's prices and discount."""
    shop = make_api(tenant, ("webshop",), name="Webshop")
    basket = {"lines": [{**LUNCH, "quantity": 2}, COFFEE, {**CAKE, "prices": {"1": "3.00"}}]}
    before = quote(shop, basket)
    assert before.status_code == 200, before.content
    before = before.json()
    assert before["customer_number"] is None
    assert (before["gross"], before["discount"], before["to_pay"]) == ("17.00", "0.00", "17.00")
    after = quote(shop, {**basket, "email": "KARL@example.org"})
    assert after.status_code == 422  # the cake has no price at the staff's level 2
    basket["lines"][2]["prices"]["2"] = "2.70"
    after = quote(shop, {**basket, "email": "karl@example.org"}).json()
    assert after["customer_number"] == 1
    assert levels(after) == [(2, "5.00"), (2, "1.80"), (2, "2.70")]
    # 10.00 + 1.80 discounted by 10 % (1.18); the cake is not discountable.
    assert (after["gross"], after["discount"], after["to_pay"]) == ("14.50", "1.18", "13.32")


def test_a_customer_found_by_card_and_a_read_only_key_may_quote(
    tenant, make_api, admin_actor, worker
):
    card_services.assign_card(actor=admin_actor, customer_number=1, card_number="04A1B2C3")
    reader = make_api(tenant, ("readonly",), name="Anzeige")
    found = quote(reader, {"card": "04A1B2C3", "lines": [LUNCH]})
    assert found.status_code == 200, found.content
    assert found.json()["customer_number"] == 1 and levels(found.json()) == [(2, "5.00")]


def test_a_blocked_customer_is_not_quoted_and_the_lock_text_is_shown(pos_api, admin_actor, worker):
    customer_services.block_customer(actor=admin_actor, number=1, lock_text="Karte gesperrt")
    found = quote(pos_api, {"customer_number": 1, "lines": [LUNCH]})
    assert found.status_code == 422 and found.json()["code"] == "customer_blocked"
    assert "Karte gesperrt" in found.json()["message"]


# --- subsidies ------------------------------------------------------------------------


def quote_at(actor, day, lines, customer):
    return pricing_services.quote(actor=actor, customer=customer, lines=lines, at=local_noon(day))


def test_a_subsidy_by_group_and_category(admin_actor, worker, lunch_rule):
    monday = first_monday_of_next_month()
    found = quote_at(admin_actor, monday, [{**LUNCH, "quantity": 2}, COFFEE], worker)
    lunch, coffee = found.lines
    # Two lunches at 5.00 less 10 %: 9.00; one of them subsidised (once a day): 2.50.
    assert (lunch.discount, lunch.subsidy, lunch.subsidy_meals, lunch.total) == (100, 250, 1, 650)
    assert lunch.subsidy_rule == "Mittagszuschuss"
    assert (coffee.subsidy, coffee.subsidy_rule) == (0, None)
    assert (found.gross, found.discount, found.subsidy, found.to_pay) == (1180, 118, 250, 812)
    assert not SubsidyUse.objects.exists()  # a quote uses nothing


def test_a_customer_without_a_matching_group_gets_no_subsidy(admin_actor, worker, lunch_rule):
    guest = customer_services.create_customer(
        actor=admin_actor, data={"last_name": "Gast", "groups": ["Gäste"]}
    )
    monday = first_monday_of_next_month()
    assert quote_at(admin_actor, monday, [LUNCH], guest).subsidy == 0
    assert pricing_services.quote(actor=admin_actor, lines=[LUNCH]).subsidy == 0  # anonymous


def test_a_subsidy_on_its_weekdays_only(admin_actor, worker, lunch_rule):
    monday = first_monday_of_next_month()
    assert quote_at(admin_actor, monday + dt.timedelta(days=4), [LUNCH], worker).subsidy == 250
    assert quote_at(admin_actor, monday + dt.timedelta(days=5), [LUNCH], worker).subsidy == 0
    assert quote_at(admin_actor, monday + dt.timedelta(days=6), [LUNCH], worker).subsidy == 0


def test_a_subsidy_within_its_validity_only(admin_actor, worker, lunch_rule):
    monday = first_monday_of_next_month()
    pricing_services.update_subsidy_rule(
        actor=admin_actor,
        rule_id=lunch_rule.pk,
        data={
            "valid_from": monday + dt.timedelta(days=1),
            "valid_to": monday + dt.timedelta(days=2),
        },
    )
    subsidies = [
        quote_at(admin_actor, monday + dt.timedelta(days=n), [LUNCH], worker).subsidy
        for n in range(4)
    ]
    assert subsidies == [0, 250, 250, 0]


def test_a_subsidy_once_per_day_counting_what_was_booked(admin_actor, worker, lunch_rule):
    monday = first_monday_of_next_month()
    first = quote_at(admin_actor, monday, [LUNCH], worker)
    pricing_services.book_subsidies(
        actor=admin_actor, customer=worker, bill_id=1, at=local_noon(monday), claims=first
    )
    assert quote_at(admin_actor, monday, [LUNCH], worker).subsidy == 0
    assert quote_at(admin_actor, monday + dt.timedelta(days=1), [LUNCH], worker).subsidy == 250
    # Two lunches on one bill: one is subsidised, as on two bills.
    assert quote_at(admin_actor, monday, [LUNCH, LUNCH], worker).subsidy == 0
    tuesday = quote_at(admin_actor, monday + dt.timedelta(days=1), [LUNCH, LUNCH], worker)
    assert [line.subsidy for line in tuesday.lines] == [250, 0]


def test_a_subsidy_within_the_monthly_cap(admin_actor, worker, lunch_rule):
    pricing_services.update_subsidy_rule(
        actor=admin_actor, rule_id=lunch_rule.pk, data={"monthly_cap": "6.00"}
    )
    monday = first_monday_of_next_month()
    granted = []
    for n in range(4):
        day = monday + dt.timedelta(days=n)
        found = quote_at(admin_actor, day, [LUNCH], worker)
        granted.append(found.subsidy)
        if found.subsidy:
            pricing_services.book_subsidies(
                actor=admin_actor, customer=worker, bill_id=n + 1, at=local_noon(day), claims=found
            )
    assert granted == [250, 250, 100, 0]
    # A new month, a new cap.
    next_month = (monday.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    while next_month.weekday() > 4:
        next_month += dt.timedelta(days=1)
    assert quote_at(admin_actor, next_month, [LUNCH], worker).subsidy == 250


def test_a_percent_subsidy_and_never_more_than_the_line(admin_actor, worker, lunch_rule):
    monday = first_monday_of_next_month()
    pricing_services.update_subsidy_rule(
        actor=admin_actor,
        rule_id=lunch_rule.pk,
        data={"kind": "percent", "value": 50, "times_per_day": 2},
    )
    found = quote_at(admin_actor, monday, [{**LUNCH, "quantity": 3}], worker)
    # 3 lunches at 5.00 less 10 % = 13.50; 50 % of two of them (9.00): 4.50.
    assert (found.lines[0].subsidy, found.lines[0].subsidy_meals) == (450, 2)
    pricing_services.update_subsidy_rule(
        actor=admin_actor,
        rule_id=lunch_rule.pk,
        data={"kind": "fixed", "value": "20.00", "times_per_day": 1},
    )
    line = quote_at(admin_actor, monday, [LUNCH], worker).lines[0]
    assert (line.subsidy, line.total) == (450, 0)  # the lunch's 4.50 after discount, not 20.00


def test_the_subsidy_in_the_api_answer(pos_api, worker, lunch_rule):
    monday = first_monday_of_next_month()
    found = quote(
        pos_api, {"customer_number": 1, "at": local_noon(monday).isoformat(), "lines": [LUNCH]}
    )
    assert found.status_code == 200, found.content
    line = found.json()["lines"][0]
    assert (line["subsidy"], line["subsidy_cents"], line["subsidy_rule"]) == (
        "2.50",
        250,
        "Mittagszuschuss",
    )
    assert (found.json()["subsidy"], found.json()["to_pay"], found.json()["to_pay_cents"]) == (
        "2.50",
        "2.00",
        200,
    )


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "status"),
    [
        ({"customer_number": 99}, None, 404),
        ({"customer_number": 0}, "customer_number", 422),
        ({"email": "nobody@example.org"}, None, 404),
        ({"customer_number": 1, "email": "karl@example.org"}, "email", 422),
        ({"lines": [{**LUNCH, "quantity": 0}]}, "lines.0.quantity", 422),
        ({"lines": [{**LUNCH, "quantity": 10_000}]}, "lines.0.quantity", 422),
        ({"lines": [{**LUNCH, "quantity": 1.5}]}, "lines.0.quantity", 422),
        ({"lines": [{**LUNCH, "quantity": "2"}]}, "lines.0.quantity", 422),
        ({"lines": [{**LUNCH, "quantity": True}]}, "lines.0.quantity", 422),
        ({"lines": [{**LUNCH, "prices": {"1": 4.9}}]}, "lines.0.prices.1", 422),
        ({"lines": [{**LUNCH, "prices": {"1": "1.005"}}]}, "lines.0.prices.1", 422),
        ({"lines": [{**LUNCH, "prices": {"1": "1,005"}}]}, "lines.0.prices.1", 422),
        ({"lines": [{**LUNCH, "prices": {"1": "-1.00"}}]}, "lines.0.prices.1", 422),
        ({"lines": [{**LUNCH, "prices": {"1": "1000000.01"}}]}, "lines.0.prices.1", 422),
        ({"lines": [{**LUNCH, "prices": {"100": "1.00"}}]}, "lines.0.prices", 422),
        ({"lines": [{**LUNCH, "prices": {}}]}, "lines.0.prices", 422),
        ({"lines": [{**LUNCH, "item": ""}]}, "lines.0.item", 422),
        ({"lines": [{**LUNCH, "discountable": "yes"}]}, "lines.0.discountable", 422),
        ({"lines": [{**LUNCH, "colour": "red"}]}, "lines.0.colour", 422),
        ({"lines": []}, "lines", 422),
        ({"lines": [LUNCH] * 201}, "lines", 422),
        ({"price_level": 0}, "price_level", 422),
        ({"price_level": 100}, "price_level", 422),
        ({"price_level": 2.5}, "price_level", 422),
        ({"at": "gestern"}, "at", 422),
        ({"at": "2000-01-01T12:00:00+01:00"}, "at", 422),
        ({"discount": 50}, "discount", 422),
    ],
)
def test_bad_input_is_refused_naming_the_field(pos_api, worker, change, field, status):
    found = quote(pos_api, {"lines": [LUNCH], **change})
    assert found.status_code == status, found.content
    if field is not None:
        assert field in found.json()["fields"], found.json()


def test_200_lines_are_priced(pos_api):
    found = quote(pos_api, {"lines": [LUNCH] * 200})
    assert found.status_code == 200 and found.json()["gross"] == "1200.00"


def test_another_tenants_customer_is_not_found(other_tenant, make_api, worker):
    other = make_api(other_tenant, ("pos",), name="Fremde Kasse")
    found = quote(other, {"customer_number": 1, "lines": [LUNCH]})
    assert found.status_code == 404
    assert quote(other, {"email": "karl@example.org", "lines": [LUNCH]}).status_code == 404
