"""Writes to the customer master: every change is planned, then applied.

Planning (`plan_create`, `plan_update`) validates and normalises the input with the field
rules, checks permissions, gives new customers their numbers and computes the history
entry; it writes nothing and raises a DomainError naming every bad field. Applying
(`apply_plans`) writes planned customers, their links and their history in the caller's
transaction. The API, the portal, the CLI and the import all go through both steps, so a
customer imported from a file is stored exactly as one created by hand; the import only
applies a thousand plans at a time, by COPY on PostgreSQL (`BulkApply`).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import (
    Conflict,
    DomainError,
    FieldErrors,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from stammgast.core.idempotency import run_once
from stammgast.core.tenancy import TenantNotActive, active_tenant
from stammgast.core.text import search_form
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import Location, Role, Tenant

from . import events, lock_objects, numbers, search, selectors
from .bulk import (
    Background,
    PreparedJSON,
    Table,
    check_references_at_once,
    defer_references,
)
from .models import (
    Customer,
    CustomerEvent,
    CustomerGroup,
    FeatureDefinition,
    FeatureType,
    Tag,
    sort_name,
)
from .validation import (
    BLOCK_FIELDS,
    CONTEXT_FIELDS,
    PAYMENT_FIELDS,
    RELATION_FIELDS,
    Invalid,
    clean_customer_data,
)

# --- helpers ---------------------------------------------------------------------------


def build_search_text(values: Mapping[str, Any]) -> str:
    """The searchable fields of a customer's values in search_form() spelling:
    "17 anna muller koln ...". Search compares the typed words, in the same spelling, as
    substrings of this text."""
    parts = [
        str(values["number"]),
        values["first_name"],
        values["last_name"],
        values["company_name"],
        values["alias"],
        values["city"],
        values["email"],
        values["postcode"],
    ]
    for key in ("phone_private_e164", "phone_business_e164", "mobile_e164"):
        e164 = values[key]
        if e164:
            # "+4930123456" is typed as "030123456" too.
            parts += [e164[1:], "0" + e164[3:] if e164.startswith("+49") else ""]
    return search_form(" ".join(p for p in parts if p))


def _sort_name(values: Mapping[str, Any]) -> str:
    return sort_name(**{k: values[k] for k in _NAME_PARTS})


_NAME_PARTS = ("kind", "first_name", "last_name", "company_name", "alias")


@cache
def _customers() -> Table:
    return Table(Customer)


@cache
def _model_defaults() -> dict[str, Any]:
    """What a new customer has in each column unless the input or the tenant says else."""
    return _customers().defaults()


# The fields `_permission_errors` may refuse.
GUARDED_FIELDS = frozenset(
    PAYMENT_FIELDS | BLOCK_FIELDS | {"allowed_locations", "third_party_memo"}
)


def _permission_errors(actor: Actor, fields: set[str]) -> dict[str, list[str]]:
    errors = FieldErrors()
    if actor.editable_fields is not None:
        for f in sorted(fields - actor.editable_fields):
            errors.add(f, _("You may not change this field."))
        fields = fields & actor.editable_fields
    if not actor.can("customers.change_payment"):
        for f in sorted(fields & PAYMENT_FIELDS):
            errors.add(f, _("You may not change payment information."))
    if not actor.can("customers.block"):
        for f in sorted(fields & BLOCK_FIELDS):
            errors.add(f, _("You may not block or unblock customers."))
    if "allowed_locations" in fields and not actor.can("customers.restrict_locations"):
        errors.add(
            "allowed_locations",
            _("You may not restrict customers to locations."),
        )
    if "third_party_memo" in fields and not actor.can("customers.third_party_memo"):
        errors.add(
            "third_party_memo",
            _("The third-party memo is read-only; only third-party systems write it."),
        )
    return errors.errors


def _check_field_permissions(actor: Actor, fields: set[str]) -> None:
    if errors := _permission_errors(actor, fields):
        raise PermissionDenied(
            _("You may not change some of these fields."), code="field_not_allowed", fields=errors
        )


def block_refusals(actor: Actor, *, blocked: bool, blocked_by_role: str) -> dict[str, str]:
    """Why `actor` may not change the block fields of a customer in this state, per field
    ({} when it may change both). The portal disables what is named here; the services
    refuse it."""
    if not blocked:
        if actor.can("customers.block"):
            return {}
        message = _("You may not block customers.")
        return {"blocked": message, "lock_text": message}
    if not actor.outranks_block_of(blocked_by_role):
        message = _(
            "This block was set by the role “%(role)s”; only that role or a higher one may "
            "lift or change it."
        ) % {"role": Role(blocked_by_role).label}
        return {"blocked": message, "lock_text": message}
    refusals = {}
    if not actor.can("customers.unblock"):
        refusals["blocked"] = _("You may not lift blocks.")
    if not actor.can("customers.block"):
        refusals["lock_text"] = _("You may not change a lock text.")
    return refusals


def _check_update_permissions(actor: Actor, customer: Customer, changed: set[str]) -> None:
    """Refuse (403) a change of fields the actor may not change on this customer; a
    refused block change gives its reason as the message."""
    errors = _permission_errors(actor, changed - BLOCK_FIELDS)
    refused = block_refusals(
        actor, blocked=customer.blocked, blocked_by_role=customer.blocked_by_role
    )
    block_errors = {f: [refused[f]] for f in sorted(changed & BLOCK_FIELDS) if f in refused}
    if block_errors:
        message = next(iter(block_errors.values()))[0]
        raise PermissionDenied(message, code="block_not_allowed", fields={**errors, **block_errors})
    if errors:
        raise PermissionDenied(
            _("You may not change some of these fields."), code="field_not_allowed", fields=errors
        )


def _is_iso_date(value: Any) -> bool:
    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


_FEATURE_RULES = {
    FeatureType.TEXT: lambda v, d: isinstance(v, str) and len(v) <= 1000,
    FeatureType.NUMBER: lambda v, d: isinstance(v, int) and not isinstance(v, bool),
    FeatureType.BOOLEAN: lambda v, d: isinstance(v, bool),
    FeatureType.DATE: lambda v, d: _is_iso_date(v),
    FeatureType.CHOICE: lambda v, d: v in d.choices,
}


# --- plan ------------------------------------------------------------------------------


def number_conflict(*, number: int, visible: bool) -> Conflict:
    """The refusal of a number someone has. To a till bound to a location, a number of a
    customer it may not see is "not available here": it learns nothing of that customer."""
    if visible:
        return Conflict(
            "number_taken",
            _("Customer number %(n)d is taken.") % {"n": number},
            fields={"number": _("This number is taken.")},
        )
    return Conflict(
        "number_not_available",
        _("This customer number cannot be used at this location."),
        fields={"number": _("Not available at this location.")},
    )


@dataclass
class PlanContext:
    """What planning needs besides the input, looked up once for one call or one batch."""

    actor: Actor
    tenant: Tenant
    defaults: dict[str, Any]
    default_group: CustomerGroup | None
    now: dt.datetime
    # A bulk creation's reserved numbers and the numbers in use; None: one at a time.
    block: numbers.NumberBlock | None = None
    taken: numbers.Bitmap | None = None
    _groups: dict[str, CustomerGroup] = field(default_factory=dict)
    _locations: dict[str, Location] = field(default_factory=dict)
    _features: dict[str, FeatureDefinition | None] = field(default_factory=dict)
    # Set by `read_references`: every group, location, tag and feature there is, so a name
    # not held is not there and planning asks the database nothing.
    _tags: dict[str, Tag] | None = None

    @property
    def region(self) -> str:
        return self.tenant.default_country

    def next_number(self) -> int:
        if self.block is not None:
            return self.block.take()
        return numbers.allocate_number(tenant=self.tenant, location=self.actor.location)

    def check_number_free(self, number: int) -> None:
        taken = selectors.number_in_use(number) if self.taken is None else number in self.taken
        if taken:
            visible = not self.actor.location_bound or number in selectors.visible_numbers(
                actor=self.actor, numbers=[number]
            )
            raise number_conflict(number=number, visible=visible)

    def read_references(self) -> None:
        """Read the tenant's groups, locations, tags and feature definitions at once.

        Planning then needs no database, so a bulk creation can plan in a process of its
        own while its writer holds the transaction. A tag that a batch applied meanwhile
        is planned by its name; applying finds it by that name (`_create_new_tags`).
        """
        self._groups = {g.name: g for g in CustomerGroup.objects.all()}
        self._locations = {loc.code: loc for loc in Location.objects.all()}
        self._tags = {t.name: t for t in Tag.objects.all()}
        self._features = {d.key: d for d in FeatureDefinition.objects.all()}

    def resolve(self, given: Mapping[str, list[str]]) -> dict[str, list]:
        """Names of groups and tags and codes of locations -> objects (a tag not yet known
        stays a name, created when applied); unknown groups and locations are errors."""
        errors = FieldErrors()
        resolved: dict[str, list] = {}
        lookups = {
            "groups": (
                CustomerGroup,
                "name",
                self._groups,
                lambda v: _("There is no customer group %(name)s.") % {"name": v},
            ),
            "allowed_locations": (
                Location,
                "code",
                self._locations,
                lambda v: _("There is no location %(code)s.") % {"code": v},
            ),
        }
        for name, (model, key, known, missing_message) in lookups.items():
            if name not in given:
                continue
            missing = [v for v in given[name] if v not in known]
            if missing and self._tags is None:
                known.update(
                    (getattr(o, key), o) for o in model.objects.filter(**{f"{key}__in": missing})
                )
            for value in given[name]:
                if value not in known:
                    errors.add(name, missing_message(value))
            resolved[name] = [known[v] for v in given[name] if v in known]
        if "tags" in given:
            if self._tags is not None:
                found = self._tags
            else:
                found = {t.name: t for t in Tag.objects.filter(name__in=given["tags"])}
            resolved["tags"] = [found.get(n, n) for n in given["tags"]]
        errors.raise_if_any("invalid", _("Some fields are not valid."))
        return resolved

    def check_features(self, values: Mapping[str, Any]) -> dict[str, Any]:
        missing = [k for k in values if k not in self._features]
        if missing and self._tags is None:
            found = {d.key: d for d in FeatureDefinition.objects.filter(key__in=missing)}
            self._features.update((k, found.get(k)) for k in missing)
        errors = FieldErrors()
        cleaned: dict[str, Any] = {}
        for key, value in values.items():
            definition = self._features.get(key)
            if definition is None:
                errors.add(
                    f"features.{key}", _("This tenant has no feature %(key)s.") % {"key": key}
                )
                continue
            if value in (None, ""):
                continue
            if not _FEATURE_RULES[definition.type](value, definition):
                errors.add(
                    f"features.{key}",
                    _("Not a valid value for %(label)s (%(type)s).")
                    % {"label": definition.label, "type": definition.get_type_display()},
                )
            cleaned[key] = value
        errors.raise_if_any("invalid", _("Some fields are not valid."))
        return cleaned


def planning_context(
    *,
    actor: Actor,
    block: numbers.NumberBlock | None = None,
    taken: numbers.Bitmap | None = None,
) -> PlanContext:
    tenant = Tenant.objects.get(pk=actor.tenant.pk)
    return PlanContext(
        actor=actor,
        tenant=tenant,
        defaults=selectors.new_customer_defaults(tenant),
        default_group=selectors.default_group(),
        now=timezone.now(),
        block=block,
        taken=taken,
    )


@dataclass(slots=True)
class CustomerPlan:
    """One customer to write, as the rules made it of the input."""

    action: str  # "create", "update" or "unchanged"
    number: int
    # create: every column of the new customer; update: the columns that change.
    row: dict[str, Any]
    changes: dict[str, list]
    # Links to set: groups and locations as objects, tags as objects or new names.
    relations: dict[str, list] = field(default_factory=dict)
    customer: Customer | None = None  # update: the customer as stored
    # The fields the caller gave (not those filled in from the tenant's defaults): a
    # default is no one's decision (a newsletter by default is no consent).
    given: frozenset[str] = frozenset()
    # Set by `BulkApply.prepare`: the new customer's row as COPY takes it, without its id.
    copy_line: bytes | None = None


def _names(objects: Iterable) -> list[str]:
    return sorted(o if isinstance(o, str) else getattr(o, "code", None) or o.name for o in objects)


def plan_create(
    *,
    ctx: PlanContext,
    data: Mapping[str, Any],
    stamps: Mapping[str, dt.datetime] | None = None,
) -> CustomerPlan:
    """A new customer: the tenant's defaults, the input, a number, the history entry.

    `stamps` (created_at, updated_at) keep the times a customer had in another system,
    for an import of an export.
    """
    actor = ctx.actor
    if not actor.can("customers.create"):  # the message is translated only when needed
        raise PermissionDenied(_("You may not create customers."))
    cleaned = clean_customer_data(data, default_region=ctx.region)
    defaults, model_defaults = ctx.defaults, _model_defaults()
    if not all(
        actor.can(p)
        for p in (
            "customers.change_payment",
            "customers.block",
            "customers.third_party_memo",
            "customers.restrict_locations",
        )
    ):
        # Only the fields a permission guards can be refused: the others are not compared.
        _check_field_permissions(
            actor,
            {
                k
                for k in cleaned.keys() & GUARDED_FIELDS
                if cleaned[k]
                != defaults.get(k, model_defaults.get(k, [] if k in RELATION_FIELDS else None))
            },
        )
    given = {k: cleaned.pop(k) for k in RELATION_FIELDS if k in cleaned}
    relations = ctx.resolve(given) if given else {}
    if "features" in cleaned:
        cleaned["features"] = ctx.check_features(cleaned["features"])
    # The kind is always recorded, whether given or the default: the history of a customer
    # made by a form that sends it and by a till that does not is the same.
    values = {"kind": model_defaults["kind"], **defaults, **cleaned}
    if "number" in values:
        ctx.check_number_free(values["number"])
    else:
        values["number"] = ctx.next_number()
    if "groups" not in relations and ctx.default_group is not None:
        relations["groups"] = [ctx.default_group]

    row = model_defaults.copy()
    row.update(values)
    if "features" not in cleaned:
        row["features"] = {}
    created = (stamps or {}).get("created_at") or ctx.now
    row["tenant_id"] = ctx.tenant.pk
    row["created_location_id"] = actor.location.pk if actor.location else None
    row["created_at"] = created
    row["updated_at"] = (stamps or {}).get("updated_at") or created
    row["location_restricted"] = bool(relations.get("allowed_locations"))
    row["blocked_by_role"] = actor.block_role if row["blocked"] else ""
    row["search_text"] = build_search_text(row)
    row["sort_name"] = _sort_name(row)
    changes = events.creation_changes(
        values, {name: _names(objects) for name, objects in relations.items()}
    )
    return CustomerPlan("create", values["number"], row, changes, relations, given=frozenset(data))


def plan_update(
    *,
    ctx: PlanContext,
    customer: Customer,
    data: Mapping[str, Any],
    expected_version: int | None = None,
) -> CustomerPlan:
    """What changes when `data` is applied to the stored `customer` (nothing changes when
    the values are those stored: the plan is then "unchanged")."""
    actor = ctx.actor
    if not actor.can("customers.change"):
        raise PermissionDenied(_("You may not change customers."))
    if expected_version is not None and customer.version != expected_version:
        raise PreconditionFailed(
            "stale_version",
            _(
                "Someone else changed this customer in the meantime. Reload and apply your "
                "change again."
            ),
        )
    if "number" in data and data["number"] != customer.number:
        raise DomainError(
            "number_immutable",
            _("A customer number cannot be changed."),
            fields={"number": _("A customer number cannot be changed.")},
            status=422,
        )
    data = {k: v for k, v in data.items() if k != "number"}
    current = {
        f: getattr(customer, f) for f in data if f not in RELATION_FIELDS and hasattr(customer, f)
    }
    current.update({f: getattr(customer, f) for f in CONTEXT_FIELDS})
    cleaned = clean_customer_data(data, current=current, default_region=ctx.region)
    given = {k: cleaned.pop(k) for k in RELATION_FIELDS if k in cleaned}
    relations = ctx.resolve(given) if given else {}
    if "features" in cleaned:
        cleaned["features"] = ctx.check_features(cleaned["features"])

    changes: dict[str, list] = {}
    row: dict[str, Any] = {}
    for name, value in cleaned.items():
        old = getattr(customer, name)
        if old != value:
            row[name] = value
            if name not in events.UNTRACKED_FIELDS:
                changes[name] = events.change(name, old, value)
    if relations:
        before = selectors.relation_names(customer)
        for name, objects in list(relations.items()):
            after = _names(objects)
            if before[name] != after:
                changes[name] = [before[name], after]
            else:
                del relations[name]
    # Permissions are checked on what really changes: sending back an unchanged value
    # (a full form, a POS echoing the record) is not an attempt to change it.
    _check_update_permissions(actor, customer, set(changes))
    if changes.keys() & BLOCK_FIELDS:
        # Whoever blocks, or changes a block they outrank, gives it their rank.
        row["blocked_by_role"] = actor.block_role if row.get("blocked", customer.blocked) else ""
    if not changes:
        return CustomerPlan("unchanged", customer.number, {}, {}, {}, customer)
    if "allowed_locations" in relations:
        row["location_restricted"] = bool(relations["allowed_locations"])
    row["updated_at"] = ctx.now
    row["version"] = customer.version + 1
    row["search_text"] = build_search_text({**customer.__dict__, **row})
    row["sort_name"] = _sort_name({**customer.__dict__, **row})
    return CustomerPlan("update", customer.number, row, changes, relations, customer)


# --- apply -----------------------------------------------------------------------------


def _links(plans: Iterable[CustomerPlan], ids: Iterable[int], tags: dict[str, Tag]) -> dict:
    """Rows of the link tables for the relations the plans set, by link model."""
    out: dict[Any, list[dict]] = {}
    for plan, pk in zip(plans, ids, strict=True):
        for name, objects in plan.relations.items():
            through = getattr(Customer, name).through
            target = getattr(Customer, name).field.m2m_reverse_field_name() + "_id"
            rows = out.setdefault(through, [])
            for obj in objects:
                obj = tags[obj] if isinstance(obj, str) else obj
                rows.append({"customer_id": pk, target: obj.pk})
    return out


def _create_new_tags(plans: Iterable[CustomerPlan], tenant: Tenant) -> dict[str, Tag]:
    names = {o for p in plans for o in p.relations.get("tags", ()) if isinstance(o, str)}
    if not names:
        return {}
    Tag.objects.bulk_create([Tag(tenant=tenant, name=n) for n in names], ignore_conflicts=True)
    return {t.name: t for t in Tag.objects.filter(name__in=names)}


def _event(plan: CustomerPlan, ctx: PlanContext, customer_id: int | None) -> events.Event:
    if plan.action == "create":
        return events.customer_created(
            actor=ctx.actor, customer_id=customer_id, changes=plan.changes, at=ctx.now
        )
    return events.customer_changed(
        actor=ctx.actor,
        customer_id=customer_id,
        changes=plan.changes,
        blocked=plan.row.get("blocked", plan.customer.blocked),
        at=ctx.now,
    )


def _check_tenant(ctx: PlanContext) -> None:
    # Bulk inserts pass TenantOwned.save by: the same refusal, once for the batch.
    if ctx.tenant.pk != active_tenant().pk:
        raise TenantNotActive("Refusing to write rows of another tenant.")


def _apply_updates(plans: list[CustomerPlan], ctx: PlanContext, tags: dict[str, Tag]) -> list[dict]:
    """Write the planned changes; their history entries, to be saved with the others."""
    if not plans:
        return []
    changed = [p.customer for p in plans]
    for plan in plans:
        for name, value in plan.row.items():
            setattr(plan.customer, name, value)
    columns = sorted({name for p in plans for name in p.row})
    Customer.all_tenants.bulk_update(changed, columns, batch_size=500)
    with_links = [p for p in plans if p.relations]
    for plan in with_links:
        for name in plan.relations:
            getattr(Customer, name).through.objects.filter(customer_id=plan.customer.pk).delete()
    for through, rows in _links(with_links, [p.customer.pk for p in with_links], tags).items():
        through.objects.bulk_create([through(**r) for r in rows])
    return [_event(p, ctx, p.customer.pk) for p in plans]


def apply_plans(plans: list[CustomerPlan], *, ctx: PlanContext) -> list[Customer | None]:
    """Write planned customers, their links and their history, in the caller's transaction.

    Returns, in the plans' order, the customer created or changed (None for "unchanged").
    """
    _check_tenant(ctx)
    tags = _create_new_tags(plans, ctx.tenant)
    creates = [p for p in plans if p.action == "create"]
    updates = [p for p in plans if p.action == "update"]
    history = _apply_updates(updates, ctx, tags)
    new = [Customer(**p.row) for p in creates]
    try:
        with db.atomic():
            Customer.all_tenants.bulk_create(new, batch_size=500)
    except IntegrityError:
        # An explicit number taken meanwhile by someone else (the check came first).
        raise Conflict(
            "number_taken",
            _("One of the customer numbers was taken meanwhile; try again."),
            fields={"number": _("This number is taken.")},
        ) from None
    for through, rows in _links(creates, [c.pk for c in new], tags).items():
        through.objects.bulk_create([through(**r) for r in rows])
    history += [_event(p, ctx, c.pk) for p, c in zip(creates, new, strict=True)]
    events.save_events(history)
    made = dict(zip(map(id, creates), new, strict=True))
    applied = [made.get(id(p)) or p.customer if p.action != "unchanged" else None for p in plans]
    _tell_applied(ctx, [(p, c.pk) for p, c in zip(plans, applied, strict=True) if c is not None])
    return applied


# Higher apps that keep something in step with customer changes (privacy: the newsletter
# consent's log) learn of every applied batch here, inside its transaction.
_applied_hooks: list[Callable[..., None]] = []


# Columns of a new customer's row the hooks read after it is written (privacy: the
# newsletter consent); a prepared plan keeps them readable.
_READ_BY_HOOKS = ("newsletter",)


def on_customers_applied(hook: Callable[..., None]) -> None:
    """Call `hook(ctx=..., applied=[(plan, customer_id), ...])` after every applied batch
    of plans, in the batch's transaction."""
    if hook not in _applied_hooks:
        _applied_hooks.append(hook)


def _tell_applied(ctx: PlanContext, applied: list[tuple[CustomerPlan, int]]) -> None:
    if applied:
        for hook in _applied_hooks:
            hook(ctx=ctx, applied=applied)


class BulkApply:
    """Applies batches of plans for an import: changes at once, new customers, their links
    and all history entries by COPY in a thread while the next batch is planned
    (PostgreSQL), or at once by `apply_plans` (SQLite).

    Use inside the import's transaction; `finish()` before it ends.
    """

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        self.copy = db.connection().vendor == "postgresql"
        self.background = Background()
        self.references = ""
        # The last batch written in the thread, told to the hooks once it is written.
        self.written: list[tuple[CustomerPlan, int]] = []
        if self.copy:
            self.tables = {
                "customers": _customers(),
                "events": Table(CustomerEvent),
                **{name: Table(getattr(Customer, name).through) for name in RELATION_FIELDS},
            }
            for table in self.tables.values():
                table.find_sequence()
            self.references = check_references_at_once(list(self.tables.values()))

    def wait(self) -> None:
        """Until the last batch is written: the connection is the caller's again."""
        self.background.wait()
        written, self.written = self.written, []
        _tell_applied(self.ctx, written)

    def prepare(self, plans: list[CustomerPlan], *, keep: Iterable[str] = ()) -> None:
        """The part of writing new customers that needs no database, done where the plans
        were made (an import's planning process, while this writer writes): their rows in
        COPY's format, their history's changes as JSON. Of each row only the columns in
        `keep` stay readable; the rest travels as the COPY line. Nothing to do unless the
        writer uses COPY."""
        if not self.copy:
            return
        creates = [p for p in plans if p.action == "create" and p.copy_line is None]
        lines = self.tables["customers"].copy_lines([p.row for p in creates])
        dumps = json.dumps
        for plan, line in zip(creates, lines, strict=True):
            plan.copy_line = line
            plan.changes = PreparedJSON(dumps(plan.changes, ensure_ascii=False))
            row = plan.row
            plan.row = {name: row[name] for name in (*keep, *_READ_BY_HOOKS) if name in row}

    def apply(self, plans: list[CustomerPlan]) -> None:
        self.wait()
        if not self.copy:
            apply_plans(plans, ctx=self.ctx)
            return
        _check_tenant(self.ctx)
        tags = _create_new_tags(plans, self.ctx.tenant)
        creates = [p for p in plans if p.action == "create"]
        updates = [p for p in plans if p.action == "update"]
        history = _apply_updates(updates, self.ctx, tags)
        db.connection().ensure_connection()
        raw = db.connection().connection
        tables, ctx = self.tables, self.ctx

        def work() -> None:
            customers = tables["customers"]
            ids = customers.reserve_ids(raw, len(creates))
            prepared = [(pk, p) for p, pk in zip(creates, ids, strict=True) if p.copy_line]
            customers.copy_prepared(
                raw, [pk for pk, _ in prepared], [p.copy_line for _, p in prepared]
            )
            rest = [(pk, p) for p, pk in zip(creates, ids, strict=True) if not p.copy_line]
            customers.copy(raw, [pk for pk, _ in rest], [p.row for _, p in rest])
            for through, rows in _links(creates, ids, tags).items():
                table = next(t for t in tables.values() if t.model is through)
                table.copy(raw, table.reserve_ids(raw, len(rows)), rows)
            rows = history + [_event(p, ctx, pk) for p, pk in zip(creates, ids, strict=True)]
            tables["events"].copy(raw, tables["events"].reserve_ids(raw, len(rows)), rows)
            self.written = [(p, p.customer.pk) for p in updates] + list(
                zip(creates, ids, strict=True)
            )

        self.background.submit(work)

    def finish(self) -> None:
        self.wait()
        defer_references(self.references)

    def close(self) -> None:
        """After a failure: wait for the thread, keep its error to ourselves."""
        self.background.close()


# --- bulk creation --------------------------------------------------------------------

# A set of customer numbers, one bit each: the numbers in use, those a file names.
NumberSet = numbers.Bitmap


def reserve_numbers(
    *, actor: Actor, count: int, skip: NumberSet | None = None, keep: bool = True
) -> numbers.NumberBlock:
    """Numbers for `count` customers a bulk creation will make, in a short transaction of
    their own (call it before the bulk creation's transaction). `keep=False` for a dry run:
    the numbers a real run would get now, the counter left as it is."""
    tenant = Tenant.objects.get(pk=actor.tenant.pk)
    if count:
        actor.require("customers.create", _("You may not create customers."))
    return numbers.reserve_numbers(
        tenant=tenant, location=actor.location, count=count, skip=skip, keep=keep
    )


def release_unused_numbers(block: numbers.NumberBlock) -> None:
    """After the bulk creation's transaction: give back the numbers it did not use."""
    numbers.release_unused(block)


def lock_customers_for_import(*, actor: Actor, numbers: set[int]) -> dict[int, Customer]:
    """The tenant's customers with these numbers (visible to the actor or not), locked
    until the import's transaction ends, by number."""
    # An erased customer's tombstone is not updated: its number counts as taken.
    found = lock_objects.customers_for_update(
        selectors.customers_in_bulk().filter(erased_at=None), numbers
    )
    return {c.number: c for c in found}


# --- use cases -------------------------------------------------------------------------


@db.atomic
def _create_customer(actor: Actor, data: Mapping[str, Any]) -> Customer:
    ctx = planning_context(actor=actor)
    plan = plan_create(ctx=ctx, data=data)
    return apply_plans([plan], ctx=ctx)[0]


def create_customer(
    *, actor: Actor, data: Mapping[str, Any], idempotency_key: str | None = None
) -> Customer:
    """Create a customer with the tenant's defaults, a number, and a history entry.

    With an `idempotency_key`, a retry of the same call creates nothing and returns the
    customer the first call created.
    """
    return run_once(
        owner=actor.ref,
        key=idempotency_key,
        operation="customers.create",
        arguments=dict(data),
        run=lambda: _create_customer(actor, data),
        remember=lambda customer: customer.pk,
        recall=lambda pk: Customer.objects.get(pk=pk),
    )


@db.atomic
def update_customer(
    *, actor: Actor, number: int, data: Mapping[str, Any], expected_version: int | None = None
) -> Customer:
    """Change some fields of a customer; refuses if `expected_version` is stale."""
    actor.require("customers.change", _("You may not change customers."))
    customer = lock_objects.customer_for_update(selectors.visible_customers(actor), number)
    if customer is None:
        raise NotFound(_("There is no customer %(n)s.") % {"n": number})
    ctx = planning_context(actor=actor)
    plan = plan_update(ctx=ctx, customer=customer, data=data, expected_version=expected_version)
    if plan.action == "unchanged":
        return customer
    return apply_plans([plan], ctx=ctx)[0]


def block_customer(
    *, actor: Actor, number: int, lock_text: str, expected_version: int | None = None
) -> Customer:
    return update_customer(
        actor=actor,
        number=number,
        expected_version=expected_version,
        data={"blocked": True, "lock_text": lock_text},
    )


def unblock_customer(*, actor: Actor, number: int, expected_version: int | None = None) -> Customer:
    return update_customer(
        actor=actor,
        number=number,
        expected_version=expected_version,
        data={"blocked": False, "lock_text": ""},
    )


_PICTURE_SUFFIXES = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


def _picture_suffix(upload: UploadedFile) -> str:
    """The file suffix of a valid picture upload; DomainError if it is none."""
    from django.conf import settings
    from PIL import Image, UnidentifiedImageError

    if upload.size > settings.CUSTOMER_PICTURE_MAX_BYTES:
        raise DomainError(
            "picture_too_large",
            _("The picture may have at most %(mb)d MB.")
            % {"mb": settings.CUSTOMER_PICTURE_MAX_BYTES // (1024 * 1024)},
            fields={"picture": _("Too large.")},
            status=422,
        )
    try:
        with Image.open(upload) as image:
            if image.width * image.height > settings.CUSTOMER_PICTURE_MAX_PIXELS:
                raise Invalid(_("The picture has too many pixels."))
            if image.format not in _PICTURE_SUFFIXES:
                raise Invalid(_("Use a JPEG, PNG, WebP or GIF picture."))
            suffix = _PICTURE_SUFFIXES[image.format]
            image.verify()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise DomainError(
            "invalid_picture",
            _("The file is not a picture."),
            fields={"picture": _("Not a JPEG, PNG, WebP or GIF picture.")},
            status=422,
        ) from None
    except Invalid as exc:
        raise DomainError(
            "invalid_picture", str(exc), fields={"picture": str(exc)}, status=422
        ) from None
    upload.seek(0)
    return suffix


@db.atomic
def set_customer_picture(*, actor: Actor, number: int, upload: UploadedFile | None) -> Customer:
    """Store a validated picture (or remove it with None)."""
    actor.require("customers.change", _("You may not change customers."))
    customer = lock_objects.customer_for_update(selectors.visible_customers(actor), number)
    if customer is None:
        raise NotFound(_("There is no customer %(n)s.") % {"n": number})
    suffix = _picture_suffix(upload) if upload is not None else ""
    old_name = customer.picture.name if customer.picture else ""
    if upload is None and not old_name:
        return customer  # nothing to remove: no change, no new version
    if upload is not None:
        # A random name: the address of a picture cannot be guessed from the customer number.
        customer.picture.save(f"{secrets.token_urlsafe(18)}.{suffix}", upload, save=False)
    else:
        customer.picture = ""
    if old_name:
        # A removed picture is personal data: delete the file once the change is committed.
        storage = customer.picture.storage
        db.on_commit(lambda: storage.delete(old_name))
    customer.version += 1
    customer.updated_at = timezone.now()
    customer.save(update_fields=["picture", "version", "updated_at"])
    events.save_events(
        [
            events.picture_changed(
                actor=actor,
                customer_id=customer.pk,
                had=bool(old_name),
                has=upload is not None,
                at=customer.updated_at,
            )
        ]
    )
    return customer


def lock_customer_for_bill(*, actor: Actor, number: int) -> Customer:
    """The customer a bill is posted for, locked until the bill's transaction ends; NotFound
    if the customer was erased meanwhile."""
    customer = lock_objects.customer_for_update(selectors.visible_customers(actor), number)
    if customer is None:
        raise NotFound(_("There is no customer %(n)s.") % {"n": number})
    return customer


# --- erasure (Art. 17 DSGVO) -----------------------------------------------------------

# What stays of an erased customer: the number, the tenant, the type, the groups, the
# times, and the facts of the history without their values.
_ERASED_VALUES: dict[str, Any] = {
    "title": "",
    "first_name": "",
    "last_name": "",
    "company_name": "",
    "sort_name": "",
    "vat_id": "",
    "alias": "",
    "gender": "",
    "date_of_birth": None,
    "street": "",
    "postcode": "",
    "city": "",
    "care_of": "",
    "po_box": "",
    "country": "",
    "phone_private": "",
    "phone_business": "",
    "mobile": "",
    "fax": "",
    "phone_private_e164": None,
    "phone_business_e164": None,
    "mobile_e164": None,
    "email": "",
    "homepage": "",
    "iban": "",
    "bic": "",
    "institute": "",
    "loss_reason": "",
    "lock_text": "",
    "memo": "",
    "third_party_memo": "",
    "comments": "",
    "features": {},
    "search_text": "",
    "newsletter": False,
    "invoices_by_email": False,
    "favourite": False,
    # Nobody serves an erased customer again.
    "blocked": True,
}


@db.atomic
def erase_customer_data(*, actor: Actor, number: int) -> Customer:
    """Remove the person's data from the customer record and its history; the record stays
    as a tombstone, so that the number is never given again and bills keep their customer.
    The picture file is deleted once the transaction is committed."""
    actor.require("customers.erase", _("You may not erase customers' data."))
    customer = lock_objects.customer_for_update(selectors.visible_customers(actor), number)
    if customer is None:
        raise NotFound(_("There is no customer %(n)s.") % {"n": number})
    now = timezone.now()
    for name, value in _ERASED_VALUES.items():
        setattr(customer, name, value)
    old_picture = customer.picture.name if customer.picture else ""
    customer.picture = ""
    customer.erased_at = customer.updated_at = now
    customer.version += 1
    customer.save()
    customer.tags.clear()
    if old_picture:
        storage = customer.picture.storage
        db.on_commit(lambda: storage.delete(old_picture))
    db.on_commit(search.drop_deleted_terms)
    # The history keeps who changed which field when, not the values; money entries keep
    # their amounts (the ledger keeps them anyway).
    changed = []
    for event in CustomerEvent.objects.filter(customer=customer).exclude(action__in=_MONEY_ACTIONS):
        event.changes = {field: [None, None] for field in event.changes}
        changed.append(event)
    CustomerEvent.objects.bulk_update(changed, ["changes"], batch_size=500)
    events.save_events([events.data_erased(actor=actor, customer_id=customer.pk, at=now)])
    return customer


# --- the history of other apps' changes ------------------------------------------------

_MONEY_ACTIONS = {
    CustomerEvent.Action.CREDIT,
    CustomerEvent.Action.ACCOUNT,
    CustomerEvent.Action.BILL,
}


def note_in_history(
    *, actor: Actor, customer_id: int, action: str, changes: dict, at: dt.datetime | None = None
) -> None:
    """Record in the customer's history a change another app made (a credit top-up, a bill),
    in the caller's transaction."""
    if action not in _MONEY_ACTIONS:
        raise ValueError(f"Not an action other apps record: {action}")
    events.save_events(
        [
            events.money_moved(
                actor=actor,
                customer_id=customer_id,
                action=action,
                changes=changes,
                at=at or timezone.now(),
            )
        ]
    )


# --- tenant defaults -------------------------------------------------------------------

DEFAULT_FIELDS = {
    "price_level": "default_price_level",
    "payment_method": "default_payment_method",
    "payment_term_days": "default_payment_term_days",
    "newsletter": "default_newsletter",
}


@db.atomic
def update_tenant_defaults(*, actor: Actor, data: Mapping[str, Any]) -> Tenant:
    """Change the defaults new customers get; existing customers are left as they are."""
    actor.require("tenant.manage", _("Only a tenant administrator may change defaults."))
    tenant = lock_objects.tenant_counter_for_update(actor.tenant.pk)
    errors = FieldErrors()
    from .validation import CLEANERS

    new_default: CustomerGroup | None | bool = False  # False: the group stays as it is
    for name, value in data.items():
        if name == "group":
            if value in (None, ""):
                new_default = None
            else:
                new_default = CustomerGroup.objects.filter(name=value).first()
                if new_default is None:
                    errors.add("group", _("There is no customer group %(name)s.") % {"name": value})
        elif name in DEFAULT_FIELDS:
            try:
                setattr(tenant, DEFAULT_FIELDS[name], CLEANERS[name](value))
            except Invalid as exc:
                errors.add(name, str(exc))
        else:
            errors.add(name, _("Not a default for new customers."))
    errors.raise_if_any("invalid", _("Some defaults are not valid."))
    tenant.save(update_fields=list(DEFAULT_FIELDS.values()))
    if new_default is not False:
        CustomerGroup.objects.filter(is_default=True).update(is_default=False)
        if new_default is not None:
            CustomerGroup.objects.filter(pk=new_default.pk).update(is_default=True)
    return tenant


def _customers_differing_from_default(tenant: Tenant, name: str):
    if name == "group":
        group = selectors.default_group()
        if group is None:
            return Customer.objects.none()
        return Customer.objects.filter(erased_at=None).exclude(groups=group.pk)
    return Customer.objects.filter(erased_at=None).exclude(
        **{name: getattr(tenant, DEFAULT_FIELDS[name])}
    )


def preview_tenant_default(*, actor: Actor, field: str) -> int:
    """How many existing customers `apply_tenant_default` would change."""
    if field != "group" and field not in DEFAULT_FIELDS:
        raise DomainError(
            "invalid_field",
            _("Not a default for new customers."),
            fields={
                "field": _("Choose one of: %(f)s.") % {"f": ", ".join(["group", *DEFAULT_FIELDS])}
            },
            status=422,
        )
    tenant = Tenant.objects.get(pk=actor.tenant.pk)
    return _customers_differing_from_default(tenant, field).count()


@db.atomic
def apply_tenant_default(*, actor: Actor, field: str, batch_size: int = 2000) -> int:
    """Give every existing customer the tenant's current default for `field`."""
    actor.require("tenant.manage", _("Only a tenant administrator may apply defaults."))
    preview_tenant_default(actor=actor, field=field)
    tenant = Tenant.objects.get(pk=actor.tenant.pk)
    group = selectors.default_group()
    now = timezone.now()
    changed = 0
    while True:
        batch = list(
            _customers_differing_from_default(tenant, field)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not batch:
            break
        if field == "group":
            # Recorded like any change of the groups: the names before and after.
            Through = Customer.groups.through
            before: dict[int, list[str]] = {pk: [] for pk in batch}
            for pk, name in Through.objects.filter(customer_id__in=batch).values_list(
                "customer_id", "customergroup__name"
            ):
                before[pk].append(name)
            Through.objects.bulk_create(
                [Through(customer_id=pk, customergroup_id=group.pk) for pk in batch],
                ignore_conflicts=True,
            )
            changes = {
                pk: {"groups": [sorted(names), sorted([*names, group.name])]}
                for pk, names in before.items()
            }
            Customer.objects.filter(pk__in=batch).update(updated_at=now, version=F("version") + 1)
        else:
            old = dict(Customer.objects.filter(pk__in=batch).values_list("pk", field))
            new_value = getattr(tenant, DEFAULT_FIELDS[field])
            changes = {pk: {field: [old[pk], new_value]} for pk in batch}
            Customer.objects.filter(pk__in=batch).update(
                **{field: new_value}, updated_at=now, version=F("version") + 1
            )
        events.save_events(
            events.default_applied(actor=actor, customer_id=pk, changes=changes[pk], at=now)
            for pk in batch
        )
        changed += len(batch)
    return changed


# --- locations -------------------------------------------------------------------------


def release_location_from_customers(*, location: Location) -> int:
    """The location leaves: customers restricted to it lose that restriction entry.

    A customer restricted to this location only stays restricted (to no location of the
    group), so a formerly private guest of the leaving location is not suddenly shown to
    every other location.
    """
    Through = Customer.allowed_locations.through
    affected = list(
        Through.objects.filter(location_id=location.pk).values_list("customer_id", flat=True)
    )
    Through.objects.filter(location_id=location.pk).delete()
    Customer.objects.filter(created_location=location).update(created_location=None)
    now = timezone.now()
    if affected:
        # A changed restriction is a change: new ETag, new "last changed".
        Customer.objects.filter(pk__in=affected).update(updated_at=now, version=F("version") + 1)
        events.save_events(
            events.location_released(
                tenant_id=location.tenant_id, customer_id=pk, code=location.code, at=now
            )
            for pk in affected
        )
    return len(affected)
