"""Reads of the customer master: visibility, search, lookup, history, keyset pages."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import asdict, dataclass
from dataclasses import fields as dataclass_fields

from django.db import connection
from django.db.models import Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError, NotFound
from stammgast.core.text import fold, search_form
from stammgast.tenants.actor import Actor

from . import records
from .models import Customer, CustomerEvent
from .validation import is_plain_text, phone_to_e164

MIN_SEARCH_TERM = 3
MAX_PAGE = 200


def visible_customers(actor: Actor) -> QuerySet[Customer]:
    """The active tenant's customers this actor may see (location restrictions applied)."""
    qs = Customer.objects.all()
    if actor.location_bound:
        qs = qs.filter(
            Q(location_restricted=False)
            | Q(
                pk__in=Customer.allowed_locations.through.objects.filter(
                    location_id=actor.location.pk
                ).values("customer_id")
            )
        )
    return qs


def get_customer(*, actor: Actor, number: int, for_update: bool = False) -> Customer:
    qs = visible_customers(actor)
    if for_update:
        qs = (
            qs.select_for_update(of=("self",))
            if connection.features.has_select_for_update_of
            else qs.select_for_update()
        )
    try:
        return qs.get(number=number)
    except Customer.DoesNotExist:
        raise NotFound(_("There is no customer %(n)s.") % {"n": number}) from None


# --- cursors ---------------------------------------------------------------------------


def encode_cursor(values: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None) -> dict | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(value, dict):
            raise ValueError
        return value
    except (ValueError, binascii.Error, UnicodeDecodeError):
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


# --- search ----------------------------------------------------------------------------


def search_terms(q: str) -> list[str]:
    """What search_text must contain for `q`: one substring per word, all must match.

    Words are compared in search_form() spelling, the one search_text is stored in:
    "Müller", "Mueller" and "muller" all look for "muller". Words of fewer than 3
    characters are left out. A word that its spelling shortens to 2 characters ("Zoë",
    "mue" while typing "Mueller") looks for a word starting with it (" zo", " mu"): two
    characters are too short to look for anywhere. A phone number in any spelling
    ("+49 151 2345678", "0151/2345678") is one word of digits.
    """
    q = q.strip()
    if _PHONE_LIKE.fullmatch(q) and not q.isdigit():
        digits = re.sub(r"\D", "", q)
        if len(digits) < MIN_SEARCH_TERM:
            return []
        # "0049 30 ..." is stored as "4930...": the E.164 form says which digits count.
        e164 = phone_to_e164(q) if digits.startswith("00") else None
        return [e164[1:] if e164 else digits]
    terms = []
    for word in q.split():
        if len(fold(word)) < MIN_SEARCH_TERM:
            continue
        form = search_form(word)
        term = form if len(form) >= MIN_SEARCH_TERM else " " + form
        if term not in terms:
            terms.append(term)
    return terms


_PHONE_LIKE = re.compile(r"\+?[\d\s()/.-]+")


def _sqlite_fts_query(terms: list[str]) -> str:
    # Each term is a quoted phrase: FTS5's trigram tokenizer matches it as a substring.
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)


def apply_search(qs: QuerySet[Customer], q: str) -> QuerySet[Customer]:
    """Customers of `qs` whose searchable fields contain every word of `q`."""
    q = (q or "").strip()
    if not q:
        return qs
    terms = search_terms(q)
    number_match = Q(number=int(q)) if re.fullmatch(r"\d{1,7}", q) else Q(pk__in=[])
    if not terms:
        if re.fullmatch(r"\d{1,7}", q):
            return qs.filter(number_match)
        raise DomainError(
            "search_too_short",
            _("Enter at least %(n)d characters to search.") % {"n": MIN_SEARCH_TERM},
            fields={"q": _("Enter at least %(n)d characters.") % {"n": MIN_SEARCH_TERM}},
            status=400,
        )
    if connection.vendor == "postgresql":
        # LIKE '%term%': with a pg_trgm GIN index on search_text, an index-assisted
        # substring test, one per word.
        text_match = Q()
        for term in terms:
            text_match &= Q(search_text__contains=term)
        return qs.filter(text_match | number_match)
    # SQLite: FTS5's trigram index for terms of 3+ characters, LIKE for word starts.
    long_terms = [t for t in terms if not t.startswith(" ")]
    text_match = Q()
    for term in terms:
        if term.startswith(" "):
            text_match &= Q(search_text__contains=term)
    if long_terms:
        text_match &= Q(
            pk__in=RawSQL(
                "SELECT rowid FROM customers_customer_fts WHERE customers_customer_fts MATCH %s",
                [_sqlite_fts_query(long_terms)],
            )
        )
    return qs.filter(text_match | number_match)


SORTS = {
    "number": ("number",),
    "-number": ("-number",),
    "name": ("last_name", "first_name", "number"),
    "-name": ("-last_name", "-first_name", "-number"),
    "postcode": ("postcode", "number"),
    "-postcode": ("-postcode", "-number"),
    "created": ("created_at", "number"),
    "-created": ("-created_at", "-number"),
    "changed": ("updated_at", "number"),
    "-changed": ("-updated_at", "-number"),
}


@dataclass
class CustomerFilter:
    """The filter of the customer list; Export exports exactly what it selects."""

    q: str = ""
    group: str | None = None
    blocked: bool | None = None
    location: str | None = None
    newsletter: bool | None = None
    price_level: int | None = None
    tag: str | None = None
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    changed_from: dt.date | None = None
    changed_to: dt.date | None = None
    sort: str = "number"

    def as_dict(self) -> dict[str, str]:
        """The settings that are set, as text (for the export's filter file and links)."""
        out = {}
        for key, value in asdict(self).items():
            if value in (None, "") or (key == "sort" and value == "number"):
                continue
            out[key] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return out


# The customer list's query parameters: the filter's fields, nothing else.
FILTER_PARAMS = tuple(f.name for f in dataclass_fields(CustomerFilter))


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def check_text_params(**params: str | None) -> None:
    """Refuse search and filter text no database can compare (NUL, broken surrogates)."""
    errors = {
        name: [_("Contains control characters.")]
        for name, value in params.items()
        if value and not is_plain_text(value)
    }
    if errors:
        raise DomainError(
            "invalid_parameter", _("Some parameters are not valid."), fields=errors, status=400
        )


def filter_customers(actor: Actor, f: CustomerFilter) -> QuerySet[Customer]:
    check_text_params(q=f.q, group=f.group, tag=f.tag, location=f.location)
    qs = visible_customers(actor)
    qs = apply_search(qs, f.q)
    if f.group:
        qs = qs.filter(
            pk__in=Customer.groups.through.objects.filter(customergroup__name=f.group).values(
                "customer_id"
            )
        )
    if f.tag:
        qs = qs.filter(
            pk__in=Customer.tags.through.objects.filter(tag__name=f.tag).values("customer_id")
        )
    if f.blocked is not None:
        qs = qs.filter(blocked=f.blocked)
    if f.newsletter is not None:
        qs = qs.filter(newsletter=f.newsletter)
    if f.price_level is not None:
        qs = qs.filter(price_level=f.price_level)
    if f.location:
        # Customers that location may serve: unrestricted ones and those restricted to it.
        qs = qs.filter(
            Q(location_restricted=False)
            | Q(
                pk__in=Customer.allowed_locations.through.objects.filter(
                    location__code=f.location
                ).values("customer_id")
            )
        )
    if f.created_from:
        qs = qs.filter(created_at__gte=_day_start(f.created_from))
    if f.created_to:
        qs = qs.filter(created_at__lt=_day_start(f.created_to + dt.timedelta(days=1)))
    if f.changed_from:
        qs = qs.filter(updated_at__gte=_day_start(f.changed_from))
    if f.changed_to:
        qs = qs.filter(updated_at__lt=_day_start(f.changed_to + dt.timedelta(days=1)))
    return qs


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


def list_customers(
    *,
    actor: Actor,
    f: CustomerFilter,
    cursor: str | None = None,
    limit: int = 50,
    only: tuple[str, ...] | None = None,
) -> Page:
    """One keyset page of customers in the filter's order (ties broken by number).

    `only` names the fields the caller shows; the others are not read (a page of the
    API's summaries needs 13 of about 50 columns)."""
    limit = max(1, min(limit, MAX_PAGE))
    if f.sort not in SORTS:
        raise DomainError(
            "invalid_sort",
            _("Unknown sort order."),
            status=400,
            fields={"sort": _("Choose one of: %(s)s.") % {"s": ", ".join(SORTS)}},
        )
    order = SORTS[f.sort]
    fields = [o.lstrip("-") for o in order]
    qs = filter_customers(actor, f)
    position = decode_cursor(cursor)
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
        # Row-value comparison "(a, b, c) > (x, y, z)" written as nested OR/AND.
        after = Q(pk__in=[])
        for i, fd in enumerate(fields):
            step = Q(**{f"{fd}__{'lt' if order[i].startswith('-') else 'gt'}": values[i]})
            for j in range(i):
                step &= Q(**{fields[j]: values[j]})
            after |= step
        qs = qs.filter(after)
    qs = qs.order_by(*order)
    qs = qs.only(*only, *fields) if only else qs.defer(*LIST_DEFERRED)
    rows = attach_group_names(list(qs[: limit + 1]))
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({fd: _cursor_value(getattr(last, fd)) for fd in fields})
    return Page(items=rows[:limit], next_cursor=next_cursor)


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


def customer_relation_names(customer: Customer) -> dict[str, list[str]]:
    """Names of the customer's groups and tags and codes of its locations, in one query
    (two when the customer is restricted to locations)."""
    groups = (
        Customer.groups.through.objects.filter(customer_id=customer.pk)
        .annotate(kind=Value("groups"))
        .values_list("kind", "customergroup__name")
    )
    tags = (
        Customer.tags.through.objects.filter(customer_id=customer.pk)
        .annotate(kind=Value("tags"))
        .values_list("kind", "tag__name")
    )
    out: dict[str, list[str]] = {"groups": [], "tags": [], "allowed_locations": []}
    for kind, name in groups.union(tags, all=True):
        out[kind].append(name)
    if customer.location_restricted:
        out["allowed_locations"] = list(
            Customer.allowed_locations.through.objects.filter(customer_id=customer.pk).values_list(
                "location__code", flat=True
            )
        )
    return {k: sorted(v) for k, v in out.items()}


# --- lookup ----------------------------------------------------------------------------


def lookup_customers(
    *, actor: Actor, phone: str | None = None, email: str | None = None, card: str | None = None
) -> list[dict]:
    """Caller-ID, e-mail or card lookup: summaries of exact matches only, at most 20."""
    given = [x for x in (phone, email, card) if x]
    if len(given) != 1:
        raise DomainError(
            "lookup_needs_one",
            _("Give exactly one of phone, email or card."),
            status=400,
            fields={"phone": _("Give exactly one of phone, email or card.")},
        )
    check_text_params(phone=phone, email=email, card=card)
    if phone:
        e164 = phone_to_e164(phone, actor.tenant.default_country)
        if e164 is None:
            raise DomainError(
                "invalid_phone",
                _("Not a phone number."),
                status=400,
                fields={"phone": _("Not a phone number.")},
            )
        return records.summaries_by_phone(actor=actor, e164=e164)
    if email:
        return records.summaries_by_email(actor=actor, email=email.strip().lower())
    return records.summaries_by_card(actor=actor, card=card.strip())


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
