"""The tenant's history: one small function per kind of change to its settings or staff log-ins.

Every writer records its change through these, in its own transaction: who (and the name
as it was), when, where, and which fields changed from what to what.
"""

from __future__ import annotations

import datetime as dt

from .actor import Actor
from .models import TenantEvent

Action = TenantEvent.Action


def _record(
    *, actor: Actor, action: str, subject: str, changes: dict, at: dt.datetime
) -> TenantEvent:
    return TenantEvent.objects.create(
        tenant=actor.tenant,
        at=at,
        action=action,
        subject=subject[:150],
        user_id=getattr(actor.user, "pk", None),
        actor_label=actor.label[:200],
        location_code=actor.location.code if actor.location else "",
        changes=changes,
    )


def setting_changed(
    *, actor: Actor, setting: str, old: object, new: object, at: dt.datetime
) -> TenantEvent:
    return _record(
        actor=actor,
        action=Action.SETTING_CHANGED,
        subject=setting,
        changes={setting: [old, new]},
        at=at,
    )


def two_factor_enabled(*, actor: Actor, username: str, at: dt.datetime) -> TenantEvent:
    return _record(
        actor=actor,
        action=Action.TWO_FACTOR_ENABLED,
        subject=username,
        changes={"two_factor": [False, True]},
        at=at,
    )


def two_factor_disabled(*, actor: Actor, username: str, at: dt.datetime) -> TenantEvent:
    return _record(
        actor=actor,
        action=Action.TWO_FACTOR_DISABLED,
        subject=username,
        changes={"two_factor": [True, False]},
        at=at,
    )


def recovery_codes_renewed(*, actor: Actor, username: str, at: dt.datetime) -> TenantEvent:
    return _record(
        actor=actor, action=Action.RECOVERY_CODES_RENEWED, subject=username, changes={}, at=at
    )
