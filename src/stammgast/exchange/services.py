"""Export and import of customers: one function per use case, plus the job around them."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError
from stammgast.customers import selectors as customer_selectors
from stammgast.customers.selectors import SORTS, CustomerFilter
from stammgast.tenants.actor import Actor

from . import writers
from .columns import DATETIME, EXPORT_COLUMNS, EXPORT_FIELDS
from .importing import Cancelled, ImportResult, import_customers  # noqa: F401

ZIP_THRESHOLD = 100_000
DEFAULT_SEPARATOR = ";"

Progress = Callable[[int, int | None], None]
ShouldCancel = Callable[[], bool]


# --- export ----------------------------------------------------------------------------


@dataclass
class ExportResult:
    format: str  # "xlsx" or "zip"
    rows: int
    filename: str


def export_format(rows: int, zip_threshold: int = ZIP_THRESHOLD) -> str:
    return "zip" if rows >= zip_threshold else "xlsx"


def _check_filter(f: CustomerFilter) -> None:
    if f.sort not in SORTS:
        raise DomainError(
            "invalid_sort",
            _("Unknown sort order."),
            fields={"sort": _("Choose one of: %(s)s.") % {"s": ", ".join(SORTS)}},
            status=400,
        )


def count_customers_for_export(*, actor: Actor, f: CustomerFilter) -> int:
    actor.require("customers.export", _("You may not export customers."))
    _check_filter(f)
    return customer_selectors.filter_customers(actor, f).count()


def export_filename(*, actor: Actor, fmt: str, language: str, at: dt.datetime | None = None) -> str:
    stamp = timezone.localtime(at or timezone.now()).strftime("%Y-%m-%d_%H%M")
    base = "kunden" if language == "de" else "customers"
    return f"{base}_{actor.tenant.slug}_{stamp}.{fmt}"


def _export_rows(actor: Actor, f: CustomerFilter, chunk_size: int) -> Iterator[tuple]:
    """Rows of EXPORT_FIELDS in the filter's order; datetimes as local wall-clock time.

    `.iterator()` streams (a server-side cursor on PostgreSQL), so memory stays flat
    however many customers the filter selects; every column is on the customer row, so
    there is nothing to fetch per customer.
    """
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    stamp_cols = [i for i, c in enumerate(EXPORT_COLUMNS) if c.kind == DATETIME]
    qs = (
        customer_selectors.filter_customers(actor, f)
        .order_by(*SORTS[f.sort])
        .values_list(*EXPORT_FIELDS)
    )
    for row in qs.iterator(chunk_size=chunk_size):
        row = list(row)
        row[0] = str(row[0])
        for i in stamp_cols:
            if row[i] is not None:
                row[i] = row[i].astimezone(tz).replace(tzinfo=None, microsecond=0)
        yield row


def filter_settings_rows(f: CustomerFilter, language: str) -> list[tuple[str, str]]:
    header = ("Einstellung", "Wert") if language == "de" else ("Setting", "Value")
    return [header, *f.as_dict().items()]


def export_customers(
    *,
    actor: Actor,
    f: CustomerFilter,
    path: Path,
    language: str = "de",
    zip_threshold: int = ZIP_THRESHOLD,
    separator: str = DEFAULT_SEPARATOR,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
    chunk_size: int = 2000,
) -> ExportResult:
    """Write the customers `f` selects to `path`: XLSX below `zip_threshold`, else ZIP/CSV."""
    total = count_customers_for_export(actor=actor, f=f)
    if language not in ("de", "en"):
        language = "de"
    if len(separator) != 1 or separator in "\"'\r\n":
        raise DomainError(
            "invalid_separator",
            _("The separator must be one character such as ; or ,."),
            fields={"separator": _("Not valid.")},
            status=400,
        )
    fmt = export_format(total, zip_threshold)

    def tick(done: int) -> None:
        if should_cancel is not None and should_cancel():
            raise Cancelled
        if progress is not None:
            progress(done, total)

    rows = _export_rows(actor, f, chunk_size)
    settings_rows = filter_settings_rows(f, language)
    if fmt == "xlsx":
        count = writers.write_xlsx(
            path,
            EXPORT_COLUMNS,
            rows,
            language=language,
            settings_rows=settings_rows,
            sheet_title="Kunden" if language == "de" else "Customers",
            tick=tick,
        )
    else:
        de = language == "de"
        count = writers.write_zip(
            path,
            EXPORT_COLUMNS,
            rows,
            language=language,
            data_name="kunden.csv" if de else "customers.csv",
            settings_name="filter.csv",
            settings_rows=settings_rows,
            separator=separator,
            tick=tick,
        )
    if progress is not None:
        progress(count, total)
    return ExportResult(
        format=fmt, rows=count, filename=export_filename(actor=actor, fmt=fmt, language=language)
    )


def filter_from_params(params: Mapping[str, Any]) -> CustomerFilter:
    """The customer list's query parameters -> CustomerFilter; bad values name the field."""
    errors: dict[str, str] = {}

    def text(key: str) -> str | None:
        value = params.get(key)
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    def yes_no(key: str) -> bool | None:
        value = text(key)
        if value is None:
            return None
        folded = value.casefold()
        if folded in ("1", "true", "yes", "ja", "on"):
            return True
        if folded in ("0", "false", "no", "nein", "off"):
            return False
        errors[key] = _("Enter yes or no.")
        return None

    def day(key: str) -> dt.date | None:
        value = text(key)
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            errors[key] = _("Enter a date as YYYY-MM-DD.")
            return None

    price_level = None
    if (value := text("price_level")) is not None:
        if value.isdigit():
            price_level = int(value)
        else:
            errors["price_level"] = _("Enter a whole number.")
    f = CustomerFilter(
        q=text("q") or "",
        group=text("group"),
        blocked=yes_no("blocked"),
        location=text("location"),
        newsletter=yes_no("newsletter"),
        price_level=price_level,
        tag=text("tag"),
        created_from=day("created_from"),
        created_to=day("created_to"),
        changed_from=day("changed_from"),
        changed_to=day("changed_to"),
        sort=text("sort") or "number",
    )
    if errors:
        raise DomainError(
            "invalid_filter", _("The filter is not valid."), fields=errors, status=400
        )
    _check_filter(f)
    return f


# --- import ----------------------------------------------------------------------------

REPORT_HEADERS = {
    "de": ("Zeile", "Spalte", "Wert", "Meldung", "Art"),
    "en": ("Row", "Column", "Value", "Message", "Kind"),
}


def write_import_report(*, result: ImportResult, path: Path, fmt: str, language: str) -> None:
    """The error report of an import (row, column, value, message) as CSV or XLSX."""
    de = language == "de"
    error, duplicate = ("Fehler", "Dublette") if de else ("error", "duplicate")
    rows = [(p.row, p.column, p.value, p.message, error) for p in result.errors] + [
        (p.row, p.column, p.value, p.message, duplicate) for p in result.duplicates
    ]
    rows.sort(key=lambda r: r[0])
    headers = REPORT_HEADERS["de" if de else "en"]
    if fmt == "xlsx":
        writers.write_table_xlsx(path, headers, rows)
    else:
        writers.write_table_csv(path, headers, rows)
