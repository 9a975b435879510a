"""The arithmetic of a quote, without a database: rounding, price choice, per-meal subsidy."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from stammgast.pricing.calculation import (
    Allowance,
    RuleTerms,
    best_subsidy,
    choose_price,
    half_up,
    line_subsidy,
    meals_for_claim,
    percent_of,
)


def rule(**kw) -> RuleTerms:
    terms = {
        "id": 1,
        "name": "Lunch",
        "categories": (),
        "kind": "fixed",
        "value": 250,
        "times_per_day": 1,
        "monthly_cap": None,
    }
    return RuleTerms(**{**terms, **kw})


def test_percentages_round_half_up_to_whole_cents():
    assert percent_of(555, 10) == 56  # 55.5 -> 56
    assert percent_of(554, 10) == 55  # 55.4 -> 55
    assert percent_of(5, 50) == 3  # 2.5 -> 3
    assert half_up(1, 3) == 0 and half_up(2, 3) == 1


def test_the_first_level_with_a_price_or_the_lowest_price_among_levels():
    prices = {1: 600, 2: 500, 3: 450}
    assert choose_price(prices, [2], lowest=False) == (500, 2)
    assert choose_price(prices, [2, 3], lowest=True) == (450, 3)
    assert choose_price({1: 300, 2: 300}, [2, 1], lowest=True) == (300, 1)  # a tie: lower level
    assert choose_price(prices, [7], lowest=False) is None


def test_a_fixed_subsidy_is_per_meal_up_to_the_meals_left_today():
    assert line_subsidy(rule(), quantity=3, net=1800, meals_used=0, amount_used=0) == (250, 1)
    assert line_subsidy(
        rule(times_per_day=2), quantity=3, net=1800, meals_used=0, amount_used=0
    ) == (500, 2)
    assert line_subsidy(rule(), quantity=1, net=600, meals_used=1, amount_used=0) == (0, 0)


def test_a_subsidy_is_never_more_than_the_meals_price_after_discount():
    # Two coffees of 1.20 after discount; 2.50 a meal, once a day: the one coffee, 1.20.
    assert line_subsidy(rule(), quantity=2, net=240, meals_used=0, amount_used=0) == (120, 1)
    assert line_subsidy(rule(value=10_000), quantity=1, net=0, meals_used=0, amount_used=0) == (
        0,
        0,
    )


def test_a_percent_subsidy_of_the_meals_share_rounded_half_up():
    # 50 % of one of three meals costing 5.55 together (1.85 each): 0.925 -> 0.93.
    half = rule(kind="percent", value=50)
    assert line_subsidy(half, quantity=3, net=555, meals_used=0, amount_used=0) == (93, 1)


def test_the_monthly_cap_limits_the_amount_and_uses_the_fewest_meals():
    capped = rule(times_per_day=3, monthly_cap=1000)
    assert line_subsidy(capped, quantity=3, net=1800, meals_used=0, amount_used=900) == (100, 1)
    assert line_subsidy(capped, quantity=3, net=1800, meals_used=0, amount_used=1000) == (0, 0)
    assert line_subsidy(capped, quantity=3, net=1800, meals_used=0, amount_used=2000) == (0, 0)


def test_the_largest_subsidy_wins_and_categories_must_match():
    meal = rule(id=1, categories=("meal",), value=250)
    any_ = rule(id=2, kind="percent", value=50)
    allowance = Allowance({}, {})
    assert best_subsidy([meal, any_], allowance, category="meal", quantity=1, net=600)[0] == any_
    assert best_subsidy([meal, any_], allowance, category="meal", quantity=1, net=400)[0] == meal
    assert best_subsidy([meal], allowance, category="drink", quantity=1, net=400) is None


def test_a_claim_needs_the_fewest_meals_that_cover_it():
    two = rule(times_per_day=2)
    lunch = {"quantity": 2, "net": 1200, "amount_used": 0}
    assert meals_for_claim(two, meals_used=0, claim=250, **lunch) == 1
    assert meals_for_claim(two, meals_used=0, claim=500, **lunch) == 2
    assert meals_for_claim(two, meals_used=1, claim=500, **lunch) is None


@given(
    kind=st.sampled_from(["fixed", "percent"]),
    value=st.integers(1, 100),
    times=st.integers(1, 10),
    cap=st.none() | st.integers(1, 100_000),
    quantity=st.integers(1, 9_999),
    unit=st.integers(0, 100_000_000),
    discount_percent=st.integers(0, 100),
    used_meals=st.integers(0, 12),
    used_amount=st.integers(0, 200_000),
)
def test_a_subsidy_is_never_negative_never_above_the_line_and_within_the_cap(
    kind, value, times, cap, quantity, unit, discount_percent, used_meals, used_amount
):
    terms = rule(kind=kind, value=value * (1 if kind == "percent" else 37), times_per_day=times)
    terms = RuleTerms(**{**terms.__dict__, "monthly_cap": cap})
    gross = quantity * unit
    discount = percent_of(gross, discount_percent)
    assert 0 <= discount <= gross
    net = gross - discount
    amount, meals = line_subsidy(
        terms, quantity=quantity, net=net, meals_used=used_meals, amount_used=used_amount
    )
    assert 0 <= amount <= net
    assert 0 <= meals <= max(times - used_meals, 0)
    assert (amount == 0) == (meals == 0)
    if cap is not None:
        assert amount <= max(cap - used_amount, 0)
    if amount:
        # What the quote grants, a booking of the same claim accepts with the same meals.
        assert (
            meals_for_claim(
                terms,
                quantity=quantity,
                net=net,
                meals_used=used_meals,
                amount_used=used_amount,
                claim=amount,
            )
            == meals
        )
