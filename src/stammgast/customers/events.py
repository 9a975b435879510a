"""The customer's history: one small function per kind of event, used by every writer.

Each function returns the entry as a row (column -> value), so a single change and a batch
of a thousand imported customers make their entries the same way; `save_events` writes
them (the import's bulk writer copies the same rows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext as _

from stammgast.tenants.actor import Actor

from .models import CustomerEvent

Action = CustomerEvent.Action

# Long texts are not copied into the history; the entry says how long they became.
SUMMARISED_FIELDS = frozenset({"third_party_memo", "comments"})
# Kept in step with the phone numbers; their change is the phone number's change.
UNTRACKED_FIELDS = frozenset({"phone_private_e164", "phone_business_e164", "mobile_e164"})
_EMPTY = ("", None)


def history_value(field: str, value: Any) -> Any:
    """A value as the history keeps it (JSON, short)."""
    if field in SUMMARISED_FIELDS:
        return _("(%(n)d characters)") % {"n": len(value)} if value else ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def creation_changes(values: Mapping[str, Any], relations: Mapping[str, list[str]]) -> dict:
    """What a new customer was given: every field that is not empty, from nothing."""
    changes = {}
    for field, value in values.items():
        if value.__class__ is str:
            if value and field not in UNTRACKED_FIELDS:
                changes[field] = [None, history_value(field, value)]
        elif value not in _EMPTY and value != {} and value != [] and field not in UNTRACKED_FIELDS:
            changes[field] = [None, history_value(field, value)]
    for name, names in relations.items():
        if names:
            changes[name] = [None, sorted(names)]
    return changes


def change(field: str, old: Any, new: Any) -> list:
    return [history_value(field, old), history_value(field, new)]


Event = dict[str, Any]


def _event(
    *, actor: Actor, customer_id: int | None, action: str, changes: dict, at: dt.datetime
) -> Event:
    return {
        "tenant_id": actor.tenant.pk,
        "customer_id": customer_id,
        "at": at,
        "action": action,
        "user_id": getattr(actor.user, "pk", None),
        "api_client_id": actor.api_client.pk if actor.api_client is not None else None,
        "actor_label": actor.label[:200],
        "location_code": actor.location.code if actor.location else "",
        "changes": changes,
    }


def customer_created(
    *, actor: Actor, customer_id: int | None, changes: dict, at: dt.datetime
) -> Event:
    return _event(
        actor=actor, customer_id=customer_id, action=Action.CREATED, changes=changes, at=at
    )


def customer_changed(
    *, actor: Actor, customer_id: int, changes: dict, blocked: bool, at: dt.datetime
) -> Event:
    """A change; one that only blocks or unblocks is recorded as such."""
    action = Action.UPDATED
    if set(changes) in ({"blocked", "lock_text"}, {"blocked"}):
        action = Action.BLOCKED if blocked else Action.UNBLOCKED
    return _event(actor=actor, customer_id=customer_id, action=action, changes=changes, at=at)


def picture_changed(
    *, actor: Actor, customer_id: int, had: bool, has: bool, at: dt.datetime
) -> Event:
    return _event(
        actor=actor,
        customer_id=customer_id,
        action=Action.UPDATED,
        changes={"picture": [had, has]},
        at=at,
    )


def data_erased(*, actor: Actor, customer_id: int, at: dt.datetime) -> Event:
    return _event(actor=actor, customer_id=customer_id, action=Action.ERASED, changes={}, at=at)


def default_applied(*, actor: Actor, customer_id: int, changes: dict, at: dt.datetime) -> Event:
    return _event(
        actor=actor, customer_id=customer_id, action=Action.DEFAULT_APPLIED, changes=changes, at=at
    )


def money_moved(
    *, actor: Actor, customer_id: int, action: str, changes: dict, at: dt.datetime
) -> Event:
    """A movement of the customer's money (credit, customer account, a bill), as the app
    that owns it describes it in `changes`."""
    return _event(actor=actor, customer_id=customer_id, action=action, changes=changes, at=at)


def location_released(*, tenant_id: int, customer_id: int, code: str, at: dt.datetime) -> Event:
    """A location the customer was restricted to left the group (no one acted: the system)."""
    return {
        "tenant_id": tenant_id,
        "customer_id": customer_id,
        "at": at,
        "action": Action.LOCATION_RELEASED,
        "user_id": None,
        "api_client_id": None,
        "actor_label": "system",
        "location_code": "",
        "changes": {"allowed_locations": [code, None]},
    }


def save_events(rows: Iterable[Event]) -> None:
    CustomerEvent.all_tenants.bulk_create([CustomerEvent(**r) for r in rows], batch_size=1000)
