"""Writes of pricing: booking and releasing a bill's subsidies, subsidy rules, group levels.

For the bills app (it sits above pricing and calls these inside its own transaction):

    book_subsidies(*, actor: Actor, customer: Customer, bill_id: int, at: datetime,
                   claims: Sequence[Mapping[str, int | str]] | Quote) -> list[SubsidyUse]

        `claims`: one per bill line that has a subsidy, as the posted line carries it:
        {"line": index of the line on the bill, "category": text, "quantity": units,
         "unit_price": cents, "discount": cents (the whole line's), "amount": cents of
         subsidy claimed}; or the Quote itself (`Quote.claims()` gives the same list).
        `at`: the bill's time (its local day decides weekday, validity, day and month).
        Locks the customer's allowance row, counts again what the customer has used, and
        records one SubsidyUse per line. A claim above what is left now (another till used
        the last allowance meanwhile, the rule was stopped) refuses the whole bill:
        DomainError "subsidy_used_up", status 409, naming `lines.<i>.subsidy`. A second
        call for the same bill_id books nothing and returns the uses already booked.

    release_subsidies(*, actor: Actor, bill_id: int) -> int

        For a cancelled bill: its uses are marked released (kept, for the record) and
        count no more; returns how many were released.

`quote` (a read, in selectors) is here too, so callers find the quote beside the booking.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import Conflict, DomainError, FieldErrors, NotFound
from stammgast.core.idempotency import run_once
from stammgast.core.money import format_amount
from stammgast.customers import selectors as customer_selectors
from stammgast.customers.models import Customer, CustomerGroup
from stammgast.tenants.actor import Actor

from . import calculation, events, lock_objects, selectors, validation
from .models import GroupPricing, SubsidyRule, SubsidyUse
from .selectors import Quote
from .selectors import quote as quote

# At most this many active rules per tenant (each quote of a customer reads the rules of
# the customer's groups; a list of rules is shown whole).
MAX_ACTIVE_RULES = 200
MANAGE = "pricing.manage"
MAX_GROUPS_AT_ONCE = 200


def _require_manage(actor: Actor) -> None:
    actor.require(MANAGE, _("Your role may not change prices and subsidies."))


# --- the subsidies of a posted bill -------------------------------------------------------


def _whole(value: Any, *, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _read_claims(claims: Sequence[Mapping[str, Any]] | Quote) -> list[dict[str, Any]]:
    """The claims with a subsidy, checked for shape (the bills app has checked the
    amounts as amounts; this guards against a caller's mistake, not a guest's input)."""
    if isinstance(claims, Quote):
        claims = claims.claims()
    errors = FieldErrors()
    out: dict[int, dict[str, Any]] = {}
    for n, claim in enumerate(claims):
        line = claim.get("line", n) if isinstance(claim, Mapping) else n
        field = f"lines.{line}.subsidy"
        if not isinstance(claim, Mapping) or not _whole(line, least=0):
            errors.add(field, _("Not a line of a bill."))
            continue
        values = {
            "line": line,
            "category": claim.get("category") or "",
            "quantity": claim.get("quantity"),
            "unit_price": claim.get("unit_price"),
            "discount": claim.get("discount", 0),
            "amount": claim.get("amount"),
        }
        if (
            not isinstance(values["category"], str)
            or not _whole(values["quantity"], least=1)
            or not all(_whole(values[k], least=0) for k in ("unit_price", "discount", "amount"))
        ):
            errors.add(field, _("Not a line of a bill."))
        elif line in out:
            errors.add(field, _("A line claims a subsidy twice."))
        elif values["amount"] > values["quantity"] * values["unit_price"] - values["discount"]:
            errors.add(field, _("The subsidy exceeds the line's price after discount."))
        elif values["amount"]:
            out[line] = values
    errors.raise_if_any("invalid_subsidy", _("The subsidies claimed are not valid."))
    return [out[line] for line in sorted(out)]


def book_subsidies(
    *,
    actor: Actor,
    customer: Customer,
    bill_id: int,
    at: dt.datetime,
    claims: Sequence[Mapping[str, Any]] | Quote,
) -> list[SubsidyUse]:
    """Record the subsidies a posted bill's lines claim, after checking them again under
    the customer's lock (see the module docstring)."""
    wanted = _read_claims(claims)
    if not wanted:
        return []
    if customer.tenant_id != actor.tenant.pk:
        raise NotFound(_("There is no such customer."))
    with db.atomic(savepoint=False):
        booked = list(SubsidyUse.objects.filter(bill_id=bill_id).order_by("line"))
        if booked:
            return booked
        lock_objects.subsidy_allowances_for_update([customer.pk], tenant_id=actor.tenant.pk)
        day = selectors.local_day(at)
        rules = selectors.rules_on(customer_selectors.group_ids(customer), day)
        allowance = selectors.allowance_used(customer.pk, [r.id for r in rules], day)
        now = timezone.now()
        uses, errors = [], FieldErrors()
        for claim in wanted:
            net = claim["quantity"] * claim["unit_price"] - claim["discount"]
            best = calculation.best_subsidy(
                rules, allowance, category=claim["category"], quantity=claim["quantity"], net=net
            )
            if best is None or best[1] < claim["amount"]:
                errors.add(
                    f"lines.{claim['line']}.subsidy",
                    _("No subsidy of %(amount)s is left for this customer on this line.")
                    % {"amount": format_amount(claim["amount"])},
                )
                continue
            rule = best[0]
            meals = calculation.meals_for_claim(
                rule,
                quantity=claim["quantity"],
                net=net,
                meals_used=allowance.meals_today.get(rule.id, 0),
                amount_used=allowance.amount_month.get(rule.id, 0),
                claim=claim["amount"],
            )
            allowance.use(rule.id, meals=meals, amount=claim["amount"])
            uses.append(
                SubsidyUse(
                    tenant_id=actor.tenant.pk,
                    rule_id=rule.id,
                    customer_id=customer.pk,
                    day=day,
                    meals=meals,
                    amount=claim["amount"],
                    bill_id=bill_id,
                    line=claim["line"],
                    created_at=now,
                )
            )
        if not errors:
            SubsidyUse.objects.bulk_create(uses)
    # Raised once the block is left cleanly: a caller's transaction is not marked broken
    # by a refusal (without a savepoint of its own for this call).
    if errors:
        raise DomainError(
            "subsidy_used_up",
            _("The subsidy is used up or does not apply now; quote the basket again."),
            fields=errors.errors,
            status=409,
        )
    return uses


def release_subsidies(*, actor: Actor, bill_id: int) -> int:
    """A cancelled bill's subsidies count no more; the uses stay, marked released."""
    return SubsidyUse.objects.filter(bill_id=bill_id, released_at__isnull=True).update(
        released_at=timezone.now(), released_by=actor.label[:200]
    )


# --- price levels of groups ----------------------------------------------------------------


def _group(name: Any) -> CustomerGroup:
    text = validation.read_text(name, required=True)
    if text is None:
        message = _("Choose a customer group.")
        raise DomainError("invalid", message, fields={"group": message}, status=422)
    return customer_selectors.group_named(text)


@db.atomic
def set_group_price_levels(
    *, actor: Actor, levels: Mapping[str, int | str | None]
) -> list[selectors.GroupLevel]:
    """Set the price level of some customer groups by name (None or "": the group gives
    none); groups whose level does not change are left alone. All or nothing."""
    _require_manage(actor)
    if not isinstance(levels, Mapping) or not 1 <= len(levels) <= MAX_GROUPS_AT_ONCE:
        message = _("Give the level per group name, at most %(n)d groups.") % {
            "n": MAX_GROUPS_AT_ONCE
        }
        raise DomainError("invalid_price_level", message, fields={"levels": message}, status=422)
    errors = FieldErrors()
    wanted: list[tuple[CustomerGroup, int | None]] = []
    for name, value in levels.items():
        try:
            group = _group(name)
            level = validation.read_price_level(value)
        except DomainError as exc:
            for messages in exc.fields.values():
                for message in messages:
                    errors.add(f"levels.{name}"[:100], message)
            continue
        wanted.append((group, level))
    errors.raise_if_any("invalid_price_level", _("Some price levels are not valid."))
    current = dict(
        GroupPricing.objects.select_for_update(no_key=True)
        .filter(group_id__in=[g.pk for g, _level in wanted])
        .order_by("pk")
        .values_list("group_id", "price_level")
    )
    now = timezone.now()
    for group, level in wanted:
        old = current.get(group.pk)
        if old == level:
            continue
        if level is None:
            GroupPricing.objects.filter(group=group).delete()
        elif old is None:
            GroupPricing.objects.create(tenant=actor.tenant, group=group, price_level=level)
        else:
            GroupPricing.objects.filter(group=group).update(price_level=level, updated_at=now)
        events.group_level_set(actor=actor, group=group, old=old, new=level, at=now)
    return selectors.group_levels()


def set_group_price_level(*, actor: Actor, group: str, price_level: int | None) -> None:
    """The price level the members of one group get (None: the group gives none)."""
    set_group_price_levels(actor=actor, levels={group: price_level})


# --- subsidy rules -------------------------------------------------------------------------


def _check_active_limit(*, excluding: int | None = None) -> None:
    qs = SubsidyRule.objects.filter(active=True)
    if excluding is not None:
        qs = qs.exclude(pk=excluding)
    if qs.count() >= MAX_ACTIVE_RULES:
        message = _("At most %(n)d active subsidy rules.") % {"n": MAX_ACTIVE_RULES}
        raise DomainError("too_many_rules", message, fields={"active": message}, status=422)


def _name_taken() -> Conflict:
    message = _("An active subsidy rule has this name already.")
    return Conflict("rule_name_taken", message, fields={"name": message})


def _save_rule(rule: SubsidyRule) -> None:
    """Save, telling a name taken meanwhile by another active rule (the constraint)."""
    if (
        rule.active
        and SubsidyRule.objects.filter(name=rule.name, active=True).exclude(pk=rule.pk).exists()
    ):
        raise _name_taken()
    try:
        with db.atomic():
            rule.save()
    except IntegrityError:
        raise _name_taken() from None


def _create_rule(actor: Actor, data: Mapping[str, Any]) -> SubsidyRule:
    values = validation.clean_rule(data)
    values["group"] = _group(values["group"])
    if values["active"]:
        _check_active_limit()
    rule = SubsidyRule(tenant=actor.tenant, **values)
    _save_rule(rule)
    events.rule_created(actor=actor, rule=rule, at=timezone.now())
    return rule


def create_subsidy_rule(
    *, actor: Actor, data: Mapping[str, Any], idempotency_key: str | None = None
) -> SubsidyRule:
    """A new subsidy rule: {"name", "group" (name), "categories" (list; empty: all),
    "kind" ("fixed" | "percent"), "value" (an amount, or a whole percent 1-100),
    "times_per_day" (1-10, default 1), "weekdays" (0 = Monday ... 6; default all),
    "valid_from", "valid_to" (dates, optional), "monthly_cap" (an amount, optional),
    "active"}. The same key again (a form sent twice) gives the rule made the first time.
    """
    _require_manage(actor)
    return run_once(
        owner=actor.ref,
        key=idempotency_key,
        operation="pricing.create_subsidy_rule",
        arguments=dict(data),
        run=lambda: _create_rule(actor, data),
        remember=lambda rule: rule.pk,
        recall=lambda pk: selectors.get_subsidy_rule(rule_id=pk),
    )


@db.atomic
def update_subsidy_rule(*, actor: Actor, rule_id: int, data: Mapping[str, Any]) -> SubsidyRule:
    """Change the fields of a rule that `data` names. The subsidies used so far stay as
    they were booked; from now on quotes and bookings follow the new terms."""
    _require_manage(actor)
    rule = lock_objects.subsidy_rule_for_update(rule_id)
    if rule is None:
        raise NotFound(_("There is no subsidy rule %(id)s.") % {"id": rule_id})
    values = validation.clean_rule(data, current=validation.rule_as_input(rule))
    values["group"] = rule.group if values["group"] == rule.group.name else _group(values["group"])
    if values["active"] and not rule.active:
        _check_active_limit(excluding=rule.pk)
    changes, old_kind = {}, rule.kind
    for name, new in values.items():
        old = getattr(rule, name)
        if old != new:
            changes[name] = [
                events.history_value(name, old, kind=old_kind),
                events.history_value(name, new, kind=values["kind"]),
            ]
            setattr(rule, name, new)
    if changes:
        _save_rule(rule)
        events.rule_changed(actor=actor, rule=rule, changes=changes, at=timezone.now())
    return rule


def deactivate_subsidy_rule(*, actor: Actor, rule_id: int) -> SubsidyRule:
    """Stop a rule: it applies to no quote and no bill from now on. A rule is never
    deleted (the subsidies used refer to it); it can be made active again."""
    return update_subsidy_rule(actor=actor, rule_id=rule_id, data={"active": False})
