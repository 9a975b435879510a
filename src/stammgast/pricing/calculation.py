"""The arithmetic of a quote: which price, how much discount, how much subsidy. No database.

Everything is in integer cents. Percentages are rounded to whole cents, half up, once per
line (not per unit, not per basket): 10 % of a line of 3 x 1.85 = 5.55 is 0.56.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .models import SubsidyKind


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator as a whole number, rounded half up (both not negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


def percent_of(cents: int, percent: int) -> int:
    """`percent` % of `cents`, to whole cents, half up."""
    return half_up(cents * percent, 100)


def choose_price(
    prices: Mapping[int, int], levels: Sequence[int], *, lowest: bool
) -> tuple[int, int] | None:
    """(unit price, level) of a line at the first of `levels` it has a price for, or, when
    `lowest`, at the level of those with the lowest price (a tie: the lower level);
    None when it has a price at none of them."""
    offered = [(prices[level], level) for level in levels if level in prices]
    if not offered:
        return None
    return min(offered) if lowest else offered[0]


@dataclass(frozen=True)
class RuleTerms:
    """What the arithmetic needs of a subsidy rule."""

    id: int
    name: str
    categories: tuple[str, ...]
    kind: str
    value: int
    times_per_day: int
    monthly_cap: int | None

    def covers(self, category: str) -> bool:
        return not self.categories or category in self.categories


def _granted(rule: RuleTerms, *, quantity: int, net: int, meals: int, amount_used: int) -> int:
    """What `meals` meals of a line (of `quantity` units costing `net` after discount) get."""
    # The subsidised meals' share of the line's price after discount: the most they can get.
    share = half_up(net * meals, quantity)
    if rule.kind == SubsidyKind.FIXED:
        amount = rule.value * meals
    else:
        amount = half_up(net * meals * rule.value, quantity * 100)
    amount = min(amount, share)
    if rule.monthly_cap is not None:
        amount = min(amount, max(rule.monthly_cap - amount_used, 0))
    return max(amount, 0)


def line_subsidy(
    rule: RuleTerms, *, quantity: int, net: int, meals_used: int, amount_used: int
) -> tuple[int, int]:
    """(amount, meals) the rule grants a line now, or (0, 0).

    A subsidy is per meal: each unit of the line is a meal, subsidised up to the meals the
    rule still allows today (`times_per_day` minus `meals_used`); never more than those
    meals' price after discount; within what is left of the monthly cap after
    `amount_used`. `meals` is the fewest meals that give the amount (a cap that leaves
    less than one meal's subsidy uses one meal, not all of them).
    """
    most = min(quantity, rule.times_per_day - meals_used)
    if most <= 0 or net <= 0:
        return 0, 0
    best = _granted(rule, quantity=quantity, net=net, meals=most, amount_used=amount_used)
    if best <= 0:
        return 0, 0
    meals = next(
        m
        for m in range(1, most + 1)
        if _granted(rule, quantity=quantity, net=net, meals=m, amount_used=amount_used) >= best
    )
    return best, meals


def meals_for_claim(
    rule: RuleTerms, *, quantity: int, net: int, meals_used: int, amount_used: int, claim: int
) -> int | None:
    """The fewest meals for which the rule grants at least `claim` now; None if none do."""
    most = min(quantity, rule.times_per_day - meals_used)
    for m in range(1, most + 1):
        if _granted(rule, quantity=quantity, net=net, meals=m, amount_used=amount_used) >= claim:
            return m
    return None


@dataclass
class Allowance:
    """What the customer has used of each rule: meals on the day, amount in the month."""

    meals_today: dict[int, int]
    amount_month: dict[int, int]

    def use(self, rule_id: int, *, meals: int, amount: int) -> None:
        self.meals_today[rule_id] = self.meals_today.get(rule_id, 0) + meals
        self.amount_month[rule_id] = self.amount_month.get(rule_id, 0) + amount


def best_subsidy(
    rules: Sequence[RuleTerms], allowance: Allowance, *, category: str, quantity: int, net: int
) -> tuple[RuleTerms, int, int] | None:
    """(rule, amount, meals) of the largest subsidy one of `rules` grants the line now (a
    tie: the rule made first); None when none grants anything. One rule per line."""
    best = None
    for rule in rules:
        if not rule.covers(category):
            continue
        amount, meals = line_subsidy(
            rule,
            quantity=quantity,
            net=net,
            meals_used=allowance.meals_today.get(rule.id, 0),
            amount_used=allowance.amount_month.get(rule.id, 0),
        )
        if amount > 0 and (best is None or amount > best[1]):
            best = (rule, amount, meals)
    return best
