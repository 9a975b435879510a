"""Reading an uploaded file: what it is (CSV, XLSX, our ZIP), its encoding, separator and rows.

Every way a file can be unreadable ends in a DomainError that says what is wrong in the
user's words; nothing has been written by then.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError

from .columns import column_letter

MAX_COLUMNS = 200
DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024 * 1024
SEPARATORS = (";", ",", "\t")
_SAMPLE = 64 * 1024
# Text fields go up to 1,000,000 characters (third-party memo); let the csv module read them.
csv.field_size_limit(max(csv.field_size_limit(), 2_000_000))


def max_upload_bytes() -> int:
    return int(getattr(settings, "EXCHANGE_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def _unreadable(code: str, message: str) -> DomainError:
    return DomainError(code, message, fields={"file": message}, status=422)


def check_upload_size(size: int) -> None:
    limit = max_upload_bytes()
    if size > limit:
        raise _unreadable(
            "file_too_large",
            _("The file is %(size)s MB; at most %(limit)s MB can be imported at once.")
            % {"size": f"{size / 1048576:.1f}", "limit": f"{limit / 1048576:.0f}"},
        )


@dataclass
class SourceTable:
    """The first sheet of a file: its headings and an iterator over (row number, cells)."""

    kind: str  # "csv" or "xlsx"
    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    encoding: str = ""
    separator: str = ""

    @property
    def from_csv(self) -> bool:
        return self.kind == "csv"


def _check_width(width: int) -> None:
    if width > MAX_COLUMNS:
        raise _unreadable(
            "too_many_columns",
            _("The file has %(n)d columns; at most %(max)d can be imported.")
            % {"n": width, "max": MAX_COLUMNS},
        )


def _detect_encoding(sample: bytes, complete: bool) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _unreadable(
            "unsupported_encoding",
            _("The file is UTF-16 text; save it as CSV in UTF-8 or Windows-1252 (ANSI)."),
        )
    if b"\x00" in sample:
        raise _unreadable(
            "not_a_table",
            _("This is not a CSV or XLSX file (it contains binary data)."),
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError:
        raise _unreadable(
            "not_a_table",
            _("This is not a CSV or XLSX file (it contains binary data)."),
        ) from None
    if sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t") > 0:
        raise _unreadable(
            "not_a_table",
            _("This is not a CSV or XLSX file (it contains binary data)."),
        )
    return "cp1252"


def _detect_separator(first_line: str) -> str:
    counts = {sep: 0 for sep in SEPARATORS}
    quoted = False
    for ch in first_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ";"


def _first_bad_line(path: Path | None, encoding: str) -> int | None:
    """The line where decoding fails: the text stream reads ahead, so it cannot say."""
    if path is None:
        return None
    with path.open("rb") as raw:
        for line_no, line in enumerate(raw, start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError:
                return line_no
    return None


def _csv_rows(
    stream: io.TextIOBase, separator: str, path: Path | None = None
) -> Iterator[tuple[int, list[Any]]]:
    reader = csv.reader(stream, delimiter=separator)
    row_no = 0
    while True:
        row_no += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            line = _first_bad_line(path, stream.encoding)
            where = (
                _("Line %(n)d") % {"n": line}
                if line is not None
                else _("Row %(n)d") % {"n": row_no}
            )
            raise _unreadable(
                "bad_encoding",
                _("%(where)s: the text is not in the file's encoding (%(enc)s).")
                % {"where": where, "enc": stream.encoding},
            ) from None
        except csv.Error as exc:
            raise _unreadable(
                "bad_csv", _("Row %(row)d: %(reason)s") % {"row": row_no, "reason": exc}
            ) from None
        yield row_no, cells


def _table_from_text(
    stream: io.TextIOBase, separator: str | None, path: Path | None = None
) -> SourceTable:
    try:
        first_line = stream.readline()
        stream.seek(0)
    except UnicodeDecodeError:
        raise _unreadable(
            "bad_encoding", _("Row 1: the text is not in the file's encoding.")
        ) from None
    separator = separator or _detect_separator(first_line)
    rows = _csv_rows(stream, separator, path)
    try:
        _row_no, headers = next(rows)
    except StopIteration:
        raise _unreadable("empty_file", _("The file is empty.")) from None
    _check_width(len(headers))
    return SourceTable("csv", headers, rows, stream.encoding, separator)


def _xlsx_table(path: Path) -> SourceTable:
    import python_calamine

    try:
        workbook = python_calamine.load_workbook(str(path))
        sheet = workbook.get_sheet_by_index(0)
        _check_width(sheet.width)
        rows_iter = iter(sheet.iter_rows())
        headers = next(rows_iter, None)
    except DomainError:
        raise
    except Exception:  # calamine raises its own types for every kind of broken file
        raise _unreadable(
            "damaged_file",
            _("The XLSX file is damaged or incomplete; save it again and upload it once more."),
        ) from None
    if headers is None or not any(str(h).strip() for h in headers):
        raise _unreadable("empty_file", _("The file is empty."))

    def rows() -> Iterator[tuple[int, list[Any]]]:
        row_no = 1
        try:
            for cells in rows_iter:
                row_no += 1
                yield row_no, cells
        except Exception:
            raise _unreadable(
                "damaged_file",
                _("Row %(row)d: the XLSX file is damaged from here on.") % {"row": row_no},
            ) from None

    return SourceTable("xlsx", [str(h) for h in headers], rows())


@contextlib.contextmanager
def open_table(path: Path, *, separator: str | None = None) -> Iterator[SourceTable]:
    """Open `path` as a table whatever it is; raises a DomainError for anything unreadable."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise _unreadable("empty_file", _("The file is empty."))
    check_upload_size(size)
    with path.open("rb") as raw:
        head = raw.read(_SAMPLE)
    if head.startswith(b"%PDF"):
        raise _unreadable(
            "not_a_table",
            _("This is a PDF document, not a table; save the data as XLSX or CSV."),
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _unreadable(
            "old_excel",
            _("This is an old Excel file (XLS); save it as XLSX or CSV."),
        )
    if head.startswith(b"PK"):
        try:
            archive = zipfile.ZipFile(path)
            names = archive.namelist()
        except (zipfile.BadZipFile, OSError, EOFError):
            raise _unreadable(
                "damaged_file",
                _("The ZIP or XLSX file is damaged or incomplete; upload it once more."),
            ) from None
        if "xl/workbook.xml" in names:
            archive.close()
            yield _xlsx_table(path)
            return
        with archive:
            member = _customer_member(names)
            try:
                with archive.open(member) as binary:
                    sample = binary.read(_SAMPLE)
                encoding = _detect_encoding(sample, complete=len(sample) < _SAMPLE)
                with (
                    archive.open(member) as binary,
                    io.TextIOWrapper(binary, encoding=encoding, newline="") as stream,
                ):
                    yield _table_from_text(stream, separator)
            except (zipfile.BadZipFile, EOFError, OSError, zlib.error):
                raise _unreadable(
                    "damaged_file",
                    _("The ZIP file is damaged or incomplete; upload it once more."),
                ) from None
        return
    encoding = _detect_encoding(head, complete=size <= _SAMPLE)
    with path.open(encoding=encoding, newline="") as stream:
        yield _table_from_text(stream, separator, path)


def _customer_member(names: list[str]) -> str:
    """In a ZIP of ours, the CSV with the customers (not the one with the filter)."""
    csvs = [n for n in names if n.lower().endswith(".csv") and not n.endswith("/")]
    data = [n for n in csvs if "filter" not in n.lower()]
    if not data:
        raise _unreadable("not_a_table", _("The ZIP file holds no CSV file with customers."))
    return data[0]


def cell_name(column: int, row: int | None = None) -> str:
    return f"{column_letter(column)}{row or ''}"
