"""Pricing endpoints of /api/v1: the quote of a basket, subsidy rules, group price levels.

Thin handlers: parse, call one selector or service, render. Every key may quote (a quote
writes nothing and shows what the customer record shows anyway: price level, discount);
changing rules and levels needs "pricing.manage".
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from stammgast.core.http import ERRORS, json_response
from stammgast.core.money import format_amount

from . import selectors, services
from .models import SubsidyKind, SubsidyRule
from .schemas import (
    GroupLevelListOut,
    GroupLevelsIn,
    QuoteIn,
    QuoteOut,
    RuleIn,
    RuleListOut,
    RuleOut,
)

router = Router(tags=["pricing"])


def _money(body: dict, name: str, cents: int) -> None:
    body[name] = format_amount(cents)
    body[f"{name}_cents"] = cents


def quote_out(found: selectors.Quote, currency: str) -> dict:
    lines = []
    for line in found.lines:
        out = {
            "item": line.item,
            "category": line.category,
            "quantity": line.quantity,
            "discountable": line.discountable,
            "price_level": line.price_level,
        }
        for name in ("unit_price", "gross", "discount", "subsidy"):
            _money(out, name, getattr(line, name))
        out["subsidy_rule"] = line.subsidy_rule
        out["subsidy_meals"] = line.subsidy_meals
        _money(out, "total", line.total)
        lines.append(out)
    body = {
        "customer_number": found.customer_number,
        "currency": currency,
        "at": found.at,
        "price_level_source": found.price_level_source,
        "lines": lines,
    }
    for name in ("gross", "discount", "subsidy", "to_pay"):
        _money(body, name, getattr(found, name))
    return body


@router.post("/quote", response={200: QuoteOut, **ERRORS}, summary="Price a basket")
def quote(request: HttpRequest, payload: QuoteIn):
    """Each line's unit price (at the price level that applies), discount and subsidy, and
    the totals, for a customer (by `customer_number`, `card` or `email`) or anonymously.
    Writes nothing: a subsidy is used when the bill is posted, which checks it again.
    At most 200 lines; quantities 1-9,999; prices as text with at most two decimals."""
    customer = selectors.customer_for_quote(
        actor=request.actor,
        customer_number=payload.customer_number,
        card=payload.card,
        email=payload.email,
    )
    found = services.quote(
        actor=request.actor,
        customer=customer,
        lines=[line.model_dump() for line in payload.lines],
        price_level=payload.price_level,
        at=payload.at,
    )
    return json_response(200, quote_out(found, request.actor.tenant.currency))


# --- subsidy rules -----------------------------------------------------------------------


def rule_out(rule: SubsidyRule) -> dict:
    fixed = rule.kind == SubsidyKind.FIXED
    return {
        "id": rule.pk,
        "name": rule.name,
        "group": rule.group.name,
        "categories": rule.categories,
        "kind": rule.kind,
        "amount": format_amount(rule.value) if fixed else None,
        "amount_cents": rule.value if fixed else None,
        "percent": None if fixed else rule.value,
        "times_per_day": rule.times_per_day,
        "weekdays": rule.weekdays,
        "valid_from": rule.valid_from,
        "valid_to": rule.valid_to,
        "monthly_cap": None if rule.monthly_cap is None else format_amount(rule.monthly_cap),
        "monthly_cap_cents": rule.monthly_cap,
        "active": rule.active,
    }


@router.get(
    "/subsidy-rules", response={200: RuleListOut, **ERRORS}, summary="List the subsidy rules"
)
def list_rules(request: HttpRequest, include_stopped: bool = False):
    """The active rules (at most 200), by name; with `include_stopped`, also the stopped
    ones (the latest 500 of them)."""
    rules = selectors.subsidy_rules(active_only=not include_stopped)
    return json_response(200, {"items": [rule_out(r) for r in rules]})


@router.post("/subsidy-rules", response={201: RuleOut, **ERRORS}, summary="Create a subsidy rule")
def create_rule(request: HttpRequest, payload: RuleIn):
    """Needs pricing.manage. Send `Idempotency-Key` so a retry creates one rule."""
    rule = services.create_subsidy_rule(
        actor=request.actor,
        data=payload.model_dump(exclude_unset=True),
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return json_response(201, rule_out(rule))


@router.get("/subsidy-rules/{int:rule_id}", response={200: RuleOut, **ERRORS}, summary="Get a rule")
def get_rule(request: HttpRequest, rule_id: int):
    return json_response(200, rule_out(selectors.get_subsidy_rule(rule_id=rule_id)))


@router.patch(
    "/subsidy-rules/{int:rule_id}", response={200: RuleOut, **ERRORS}, summary="Change a rule"
)
def change_rule(request: HttpRequest, rule_id: int, payload: RuleIn):
    """Needs pricing.manage. Only the fields sent change; `"active": false` stops the rule."""
    rule = services.update_subsidy_rule(
        actor=request.actor, rule_id=rule_id, data=payload.model_dump(exclude_unset=True)
    )
    return json_response(200, rule_out(rule))


# --- price levels of groups -----------------------------------------------------------


def _levels_out(levels: list[selectors.GroupLevel]) -> dict:
    return {"items": [{"group": g.group.name, "price_level": g.price_level} for g in levels]}


@router.get(
    "/group-levels",
    response={200: GroupLevelListOut, **ERRORS},
    summary="The price level of each customer group",
)
def list_group_levels(request: HttpRequest):
    return json_response(200, _levels_out(selectors.group_levels()))


@router.put(
    "/group-levels",
    response={200: GroupLevelListOut, **ERRORS},
    summary="Set the price level of customer groups",
)
def put_group_levels(request: HttpRequest, payload: GroupLevelsIn):
    """Needs pricing.manage. The groups named get the level given (null: none); others
    stay as they are."""
    levels = services.set_group_price_levels(actor=request.actor, levels=payload.levels)
    return json_response(200, _levels_out(levels))
