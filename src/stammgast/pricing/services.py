"""Pricing a basket for a customer, booking the subsidies of a posted bill, managing rules.

The quote (`quote_basket`) writes nothing: what a till shows before the guest pays. The
bills app books a posted bill's subsidies with `book_subsidies` inside its own
transaction; that re-checks every allowance under a lock on the customer's allowance row,
so two tills posting at once for the same guest can never both use the last one. A
cancelled bill gives its subsidies back with `release_subsidies`.

Decisions (docs/pricing.md): the price level is the operator's override, else the
customer's own level where it differs from the tenant's default, else per line the lowest
price among the levels of the customer's groups, else the tenant's default; the customer's
discount applies to discountable lines; a subsidy is per meal (per unit of a line), at
most `times_per_day` a day per rule, never more than the unit's price after discount,
within the monthly cap; percentages are rounded to whole cents, half up, per line.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError, FieldErrors
from stammgast.core.money import format_amount, parse_amount
from stammgast.customers import selectors as customer_selectors
from stammgast.customers.models import Customer
from stammgast.tenants.actor import Actor

from .models import (
    GroupPricing,
    PricingEvent,
    SubsidyAllowance,
    SubsidyKind,
    SubsidyRule,
    SubsidyUse,
)

MAX_LINES = 200
MAX_QUANTITY = 9_999


def _percent_of(cents: int, percent: int) -> int:
    """`percent` % of `cents`, rounded to whole cents, half up."""
    return (cents * percent + 50) // 100


# --- reading a basket ------------------------------------------------------------------------


@dataclass
class LineIn:
    item: str
    category: str
    quantity: int
    discountable: bool
    prices: dict[int, int]  # price level -> cents


def read_lines(raw: Any, errors: FieldErrors) -> list[LineIn]:
    if not isinstance(raw, list) or not raw:
        errors.add("lines", _("A basket has at least one line."))
        return []
    if len(raw) > MAX_LINES:
        errors.add("lines", _("At most %(n)d lines.") % {"n": MAX_LINES})
        return []
    lines = []
    for i, data in enumerate(raw):
        where = f"lines.{i}"
        if not isinstance(data, Mapping):
            errors.add(where, _("Each line is an object."))
            continue
        quantity = data.get("quantity", 1)
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 1 <= quantity <= MAX_QUANTITY
        ):
            errors.add(
                f"{where}.quantity", _("A whole number from 1 to %(n)d.") % {"n": MAX_QUANTITY}
            )
            quantity = 1
        prices: dict[int, int] = {}
        raw_prices = data.get("prices")
        if not isinstance(raw_prices, Mapping) or not raw_prices or len(raw_prices) > 99:
            errors.add(f"{where}.prices", _('Give the price per price level, e.g. {"1": "3.50"}.'))
        else:
            for level, amount in raw_prices.items():
                try:
                    number = int(level)
                    if not 1 <= number <= 99:
                        raise ValueError
                except (TypeError, ValueError):
                    errors.add(f"{where}.prices", _("Price levels are 1 to 99."))
                    continue
                try:
                    prices[number] = parse_amount(
                        amount, field=f"{where}.prices.{level}", allow_zero=True
                    )
                except DomainError as exc:
                    for messages in exc.fields.values():
                        for message in messages:
                            errors.add(f"{where}.prices.{level}", message)
        item = data.get("item")
        if not isinstance(item, str) or not item.strip() or len(item) > 100:
            errors.add(f"{where}.item", _("The item's id, 1 to 100 characters."))
            item = ""
        category = data.get("category", "")
        if not isinstance(category, str) or len(category) > 100:
            errors.add(f"{where}.category", _("At most 100 characters."))
            category = ""
        discountable = data.get("discountable", True)
        if not isinstance(discountable, bool):
            errors.add(f"{where}.discountable", _("Enter true or false."))
            discountable = True
        lines.append(LineIn(item.strip(), category.strip(), quantity, discountable, prices))
    return lines


# --- the quote -----------------------------------------------------------------------------


@dataclass
class QuotedLine:
    item: str
    category: str
    quantity: int
    price_level: int
    unit_price: int
    discount: int = 0
    subsidy: int = 0
    subsidy_rule: str = ""
    subsidy_meals: int = 0
    rule_id: int | None = None

    @property
    def total(self) -> int:
        return self.quantity * self.unit_price - self.discount - self.subsidy

    def as_dict(self) -> dict:
        return {
            "item": self.item,
            "category": self.category,
            "quantity": self.quantity,
            "price_level": self.price_level,
            "unit_price": format_amount(self.unit_price),
            "discount": format_amount(self.discount),
            "subsidy": format_amount(self.subsidy),
            "subsidy_rule": self.subsidy_rule,
            "total": format_amount(self.total),
            "total_cents": self.total,
        }


@dataclass
class Quote:
    customer: Customer | None
    lines: list[QuotedLine] = field(default_factory=list)

    @property
    def gross(self) -> int:
        return sum(line.quantity * line.unit_price for line in self.lines)

    @property
    def discount(self) -> int:
        return sum(line.discount for line in self.lines)

    @property
    def subsidy(self) -> int:
        return sum(line.subsidy for line in self.lines)

    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines)


def _group_levels(customer: Customer) -> list[int]:
    return list(
        GroupPricing.objects.filter(
            group_id__in=customer_selectors.group_ids(customer)
        ).values_list("price_level", flat=True)
    )


def _levels_for(customer: Customer | None, override: int | None, tenant) -> tuple[list[int], bool]:
    """The price levels to choose from, and whether the lowest price among them wins."""
    if override is not None:
        return [override], False
    default = tenant.default_price_level
    if customer is not None:
        if customer.price_level != default:
            return [customer.price_level], False
        groups = _group_levels(customer)
        if groups:
            return groups, True
    return [default], False


def _rules_for(customer: Customer, day: dt.date) -> list[SubsidyRule]:
    rules = SubsidyRule.objects.filter(
        group_id__in=customer_selectors.group_ids(customer), active=True
    ).order_by("pk")
    return [
        r
        for r in rules
        if (r.valid_from is None or r.valid_from <= day)
        and (r.valid_to is None or day <= r.valid_to)
        and day.weekday() in (r.weekdays or range(7))
    ]


def _used(customer: Customer, rules: Sequence[SubsidyRule], day: dt.date) -> tuple[dict, dict]:
    """Meals used today and amount used this month, per rule (released uses not counted)."""
    first = day.replace(day=1)
    last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    uses = SubsidyUse.objects.filter(
        customer=customer, rule__in=list(rules), released_at__isnull=True
    )
    today = dict(
        uses.filter(day=day).values("rule_id").annotate(n=Sum("meals")).values_list("rule_id", "n")
    )
    month = dict(
        uses.filter(day__range=(first, last))
        .values("rule_id")
        .annotate(a=Sum("amount"))
        .values_list("rule_id", "a")
    )
    return today, month


def _best_subsidy(
    rules: Sequence[SubsidyRule],
    category: str,
    quantity: int,
    unit_net: int,
    meals_today: dict,
    amount_month: dict,
) -> tuple[SubsidyRule, int, int] | None:
    """(rule, amount, meals) of the largest subsidy a line may have now, or None."""
    best = None
    for rule in rules:
        if rule.categories and category not in rule.categories:
            continue
        meals = min(quantity, rule.times_per_day - meals_today.get(rule.pk, 0))
        if meals <= 0:
            continue
        per_meal = (
            rule.value if rule.kind == SubsidyKind.FIXED else _percent_of(unit_net, rule.value)
        )
        amount = min(per_meal, unit_net) * meals
        if rule.monthly_cap is not None:
            amount = min(amount, max(rule.monthly_cap - amount_month.get(rule.pk, 0), 0))
        if amount > 0 and (best is None or amount > best[1]):
            best = (rule, amount, meals)
    return best


def _unit_net(unit_price: int, discount: int, quantity: int) -> int:
    return unit_price - (discount // quantity if quantity else 0)


def _apply_subsidies(quote: Quote, customer: Customer, day: dt.date) -> None:
    """Give each line the largest subsidy still allowed (in the order of the lines)."""
    rules = _rules_for(customer, day)
    if not rules:
        return
    meals_today, amount_month = _used(customer, rules, day)
    for line in quote.lines:
        unit_net = _unit_net(line.unit_price, line.discount, line.quantity)
        best = _best_subsidy(
            rules, line.category, line.quantity, unit_net, meals_today, amount_month
        )
        if best is not None:
            rule, amount, meals = best
            line.subsidy, line.subsidy_rule, line.subsidy_meals, line.rule_id = (
                amount,
                rule.name,
                meals,
                rule.pk,
            )
            meals_today[rule.pk] = meals_today.get(rule.pk, 0) + meals
            amount_month[rule.pk] = amount_month.get(rule.pk, 0) + amount


def quote_basket(
    *,
    actor: Actor,
    lines: list[LineIn],
    customer: Customer | None = None,
    price_level: int | None = None,
    at: dt.datetime | None = None,
) -> Quote:
    """Each line's price, discount and subsidy for the customer (or anonymously)."""
    at = at or timezone.now()
    levels, lowest = _levels_for(customer, price_level, actor.tenant)
    quote = Quote(customer=customer)
    errors = FieldErrors()
    for i, line in enumerate(lines):
        offered = [(line.prices[level], level) for level in levels if level in line.prices]
        default = actor.tenant.default_price_level
        if not offered and price_level is None and default in line.prices:
            # An item without a price at the customer's level sells at the default one.
            offered = [(line.prices[default], default)]
        if not offered:
            errors.add(
                f"lines.{i}.prices",
                _("No price at price level %(level)s.") % {"level": ", ".join(map(str, levels))},
            )
            continue
        unit_price, level = min(offered) if lowest else offered[0]
        quoted = QuotedLine(line.item, line.category, line.quantity, level, unit_price)
        if customer is not None and line.discountable and customer.discount:
            quoted.discount = _percent_of(line.quantity * unit_price, customer.discount)
        quote.lines.append(quoted)
    errors.raise_if_any("invalid_basket", _("The basket cannot be priced."))
    if customer is not None:
        _apply_subsidies(quote, customer, timezone.localdate(at))
    return quote


# --- subsidies of posted bills ------------------------------------------------------------------


def _allowance_for_update(customer: Customer) -> None:
    try:
        with transaction.atomic():
            SubsidyAllowance.objects.get_or_create(
                customer=customer, defaults={"tenant": customer.tenant}
            )
    except IntegrityError:
        pass  # made meanwhile
    SubsidyAllowance.objects.select_for_update(no_key=True).get(customer=customer)


def book_subsidies(
    *, actor: Actor, customer: Customer, bill_id: int, at: dt.datetime, claims: list[dict]
) -> list[SubsidyUse]:
    """Record the subsidies a posted bill's lines claim. Each claim is {"line": index,
    "category": text, "quantity": meals, "unit_price": cents, "discount": cents,
    "amount": cents}, as the bill's line carries them.

    Runs in the bill's transaction. Under a lock on the customer's allowance row it works
    out again, as a quote would now, what each line may have; a claim above that (another
    till used the last allowance meanwhile, the rules changed) refuses the whole bill with
    409 subsidy_used_up, naming the line.
    """
    _allowance_for_update(customer)
    day = timezone.localdate(at)
    rules = _rules_for(customer, day)
    meals_today, amount_month = _used(customer, rules, day)
    uses = []
    errors = FieldErrors()
    for claim in claims:
        unit_net = _unit_net(claim["unit_price"], claim.get("discount", 0), claim["quantity"])
        best = _best_subsidy(
            rules, claim["category"], claim["quantity"], unit_net, meals_today, amount_month
        )
        if best is None or claim["amount"] > best[1]:
            errors.add(
                f"lines.{claim['line']}.subsidy",
                _("No subsidy of %(amount)s is left for this customer.")
                % {"amount": format_amount(claim["amount"])},
            )
            continue
        rule, _allowed, meals = best
        meals_today[rule.pk] = meals_today.get(rule.pk, 0) + meals
        amount_month[rule.pk] = amount_month.get(rule.pk, 0) + claim["amount"]
        uses.append(
            SubsidyUse(
                tenant=actor.tenant,
                rule=rule,
                customer=customer,
                day=day,
                meals=meals,
                amount=claim["amount"],
                bill_id=bill_id,
            )
        )
    if errors:
        raise DomainError(
            "subsidy_used_up",
            _("The subsidy is used up or not allowed now; quote the basket again."),
            fields=errors.errors,
            status=409,
        )
    SubsidyUse.objects.bulk_create(uses)
    return uses


def release_subsidies(*, actor: Actor, bill_id: int) -> int:
    """A cancelled bill's subsidies count no more (the uses stay, marked released)."""
    return SubsidyUse.objects.filter(bill_id=bill_id, released_at__isnull=True).update(
        released_at=timezone.now()
    )


# --- managing levels and rules --------------------------------------------------------------


def _note(actor: Actor, what: str, changes: dict) -> None:
    PricingEvent.objects.create(
        tenant=actor.tenant,
        at=timezone.now(),
        actor_label=actor.label[:200],
        what=what,
        changes=changes,
    )


@transaction.atomic
def set_group_price_level(*, actor: Actor, group_name: str, price_level: int | None) -> None:
    """The price level of a group's members (None: the group gives none)."""
    actor.require("pricing.manage", _("You may not change prices."))
    group = customer_selectors.group_named(group_name)
    if price_level is not None and (
        isinstance(price_level, bool)
        or not isinstance(price_level, int)
        or not 1 <= price_level <= 99
    ):
        message = _("A whole number from 1 to 99.")
        raise DomainError("invalid", message, fields={"price_level": message}, status=422)
    old = GroupPricing.objects.filter(group=group).values_list("price_level", flat=True).first()
    if price_level is None:
        GroupPricing.objects.filter(group=group).delete()
    else:
        GroupPricing.objects.update_or_create(
            group=group, defaults={"price_level": price_level, "tenant": actor.tenant}
        )
    _note(actor, f"group {group.name}", {"price_level": [old, price_level]})


RULE_FIELDS = (
    "name",
    "group",
    "categories",
    "kind",
    "value",
    "times_per_day",
    "weekdays",
    "valid_from",
    "valid_to",
    "monthly_cap",
    "active",
)


def _clean_rule(data: Mapping[str, Any]) -> dict:
    errors = FieldErrors()
    out: dict[str, Any] = {}
    for key in data:
        if key not in RULE_FIELDS:
            errors.add(key, _("Unknown field."))
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        errors.add("name", _("1 to 100 characters."))
    else:
        out["name"] = name.strip()
    try:
        out["group"] = customer_selectors.group_named(str(data.get("group") or ""))
    except DomainError as exc:
        errors.add("group", exc.message)
    categories = data.get("categories") or []
    if (
        not isinstance(categories, list)
        or len(categories) > 50
        or not all(isinstance(c, str) and 0 < len(c) <= 100 for c in categories)
    ):
        errors.add("categories", _("A list of at most 50 categories."))
    else:
        out["categories"] = [c.strip() for c in categories]
    kind = data.get("kind")
    if kind not in SubsidyKind.values:
        errors.add("kind", _("Choose one of: %(v)s.") % {"v": ", ".join(SubsidyKind.values)})
    value = data.get("value")
    if kind == SubsidyKind.PERCENT:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
            errors.add("value", _("A whole percent from 1 to 100."))
        else:
            out["value"] = value
    elif kind == SubsidyKind.FIXED:
        try:
            out["value"] = parse_amount(value, field="value")
        except DomainError as exc:
            errors.add("value", exc.message)
    out["kind"] = kind
    times = data.get("times_per_day", 1)
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= 10:
        errors.add("times_per_day", _("A whole number from 1 to 10."))
    else:
        out["times_per_day"] = times
    weekdays = data.get("weekdays", list(range(7)))
    if (
        not isinstance(weekdays, list)
        or not weekdays
        or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in weekdays)
    ):
        errors.add("weekdays", _("Weekdays from 0 (Monday) to 6 (Sunday)."))
    else:
        out["weekdays"] = sorted(set(weekdays))
    for key in ("valid_from", "valid_to"):
        value = data.get(key)
        if value in (None, ""):
            out[key] = None
            continue
        try:
            out[key] = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        except ValueError:
            errors.add(key, _("Enter a date as YYYY-MM-DD."))
    if out.get("valid_from") and out.get("valid_to") and out["valid_to"] < out["valid_from"]:
        errors.add("valid_to", _("Not before the start."))
    cap = data.get("monthly_cap")
    if cap in (None, ""):
        out["monthly_cap"] = None
    else:
        try:
            out["monthly_cap"] = parse_amount(cap, field="monthly_cap")
        except DomainError as exc:
            errors.add("monthly_cap", exc.message)
    active = data.get("active", True)
    if not isinstance(active, bool):
        errors.add("active", _("Enter true or false."))
    out["active"] = active
    errors.raise_if_any("invalid", _("The rule is not valid."))
    return out


@transaction.atomic
def create_subsidy_rule(*, actor: Actor, data: Mapping[str, Any]) -> SubsidyRule:
    actor.require("pricing.manage", _("You may not change subsidies."))
    values = _clean_rule(data)
    rule = SubsidyRule.objects.create(tenant=actor.tenant, **values)
    _note(actor, f"subsidy rule {rule.pk}", {"created": [None, rule.name]})
    return rule


@transaction.atomic
def deactivate_subsidy_rule(*, actor: Actor, rule_id: int) -> SubsidyRule:
    """A rule is never deleted (its uses refer to it); it stops applying."""
    actor.require("pricing.manage", _("You may not change subsidies."))
    rule = SubsidyRule.objects.select_for_update(no_key=True).filter(pk=rule_id).first()
    if rule is None:
        from stammgast.core.errors import NotFound

        raise NotFound(_("There is no subsidy rule %(id)s.") % {"id": rule_id})
    if rule.active:
        rule.active = False
        rule.save(update_fields=["active"])
        _note(actor, f"subsidy rule {rule.pk}", {"active": [True, False]})
    return rule
