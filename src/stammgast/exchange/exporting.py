"""Export of customers: the rows a filter selects, as XLSX or as a ZIP of CSV files."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Aggregate, OuterRef, Subquery, TextField
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import DomainError
from stammgast.core.replicas import reads_from_replica
from stammgast.customers import selectors as customer_selectors
from stammgast.customers.filters import SORTS, CustomerFilter, check_filter, filter_in_words
from stammgast.customers.models import CustomerGroup, Tag
from stammgast.tenants.actor import Actor

from . import writers
from .columns import (
    DATETIME,
    EXPORT_COLUMNS,
    NAMES,
    OPTIONAL_EXPORT_COLUMNS,
    OPTIONAL_EXPORT_FIELDS,
    Column,
)
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


class _NameList(Aggregate):
    """The names of a customer's groups or tags in one text, sorted, comma-separated."""

    function = "GROUP_CONCAT"
    template = "%(function)s(%(expressions)s, ', ' ORDER BY %(expressions)s)"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        # In code-point order, as the SQLite path sorts them in Python.
        template = "%(function)s(%(expressions)s, ', ' ORDER BY %(expressions)s COLLATE \"C\")"
        return super().as_sql(
            compiler, connection, function="STRING_AGG", template=template, **extra_context
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        # ORDER BY inside an aggregate needs SQLite 3.44; _export_rows sorts instead.
        template = "%(function)s(%(expressions)s, ', ')"
        return super().as_sql(compiler, connection, template=template, **extra_context)


def export_columns(extra_columns: Sequence[str] = ()) -> tuple[Column, ...]:
    """The 31 standard columns, then the optional ones asked for, in their fixed order;
    an unknown name is refused naming the ones there are."""
    unknown = [c for c in extra_columns if c not in OPTIONAL_EXPORT_FIELDS]
    if unknown:
        raise DomainError(
            "invalid_export",
            _("The export's options are not valid."),
            fields={
                "extra_columns": _("Unknown column %(c)s; choose from: %(v)s.")
                % {"c": ", ".join(unknown), "v": ", ".join(OPTIONAL_EXPORT_FIELDS)}
            },
            status=422,
        )
    return (*EXPORT_COLUMNS, *(c for c in OPTIONAL_EXPORT_COLUMNS if c.field in extra_columns))


def _customer_values(actor: Actor, f: CustomerFilter, columns: Sequence[Column]):
    """The customers `f` selects, as values of `columns` (names of relations gathered)."""
    customers = customer_selectors.filter_customers(actor, f)
    names = {c.export_name for c in columns}
    if "group_names" in names:
        customers = customers.annotate(group_names=_names_of(CustomerGroup))
    if "tag_names" in names:
        customers = customers.annotate(tag_names=_names_of(Tag))
    return customers.values_list(*(c.export_name for c in columns))


def _names_of(model) -> Subquery:
    return Subquery(
        model.objects.filter(customers=OuterRef("pk"))
        .order_by()
        .values("customers")
        .annotate(names=_NameList("name"))
        .values("names")
    )


def _export_rows(
    actor: Actor, f: CustomerFilter, chunk_size: int, columns: Sequence[Column] = EXPORT_COLUMNS
) -> Iterator[tuple]:
    """Rows of `columns` in the filter's order; datetimes as local wall-clock time.

    `.iterator()` streams (a server-side cursor on PostgreSQL), so memory stays flat
    however many customers the filter selects; the standard columns are on the customer
    row, so there is nothing to fetch per customer.
    """
    customers = _customer_values(actor, f, columns)
    if db.connection().vendor == "postgresql":
        yield from writers.rows_from_postgres(
            columns, customers, SORTS[f.sort], chunk_size=chunk_size
        )
        return
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    stamp_cols = [i for i, c in enumerate(columns) if c.kind == DATETIME]
    name_cols = [i for i, c in enumerate(columns) if c.kind == NAMES]
    qs = customers.order_by(*SORTS[f.sort])
    for row in qs.iterator(chunk_size=chunk_size):
        row = list(row)
        row[0] = str(row[0])
        for i in stamp_cols:
            if row[i] is not None:
                row[i] = row[i].astimezone(tz).replace(tzinfo=None, microsecond=0)
        for i in name_cols:
            if row[i]:
                row[i] = ", ".join(sorted(row[i].split(", ")))
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
    extra_columns: Sequence[str] = (),
) -> ExportResult:
    """Write the customers `f` selects to `path`: XLSX below `zip_threshold`, else ZIP/CSV.

    `extra_columns` (OPTIONAL_EXPORT_FIELDS) follow the 31 standard columns."""
    columns = export_columns(extra_columns)
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

    rows = _export_rows(actor, f, chunk_size, columns)
    settings_rows = filter_settings_rows(f, language)
    try:
        if fmt == "xlsx":
            count = writers.write_xlsx(
                path,
                columns,
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
                count = writers.write_zip_from_postgres(
                    path,
                    columns,
                    _customer_values(actor, f, columns),
                    SORTS[f.sort],
                    **zip_options,
                )
            else:
                count = writers.write_zip(path, columns, rows, **zip_options)
    except BaseException:
        # Cancelled, failed or interrupted: no half-written file full of personal data.
        Path(path).unlink(missing_ok=True)
        raise
    if progress is not None:
        progress(count, total)
    return ExportResult(
        format=fmt, rows=count, filename=export_filename(actor=actor, fmt=fmt, language=language)
    )
