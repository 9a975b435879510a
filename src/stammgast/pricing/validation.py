"""Reading what callers send pricing: a basket's lines, a price level, a time, a rule.

One reader per input, used by the API, the portal and any later caller alike, so a rule
is written once; each refusal names the field (`lines.3.quantity`, `monthly_cap`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError, FieldErrors
from stammgast.core.money import format_amount, parse_amount

from .models import MAX_LEVEL, MAX_TIMES_PER_DAY, MIN_LEVEL, SubsidyKind

# Limits of a basket (docs/pricing.md); the bills app has the same for a bill.
MAX_LINES = 200
MAX_QUANTITY = 9_999
MAX_TEXT = 100
# How far from now a quote may be asked for (a pre-order for next week, a bill posted
# late by a till that was offline).
MAX_QUOTE_DISTANCE = dt.timedelta(days=366)
# Limits of a rule.
MAX_CATEGORIES = 50
LINE_FIELDS = frozenset({"item", "category", "quantity", "discountable", "prices"})


@dataclass(frozen=True)
class BasketLine:
    item: str
    category: str
    quantity: int
    discountable: bool
    prices: dict[int, int]  # price level -> cents


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_text(value: Any, *, required: bool) -> str | None:
    """Printable text of at most 100 characters, stripped; None when it is not that."""
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > MAX_TEXT or not value.isprintable():
        return None
    value = value.strip()
    if required and not value:
        return None
    return value


def _level(raw: Any) -> int | None:
    """A price level from an int or a text of digits, or None."""
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 2:
        raw = int(raw)
    if _is_int(raw) and MIN_LEVEL <= raw <= MAX_LEVEL:
        return raw
    return None


def read_price_level(value: Any, *, field: str = "price_level") -> int | None:
    """An operator's override of the price level: None, or a whole number 1 to 99."""
    if value is None or value == "":
        return None
    level = _level(value) if _is_int(value) or isinstance(value, str) else None
    if level is None:
        message = _("A price level is a whole number from %(min)d to %(max)d.") % {
            "min": MIN_LEVEL,
            "max": MAX_LEVEL,
        }
        raise DomainError("invalid_price_level", message, fields={field: message}, status=422)
    return level


def read_quote_time(value: Any, *, field: str = "at") -> dt.datetime:
    """When the basket is paid for: an aware time (a naive one is the tenant's local time),
    at most 366 days from now; None: now."""
    now = timezone.now()
    if value is None or value == "":
        return now
    at = value
    if isinstance(value, str):
        try:
            at = dt.datetime.fromisoformat(value)
        except ValueError:
            at = None
    if not isinstance(at, dt.datetime):
        message = _("A date and time such as 2026-12-04T12:30:00+01:00.")
        raise DomainError("invalid_time", message, fields={field: message}, status=422)
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if abs(at - now) > MAX_QUOTE_DISTANCE:
        message = _("At most a year from now.")
        raise DomainError("invalid_time", message, fields={field: message}, status=422)
    return at


def _read_prices(raw: Any, where: str, errors: FieldErrors) -> dict[int, int]:
    field = f"{where}.prices"
    if not isinstance(raw, Mapping) or not raw:
        errors.add(field, _('Give the price per price level, e.g. {"1": "3.50", "2": "3.20"}.'))
        return {}
    if len(raw) > MAX_LEVEL:
        errors.add(field, _("At most %(n)d price levels.") % {"n": MAX_LEVEL})
        return {}
    prices: dict[int, int] = {}
    for key, amount in raw.items():
        level = _level(key)
        if level is None:
            errors.add(
                field,
                _("Price levels are whole numbers from %(min)d to %(max)d.")
                % {"min": MIN_LEVEL, "max": MAX_LEVEL},
            )
            continue
        if level in prices:
            errors.add(field, _("Price level %(level)d is given twice.") % {"level": level})
            continue
        name = f"{field}.{level}"
        try:
            prices[level] = parse_amount(amount, field=name, allow_zero=True)
        except DomainError as exc:
            for message in exc.fields.get(name, [exc.message]):
                errors.add(name, message)
    return prices


def read_basket(raw: Any) -> list[BasketLine]:
    """The lines of a basket, or a 422 naming every wrong field (`lines.<i>.<field>`)."""
    errors = FieldErrors()
    if not isinstance(raw, list | tuple) or not raw:
        errors.add("lines", _("A basket has at least one line."))
        errors.raise_if_any("invalid_basket", _("The basket cannot be priced."))
    if len(raw) > MAX_LINES:
        errors.add("lines", _("At most %(n)d lines.") % {"n": MAX_LINES})
        errors.raise_if_any("invalid_basket", _("The basket cannot be priced."))
    lines = []
    for i, data in enumerate(raw):
        where = f"lines.{i}"
        if not isinstance(data, Mapping):
            errors.add(where, _("Each line is an object."))
            continue
        for key in data:
            if key not in LINE_FIELDS:
                errors.add(f"{where}.{str(key)[:50]}", _("Unknown field."))
        item = read_text(data.get("item"), required=True)
        if item is None:
            errors.add(
                f"{where}.item", _("The item's id, 1 to %(n)d characters.") % {"n": MAX_TEXT}
            )
        category = read_text(data.get("category"), required=False)
        if category is None:
            errors.add(f"{where}.category", _("At most %(n)d characters.") % {"n": MAX_TEXT})
        quantity = data.get("quantity", 1)
        if not _is_int(quantity) or not 1 <= quantity <= MAX_QUANTITY:
            errors.add(
                f"{where}.quantity",
                _("A whole number from 1 to %(n)s.") % {"n": f"{MAX_QUANTITY:,}"},
            )
        discountable = data.get("discountable", True)
        if not isinstance(discountable, bool):
            errors.add(f"{where}.discountable", _("Enter true or false."))
        prices = _read_prices(data.get("prices"), where, errors)
        if not errors:
            lines.append(BasketLine(item, category, quantity, discountable, prices))
    errors.raise_if_any("invalid_basket", _("The basket cannot be priced."))
    return lines


# --- subsidy rules ---------------------------------------------------------------------

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
ALL_WEEKDAYS = [0, 1, 2, 3, 4, 5, 6]


def _date(value: Any, field: str, errors: FieldErrors) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors.add(field, _("Enter a date as YYYY-MM-DD."))
    return None


def _whole(value: Any) -> int | None:
    """A whole number from an int or a text of digits (forms send text)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip()) if len(value.strip()) <= 6 else None
    return value if _is_int(value) else None


def clean_rule(data: Mapping[str, Any], *, current: Mapping[str, Any] | None = None) -> dict:
    """The values of a rule from `data` (on a change: over the `current` values, given as
    a caller would send them, see `rule_as_input`), or a 422 naming each wrong field.
    Amounts come back in cents; the group as its name (the service looks it up)."""
    errors = FieldErrors()
    for key in data:
        if key not in RULE_FIELDS:
            errors.add(str(key)[:50], _("Unknown field."))
    given = {**(current or {}), **{k: v for k, v in data.items() if k in RULE_FIELDS}}
    out: dict[str, Any] = {}

    name = read_text(given.get("name"), required=True)
    if name is None:
        errors.add("name", _("1 to %(n)d characters.") % {"n": MAX_TEXT})
    out["name"] = name

    group = read_text(given.get("group"), required=True)
    if group is None:
        errors.add("group", _("Choose a customer group."))
    out["group"] = group

    categories = given.get("categories")
    if categories is None or categories == "":
        categories = []
    if isinstance(categories, str):
        categories = [c for c in categories.split(",") if c.strip()]
    cleaned = (
        [read_text(c, required=True) for c in categories] if isinstance(categories, list) else []
    )
    if (
        not isinstance(categories, list)
        or len(categories) > MAX_CATEGORIES
        or any(c is None for c in cleaned)
    ):
        errors.add(
            "categories",
            _("A list of at most %(n)d categories of 1 to %(len)d characters; empty: all.")
            % {"n": MAX_CATEGORIES, "len": MAX_TEXT},
        )
    else:
        out["categories"] = sorted(set(cleaned))

    kind = given.get("kind")
    if kind not in SubsidyKind.values:
        errors.add("kind", _("Choose one of: %(v)s.") % {"v": ", ".join(SubsidyKind.values)})
    out["kind"] = kind

    value = given.get("value")
    if kind == SubsidyKind.PERCENT:
        percent = _whole(value)
        if percent is None or not 1 <= percent <= 100:
            errors.add("value", _("A whole percent from 1 to 100."))
        out["value"] = percent
    elif kind == SubsidyKind.FIXED:
        try:
            out["value"] = parse_amount(value, field="value")
        except DomainError as exc:
            for message in exc.fields.get("value", [exc.message]):
                errors.add("value", message)

    times = _whole(given.get("times_per_day", 1))
    if times is None or not 1 <= times <= MAX_TIMES_PER_DAY:
        errors.add("times_per_day", _("A whole number from 1 to %(n)d.") % {"n": MAX_TIMES_PER_DAY})
    out["times_per_day"] = times

    weekdays = given.get("weekdays")
    if weekdays is None:
        weekdays = ALL_WEEKDAYS
    days = [_whole(d) for d in weekdays] if isinstance(weekdays, list) else [None]
    if not days or any(d is None or not 0 <= d <= 6 for d in days):
        errors.add("weekdays", _("At least one weekday, from 0 (Monday) to 6 (Sunday)."))
    else:
        out["weekdays"] = sorted(set(days))

    out["valid_from"] = _date(given.get("valid_from"), "valid_from", errors)
    out["valid_to"] = _date(given.get("valid_to"), "valid_to", errors)
    if out["valid_from"] and out["valid_to"] and out["valid_to"] < out["valid_from"]:
        errors.add("valid_to", _("Not before the first day."))

    cap = given.get("monthly_cap")
    if cap is None or cap == "":
        out["monthly_cap"] = None
    else:
        try:
            out["monthly_cap"] = parse_amount(cap, field="monthly_cap")
        except DomainError as exc:
            for message in exc.fields.get("monthly_cap", [exc.message]):
                errors.add("monthly_cap", message)

    active = given.get("active", True)
    if not isinstance(active, bool):
        errors.add("active", _("Enter true or false."))
    out["active"] = active

    errors.raise_if_any("invalid_rule", _("The subsidy rule is not valid."))
    return out


def rule_as_input(rule) -> dict[str, Any]:
    """A rule's values as a caller sends them (amounts as text): the base of a change."""
    return {
        "name": rule.name,
        "group": rule.group.name,
        "categories": list(rule.categories),
        "kind": rule.kind,
        "value": rule.value if rule.kind == SubsidyKind.PERCENT else format_amount(rule.value),
        "times_per_day": rule.times_per_day,
        "weekdays": list(rule.weekdays),
        "valid_from": rule.valid_from,
        "valid_to": rule.valid_to,
        "monthly_cap": None if rule.monthly_cap is None else format_amount(rule.monthly_cap),
        "active": rule.active,
    }
