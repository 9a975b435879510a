"""Writes to a tenant's catalogues that customers refer to: customer groups and features."""

from __future__ import annotations

import re

from django.db import IntegrityError
from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import Conflict, DomainError
from stammgast.tenants.actor import Actor

from .models import CustomerGroup, FeatureDefinition, FeatureType


def _name(value: str, field: str = "name", max_len: int = 100) -> str:
    value = (value or "").strip()
    if not value or len(value) > max_len:
        message = _("Enter 1 to %(max)d characters.") % {"max": max_len}
        raise DomainError("invalid", message, fields={field: message}, status=422)
    return value


@db.atomic
def create_customer_group(*, actor: Actor, name: str) -> CustomerGroup:
    actor.require("tenant.manage", _("Only a tenant administrator may create customer groups."))
    name = _name(name)
    try:
        with db.atomic():
            return CustomerGroup.objects.create(tenant=actor.tenant, name=name)
    except IntegrityError:
        raise Conflict(
            "group_exists",
            _("This customer group exists already."),
            fields={"name": _("Already taken.")},
        ) from None


@db.atomic
def define_feature(
    *,
    actor: Actor,
    key: str,
    label: str,
    type: str = FeatureType.TEXT,
    choices: list[str] | None = None,
) -> FeatureDefinition:
    """A tenant-defined extra field every customer of the tenant may carry."""
    actor.require("tenant.manage", _("Only a tenant administrator may define features."))
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,49}", key or ""):
        message = _("Use lower-case letters, digits and underscores, starting with a letter.")
        raise DomainError("invalid", message, fields={"key": message}, status=422)
    label = _name(label, "label")
    if type not in FeatureType.values:
        message = _("Choose one of: %(v)s.") % {"v": ", ".join(FeatureType.values)}
        raise DomainError("invalid", message, fields={"type": message}, status=422)
    choices = [_name(c, "choices") for c in (choices or [])]
    if (type == FeatureType.CHOICE) != bool(choices):
        message = _("A choice feature needs choices; other types take none.")
        raise DomainError("invalid", message, fields={"choices": message}, status=422)
    try:
        with db.atomic():
            return FeatureDefinition.objects.create(
                tenant=actor.tenant, key=key, label=label, type=type, choices=choices
            )
    except IntegrityError:
        raise Conflict(
            "feature_exists", _("This feature exists already."), fields={"key": _("Already taken.")}
        ) from None
