"""Reads of the customer master: visibility, lists, records, lookups, history."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import DomainError, NotFound
from stammgast.core.replicas import reads_from_replica
from stammgast.core.tenancy import active_tenant
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import MAX_CUSTOMER_NUMBER, Tenant

from . import records
from .filters import SORTS, CustomerFilter, apply_filter, check_filter, served_at
from .models import Customer, CustomerEvent, CustomerGroup
from .search import MIN_SEARCH_TERM as MIN_SEARCH_TERM
from .search import search_too_short as search_too_short
from .validation import country_name as country_name
from .validation import is_plain_text, phone_to_e164

MAX_PAGE = 200


def visible_customers(actor: Actor) -> QuerySet[Customer]:
    """The active tenant's customers this actor may see (location restrictions applied)."""
    qs = Customer.objects.filter(erased_at=None)
    if actor.guest:
        # A guest sees their own record and no other (none while registering).
        qs = qs.filter(number=actor.own_customer) if actor.own_customer else qs.none()
    if actor.location_bound:
        qs = qs.filter(served_at(location_id=actor.location.pk))
    return qs


def get_customer(*, actor: Actor, number: int) -> Customer:
    try:
        return visible_customers(actor).get(number=number)
    except Customer.DoesNotExist:
        raise NotFound(_("There is no customer %(n)s.") % {"n": number}) from None


def new_customer_defaults(tenant: Tenant) -> dict[str, Any]:
    """What a new customer of the tenant gets unless told otherwise (the group aside)."""
    return {
        "price_level": tenant.default_price_level,
        "payment_method": tenant.default_payment_method,
        "payment_term_days": tenant.default_payment_term_days,
        "newsletter": tenant.default_newsletter,
    }


def default_group() -> CustomerGroup | None:
    """The active tenant's group every new customer joins, if it has one."""
    return CustomerGroup.objects.filter(is_default=True).first()


def group_named(name: str) -> CustomerGroup:
    group = CustomerGroup.objects.filter(name=name).first()
    if group is None:
        message = _("There is no customer group %(name)s.") % {"name": name}
        raise DomainError("invalid", message, fields={"group": message}, status=422)
    return group


def group_ids(customer: Customer) -> list[int]:
    """The ids of the customer's groups (for rules other apps keep per group)."""
    return list(
        Customer.groups.through.objects.filter(customer_id=customer.pk).values_list(
            "customergroup_id", flat=True
        )
    )


def group_names(customer: Customer) -> list[str]:
    """The names of the customer's groups, sorted."""
    through = Customer.groups.through.objects.filter(customer_id=customer.pk)
    return sorted(through.values_list("customergroup__name", flat=True))


def relation_names(customer: Customer) -> dict[str, list[str]]:
    """Names of the customer's groups and tags and codes of its locations, sorted."""
    through = Customer.groups.through.objects.filter(customer_id=customer.pk)
    tags = Customer.tags.through.objects.filter(customer_id=customer.pk)
    places = Customer.allowed_locations.through.objects.filter(customer_id=customer.pk)
    return {
        "groups": sorted(through.values_list("customergroup__name", flat=True)),
        "tags": sorted(tags.values_list("tag__name", flat=True)),
        "allowed_locations": sorted(places.values_list("location__code", flat=True))
        if customer.location_restricted
        else [],
    }


# --- for a bulk import ------------------------------------------------------------------

E164_FIELDS = ("phone_private_e164", "phone_business_e164", "mobile_e164")


def contact_values() -> Iterator[tuple]:
    """(number, email, phone_private_e164, phone_business_e164, mobile_e164) of every
    customer of the active tenant, streamed."""
    return Customer.objects.values_list("number", "email", *E164_FIELDS).iterator(chunk_size=20_000)


def customers_in_bulk() -> QuerySet[Customer]:
    """The active tenant's customers, for lookups while a bulk import writes.

    The planner's statistics cannot see the rows the import itself has written in its
    transaction: for a new tenant they say it has no customers, and a lookup by tenant and
    value would then walk all of the tenant's rows through the tenant's first index,
    taking longer with every batch. `(SELECT id)` hides the value, so the planner uses the
    index of tenant and value, which is right whatever the tenant's size.
    """
    return Customer.all_tenants.filter(tenant_id=RawSQL("(SELECT %s)", (active_tenant().pk,)))


def numbers_by_email(emails: Iterable[str]) -> list[tuple[str, int]]:
    """(email, number) of the customers with one of these e-mail addresses."""
    emails = list(emails)
    if not emails:
        return []
    return list(customers_in_bulk().filter(email__in=emails).values_list("email", "number"))


def numbers_by_phone(phones: Iterable[str]) -> list[tuple]:
    """(phone_private_e164, phone_business_e164, mobile_e164, number) of the customers with
    one of these numbers (E.164) in any of their phone fields."""
    phones = list(phones)
    if not phones:
        return []
    match = Q()
    for name in E164_FIELDS:
        match |= Q(**{f"{name}__in": phones})
    return list(customers_in_bulk().filter(match).values_list(*E164_FIELDS, "number"))


def number_in_use(number: int) -> bool:
    """Whether any customer of the active tenant has this number (whoever may see it)."""
    return Customer.objects.filter(number=number).exists()


def visible_numbers(*, actor: Actor, numbers: Iterable[int]) -> set[int]:
    """Which of these customer numbers the actor may see."""
    return set(
        visible_customers(actor).filter(number__in=list(numbers)).values_list("number", flat=True)
    )


# What a money movement reads of its customer: who, whether they may pay, their groups.
PAYER_FIELDS = ("id", "tenant_id", "number", "kind", "first_name", "last_name", "company_name",
                "alias", "blocked", "lock_text", "payment_term_days")  # fmt: skip


def get_payer(*, actor: Actor, number: int) -> Customer:
    """The customer (visible to the actor) with only what a payment needs read."""
    try:
        return visible_customers(actor).only(*PAYER_FIELDS).get(number=number)
    except Customer.DoesNotExist:
        raise NotFound(_("There is no customer %(n)s.") % {"n": number}) from None


def filter_customers(actor: Actor, f: CustomerFilter) -> QuerySet[Customer]:
    """The customers the actor may see that the filter selects (unsorted)."""
    return apply_filter(visible_customers(actor), f)


def count_customers(*, actor: Actor, f: CustomerFilter) -> int:
    return filter_customers(actor, f).count()


def check_text_params(**params: str | None) -> None:
    """Refuse lookup text no database can compare (NUL, broken surrogates)."""
    errors = {
        name: [_("Contains control characters.")]
        for name, value in params.items()
        if value and not is_plain_text(value)
    }
    if errors:
        raise DomainError(
            "invalid_parameter", _("Some parameters are not valid."), fields=errors, status=400
        )


# --- cursors ---------------------------------------------------------------------------


# Cursors are signed: a page position the server did not hand out is refused before any
# of its values reaches a query (a forged date or number cannot make a query fail).
_CURSORS = signing.Signer(salt="stammgast.customers.cursor")
MAX_CURSOR = 1000


def encode_cursor(values: dict) -> str:
    return _CURSORS.sign_object(values)


def decode_cursor(cursor: str | None) -> dict | None:
    if not cursor:
        return None
    try:
        if len(cursor) > MAX_CURSOR:
            raise signing.BadSignature
        value = _CURSORS.unsign_object(cursor)
        if not isinstance(value, dict):
            raise signing.BadSignature
        return value
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise DomainError(
            "invalid_cursor",
            _("The cursor is not valid; start from the first page."),
            fields={"cursor": _("Not valid.")},
            status=400,
        ) from None


@dataclass
class Page:
    items: list
    next_cursor: str | None
    # The page before this one (customer lists only); None on the first page.
    previous_cursor: str | None = None


def _cursor_value(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _parse_cursor_value(field: str, value):
    if field in ("created_at", "updated_at"):
        return dt.datetime.fromisoformat(value)
    if field == "number" and not isinstance(value, int):
        raise ValueError
    if field != "number" and not isinstance(value, str):
        raise ValueError
    return value


@reads_from_replica
def list_customers(
    *,
    actor: Actor,
    f: CustomerFilter,
    cursor: str | None = None,
    limit: int = 50,
    only: tuple[str, ...] | None = None,
) -> Page:
    """One keyset page of customers in the filter's order (ties broken by number).

    A page's `next_cursor` leads to the page after it, its `previous_cursor` to the page
    before (read backwards from its first customer), so paging either way stays as fast
    on the thousandth page as on the first. `only` names the fields the caller shows; the
    others are not read (a page of the API's summaries needs 13 of about 50 columns)."""
    limit = max(1, min(limit, MAX_PAGE))
    check_filter(f)
    order = SORTS[f.sort]
    fields = [o.lstrip("-") for o in order]
    qs = filter_customers(actor, f)
    position = decode_cursor(cursor)
    backward = bool(position and position.get("before") is True)
    if position is not None:
        try:
            values = [_parse_cursor_value(fd, position[fd]) for fd in fields]
        except (KeyError, TypeError, ValueError):
            raise DomainError(
                "invalid_cursor",
                _("The cursor is not valid."),
                status=400,
                fields={"cursor": _("Not valid.")},
            ) from None
        # Row-value comparison "(a, b, c) > (x, y, z)" written as nested OR/AND; "<" when
        # reading backwards.
        after = Q(pk__in=[])
        for i, fd in enumerate(fields):
            smaller = order[i].startswith("-") != backward
            step = Q(**{f"{fd}__{'lt' if smaller else 'gt'}": values[i]})
            for j in range(i):
                step &= Q(**{fields[j]: values[j]})
            after |= step
        qs = qs.filter(after)
    if backward:
        qs = qs.order_by(*(o[1:] if o.startswith("-") else f"-{o}" for o in order))
    else:
        qs = qs.order_by(*order)
    qs = qs.only(*only, *fields) if only else qs.defer(*LIST_DEFERRED)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if backward:
        rows.reverse()
    attach_group_names(rows)

    def at(row, **extra) -> str:
        return encode_cursor({**{fd: _cursor_value(getattr(row, fd)) for fd in fields}, **extra})

    next_cursor = previous_cursor = None
    if rows and (more or backward):
        next_cursor = at(rows[-1])
    if rows and (more if backward else position is not None):
        previous_cursor = at(rows[0], before=True)
    return Page(items=rows, next_cursor=next_cursor, previous_cursor=previous_cursor)


# Up to this many customers a list counts them; above, PostgreSQL's estimate will do.
COUNT_EXACT_UP_TO = 10_000


@reads_from_replica
def count_customers_for_list(*, actor: Actor, f: CustomerFilter) -> tuple[int, bool]:
    """How many customers the filter selects, and whether that is an estimate.

    Counting stops after COUNT_EXACT_UP_TO rows, so a list of millions costs no more than
    one of ten thousand; beyond that PostgreSQL's planner estimate is given (SQLite, the
    embedded default for small bases, counts exactly)."""
    check_filter(f)
    qs = filter_customers(actor, f).order_by()
    counted = qs[: COUNT_EXACT_UP_TO + 1].count()
    if counted <= COUNT_EXACT_UP_TO:
        return counted, False
    if db.connection().vendor != "postgresql":
        return qs.count(), False
    plan = json.loads(qs.values("pk").explain(format="json"))
    return max(int(plan[0]["Plan"]["Plan Rows"]), counted), True


# Large or internal columns lists and lookups never show.
LIST_DEFERRED = ("third_party_memo", "comments", "search_text", "features")


def attach_group_names(customers: list[Customer]) -> list[Customer]:
    """Set `group_names` on each customer with one query for the whole page."""
    names: dict[int, list[str]] = {c.pk: [] for c in customers}
    if names:
        pairs = (
            Customer.groups.through.objects.filter(customer_id__in=list(names))
            .order_by("customergroup__name")
            .values_list("customer_id", "customergroup__name")
        )
        for customer_id, name in pairs:
            names[customer_id].append(name)
    for customer in customers:
        customer.group_names = names[customer.pk]
    return customers


# --- lookup ----------------------------------------------------------------------------

# Other ways of naming a customer at the till, added by the apps that own them (cards):
# name -> resolve(tenant_id=..., value=...) giving a query of the customers' ids.
LOOKUP_KEYS: dict[str, Callable[..., QuerySet]] = {}


def register_lookup(name: str, resolve: Callable[..., QuerySet]) -> None:
    """Let `GET /customers/lookup?<name>=...` find customers through `resolve`.

    `resolve(tenant_id=..., value=...)` must filter by the tenant it is given (not the
    active one): its query is compiled once and run for every tenant.
    """
    LOOKUP_KEYS[name] = resolve


def _visible(p: records.Placeholders, location_bound: bool) -> QuerySet[Customer]:
    qs = Customer.all_tenants.filter(tenant_id=p.tenant, erased_at=None)
    return qs.filter(served_at(location_id=p.location)) if location_bound else qs


def customer_record(*, actor: Actor, number: int) -> dict[str, Any]:
    """The whole record of one customer as the API shows it (with its "etag"), or NotFound.

    Prepared on PostgreSQL: the plan of a unique key does not depend on the value.
    """
    if not 1 <= number <= MAX_CUSTOMER_NUMBER:
        raise NotFound(_("There is no customer %(n)s.") % {"n": number})
    found = records.fetch(
        actor=actor,
        shape="record by number",
        build=lambda p, bound: _visible(p, bound).filter(number=p.number),
        value=number,
        columns=records.RECORD_COLUMNS,
        relations=records.RECORD_RELATIONS,
        prepared=True,
    )
    if not found:
        raise NotFound(_("There is no customer %(n)s.") % {"n": number})
    return found[0]


def _summaries(actor: Actor, shape: str, build, value, *, prepared: bool = False) -> list[dict]:
    found = records.fetch(
        actor=actor,
        shape=shape,
        build=build,
        value=value,
        columns=records.SUMMARY_COLUMNS,
        relations=records.SUMMARY_RELATIONS,
        prepared=prepared,
    )
    return [records.with_display_name(s) for s in found]


def _by_phone(p: records.Placeholders, bound: bool) -> QuerySet[Customer]:
    # Any of a customer's numbers. Prepared: with no number stored as NULL (not "") the
    # generic plan looks the number up in the three phone indexes whatever it is (see
    # Customer.phone_private_e164).
    return _visible(p, bound).filter(
        Q(phone_private_e164=p.text) | Q(mobile_e164=p.text) | Q(phone_business_e164=p.text)
    )


def lookup_customers(*, actor: Actor, **given: str | None) -> list[dict]:
    """Caller-ID, e-mail or card lookup: summaries of exact matches only, at most 20."""
    keys = ("phone", "email", *LOOKUP_KEYS)
    named = {k: v for k, v in given.items() if v}
    if len(named) != 1 or not set(named) <= set(keys):
        message = _("Give exactly one of %(keys)s.") % {"keys": ", ".join(keys)}
        raise DomainError("lookup_needs_one", message, status=400, fields={"phone": message})
    ((key, value),) = named.items()
    check_text_params(**{key: value})
    if key == "phone":
        e164 = phone_to_e164(value, actor.tenant.default_country)
        if e164 is None:
            raise DomainError(
                "invalid_phone",
                _("Not a phone number."),
                status=400,
                fields={"phone": _("Not a phone number.")},
            )
        return _summaries(actor, "summaries by phone", _by_phone, e164, prepared=True)
    if key == "email":
        return _summaries(
            actor,
            "summaries by email",
            lambda p, bound: _visible(p, bound).filter(email=p.text),
            value.strip().lower(),
        )
    resolve = LOOKUP_KEYS[key]
    return _summaries(
        actor,
        f"summaries by {key}",
        lambda p, bound: _visible(p, bound).filter(
            pk__in=resolve(tenant_id=p.tenant, value=p.text)
        ),
        value.strip(),
    )


# --- history ---------------------------------------------------------------------------


def customer_history(
    *, actor: Actor, number: int, cursor: str | None = None, limit: int = 50
) -> Page:
    customer = get_customer(actor=actor, number=number)
    limit = max(1, min(limit, MAX_PAGE))
    qs = CustomerEvent.objects.filter(customer=customer).order_by("-id")
    position = decode_cursor(cursor)
    if position is not None:
        try:
            qs = qs.filter(id__lt=int(position["id"]))
        except (KeyError, TypeError, ValueError):
            raise DomainError(
                "invalid_cursor",
                _("The cursor is not valid."),
                status=400,
                fields={"cursor": _("Not valid.")},
            ) from None
    rows = list(qs[: limit + 1])
    next_cursor = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)


def customer_by_reference(*, actor: Actor, ref: Any) -> Customer:
    """The customer a bill names: a number, or {"number"|"card"|"email": ...}."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        return get_customer(actor=actor, number=ref)
    if isinstance(ref, Mapping) and len(ref) == 1:
        ((key, value),) = ref.items()
        if key == "number" and isinstance(value, int) and not isinstance(value, bool):
            return get_customer(actor=actor, number=value)
        if isinstance(value, str):
            found = lookup_customers(actor=actor, **{key: value})
            if len(found) == 1:
                return get_customer(actor=actor, number=found[0]["number"])
            if len(found) > 1:
                raise DomainError(
                    "customer_ambiguous",
                    _("More than one customer has this %(key)s.") % {"key": key},
                    fields={"customer": _("Give the customer number.")},
                    status=422,
                )
            raise NotFound(_("There is no such customer."))
    raise DomainError(
        "invalid_customer",
        _('Name the customer by number, or as {"card": ...} or {"email": ...}.'),
        fields={"customer": _("Not valid.")},
        status=422,
    )


def country_choices(language: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of every country, sorted by name in the language (for other apps'
    forms)."""
    from .validation import country_choices as choices

    return choices(language)
