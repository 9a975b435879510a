"""The pricing history: one small function per kind of change to a price level or a rule.

Every writer of pricing records its change through these, in its own transaction: who
(staff user or API client, and the name as it was), when, where, and which fields changed
from what to what.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from stammgast.core.money import format_amount
from stammgast.customers.models import CustomerGroup
from stammgast.tenants.actor import Actor

from .models import PricingEvent, SubsidyKind, SubsidyRule
from .validation import RULE_FIELDS

Action = PricingEvent.Action


def history_value(field: str, value: Any, *, kind: str | None = None) -> Any:
    """A rule's value as the history keeps it (JSON, amounts as text)."""
    if value is None:
        return None
    if field == "monthly_cap" or (field == "value" and kind == SubsidyKind.FIXED):
        return format_amount(value)
    if field == "value" and kind == SubsidyKind.PERCENT:
        return f"{value} %"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, CustomerGroup):
        return value.name
    return value


def _record(
    *,
    actor: Actor,
    action: str,
    subject: str,
    changes: dict,
    at: dt.datetime,
    rule: SubsidyRule | None = None,
    group: CustomerGroup | None = None,
) -> PricingEvent:
    return PricingEvent.objects.create(
        tenant=actor.tenant,
        at=at,
        action=action,
        rule=rule,
        group=group,
        subject=subject[:100],
        user_id=getattr(actor.user, "pk", None),
        api_client=actor.api_client,
        actor_label=actor.label[:200],
        location_code=actor.location.code if actor.location else "",
        changes=changes,
    )


def rule_created(*, actor: Actor, rule: SubsidyRule, at: dt.datetime) -> PricingEvent:
    changes = {
        field: [None, history_value(field, getattr(rule, field), kind=rule.kind)]
        for field in RULE_FIELDS
        if field != "active" and getattr(rule, field) not in (None, "", [])
    }
    return _record(
        actor=actor,
        action=Action.RULE_CREATED,
        subject=rule.name,
        changes=changes,
        at=at,
        rule=rule,
    )


def rule_changed(
    *, actor: Actor, rule: SubsidyRule, changes: dict, at: dt.datetime
) -> PricingEvent:
    """A change of a rule; one that only stops it is recorded as such."""
    action = Action.RULE_DEACTIVATED if set(changes) == {"active"} and not rule.active else None
    return _record(
        actor=actor,
        action=action or Action.RULE_CHANGED,
        subject=rule.name,
        changes=changes,
        at=at,
        rule=rule,
    )


def group_level_set(
    *, actor: Actor, group: CustomerGroup, old: int | None, new: int | None, at: dt.datetime
) -> PricingEvent:
    return _record(
        actor=actor,
        action=Action.GROUP_LEVEL_SET,
        subject=group.name,
        changes={"price_level": [old, new]},
        at=at,
        group=group,
    )
