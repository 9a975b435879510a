"""Writing rows to XLSX (our streaming writer, xlsx.py) and to a ZIP of CSV files, streaming."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError

from . import xlsx
from .columns import (
    BOOLEAN,
    CODE,
    DATE,
    DATETIME,
    GENDER,
    GENDER_LABELS,
    INTEGER,
    KIND,
    KIND_LABELS,
    NAMES,
    PAYMENT,
    PAYMENT_LABELS,
    PERCENT,
    TEXT,
    XLSX_DATE_FORMATS,
    XLSX_DATETIME_FORMATS,
    YES_NO,
    Column,
    csv_value,
)

# Column widths in characters, so the file opens readable without resizing.
_WIDTHS = {CODE: 16, INTEGER: 10, PERCENT: 10, DATE: 12, DATETIME: 20}

Tick = Callable[[int], None]
# First characters that get an apostrophe in front (see columns.neutralise).
_FIRST_DANGER = frozenset("=+-@\t\r'")


def _sheet_columns(columns: Sequence[Column], language: str) -> list[xlsx.SheetColumn]:
    """How each export column looks in the sheet: its heading, width and kind of cell."""
    labels = {
        BOOLEAN: dict(zip((True, False), YES_NO[language], strict=True)),
        GENDER: GENDER_LABELS[language],
        PAYMENT: PAYMENT_LABELS[language],
        KIND: KIND_LABELS[language],
    }
    kinds = {INTEGER: xlsx.NUMBER, PERCENT: xlsx.NUMBER, DATE: xlsx.DATE, DATETIME: xlsx.DATETIME}
    out = []
    for column in columns:
        header = column.header(language)
        out.append(
            xlsx.SheetColumn(
                header,
                kinds.get(column.kind, xlsx.TEXT),
                width=max(_WIDTHS.get(column.kind, 18), len(header) + 2),
                as_text=column.kind == CODE,
                labels=labels.get(column.kind),
                double_apostrophe=column.kind in (TEXT, CODE, NAMES),
            )
        )
    return out


def write_xlsx(
    path: Path,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    language: str,
    settings_rows: Sequence[tuple[str, str]] = (),
    settings_title: str = "Filter",
    sheet_title: str = "Customers",
    tick: Tick | None = None,
) -> int:
    """Write one sheet with typed cells (and one with the settings, if given); returns the
    number of data rows written."""
    titles = [sheet_title, settings_title] if settings_rows else [sheet_title]
    with xlsx.Workbook(
        path,
        titles,
        date_format=XLSX_DATE_FORMATS[language],
        datetime_format=XLSX_DATETIME_FORMATS[language],
    ) as book:
        try:
            count = book.write_sheet(
                _sheet_columns(columns, language),
                rows,
                freeze_header=True,
                autofilter=True,
                tick=tick,
            )
        except xlsx.TooManyRows:
            raise DomainError(
                "too_many_rows",
                _("An XLSX sheet holds at most %(rows)s rows; export a ZIP with CSV instead.")
                % {"rows": f"{xlsx.MAX_ROWS - 1:,}"},
                status=400,
            ) from None
        if settings_rows:
            header, *values = settings_rows
            book.write_sheet([xlsx.SheetColumn(str(h)) for h in header], values)
    return count


def _csv_writer(stream, separator: str):
    return csv.writer(stream, delimiter=separator, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")


def _write_filter_csv(archive, name: str, settings_rows, separator: str, language: str) -> None:
    """The ZIP's second file: the filter settings that selected the customers."""
    with (
        archive.open(name, "w") as binary,
        io.TextIOWrapper(binary, encoding="utf-8-sig", newline="") as out,
    ):
        writer = _csv_writer(out, separator)
        for key, value in settings_rows:
            writer.writerow([csv_value(TEXT, key, language), csv_value(TEXT, value, language)])


def write_zip(
    path: Path,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    language: str,
    data_name: str,
    settings_name: str,
    settings_rows: Sequence[tuple[str, str]],
    separator: str = ";",
    tick: Tick | None = None,
) -> int:
    """A ZIP with the rows as CSV (UTF-8 with BOM) and a second CSV with the settings."""
    count = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with (
            archive.open(data_name, "w", force_zip64=True) as binary,
            io.TextIOWrapper(binary, encoding="utf-8-sig", newline="", write_through=False) as out,
        ):
            writer = _csv_writer(out, separator)
            writer.writerow([c.header(language) for c in columns])
            plan = [(i, c.kind) for i, c in enumerate(columns)]
            chunk: list[list[str]] = []
            for row in rows:
                chunk.append([csv_value(kind, row[i], language) for i, kind in plan])
                if len(chunk) == 1000:
                    writer.writerows(chunk)
                    count += len(chunk)
                    chunk.clear()
                    if tick is not None:
                        tick(count)
            writer.writerows(chunk)
            count += len(chunk)
        _write_filter_csv(archive, settings_name, settings_rows, separator, language)
    return count


def write_table_csv(
    path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]], separator: str = ";"
) -> None:
    """A small CSV (error reports): UTF-8 with BOM, neutralised text."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = _csv_writer(out, separator)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([csv_value(TEXT, "" if v is None else str(v), "de") for v in row])


def write_table_xlsx(path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    columns = [Column(f"c{i}", h, h, INTEGER if i == 0 else TEXT) for i, h in enumerate(headers)]
    write_xlsx(path, columns, rows, language="en", sheet_title="Report")


# --- PostgreSQL: the CSV straight from COPY ---------------------------------------------
# Formatting 31 columns per row in Python costs more than PostgreSQL's whole COPY, so on
# PostgreSQL the CSV body is produced by COPY (SELECT ...) with the same spellings as
# csv_value() (dates, labels, Ja/Nein, neutralised text) and streamed into the ZIP member.

_PG_DATE = {"de": "DD.MM.YYYY", "en": "YYYY-MM-DD"}
_PG_DATETIME = {"de": "DD.MM.YYYY HH24:MI:SS", "en": "YYYY-MM-DD HH24:MI:SS"}


def _pg_expression(column: Column, language: str, params: list) -> str:
    from .columns import label_value

    ref = f'sub."{column.export_name}"'
    kind = column.kind
    if kind in (TEXT, CODE, NAMES):
        if column.field == "number":
            return f"{ref}::text"
        # The same rule as columns.neutralise: the first character decides.
        params.append(list(_FIRST_DANGER))
        return f"CASE WHEN left({ref}, 1) = ANY(%s) THEN '''' || {ref} ELSE NULLIF({ref}, '') END"
    if kind in (INTEGER, PERCENT):
        return f"{ref}::text"
    if kind == DATE:
        params.append(_PG_DATE[language])
        return f"to_char({ref}, %s)"
    if kind == DATETIME:
        from django.conf import settings

        params += [settings.TIME_ZONE, _PG_DATETIME[language]]
        return f"to_char({ref} AT TIME ZONE %s, %s)"
    if kind == BOOLEAN:
        params += list(YES_NO[language])
        return f"CASE WHEN {ref} THEN %s ELSE %s END"
    if kind in (GENDER, PAYMENT, KIND):
        labels = {GENDER: GENDER_LABELS, PAYMENT: PAYMENT_LABELS, KIND: KIND_LABELS}[kind]
        parts = []
        for code in labels[language]:
            params += [str(code), label_value(kind, code, language)]
            parts.append("WHEN %s THEN %s")
        return f"CASE {ref} {' '.join(parts)} ELSE NULLIF({ref}, '') END"
    raise ValueError(kind)


def _pg_query(queryset, order: Sequence[str], select: str) -> tuple[str, list]:
    """SELECT `select` (over the columns of `queryset`, as sub."field") in `order`; the
    queryset's parameters, which follow those of `select` in the text."""
    inner_sql, inner_params = queryset.order_by().query.sql_with_params()
    order_sql = ", ".join(
        f'sub."{o.lstrip("-")}"{" DESC" if o.startswith("-") else ""}' for o in order
    )
    return f"SELECT {select} FROM ({inner_sql}) AS sub ORDER BY {order_sql}", list(inner_params)


def rows_from_postgres(
    columns: Sequence[Column], queryset, order: Sequence[str], *, chunk_size: int = 2000
) -> Iterator[tuple]:
    """The rows of `queryset` (values of `columns`) in `order`, as the export writes them:
    text columns as text, date-times as local wall-clock time in whole seconds.

    The same values as reading through the ORM, several times faster: PostgreSQL converts
    the time stamps, so psycopg's own loaders make plain datetimes (the ORM's time-zone
    aware ones and their conversion to local time cost more than writing the XLSX).
    Streams through a server-side cursor, like QuerySet.iterator().
    """
    from django.conf import settings
    from django.db import connections

    params: list = []
    select = []
    for column in columns:
        ref = f'sub."{column.export_name}"'
        if column.kind == DATETIME:
            params.append(settings.TIME_ZONE)
            select.append(f"date_trunc('second', {ref} AT TIME ZONE %s)")
        elif column.kind in (TEXT, CODE, NAMES):
            select.append(f"{ref}::text")
        else:
            select.append(ref)
    query, inner_params = _pg_query(queryset, order, ", ".join(select))
    connection = connections[queryset.db]
    server_side = not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    with connection.chunked_cursor() if server_side else connection.cursor() as cursor:
        cursor.execute(query, [*params, *inner_params])
        # The next rows are fetched on a second thread while these are written: waiting for
        # PostgreSQL lets go of the GIL. Only that thread uses the connection meanwhile.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-rows") as reader:
            fetching = reader.submit(cursor.fetchmany, chunk_size)
            while rows := fetching.result():
                fetching = reader.submit(cursor.fetchmany, chunk_size)
                yield from rows


def write_zip_from_postgres(
    path: Path,
    columns: Sequence[Column],
    queryset,
    order: Sequence[str],
    *,
    language: str,
    data_name: str,
    settings_name: str,
    settings_rows: Sequence[tuple[str, str]],
    separator: str = ";",
    tick: Tick | None = None,
) -> int:
    """Like write_zip(), with the rows of `queryset` (values of `columns`) formatted by COPY."""
    from django.db import connections

    params: list = []
    select = ", ".join(_pg_expression(c, language, params) for c in columns)
    query, inner_params = _pg_query(queryset, order, select)
    if separator in "'\\":
        raise ValueError("separator")
    statement = f"COPY ({query}) TO STDOUT WITH (FORMAT csv, DELIMITER '{separator}')"
    connection = connections[queryset.db]
    count = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open(data_name, "w", force_zip64=True) as binary:
            header = io.StringIO()
            _csv_writer(header, separator).writerow([c.header(language) for c in columns])
            binary.write(b"\xef\xbb\xbf" + header.getvalue().encode())
            connection.ensure_connection()
            # The select list's parameters come first in the text, then the filter's.
            with (
                connection.connection.cursor() as cursor,
                cursor.copy(statement, [*params, *inner_params]) as copy,
            ):
                # One COPY message per row (PostgreSQL's protocol says so), ending in LF;
                # the rows get CRLF like the heading and the Python writer's rows, as Excel
                # writes them (a line break inside a quoted value stays as it is). Handed
                # to the compressor in larger pieces.
                buffer = bytearray()
                for data in copy:
                    buffer += data
                    buffer[-1:] = b"\r\n"
                    count += 1
                    if count % 1000 == 0:
                        binary.write(buffer)
                        buffer.clear()
                        if tick is not None:
                            tick(count)
                binary.write(buffer)
        _write_filter_csv(archive, settings_name, settings_rows, separator, language)
    return count
