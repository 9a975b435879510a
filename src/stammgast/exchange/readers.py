"""Reading an uploaded file: what it is (CSV, XLSX, our ZIP), its encoding, separator and rows.

Every way a file can be unreadable ends in a DomainError that says what is wrong in the
user's words; nothing has been written by then.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError

from .columns import KNOWN_HEADERS, NO_FIELD, SYNONYMS, _fold_header, column_letter

MAX_COLUMNS = 200
# The heading row is looked for in this many rows at the top of a sheet.
HEADING_SEARCH_ROWS = 20
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
    """The sheet of a file that holds the customers: its headings (found in its first rows)
    and an iterator over (row number as the spreadsheet shows it, cells) below them."""

    kind: str  # "csv" or "xlsx"
    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    encoding: str = ""
    separator: str = ""
    sheet: str = ""
    sheet_names: list[str] = field(default_factory=list)
    header_row: int = 1

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


def _binary() -> DomainError:
    return _unreadable(
        "not_a_table", _("This is not a CSV or XLSX file (it contains binary data).")
    )


_CHUNK = 1024 * 1024


def _detect_encoding(open_binary) -> str:
    """The encoding of a text file, judged from all of it (read in pieces, never whole):
    a byte order mark says UTF-8 or UTF-16; otherwise UTF-8 if every byte of the file
    decodes as UTF-8, else Windows-1252 (what Excel's "CSV" writes on a German Windows).
    A file that is UTF-8 with umlauts at first and something else later is refused,
    naming the line, rather than read with every umlaut garbled. `open_binary()` opens
    the file for reading bytes."""
    with open_binary() as raw:
        head = raw.read(_SAMPLE)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"  # the codec reads the mark and the byte order from it
        if b"\x00" in head:
            raise _binary()
        utf8 = codecs.getincrementaldecoder("utf-8")()
        chunk, lines, plain = head, 0, True
        while chunk:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError as exc:
                before = chunk[: exc.start]
                if not (plain and before.isascii()):
                    line = lines + before.count(b"\n") + 1
                    raise _unreadable(
                        "bad_encoding",
                        _("%(where)s: the text is not in the file's encoding (%(enc)s).")
                        % {"where": _("Line %(n)d") % {"n": line}, "enc": "utf-8"},
                    ) from None
                break
            lines += chunk.count(b"\n")
            plain = plain and chunk.isascii()
            chunk = raw.read(_CHUNK)
        else:
            try:
                utf8.decode(b"", final=True)
                return "utf-8"
            except UnicodeDecodeError:
                pass
    try:
        text = head.decode("cp1252")
    except UnicodeDecodeError:
        raise _binary() from None
    if any(ord(ch) < 32 and ch not in "\r\n\t" for ch in text):
        raise _binary()
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
    if path is None or encoding.startswith("utf-16"):
        return None  # UTF-16 lines do not end at a byte b"\n"
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


def heading_score(cells: list[Any]) -> tuple[int, int]:
    """How many different fields the cells of a row name as headings the import knows
    (headings of other systems' columns without a field count too), and how many cells
    are filled."""
    known: set[str] = set()
    filled = 0
    for cell in cells:
        if cell is None or not str(cell).strip():
            continue
        filled += 1
        key = _fold_header(str(cell))
        fld = KNOWN_HEADERS.get(key) or SYNONYMS.get(key) or (key if key in NO_FIELD else None)
        if fld is not None:
            known.add(fld)
    return len(known), filled


def _find_headings(
    rows: Iterator[tuple[int, list[Any]]], header_row: int | None
) -> tuple[int, list[Any], Iterator[tuple[int, list[Any]]]]:
    """The heading row (its number and cells) and the rows below it.

    Given `header_row`, that row; otherwise the first row with anything in it, unless
    that row names no known heading at all (a title): then, within the first rows, the
    first that names more fields than the title has cells, and at least two. A data row
    never wins over a first row that names a field, nor over a first row as wide as the
    fields it names (a file whose headings are all someone else's)."""
    top: list[tuple[int, list[Any]]] = []
    if header_row is not None:
        for row_no, cells in rows:
            if row_no == header_row:
                return row_no, cells, rows
        raise _unreadable(
            "no_heading_row",
            _("The file has no row %(n)d for the headings.") % {"n": header_row},
        )
    first = chosen = None
    for row_no, cells in rows:
        top.append((row_no, cells))
        known, filled = heading_score(cells)
        if first is None and filled:
            first = len(top) - 1
            if known:
                chosen = first
                break
        if first is not None and known >= 2 and known > heading_score(top[first][1])[1]:
            chosen = len(top) - 1
            break
        if len(top) >= HEADING_SEARCH_ROWS:
            break
    if chosen is None:
        chosen = first
        if chosen is None:
            raise _unreadable("empty_file", _("The file is empty."))
    row_no, cells = top[chosen]
    return row_no, cells, itertools.chain(top[chosen + 1 :], rows)


def _table_from_text(
    stream: io.TextIOBase,
    separator: str | None,
    path: Path | None = None,
    header_row: int | None = None,
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
    row_no, headers, rest = _find_headings(rows, header_row)
    _check_width(len(headers))
    return SourceTable(
        "csv",
        headers,
        rest,
        stream.encoding,
        separator,
        header_row=row_no,
    )


def _damaged() -> DomainError:
    return _unreadable(
        "damaged_file",
        _("The XLSX file is damaged or incomplete; save it again and upload it once more."),
    )


def _sheet_rows(sheet) -> Iterator[tuple[int, list[Any]]]:
    """A sheet's rows numbered as the spreadsheet numbers them, cells from column A."""
    first_row, first_col = sheet.start or (0, 0)
    pad = [""] * first_col
    row_no = first_row
    try:
        for cells in sheet.iter_rows():
            row_no += 1
            yield row_no, [*pad, *cells] if pad else cells
    except Exception:
        raise _unreadable(
            "damaged_file",
            _("Row %(row)d: the XLSX file is damaged from here on.") % {"row": row_no + 1},
        ) from None


def _pick_sheet(workbook, sheet: str | None) -> list[str]:
    """The names of the sheets to try, in order: the one asked for, or all."""
    names = list(workbook.sheet_names)
    if sheet is None or str(sheet).strip() == "":
        return names
    wanted = str(sheet).strip()
    for name in names:
        if name.casefold() == wanted.casefold():
            return [name]
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        return [names[int(wanted) - 1]]
    raise _unreadable(
        "no_such_sheet",
        _("The workbook has no sheet %(sheet)s; its sheets are: %(names)s.")
        % {"sheet": wanted, "names": ", ".join(names)},
    )


def _xlsx_table(path: Path, sheet: str | None, header_row: int | None) -> SourceTable:
    """The first sheet (or the one asked for) whose first rows hold known headings; if no
    sheet does, the first that holds anything at all."""
    import python_calamine

    try:
        workbook = python_calamine.load_workbook(str(path))
        candidates = _pick_sheet(workbook, sheet)
        fallback, refusal = None, None
        for name in candidates:
            data = workbook.get_sheet_by_name(name)
            if data.height == 0:
                continue
            _check_width(data.width + (data.start or (0, 0))[1])
            try:
                row_no, headers, rest = _find_headings(_sheet_rows(data), header_row)
            except DomainError as exc:
                if exc.code not in ("empty_file", "no_heading_row"):
                    raise
                refusal = refusal or exc
                continue
            known, _filled = heading_score(headers)
            table = SourceTable(
                "xlsx",
                [str(h) if h is not None else "" for h in headers],
                rest,
                sheet=name,
                sheet_names=list(workbook.sheet_names),
                header_row=row_no,
            )
            if known or len(candidates) == 1:
                return table
            fallback = fallback or table
    except DomainError:
        raise
    except Exception:  # calamine raises its own types for every kind of broken file
        raise _damaged() from None
    if fallback is not None:
        return fallback
    raise refusal or _unreadable("empty_file", _("The file is empty."))


@contextlib.contextmanager
def open_table(
    path: Path,
    *,
    separator: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
) -> Iterator[SourceTable]:
    """Open `path` as a table whatever it is; raises a DomainError for anything unreadable.

    `sheet` (a name or a number from 1) picks a workbook's sheet, `header_row` (as the
    spreadsheet numbers rows) the row of the headings; by default both are found."""
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
            yield _xlsx_table(path, sheet, header_row)
            return
        with archive:
            member = _customer_member(names)
            try:
                encoding = _detect_encoding(lambda: archive.open(member))
                with (
                    archive.open(member) as binary,
                    io.TextIOWrapper(binary, encoding=encoding, newline="") as stream,
                ):
                    yield _table_from_text(stream, separator, header_row=header_row)
            except (zipfile.BadZipFile, EOFError, OSError, zlib.error):
                raise _unreadable(
                    "damaged_file",
                    _("The ZIP file is damaged or incomplete; upload it once more."),
                ) from None
        return
    encoding = _detect_encoding(lambda: path.open("rb"))
    with path.open(encoding=encoding, newline="") as stream:
        yield _table_from_text(stream, separator, path, header_row)


def _customer_member(names: list[str]) -> str:
    """In a ZIP of ours, the CSV with the customers (not the one with the filter)."""
    csvs = [n for n in names if n.lower().endswith(".csv") and not n.endswith("/")]
    data = [n for n in csvs if "filter" not in n.lower()]
    if not data:
        raise _unreadable("not_a_table", _("The ZIP file holds no CSV file with customers."))
    return data[0]


def cell_name(column: int, row: int | None = None) -> str:
    return f"{column_letter(column)}{row or ''}"
