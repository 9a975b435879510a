"""Export of customers: the rows a filter selects, as XLSX or as a ZIP of CSV files."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import DomainError
from stammgast.core.replicas import reads_from_replica
from stammgast.customers import selectors as customer_selectors
from stammgast.customers.filters import SORTS, CustomerFilter, check_filter, filter_in_words
from stammgast.tenants.actor import Actor

from . import writers
from .columns import DATETIME, EXPORT_COLUMNS, EXPORT_FIELDS
from .progress import Cancelled, Progress, ShouldCancel

ZIP_THRESHOLD = 100_000
DEFAULT_SEPARATOR = ";"


# --- export ----------------------------------------------------------------------------


@dataclass
class ExportResult:
    format: str  # "xlsx" or "zip"
    rows: int
    filename: str


def export_format(rows: int, zip_threshold: int = ZIP_THRESHOLD) -> str:
    return "zip" if rows >= zip_threshold else "xlsx"


@reads_from_replica
def count_customers_for_export(*, actor: Actor, f: CustomerFilter) -> int:
    actor.require("customers.export", _("You may not export customers."))
    check_filter(f)
    return customer_selectors.count_customers(actor=actor, f=f)


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
    customers = customer_selectors.filter_customers(actor, f).values_list(*EXPORT_FIELDS)
    if db.connection().vendor == "postgresql":
        yield from writers.rows_from_postgres(
            EXPORT_COLUMNS, customers, SORTS[f.sort], chunk_size=chunk_size
        )
        return
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    stamp_cols = [i for i, c in enumerate(EXPORT_COLUMNS) if c.kind == DATETIME]
    qs = customers.order_by(*SORTS[f.sort])
    for row in qs.iterator(chunk_size=chunk_size):
        row = list(row)
        row[0] = str(row[0])
        for i in stamp_cols:
            if row[i] is not None:
                row[i] = row[i].astimezone(tz).replace(tzinfo=None, microsecond=0)
        yield row


def filter_settings_rows(f: CustomerFilter, language: str) -> list[tuple[str, ...]]:
    """The filter file: each setting as the API and the list's URL spell it (to be read
    back), and the whole filter in words for the person who opens the file."""
    header = ("Einstellung", "Wert") if language == "de" else ("Setting", "Value")
    with translation.override(language):
        words = ("In Worten" if language == "de" else "In words", filter_in_words(f))
    return [header, *f.as_params().items(), words]


SEPARATORS = (";", ",", "\t", "|")


def check_export_options(*, separator: str, language: str) -> None:
    """What a CSV export can be written with; checked when the export is asked for."""
    errors = {}
    if separator not in SEPARATORS:
        errors["separator"] = _("Choose one of: %(v)s.") % {"v": "; , | tab"}
    if language not in ("de", "en"):
        errors["language"] = _("Choose one of: %(v)s.") % {"v": "de, en"}
    if errors:
        raise DomainError(
            "invalid_export", _("The export's options are not valid."), fields=errors, status=422
        )


@reads_from_replica
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
    check_export_options(separator=separator, language=language)
    fmt = export_format(total, zip_threshold)

    def tick(done: int) -> None:
        if should_cancel is not None and should_cancel():
            raise Cancelled
        if progress is not None:
            progress(done, total)

    rows = _export_rows(actor, f, chunk_size)
    settings_rows = filter_settings_rows(f, language)
    try:
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
            zip_options = {
                "language": language,
                "data_name": "kunden.csv" if language == "de" else "customers.csv",
                "settings_name": "filter.csv",
                "settings_rows": settings_rows,
                "separator": separator,
                "tick": tick,
            }
            if db.connection().vendor == "postgresql":
                # PostgreSQL formats the CSV itself (COPY); the rows are not read here.
                customers = customer_selectors.filter_customers(actor, f)
                count = writers.write_zip_from_postgres(
                    path,
                    EXPORT_COLUMNS,
                    customers.values_list(*EXPORT_FIELDS),
                    SORTS[f.sort],
                    **zip_options,
                )
            else:
                count = writers.write_zip(path, EXPORT_COLUMNS, rows, **zip_options)
    except BaseException:
        # Cancelled, failed or interrupted: no half-written file full of personal data.
        Path(path).unlink(missing_ok=True)
        raise
    if progress is not None:
        progress(count, total)
    return ExportResult(
        format=fmt, rows=count, filename=export_filename(actor=actor, fmt=fmt, language=language)
    )
