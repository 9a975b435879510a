"""Writes to the customer master: one function per use case, each recording history."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core.errors import (
    Conflict,
    DomainError,
    FieldErrors,
    PermissionDenied,
    PreconditionFailed,
)
from stammgast.core.text import search_form
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import MAX_CUSTOMER_NUMBER, Location, Tenant

from . import selectors
from .models import (
    Customer,
    CustomerEvent,
    CustomerGroup,
    FeatureDefinition,
    FeatureType,
    Tag,
)
from .validation import (
    BLOCK_FIELDS,
    CONTEXT_FIELDS,
    PAYMENT_FIELDS,
    RELATION_FIELDS,
    Invalid,
    clean_customer_data,
)

# Long texts are not copied into the history; the entry says how long they became.
_SUMMARISED_FIELDS = {"third_party_memo", "comments"}
_UNTRACKED_FIELDS = {"phone_private_e164", "phone_business_e164", "mobile_e164"}


# --- helpers ---------------------------------------------------------------------------


def build_search_text(customer: Customer) -> str:
    """The searchable fields in search_form() spelling: "17 anna muller koln ...".

    Search compares the typed words, in the same spelling, as substrings of this text.
    """
    parts = [
        str(customer.number),
        customer.first_name,
        customer.last_name,
        customer.company_name,
        customer.alias,
        customer.city,
        customer.email,
        customer.postcode,
    ]
    for e164 in (customer.phone_private_e164, customer.phone_business_e164, customer.mobile_e164):
        if e164:
            # "+4930123456" is typed as "030123456" too.
            parts += [e164[1:], "0" + e164[3:] if e164.startswith("+49") else ""]
    return search_form(" ".join(p for p in parts if p))


def _history_value(field: str, value: Any) -> Any:
    if field in _SUMMARISED_FIELDS:
        return _("(%(n)d characters)") % {"n": len(value)} if value else ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _record_event(
    *, actor: Actor, customer: Customer, action: str, changes: dict, at=None
) -> CustomerEvent:
    return CustomerEvent.objects.create(
        tenant=actor.tenant,
        customer=customer,
        at=at or timezone.now(),
        action=action,
        user=actor.user,
        api_client=actor.api_client,
        actor_label=actor.label[:200],
        location_code=actor.location.code if actor.location else "",
        changes=changes,
    )


def _check_field_permissions(actor: Actor, fields: set[str]) -> None:
    errors = FieldErrors()
    if not actor.can("customers.change_payment"):
        for f in sorted(fields & PAYMENT_FIELDS):
            errors.add(f, _("You may not change payment information."))
    if not actor.can("customers.block"):
        for f in sorted(fields & BLOCK_FIELDS):
            errors.add(f, _("You may not block or unblock customers."))
    if "third_party_memo" in fields and not actor.can("customers.third_party_memo"):
        errors.add(
            "third_party_memo",
            _("The third-party memo is read-only; only third-party systems write it."),
        )
    if errors:
        raise PermissionDenied(
            _("You may not change some of these fields."),
            code="field_not_allowed",
            fields=errors.errors,
        )


def _resolve_relations(tenant: Tenant, cleaned: Mapping[str, Any]) -> dict[str, list]:
    """Names of groups/tags and codes of locations -> objects; unknown ones are errors."""
    errors = FieldErrors()
    resolved: dict[str, list] = {}
    if "groups" in cleaned:
        groups = {g.name: g for g in CustomerGroup.objects.filter(name__in=cleaned["groups"])}
        for name in cleaned["groups"]:
            if name not in groups:
                errors.add("groups", _("There is no customer group %(name)s.") % {"name": name})
        resolved["groups"] = [groups[n] for n in cleaned["groups"] if n in groups]
    if "tags" in cleaned:
        tags = {t.name: t for t in Tag.objects.filter(name__in=cleaned["tags"])}
        for name in cleaned["tags"]:
            if name not in tags:
                tags[name] = Tag.objects.create(tenant=tenant, name=name)
        resolved["tags"] = [tags[n] for n in cleaned["tags"]]
    if "allowed_locations" in cleaned:
        locs = {
            loc.code: loc for loc in Location.objects.filter(code__in=cleaned["allowed_locations"])
        }
        for code in cleaned["allowed_locations"]:
            if code not in locs:
                errors.add(
                    "allowed_locations", _("There is no location %(code)s.") % {"code": code}
                )
        resolved["allowed_locations"] = [locs[c] for c in cleaned["allowed_locations"] if c in locs]
    errors.raise_if_any("invalid", _("Some fields are not valid."))
    return resolved


def _check_features(values: Mapping[str, Any]) -> dict[str, Any]:
    definitions = {d.key: d for d in FeatureDefinition.objects.filter(key__in=list(values))}
    errors = FieldErrors()
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            errors.add(f"features.{key}", _("This tenant has no feature %(key)s.") % {"key": key})
            continue
        if value in (None, ""):
            continue
        ok = {
            FeatureType.TEXT: lambda v: isinstance(v, str) and len(v) <= 1000,
            FeatureType.NUMBER: lambda v: isinstance(v, int) and not isinstance(v, bool),
            FeatureType.BOOLEAN: lambda v: isinstance(v, bool),
            FeatureType.DATE: _is_iso_date,
            FeatureType.CHOICE: lambda v, d=definition: v in d.choices,
        }[definition.type](value)
        if not ok:
            errors.add(
                f"features.{key}",
                _("Not a valid value for %(label)s (%(type)s).")
                % {"label": definition.label, "type": definition.get_type_display()},
            )
        cleaned[key] = value
    errors.raise_if_any("invalid", _("Some fields are not valid."))
    return cleaned


def _is_iso_date(value: Any) -> bool:
    import datetime as dt

    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def _model_default(field: str) -> Any:
    if field in RELATION_FIELDS:
        return []
    try:
        return Customer._meta.get_field(field).get_default()
    except FieldDoesNotExist:
        return None


def _relation_names(customer: Customer) -> dict[str, list[str]]:
    return {
        "groups": sorted(g.name for g in customer.groups.all()),
        "tags": sorted(t.name for t in customer.tags.all()),
        "allowed_locations": sorted(loc.code for loc in customer.allowed_locations.all()),
    }


# --- number allocation -----------------------------------------------------------------


def _next_free_in(lower: int, upper: int, taken_ranges: list[tuple[int, int]]) -> int | None:
    """The lowest number from `lower` to `upper` not yet a customer's and not in a range."""
    candidate = lower
    while candidate <= upper:
        for low, high in taken_ranges:
            if low <= candidate <= high:
                candidate = high + 1
                break
        else:
            window_end = min(upper, candidate + 999)
            used = set(
                Customer.objects.filter(number__gte=candidate, number__lte=window_end).values_list(
                    "number", flat=True
                )
            )
            for n in range(candidate, window_end + 1):
                if n in used:
                    continue
                if any(low <= n <= high for low, high in taken_ranges):
                    break
                return n
            else:
                candidate = window_end + 1
                continue
            candidate = n
    return None


def allocate_customer_number(*, tenant: Tenant, location: Location | None) -> int:
    """Next free number: from the location's own range if it has one, else tenant-wide.

    Locks the counter row so concurrent creations never hand out one number twice. The
    search never goes back below the counter: a number once given stays retired, even when
    its customer is gone.
    """
    if location is not None and location.has_number_range:
        loc = Location.objects.select_for_update().filter(pk=location.pk).first()
        if loc is None:
            # An actor built before its location left the group (e.g. a cached API key).
            raise Conflict(
                "location_moved",
                _("Location %(code)s no longer belongs to this customer base.")
                % {"code": location.code},
            )
        number = _next_free_in(loc.number_counter + 1, loc.number_to, [])
        if number is None:
            raise Conflict(
                "number_range_exhausted",
                _("The number range %(low)d-%(high)d of location %(code)s is used up.")
                % {"low": loc.number_from, "high": loc.number_to, "code": loc.code},
            )
        Location.objects.filter(pk=loc.pk).update(number_counter=number)
        return number
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    ranges = list(
        Location.objects.filter(number_from__isnull=False).values_list("number_from", "number_to")
    )
    number = _next_free_in(locked.number_counter + 1, MAX_CUSTOMER_NUMBER, ranges)
    if number is None:
        raise Conflict("numbers_exhausted", _("All customer numbers are in use."))
    Tenant.objects.filter(pk=tenant.pk).update(number_counter=number)
    return number


# --- use cases -------------------------------------------------------------------------


def tenant_defaults(tenant: Tenant) -> dict[str, Any]:
    return {
        "price_level": tenant.default_price_level,
        "payment_method": tenant.default_payment_method,
        "payment_term_days": tenant.default_payment_term_days,
        "newsletter": tenant.default_newsletter,
    }


@transaction.atomic
def create_customer(*, actor: Actor, data: Mapping[str, Any]) -> Customer:
    """Create a customer with the tenant's defaults, a number, and a history entry."""
    actor.require("customers.create", _("You may not create customers."))
    tenant = Tenant.objects.get(pk=actor.tenant.pk)
    cleaned = clean_customer_data(data, default_region=tenant.default_country)
    defaults = tenant_defaults(tenant)
    _check_field_permissions(
        actor, {k for k, v in cleaned.items() if v != defaults.get(k, _model_default(k))}
    )
    relations = _resolve_relations(tenant, cleaned)
    if "features" in cleaned:
        cleaned["features"] = _check_features(cleaned["features"])

    values = {
        **tenant_defaults(tenant),
        **{k: v for k, v in cleaned.items() if k not in RELATION_FIELDS},
    }
    if "number" in values:
        if Customer.objects.filter(number=values["number"]).exists():
            raise Conflict(
                "number_taken",
                _("Customer number %(n)d is taken.") % {"n": values["number"]},
                fields={"number": _("This number is taken.")},
            )
    else:
        values["number"] = allocate_customer_number(tenant=tenant, location=actor.location)
    now = timezone.now()
    customer = Customer(
        tenant=tenant, created_at=now, updated_at=now, created_location=actor.location, **values
    )
    if "allowed_locations" in relations:
        customer.location_restricted = bool(relations["allowed_locations"])
    customer.search_text = build_search_text(customer)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        raise Conflict(
            "number_taken",
            _("Customer number %(n)d is taken.") % {"n": values["number"]},
            fields={"number": _("This number is taken.")},
        ) from None
    if "groups" not in relations and tenant.default_group_id:
        relations["groups"] = [tenant.default_group]
    for name, objects in relations.items():
        getattr(customer, name).set(objects)

    changes = {
        k: [None, _history_value(k, v)]
        for k, v in values.items()
        if v not in ("", None, {}, []) and k not in _UNTRACKED_FIELDS
    }
    for name, objects in relations.items():
        if objects:
            changes[name] = [None, sorted(getattr(o, "code", None) or o.name for o in objects)]
    _record_event(
        actor=actor, customer=customer, action=CustomerEvent.Action.CREATED, changes=changes, at=now
    )
    return customer


@transaction.atomic
def update_customer(
    *, actor: Actor, number: int, data: Mapping[str, Any], expected_version: int | None = None
) -> Customer:
    """Change some fields of a customer; refuses if `expected_version` is stale."""
    actor.require("customers.change", _("You may not change customers."))
    customer = selectors.get_customer(actor=actor, number=number, for_update=True)
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
    cleaned = clean_customer_data(
        data, current=current, default_region=actor.tenant.default_country
    )
    relations = _resolve_relations(actor.tenant, cleaned)
    if "features" in cleaned:
        cleaned["features"] = _check_features(cleaned["features"])

    changes: dict[str, list] = {}
    for field, value in cleaned.items():
        if field in RELATION_FIELDS:
            continue
        old = getattr(customer, field)
        if old != value:
            if field not in _UNTRACKED_FIELDS:
                changes[field] = [_history_value(field, old), _history_value(field, value)]
            setattr(customer, field, value)
    before = _relation_names(customer) if relations else {}
    for name, objects in relations.items():
        new_names = sorted(getattr(o, "code", None) or o.name for o in objects)
        if before[name] != new_names:
            changes[name] = [before[name], new_names]
    # Permissions are checked on what really changes: sending back an unchanged value
    # (a full form, a POS echoing the record) is not an attempt to change it.
    _check_field_permissions(actor, set(changes))
    if not changes:
        return customer

    for name, objects in relations.items():
        if name in changes:
            getattr(customer, name).set(objects)
    if "allowed_locations" in changes:
        customer.location_restricted = bool(relations["allowed_locations"])
    now = timezone.now()
    customer.updated_at = now
    customer.version += 1
    customer.search_text = build_search_text(customer)
    customer.save()
    action = CustomerEvent.Action.UPDATED
    if set(changes) == {"blocked", "lock_text"} or set(changes) == {"blocked"}:
        action = (
            CustomerEvent.Action.BLOCKED if customer.blocked else CustomerEvent.Action.UNBLOCKED
        )
    _record_event(actor=actor, customer=customer, action=action, changes=changes, at=now)
    return customer


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


@transaction.atomic
def set_customer_picture(*, actor: Actor, number: int, upload: UploadedFile | None) -> Customer:
    """Store a validated picture (or remove it with None)."""
    from django.conf import settings
    from PIL import Image, UnidentifiedImageError

    actor.require("customers.change", _("You may not change customers."))
    customer = selectors.get_customer(actor=actor, number=number, for_update=True)
    if upload is not None:
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
    old_name = customer.picture.name if customer.picture else ""
    if upload is not None:
        # A random name: the address of a picture cannot be guessed from the customer number.
        customer.picture.save(f"{secrets.token_urlsafe(18)}.{suffix}", upload, save=False)
    else:
        customer.picture = ""
    if old_name:
        # A removed picture is personal data: delete the file once the change is committed.
        storage = customer.picture.storage
        transaction.on_commit(lambda: storage.delete(old_name))
    customer.version += 1
    customer.updated_at = timezone.now()
    customer.save()
    _record_event(
        actor=actor,
        customer=customer,
        action=CustomerEvent.Action.UPDATED,
        changes={"picture": [bool(old_name), bool(upload)]},
        at=customer.updated_at,
    )
    return customer


# --- tenant defaults -------------------------------------------------------------------

DEFAULT_FIELDS = {
    "price_level": "default_price_level",
    "payment_method": "default_payment_method",
    "payment_term_days": "default_payment_term_days",
    "newsletter": "default_newsletter",
}


@transaction.atomic
def update_tenant_defaults(*, actor: Actor, data: Mapping[str, Any]) -> Tenant:
    """Change the defaults new customers get; existing customers are left as they are."""
    actor.require("tenant.manage", _("Only a tenant administrator may change defaults."))
    tenant = Tenant.objects.select_for_update().get(pk=actor.tenant.pk)
    errors = FieldErrors()
    from .validation import CLEANERS

    for field, value in data.items():
        if field == "group":
            if value in (None, ""):
                tenant.default_group = None
            else:
                group = CustomerGroup.objects.filter(name=value).first()
                if group is None:
                    errors.add("group", _("There is no customer group %(name)s.") % {"name": value})
                tenant.default_group = group
        elif field in DEFAULT_FIELDS:
            try:
                setattr(tenant, DEFAULT_FIELDS[field], CLEANERS[field](value))
            except Invalid as exc:
                errors.add(field, str(exc))
        else:
            errors.add(field, _("Not a default for new customers."))
    errors.raise_if_any("invalid", _("Some defaults are not valid."))
    tenant.save()
    return tenant


def _customers_differing_from_default(tenant: Tenant, field: str):
    if field == "group":
        if tenant.default_group_id is None:
            return Customer.objects.none()
        return Customer.objects.exclude(groups=tenant.default_group_id)
    return Customer.objects.exclude(**{field: getattr(tenant, DEFAULT_FIELDS[field])})


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


@transaction.atomic
def apply_tenant_default(*, actor: Actor, field: str, batch_size: int = 2000) -> int:
    """Give every existing customer the tenant's current default for `field`."""
    actor.require("tenant.manage", _("Only a tenant administrator may apply defaults."))
    preview_tenant_default(actor=actor, field=field)
    tenant = Tenant.objects.get(pk=actor.tenant.pk)
    now = timezone.now()
    changed = 0
    label = actor.label[:200]
    loc = actor.location.code if actor.location else ""
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
                [Through(customer_id=pk, customergroup_id=tenant.default_group_id) for pk in batch],
                ignore_conflicts=True,
            )
            name = tenant.default_group.name
            changes = {
                pk: {"groups": [sorted(names), sorted([*names, name])]}
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
        CustomerEvent.objects.bulk_create(
            [
                CustomerEvent(
                    tenant=tenant,
                    customer_id=pk,
                    at=now,
                    action=CustomerEvent.Action.DEFAULT_APPLIED,
                    user=actor.user,
                    api_client=actor.api_client,
                    actor_label=label,
                    location_code=loc,
                    changes=changes[pk],
                )
                for pk in batch
            ]
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
        CustomerEvent.objects.bulk_create(
            [
                CustomerEvent(
                    tenant_id=location.tenant_id,
                    customer_id=pk,
                    at=now,
                    action=CustomerEvent.Action.LOCATION_RELEASED,
                    actor_label="system",
                    changes={"allowed_locations": [location.code, None]},
                )
                for pk in affected
            ]
        )
    return len(affected)
