"""The customer filter: parsed and checked once, applied the same way by every list.

The API's list, the portal's list, the export (portal, API, CLI) and the dashboard's
figures all select customers with a CustomerFilter made by `parse_filter` from their query
parameters or options, so a parameter means the same everywhere and a bad one is refused
with the same code and message, naming the parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from stammgast.core.errors import DomainError

from .models import Customer
from .search import apply_search
from .validation import is_plain_text

SORTS = {
    "number": ("number",),
    "-number": ("-number",),
    # Businesses by company, people by name and first name, in German order.
    "name": ("sort_name", "number"),
    "-name": ("-sort_name", "-number"),
    "postcode": ("postcode", "number"),
    "-postcode": ("-postcode", "-number"),
    "created": ("created_at", "number"),
    "-created": ("-created_at", "-number"),
    "changed": ("updated_at", "number"),
    "-changed": ("-updated_at", "-number"),
}
# Dates a filter may name: wide enough for any customer base, narrow enough that the day
# after the last one is still a date.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)
MAX_TEXT = 200
_YES = ("1", "true", "yes", "ja", "on")
_NO = ("0", "false", "no", "nein", "off")


@dataclass(frozen=True)
class CustomerFilter:
    """The filter of the customer list; Export exports exactly what it selects."""

    q: str = ""
    group: str | None = None
    blocked: bool | None = None
    location: str | None = None
    newsletter: bool | None = None
    # A consent purpose the customers have granted (privacy's consents).
    consent: str | None = None
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

    def as_params(self) -> dict[str, str]:
        """The filter as query parameters that `parse_filter` reads back to this filter."""
        params = {}
        for key, text in self.as_dict().items():
            value = getattr(self, key)
            params[key] = ("true" if value else "false") if isinstance(value, bool) else text
        return params


# The filter's parameters, nothing else.
FILTER_PARAMS = tuple(f.name for f in dataclass_fields(CustomerFilter))


_SORT_WORDS = {
    "number": gettext_lazy("by number"),
    "-number": gettext_lazy("by number, highest first"),
    "name": gettext_lazy("by name"),
    "-name": gettext_lazy("by name, Z to A"),
    "postcode": gettext_lazy("by postcode"),
    "-postcode": gettext_lazy("by postcode, highest first"),
    "created": gettext_lazy("by creation, oldest first"),
    "-created": gettext_lazy("by creation, newest first"),
    "changed": gettext_lazy("by last change, oldest first"),
    "-changed": gettext_lazy("by last change, newest first"),
}


def describe_filter(f: CustomerFilter) -> list[tuple[str, str]]:
    """The filter in words, setting by setting, in the active language: [("Customer
    group", "Staff"), ("Blocked", "only blocked customers"), ...]; [] for no filter."""

    def day(value: dt.date) -> str:
        return date_format(value, "SHORT_DATE_FORMAT")

    def either(value: bool | None, yes: str, no: str) -> str:
        return yes if value else no

    out: list[tuple[str, str]] = []
    if f.q:
        out.append((_("Search"), f"“{f.q}”"))
    if f.group:
        out.append((_("Customer group"), f.group))
    if f.blocked is not None:
        out.append(
            (
                _("Blocked"),
                either(f.blocked, _("only blocked customers"), _("only customers not blocked")),
            )
        )
    if f.newsletter is not None:
        out.append(
            (
                _("Newsletter"),
                either(f.newsletter, _("only with newsletter"), _("only without newsletter")),
            )
        )
    if f.consent:
        out.append((_("Consent given"), f.consent))
    if f.location:
        out.append((_("Location"), f.location))
    if f.price_level is not None:
        out.append((_("Price level"), str(f.price_level)))
    if f.tag:
        out.append((_("Tag"), f.tag))
    for label, start, end in (
        (_("Created"), f.created_from, f.created_to),
        (_("Last changed"), f.changed_from, f.changed_to),
    ):
        if start and end:
            out.append(
                (label, _("from %(start)s to %(end)s") % {"start": day(start), "end": day(end)})
            )
        elif start:
            out.append((label, _("from %(start)s") % {"start": day(start)}))
        elif end:
            out.append((label, _("until %(end)s") % {"end": day(end)}))
    if f.sort != "number":
        out.append((_("Sorted"), str(_SORT_WORDS.get(f.sort, f.sort))))
    return out


def filter_in_words(f: CustomerFilter) -> str:
    """The filter as one line: "Customer group: Staff, Blocked: only blocked customers"."""
    described = describe_filter(f)
    if not described:
        return _("all customers")
    return ", ".join(f"{label}: {value}" for label, value in described)


def parse_filter(params: Mapping[str, Any], *, also: tuple[str, ...] = ()) -> CustomerFilter:
    """Query parameters (text, as any surface receives them) -> CustomerFilter.

    Empty values mean "not set". Every bad parameter is named in one DomainError (400,
    code "invalid_filter"); a parameter that is neither a filter's nor one of `also` (the
    caller's own, such as `cursor`) is refused rather than silently ignored.
    """
    errors: dict[str, str] = {}

    def text(key: str) -> str | None:
        value = params.get(key)
        if isinstance(value, list | tuple):
            value = value[-1] if value else None
        if value is None:
            return None
        value = str(value).strip()
        if not value:
            return None
        if len(value) > MAX_TEXT:
            errors[key] = _("At most %(max)d characters.") % {"max": MAX_TEXT}
            return None
        if not is_plain_text(value):
            errors[key] = _("Contains control characters.")
            return None
        return value

    def yes_no(key: str) -> bool | None:
        value = text(key)
        if value is None:
            return None
        if value.casefold() in _YES:
            return True
        if value.casefold() in _NO:
            return False
        errors[key] = _("Enter yes or no.")
        return None

    def day(key: str) -> dt.date | None:
        value = text(key)
        if value is None:
            return None
        try:
            parsed = dt.date.fromisoformat(value)
        except ValueError:
            errors[key] = _("Enter a date as YYYY-MM-DD.")
            return None
        if not FIRST_DAY <= parsed <= LAST_DAY:
            errors[key] = _("Enter a date from %(first)s to %(last)s.") % {
                "first": FIRST_DAY.isoformat(),
                "last": LAST_DAY.isoformat(),
            }
            return None
        return parsed

    def whole_number(key: str, low: int, high: int) -> int | None:
        value = text(key)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
            errors[key] = _("Enter a whole number from %(low)d to %(high)d.") % {
                "low": low,
                "high": high,
            }
            return None
        return int(value)

    sort = text("sort") or "number"
    if sort not in SORTS:
        errors["sort"] = _("Choose one of: %(s)s.") % {"s": ", ".join(SORTS)}
    for key in params:
        if key not in FILTER_PARAMS and key not in also:
            errors[str(key)[:50]] = _("Unknown parameter.")
    f = CustomerFilter(
        q=text("q") or "",
        group=text("group"),
        blocked=yes_no("blocked"),
        location=(text("location") or "").lower() or None,
        newsletter=yes_no("newsletter"),
        consent=text("consent"),
        price_level=whole_number("price_level", 1, 99),
        tag=text("tag"),
        created_from=day("created_from"),
        created_to=day("created_to"),
        changed_from=day("changed_from"),
        changed_to=day("changed_to"),
        sort=sort,
    )
    if errors:
        raise DomainError(
            "invalid_filter", _("The filter is not valid."), fields=errors, status=400
        )
    return f


def check_filter(f: CustomerFilter) -> None:
    """A filter made in code (not parsed) gets the same checks as a parsed one."""
    parse_filter({k: v for k, v in f.as_params().items()})


def served_at(*, location_id: Any = None, location_code: str | None = None) -> Q:
    """The customers a location may serve: every unrestricted one, and those restricted to
    it. The one visibility rule of the customer base (staff and tills bound to a location
    see these; the list's location filter selects these)."""
    links = Customer.allowed_locations.through.objects
    if location_code is not None:
        links = links.filter(location__code=location_code)
    else:
        links = links.filter(location_id=location_id)
    return Q(location_restricted=False) | Q(pk__in=links.values("customer_id"))


# Who has granted a consent purpose, and which purposes there are: told by the app that
# keeps consents (privacy).
_consenting: list[Callable[[str], QuerySet]] = [lambda purpose: Customer.objects.none()]
_consent_purposes: list[Callable[[], list[tuple[str, str]]]] = [list]


def select_consenting(
    select: Callable[[str], QuerySet], purposes: Callable[[], list[tuple[str, str]]]
) -> None:
    """Set how the `consent` filter finds the customers who granted a purpose (`select`
    gives a query of their ids) and what purposes it offers ((key, label) pairs)."""
    _consenting[0] = select
    _consent_purposes[0] = purposes


def consent_purposes() -> list[tuple[str, str]]:
    return _consent_purposes[0]()


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def apply_filter(qs: QuerySet[Customer], f: CustomerFilter) -> QuerySet[Customer]:
    """The customers of `qs` the filter selects (unsorted)."""
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
    if f.consent:
        qs = qs.filter(pk__in=_consenting[0](f.consent))
    if f.price_level is not None:
        qs = qs.filter(price_level=f.price_level)
    if f.location:
        qs = qs.filter(served_at(location_code=f.location))
    if f.created_from:
        qs = qs.filter(created_at__gte=_day_start(f.created_from))
    if f.created_to:
        qs = qs.filter(created_at__lt=_day_start(f.created_to + dt.timedelta(days=1)))
    if f.changed_from:
        qs = qs.filter(updated_at__gte=_day_start(f.changed_from))
    if f.changed_to:
        qs = qs.filter(updated_at__lt=_day_start(f.changed_to + dt.timedelta(days=1)))
    return qs
