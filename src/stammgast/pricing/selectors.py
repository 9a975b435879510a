"""Reads of pricing: the quote of a basket, the rules, the group levels, what a customer
has used of their subsidies, the history.

The quote is a read: it writes nothing and uses no allowance. A subsidy is used when the
bill is posted (services.book_subsidies), which checks again under a lock.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError, FieldErrors, NotFound
from stammgast.customers import selectors as customer_selectors
from stammgast.customers.models import Customer, CustomerGroup
from stammgast.tenants.actor import Actor

from . import calculation, validation
from .calculation import Allowance, RuleTerms
from .models import GroupPricing, PricingEvent, SubsidyRule, SubsidyUse

MAX_HISTORY = 200


def local_day(at: dt.datetime) -> dt.date:
    """The tenant's local date of a moment (settings.TIME_ZONE): what weekdays, validity,
    "per day" and "per month" of a subsidy rule refer to."""
    return at.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()


def _month(day: dt.date) -> tuple[dt.date, dt.date]:
    """The first day of `day`'s month and the first day of the next one."""
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following


# --- the customer of a quote ---------------------------------------------------------


def customer_for_quote(
    *,
    actor: Actor,
    customer_number: int | None = None,
    card: str | None = None,
    email: str | None = None,
) -> Customer | None:
    """The customer a quote is for, named by number, card or e-mail (at most one); None
    for an anonymous quote. Unknown, or another tenant's, or not served here: 404."""
    given = {
        k: v
        for k, v in {"customer_number": customer_number, "card": card, "email": email}.items()
        if v not in (None, "")
    }
    if len(given) > 1:
        message = _("Name the customer by one of customer_number, card or email.")
        raise DomainError(
            "customer_named_twice",
            message,
            fields={k: [message] for k in given},
            status=422,
        )
    if not given:
        return None
    ((key, value),) = given.items()
    if key == "customer_number":
        return customer_selectors.get_customer(actor=actor, number=value)
    found = customer_selectors.lookup_customers(actor=actor, **{key: value})
    if len(found) > 1:
        message = _("More than one customer has this %(key)s; give the customer number.") % {
            "key": key
        }
        raise DomainError("customer_ambiguous", message, fields={key: [message]}, status=422)
    if not found:
        raise NotFound(_("There is no customer with this %(key)s.") % {"key": key})
    return customer_selectors.get_customer(actor=actor, number=found[0]["number"])


# --- what applies to a customer --------------------------------------------------------


def group_levels_of(group_ids: Sequence[int]) -> list[int]:
    """The price levels these groups (a customer's) give, lowest first, each once."""
    if not group_ids:
        return []
    levels = GroupPricing.objects.filter(group_id__in=list(group_ids)).values_list(
        "price_level", flat=True
    )
    return sorted(set(levels))


def rules_on(group_ids: Sequence[int], day: dt.date) -> list[RuleTerms]:
    """The active subsidy rules of these groups (a customer's) that apply on `day` (its
    weekday, within the validity), oldest first."""
    if not group_ids:
        return []
    rules = (
        SubsidyRule.objects.filter(group_id__in=list(group_ids), active=True)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .order_by("pk")
    )
    return [
        RuleTerms(
            id=r.pk,
            name=r.name,
            categories=tuple(r.categories),
            kind=r.kind,
            value=r.value,
            times_per_day=r.times_per_day,
            monthly_cap=r.monthly_cap,
        )
        for r in rules
        if day.weekday() in r.weekdays
    ]


def allowance_used(customer_id: int, rule_ids: Sequence[int], day: dt.date) -> Allowance:
    """What the customer has used of these rules: meals on `day`, amount in its month.
    Released uses (cancelled bills) do not count."""
    if not rule_ids:
        return Allowance({}, {})
    first, following = _month(day)
    rows = (
        SubsidyUse.objects.filter(
            customer_id=customer_id,
            rule_id__in=list(rule_ids),
            released_at__isnull=True,
            day__gte=first,
            day__lt=following,
        )
        .values("rule_id")
        .annotate(meals=Sum("meals", filter=Q(day=day)), amount=Sum("amount"))
    )
    return Allowance(
        {r["rule_id"]: r["meals"] or 0 for r in rows},
        {r["rule_id"]: r["amount"] or 0 for r in rows},
    )


# --- the quote ---------------------------------------------------------------------------


class LevelSource:
    """Where a quote's price level came from (docs/pricing.md)."""

    OVERRIDE = "override"
    CUSTOMER = "customer"
    GROUP = "group"
    DEFAULT = "default"


@dataclass
class QuotedLine:
    item: str
    category: str
    quantity: int
    discountable: bool
    price_level: int
    unit_price: int
    discount: int = 0
    subsidy: int = 0
    subsidy_rule: str | None = None
    subsidy_rule_id: int | None = None
    subsidy_meals: int = 0

    @property
    def gross(self) -> int:
        return self.quantity * self.unit_price

    @property
    def total(self) -> int:
        return self.gross - self.discount - self.subsidy


@dataclass
class Quote:
    customer_number: int | None
    at: dt.datetime
    day: dt.date
    price_level_source: str
    lines: list[QuotedLine] = field(default_factory=list)

    @property
    def gross(self) -> int:
        return sum(line.gross for line in self.lines)

    @property
    def discount(self) -> int:
        return sum(line.discount for line in self.lines)

    @property
    def subsidy(self) -> int:
        return sum(line.subsidy for line in self.lines)

    @property
    def to_pay(self) -> int:
        return sum(line.total for line in self.lines)

    def claims(self) -> list[dict[str, Any]]:
        """The subsidies the lines claim, as services.book_subsidies takes them."""
        return [
            {
                "line": i,
                "category": line.category,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount": line.discount,
                "amount": line.subsidy,
            }
            for i, line in enumerate(self.lines)
            if line.subsidy
        ]


def _levels(
    actor: Actor, customer: Customer | None, override: int | None, group_ids: Sequence[int]
) -> tuple[str, list[int], bool]:
    """(source, levels to choose from, whether the lowest price among them wins)."""
    if override is not None:
        return LevelSource.OVERRIDE, [override], False
    default = actor.tenant.default_price_level
    if customer is not None:
        # Every customer has a level (new ones get the tenant's default): a level other
        # than the default is the customer's own; the default one lets the groups speak.
        if customer.price_level != default:
            return LevelSource.CUSTOMER, [customer.price_level], False
        groups = group_levels_of(group_ids)
        if groups:
            return LevelSource.GROUP, groups, True
    return LevelSource.DEFAULT, [default], False


def _refuse_blocked(customer: Customer) -> None:
    if customer.blocked:
        text = customer.lock_text or _("No lock text given.")
        raise DomainError(
            "customer_blocked",
            _("The customer is blocked: %(text)s") % {"text": text},
            fields={"customer": [text]},
            status=422,
        )


def quote(
    *,
    actor: Actor,
    customer: Customer | None = None,
    lines: Any,
    price_level: Any = None,
    at: Any = None,
) -> Quote:
    """Each line's unit price, discount and subsidy for `customer` (None: anonymously, at
    the tenant's default level, with no discount and no subsidy), and the totals.

    `lines`: [{"item", "category", "quantity", "discountable", "prices": {level: amount}}]
    (validation.read_basket); `price_level`: the operator's override; `at`: when the guest
    pays (default now), which decides the subsidies' weekday, validity, day and month.
    Writes nothing.
    """
    basket = validation.read_basket(lines)
    override = validation.read_price_level(price_level)
    at = validation.read_quote_time(at)
    if customer is not None:
        if customer.tenant_id != actor.tenant.pk:
            raise NotFound(_("There is no such customer."))
        _refuse_blocked(customer)
    group_ids = customer_selectors.group_ids(customer) if customer is not None else []
    source, levels, lowest = _levels(actor, customer, override, group_ids)
    found = Quote(
        customer_number=customer.number if customer is not None else None,
        at=at,
        day=local_day(at),
        price_level_source=source,
    )
    errors = FieldErrors()
    for i, line in enumerate(basket):
        chosen = calculation.choose_price(line.prices, levels, lowest=lowest)
        if chosen is None:
            errors.add(
                f"lines.{i}.prices",
                _("Item %(item)s has no price at price level %(levels)s.")
                % {"item": line.item, "levels": ", ".join(map(str, levels))},
            )
            continue
        unit_price, level = chosen
        quoted = QuotedLine(
            line.item, line.category, line.quantity, line.discountable, level, unit_price
        )
        if customer is not None and line.discountable and customer.discount:
            quoted.discount = calculation.percent_of(quoted.gross, customer.discount)
        found.lines.append(quoted)
    errors.raise_if_any("no_price", _("Some lines have no price at the customer's price level."))
    if customer is not None:
        _apply_subsidies(found, customer, group_ids)
    return found


def _apply_subsidies(found: Quote, customer: Customer, group_ids: Sequence[int]) -> None:
    """Give each line, in the order of the lines, the largest subsidy still allowed."""
    rules = rules_on(group_ids, found.day)
    if not rules:
        return
    allowance = allowance_used(customer.pk, [r.id for r in rules], found.day)
    for line in found.lines:
        best = calculation.best_subsidy(
            rules,
            allowance,
            category=line.category,
            quantity=line.quantity,
            net=line.gross - line.discount,
        )
        if best is None:
            continue
        rule, amount, meals = best
        line.subsidy, line.subsidy_rule, line.subsidy_rule_id, line.subsidy_meals = (
            amount,
            rule.name,
            rule.id,
            meals,
        )
        allowance.use(rule.id, meals=meals, amount=amount)


# --- rules, levels, history ----------------------------------------------------------------


MAX_STOPPED_SHOWN = 500


def subsidy_rules(*, active_only: bool = False) -> list[SubsidyRule]:
    """The tenant's active subsidy rules by name (services.MAX_ACTIVE_RULES at most);
    unless `active_only`, then the stopped ones, the latest changed first (at most 500)."""
    qs = SubsidyRule.objects.select_related("group")
    rules = list(qs.filter(active=True).order_by("name", "pk"))
    if not active_only:
        rules += qs.filter(active=False).order_by("-updated_at", "-pk")[:MAX_STOPPED_SHOWN]
    return rules


def get_subsidy_rule(*, rule_id: int) -> SubsidyRule:
    rule = SubsidyRule.objects.select_related("group").filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("There is no subsidy rule %(id)s.") % {"id": rule_id})
    return rule


@dataclass(frozen=True)
class GroupLevel:
    group: CustomerGroup
    price_level: int | None


def group_levels() -> list[GroupLevel]:
    """Every customer group of the tenant with the price level it gives (None: none)."""
    levels = dict(GroupPricing.objects.values_list("group_id", "price_level"))
    return [GroupLevel(g, levels.get(g.pk)) for g in CustomerGroup.objects.order_by("name")]


def pricing_history(*, limit: int = 50) -> list[PricingEvent]:
    """The latest changes of price levels and rules, newest first."""
    return list(PricingEvent.objects.order_by("-at", "-id")[: max(1, min(limit, MAX_HISTORY))])


# --- a customer's prices and subsidies (the customer record's register) -------------------


@dataclass(frozen=True)
class RuleAllowance:
    rule: RuleTerms
    meals_left_today: int
    cap_left: int | None


@dataclass
class CustomerPricing:
    price_level_source: str
    price_levels: list[int]
    discount: int
    rules_today: list[RuleAllowance]
    recent_uses: list[SubsidyUse]


def customer_pricing(*, actor: Actor, customer: Customer, at: dt.datetime) -> CustomerPricing:
    """The price level a customer gets and where it comes from, the discount, today's
    subsidy rules with what is left of them, and the latest subsidies used."""
    group_ids = customer_selectors.group_ids(customer)
    source, levels, _lowest = _levels(actor, customer, None, group_ids)
    day = local_day(at)
    rules = rules_on(group_ids, day)
    used = allowance_used(customer.pk, [r.id for r in rules], day)
    return CustomerPricing(
        price_level_source=source,
        price_levels=levels,
        discount=customer.discount,
        rules_today=[
            RuleAllowance(
                rule=r,
                meals_left_today=max(r.times_per_day - used.meals_today.get(r.id, 0), 0),
                cap_left=None
                if r.monthly_cap is None
                else max(r.monthly_cap - used.amount_month.get(r.id, 0), 0),
            )
            for r in rules
        ],
        recent_uses=list(
            SubsidyUse.objects.filter(customer=customer)
            .select_related("rule")
            .order_by("-created_at", "-id")[:20]
        ),
    )
