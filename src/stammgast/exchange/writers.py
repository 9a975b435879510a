"""Writing rows to XLSX (xlsxwriter, constant memory) and to a ZIP of CSV files, streaming."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter

from .columns import (
    CODE,
    DATE,
    DATETIME,
    INTEGER,
    TEXT,
    XLSX_DATE_FORMATS,
    XLSX_DATETIME_FORMATS,
    Column,
    csv_value,
    label_value,
    needs_neutralising,
)

# Column widths in characters, so the file opens readable without resizing.
_WIDTHS = {CODE: 16, INTEGER: 10, DATE: 12, DATETIME: 20}

Tick = Callable[[int], None]
# First characters that may make a text cell a formula (see columns.needs_neutralising).
_FIRST_DANGER = frozenset("=+-@\t\r'")


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
    """Write one sheet with typed cells; returns the number of data rows written."""
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    try:
        sheet = workbook.add_worksheet(sheet_title[:31])
        bold = workbook.add_format({"bold": True})
        text_fmt = workbook.add_format({"num_format": "@"})
        # Shown and stored as text even if it looks like a formula (Excel's leading ').
        quoted_fmt = workbook.add_format({"num_format": "@", "quote_prefix": True})
        date_fmt = workbook.add_format({"num_format": XLSX_DATE_FORMATS[language]})
        datetime_fmt = workbook.add_format({"num_format": XLSX_DATETIME_FORMATS[language]})
        int_fmt = workbook.add_format({"num_format": "0"})
        for index, column in enumerate(columns):
            width = _WIDTHS.get(column.kind, 18)
            sheet.set_column(
                index,
                index,
                max(width, len(column.header(language)) + 2),
                text_fmt if column.kind == CODE else None,
            )
        for index, column in enumerate(columns):
            sheet.write_string(0, index, column.header(language), bold)
        sheet.freeze_panes(1, 0)

        write_string = sheet.write_string
        write_number = sheet.write_number
        write_datetime = sheet.write_datetime
        plan = [(i, c.kind) for i, c in enumerate(columns)]
        row_index = 0
        for row in rows:
            row_index += 1
            for col, kind in plan:
                value = row[col]
                if value is None or value == "":
                    continue
                if kind in (TEXT, CODE):
                    write_string(
                        row_index,
                        col,
                        value,
                        quoted_fmt
                        if value[0] in _FIRST_DANGER and needs_neutralising(value)
                        else text_fmt
                        if kind == CODE
                        else None,
                    )
                elif kind == INTEGER:
                    write_number(row_index, col, value, int_fmt)
                elif kind == DATE:
                    write_datetime(row_index, col, value, date_fmt)
                elif kind == DATETIME:
                    write_datetime(row_index, col, value, datetime_fmt)
                else:
                    write_string(row_index, col, label_value(kind, value, language))
            if tick is not None and row_index % 1000 == 0:
                tick(row_index)
        if row_index:
            sheet.autofilter(0, 0, row_index, len(columns) - 1)
        if settings_rows:
            extra = workbook.add_worksheet(settings_title[:31])
            for r, (key, value) in enumerate(settings_rows):
                extra.write_string(r, 0, key, bold if r == 0 else None)
                extra.write_string(r, 1, value, bold if r == 0 else None)
    finally:
        workbook.close()
    return row_index


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
# The same rule as columns._DANGEROUS, in PostgreSQL's regular-expression dialect.
_PG_DANGEROUS = "^'*[-=+@\t\r]"


def _pg_expression(column: Column, language: str, params: list) -> str:
    from .columns import BOOLEAN, GENDER, KIND, PAYMENT, YES_NO, label_value

    ref = f'sub."{column.field}"'
    kind = column.kind
    if kind in (TEXT, CODE):
        if column.field == "number":
            return f"{ref}::text"
        # The cheap first-character test spares most rows the regular expression.
        params += [list(_FIRST_DANGER), _PG_DANGEROUS]
        return (
            f"CASE WHEN left({ref}, 1) = ANY(%s) AND {ref} ~ %s "
            f"THEN '''' || {ref} ELSE NULLIF({ref}, '') END"
        )
    if kind == INTEGER:
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
        from .columns import GENDER_LABELS, KIND_LABELS, PAYMENT_LABELS

        labels = {GENDER: GENDER_LABELS, PAYMENT: PAYMENT_LABELS, KIND: KIND_LABELS}[kind]
        parts = []
        for code in labels[language]:
            params += [str(code), label_value(kind, code, language)]
            parts.append("WHEN %s THEN %s")
        return f"CASE {ref} {' '.join(parts)} ELSE NULLIF({ref}, '') END"
    raise ValueError(kind)


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

    inner_sql, inner_params = queryset.order_by().query.sql_with_params()
    params: list = []
    select = ", ".join(_pg_expression(c, language, params) for c in columns)
    order_sql = ", ".join(
        f'sub."{o.lstrip("-")}"{" DESC" if o.startswith("-") else ""}' for o in order
    )
    if separator in "'\\":
        raise ValueError("separator")
    statement = (
        f"COPY (SELECT {select} FROM ({inner_sql}) AS sub ORDER BY {order_sql}) "
        f"TO STDOUT WITH (FORMAT csv, DELIMITER '{separator}')"
    )
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
                # One COPY message per row; hand them to the compressor in larger pieces.
                buffer = bytearray()
                for data in copy:
                    buffer += data
                    count += 1
                    if count % 1000 == 0:
                        binary.write(buffer)
                        buffer.clear()
                        if tick is not None:
                            tick(count)
                binary.write(buffer)
        _write_filter_csv(archive, settings_name, settings_rows, separator, language)
    return count
