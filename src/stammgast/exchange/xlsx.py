"""A streaming XLSX writer of our own, for the exports.

Only what the exports need: text, number and date cells, a few fixed styles, column widths,
a frozen heading row and an autofilter. A sheet's XML is made a chunk of rows at a time,
column by column (one comprehension per column instead of a function call per cell), and
deflated straight into its ZIP member, so memory stays flat however many rows there are.

Text cells are inline strings. They are escaped only when a fast check over the whole
column of a chunk finds something to escape; XML-illegal control characters become Excel's
own `_xHHHH_` escapes, so every file opens without a repair prompt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from .columns import column_letter, needs_neutralising

# Kinds of cell a column holds.
TEXT = "text"
NUMBER = "number"
DATE = "date"
DATETIME = "datetime"

MAX_ROWS = 1_048_576  # Excel's rows per sheet, the heading included
MAX_CHARS = 32_767  # Excel's characters (UTF-16 code units) per cell
CHUNK_ROWS = 1000  # rows made into XML at once; also how often `tick` is called

Tick = Callable[[int], None]


class TooManyRows(ValueError):
    """More rows than one Excel sheet can hold."""


@dataclass(frozen=True)
class SheetColumn:
    header: str
    kind: str = TEXT
    width: float | None = None  # in characters; None: Excel's default
    as_text: bool = False  # format "@": digits stay text (leading zeros), also when typed in
    labels: Mapping[Any, str] | None = None  # text shown for a value (TEXT only)
    # A leading apostrophe doubled: a reader that drops one (as the import does) gets the
    # text back as it was.
    double_apostrophe: bool = False


# --- styles ---------------------------------------------------------------------------
# Fixed cell formats (the index is the cell's s="..."): 0 default, 1 bold heading, 2 text,
# 3 text with Excel's quote prefix (a text that would otherwise read as a formula when
# edited), 4 date, 5 date and time, 6 whole number.
_BOLD, _TEXT, _QUOTED, _DATE, _DATETIME, _INTEGER = 1, 2, 3, 4, 5, 6

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _styles_xml(date_format: str, datetime_format: str) -> str:
    xf = '<xf numFmtId="{}" fontId="{}" fillId="0" borderId="0" xfId="0"{}/>'
    number = ' applyNumberFormat="1"'
    cell_formats = [
        xf.format(0, 0, ""),
        xf.format(0, 1, ' applyFont="1"'),
        xf.format(49, 0, number),
        xf.format(49, 0, ' quotePrefix="1"' + number),
        xf.format(164, 0, number),
        xf.format(165, 0, number),
        xf.format(1, 0, number),
    ]
    font = '<font>{}<sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    return (
        f'{_XML_DECLARATION}<styleSheet xmlns="{_NS}">'
        f'<numFmts count="2"><numFmt numFmtId="164" formatCode={quoteattr(date_format)}/>'
        f'<numFmt numFmtId="165" formatCode={quoteattr(datetime_format)}/></numFmts>'
        f'<fonts count="2">{font.format("")}{font.format("<b/>")}</fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        f'</cellStyleXfs><cellXfs count="{len(cell_formats)}">{"".join(cell_formats)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


# --- text -------------------------------------------------------------------------------
# Characters XML 1.0 cannot hold (or holds but a parser would change, like CR) and a
# literal "_xHHHH_", which Excel would read as an escape: escaped the way Excel does it.
_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "_": "_x005F_"}
# For the quick test over a column's texts joined with _SEPARATOR (a text that holds the
# separator itself is caught by counting them).
_SEPARATOR = "\xa6"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPE_LOOKALIKE = re.compile(r"_x[0-9A-Fa-f]{4}_")
_SPACES = frozenset(c for c in map(chr, range(0x3100)) if c.isspace())
_EDGE_FIRST = _SPACES | frozenset("=+-@'")
# First characters that always make a text formula-like (see columns.needs_neutralising).
_FORMULA_FIRST = frozenset("=+-@")


def _needs_escaping(text: str) -> bool:
    """Whether `text` holds anything _ESCAPE changes (str methods first: they are fast)."""
    return (
        "&" in text
        or "<" in text
        or ">" in text
        or ("_x" in text and _ESCAPE_LOOKALIKE.search(text) is not None)
        or (not text.isprintable() and _CONTROL.search(text) is not None)
    )


def _escape_one(match: re.Match) -> str:
    char = match.group()
    escaped = _ESCAPES.get(char)
    if escaped is not None:
        return escaped
    if "\ud800" <= char <= "\udfff":
        return "\ufffd"  # half of a surrogate pair: not a character, cannot be stored
    return f"_x{ord(char):04X}_"


def _fit(text: str) -> str:
    """`text` cut to the characters a cell holds (counted in UTF-16, as Excel does)."""
    if len(text) <= MAX_CHARS // 2:
        return text
    units = text.encode("utf-16-le", "surrogatepass")
    if len(units) <= 2 * MAX_CHARS:
        return text
    units = units[: 2 * MAX_CHARS]
    if 0xD8 <= units[-1] <= 0xDB:  # do not end on the first half of a surrogate pair
        units = units[:-2]
    return units.decode("utf-16-le", "surrogatepass")


def _string_tail(text: str, style: int, quoted_style: int = _QUOTED) -> str:
    """Everything of an inline-string cell after its reference, for any text."""
    text = _fit(text)
    if needs_neutralising(text):
        style = quoted_style
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    attr = f' s="{style}"' if style else ""
    return f'"{attr} t="inlineStr"><is><t{space}>{_ESCAPE.sub(_escape_one, text)}</t></is></c>'


def _excel_serial(value: dt.date) -> float | None:
    """Excel's serial number of a date or date and time (days since 1900, the 1900 date
    system); None before 1900-01-01, which Excel cannot show as a date."""
    if isinstance(value, dt.datetime):
        serial = (value.replace(tzinfo=None) - _EPOCH_DATETIME) / _DAY
    else:
        serial = value.toordinal() - _EPOCH
    if serial >= 61:
        return serial
    # Excel counts a 29 February 1900 that never was: earlier days are one less.
    return serial - 1 if serial >= 2 else None


_EPOCH = dt.date(1899, 12, 30).toordinal()
_EPOCH_DATETIME = dt.datetime(1899, 12, 30)
_DAY = dt.timedelta(days=1)


@functools.cache
def _day_fractions() -> tuple[str, ...]:
    """For each second of a day its fraction of a day, as the decimals of a serial number
    (".5" for noon, "" for midnight): formatting a float costs more than all else a
    date-time cell needs, and there are only 86,400 of them (made once, in 40 ms)."""
    return tuple(f"{s / 86_400:.17f}".rstrip("0").rstrip(".")[1:] for s in range(86_400))


def _cell_tail(column: SheetColumn, value: Any) -> str:
    """The cell of any value (the slow path of the builders below); "" for an empty cell."""
    if value is None or value == "":
        return ""
    kind = column.kind
    text_style = _TEXT if column.as_text else 0
    if kind == TEXT:
        if column.labels is not None:
            value = column.labels.get(value, value)
        value = str(value)
        if column.double_apostrophe and value[:1] == "'":
            value = "'" + value
        return _string_tail(value, text_style)
    if kind == NUMBER:
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, int | float | Decimal) and math.isfinite(value):
            if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
                return f'" s="{_INTEGER}"><v>{int(value)}</v></c>'
            return f'"><v>{float(value)!r}</v></c>'
        return _string_tail(str(value), text_style)
    if kind in (DATE, DATETIME) and isinstance(value, dt.date):
        if kind == DATE and isinstance(value, dt.datetime):
            value = value.date()
        serial = _excel_serial(value)
        if serial is None:  # Excel cannot show it as a date: keep it readable as text
            return _string_tail(str(value), text_style)
        return f'" s="{_DATE if kind == DATE else _DATETIME}"><v>{serial!r}</v></c>'
    return _string_tail(str(value), text_style)


# --- one column of a chunk of rows -------------------------------------------------------
# A builder gets the row numbers (as text) and one column's values of a chunk and returns
# each row's cell XML ("" for an empty cell). The common cases are written out inline; any
# other value goes through _cell_tail.

Builder = Callable[[list[str], Sequence[Any]], list[str]]


def _builder(index: int, column: SheetColumn) -> Builder:
    pre = f'<c r="{column_letter(index)}'

    def slow(n: str, value: Any) -> str:
        tail = _cell_tail(column, value)
        return f"{pre}{n}{tail}" if tail else ""

    kind = column.kind
    if kind == TEXT and column.labels is not None:
        tails: dict[Any, str] = {None: "", "": ""}
        for key in column.labels:
            tails[key] = _cell_tail(column, key)
        get = tails.get

        def labels(nums: list[str], values: Sequence[Any]) -> list[str]:
            return [
                f"{pre}{n}{t}" if (t := get(v)) else (slow(n, v) if t is None else "")
                for n, v in zip(nums, values, strict=True)
            ]

        return labels

    if kind == TEXT:
        style = f' s="{_TEXT}"' if column.as_text else ""
        mid = f'"{style} t="inlineStr"><is><t>'
        quoted = f'" s="{_QUOTED}" t="inlineStr"><is><t>'
        end = "</t></is></c>"

        def texts(nums: list[str], values: Sequence[Any]) -> list[str]:
            try:
                joined = _SEPARATOR.join(values)
            except TypeError:  # not all text: one at a time
                return [slow(n, v) for n, v in zip(nums, values, strict=True)]
            if (
                joined.count(_SEPARATOR) != len(values) - 1
                or (len(joined) > MAX_CHARS // 2 and max(map(len, values)) > MAX_CHARS // 2)
                or _needs_escaping(joined)
            ):
                return [slow(n, v) if v else "" for n, v in zip(nums, values, strict=True)]
            # Only a text that starts like a formula (a phone number "+49 ...") or starts or
            # ends with white space needs more than the plain cell.
            return [
                (
                    f"{pre}{n}{mid}{v}{end}"
                    if (c := v[0]) not in _EDGE_FIRST and v[-1] not in _SPACES
                    else f"{pre}{n}{quoted}{v}{end}"
                    if c in _FORMULA_FIRST and v[-1] not in _SPACES
                    else slow(n, v)
                )
                if v
                else ""
                for n, v in zip(nums, values, strict=True)
            ]

        return texts

    if kind == NUMBER:
        mid = f'" s="{_INTEGER}"><v>'

        def numbers(nums: list[str], values: Sequence[Any]) -> list[str]:
            return [
                f"{pre}{n}{mid}{v}</v></c>" if v.__class__ is int else slow(n, v)
                for n, v in zip(nums, values, strict=True)
            ]

        return numbers

    if kind == DATE:
        mid = f'" s="{_DATE}"><v>'
        date, epoch = dt.date, _EPOCH

        def dates(nums: list[str], values: Sequence[Any]) -> list[str]:
            return [
                f"{pre}{n}{mid}{d}</v></c>"
                if v.__class__ is date and (d := v.toordinal() - epoch) > 60
                else ""
                if v is None
                else slow(n, v)
                for n, v in zip(nums, values, strict=True)
            ]

        return dates

    if kind == DATETIME:
        mid = f'" s="{_DATETIME}"><v>'
        datetime, epoch, fractions = dt.datetime, _EPOCH, _day_fractions()

        def datetimes(nums: list[str], values: Sequence[Any]) -> list[str]:
            # Whole seconds (what the exports hold): the day's number and the time's
            # fraction of a day as text, looked up rather than formatted.
            return [
                f"{pre}{n}{mid}{d}{fractions[v.hour * 3600 + v.minute * 60 + v.second]}</v></c>"
                if v.__class__ is datetime
                and not v.microsecond
                and (d := v.toordinal() - epoch) > 60
                else ""
                if v is None
                else slow(n, v)
                for n, v in zip(nums, values, strict=True)
            ]

        return datetimes

    raise ValueError(f"unknown kind of column: {kind}")


# --- the workbook -------------------------------------------------------------------------


@contextlib.contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Rows and their XML make no reference cycles (reference counting frees them), but the
    many short-lived tuples and lists would set off the cyclic garbage collector again and
    again, each time walking the process's objects: about 15 % of an export's time."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_FORBIDDEN_IN_TITLE = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def sheet_title(title: str, taken: Iterable[str] = ()) -> str:
    """A name Excel accepts for a sheet: no []:*?/\\, no apostrophe at either end, at most
    31 characters, not "History", and not a name already taken (case ignored)."""
    name = _FORBIDDEN_IN_TITLE.sub("_", title).strip("'")[:31].strip("'") or "Sheet"
    if name.casefold() == "history":
        name = "History_"
    used = {t.casefold() for t in taken}
    base, number = name, 1
    while name.casefold() in used:
        number += 1
        suffix = f" ({number})"
        name = base[: 31 - len(suffix)].rstrip() + suffix
    return name


def _width(characters: float) -> float:
    """Excel's stored column width for a width in characters of the default font."""
    return int((characters * 7 + 5) / 7 * 256) / 256


@dataclass
class _Sheet:
    title: str
    filter_ref: str = ""  # the autofilter's range, once written


class Workbook:
    """An XLSX file written sheet by sheet: `write_sheet` once per title, then `close`."""

    def __init__(
        self,
        path: Path | str,
        titles: Sequence[str],
        *,
        date_format: str = "yyyy-mm-dd",
        datetime_format: str = "yyyy-mm-dd hh:mm:ss",
        compresslevel: int = 1,
    ) -> None:
        if not titles:
            raise ValueError("a workbook needs at least one sheet")
        self._sheets: list[_Sheet] = []
        for title in titles:
            self._sheets.append(_Sheet(sheet_title(title, [s.title for s in self._sheets])))
        self._written = 0
        self._zip = zipfile.ZipFile(
            path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        )
        try:
            self._zip.writestr("[Content_Types].xml", self._content_types())
            self._zip.writestr("_rels/.rels", self._package_rels())
            self._zip.writestr("xl/styles.xml", _styles_xml(date_format, datetime_format))
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._zip.close()  # the caller deletes what is there

    def write_sheet(
        self,
        columns: Sequence[SheetColumn],
        rows: Iterable[Sequence[Any]],
        *,
        freeze_header: bool = False,
        autofilter: bool = False,
        tick: Tick | None = None,
    ) -> int:
        """The next sheet: a bold heading row, then `rows`; returns the number of rows."""
        if self._written == len(self._sheets):
            raise ValueError("all sheets are written")
        sheet = self._sheets[self._written]
        first = self._written == 0
        self._written += 1
        builders = [_builder(i, c) for i, c in enumerate(columns)]
        width = len(columns)
        step = width + 2  # pieces per row
        heading = "".join(
            f'<c r="{column_letter(i)}1{_string_tail(c.header, _BOLD, _BOLD)}'
            for i, c in enumerate(columns)
        )
        with self._zip.open(f"xl/worksheets/sheet{self._written}.xml", "w") as out:
            out.write(self._sheet_head(columns, freeze_header, first).encode())
            out.write(
                f'<sheetData><row r="1">{heading}</row>'.encode() if heading else b"<sheetData>"
            )
            count = 0
            iterator = iter(rows)
            # Deflating (zlib lets go of the GIL) runs on a second thread while the next
            # chunk is made; one chunk at a time waits for it, so memory stays flat.
            writing = None
            with (
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlsx") as deflater,
                _without_cycle_collection(),
            ):
                while chunk := list(islice(iterator, CHUNK_ROWS)):
                    start = count + 2
                    count += len(chunk)
                    if count >= MAX_ROWS:
                        raise TooManyRows(f"a sheet holds at most {MAX_ROWS - 1:,} rows")
                    nums = list(map(str, range(start, start + len(chunk))))
                    try:
                        values = list(zip(*chunk, strict=True))
                    except ValueError:
                        values = []
                    if len(values) < width:
                        raise ValueError("every row needs one value per column")
                    # The pieces in the file's order: each row's start, its cells, its end.
                    pieces: list[str] = [""] * (len(chunk) * step)
                    pieces[0::step] = [f'<row r="{n}">' for n in nums]
                    for offset, build in enumerate(builders, start=1):
                        pieces[offset::step] = build(nums, values[offset - 1])
                    pieces[step - 1 :: step] = ["</row>"] * len(chunk)
                    data = "".join(pieces).encode()
                    if writing is not None:
                        writing.result()
                    writing = deflater.submit(out.write, data)
                    if tick is not None and count % CHUNK_ROWS == 0:
                        tick(count)
            if writing is not None:
                writing.result()
            tail = "</sheetData>"
            if autofilter and count and width:
                sheet.filter_ref = f"$A$1:${column_letter(width - 1)}${count + 1}"
                tail += f'<autoFilter ref="{sheet.filter_ref.replace("$", "")}"/>'
            tail += (
                '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" '
                'header="0.3" footer="0.3"/></worksheet>'
            )
            out.write(tail.encode())
        return count

    def close(self) -> None:
        """Write the sheets that were not written (empty) and the workbook around them."""
        if self._zip.fp is None:
            return
        try:
            while self._written < len(self._sheets):
                self.write_sheet([], [])
            self._zip.writestr("xl/workbook.xml", self._workbook())
            self._zip.writestr("xl/_rels/workbook.xml.rels", self._workbook_rels())
        finally:
            self._zip.close()

    # --- the parts around the sheets ------------------------------------------------------

    def _sheet_head(self, columns: Sequence[SheetColumn], freeze_header: bool, first: bool):
        selected = ' tabSelected="1"' if first else ""
        if freeze_header:
            view = (
                f'<sheetView{selected} workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
                'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/>'
                "</sheetView>"
            )
        else:
            view = f'<sheetView{selected} workbookViewId="0"/>'
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{_width(c.width or 8.43)}"'
            + (f' style="{_TEXT}"' if c.as_text else "")
            + (' customWidth="1"' if c.width else "")
            + "/>"
            for i, c in enumerate(columns, start=1)
            if c.width or c.as_text
        )
        return (
            f'{_XML_DECLARATION}<worksheet xmlns="{_NS}" xmlns:r="{_NS_R}">'
            f'<sheetViews>{view}</sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            + (f"<cols>{cols}</cols>" if cols else "")
        )

    def _content_types(self) -> str:
        sheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{sheet}"/>'
            for i in range(1, len(self._sheets) + 1)
        )
        ooxml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        return (
            f"{_XML_DECLARATION}<Types "
            'xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ooxml}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{ooxml}.styles+xml"/>'
            f"{overrides}</Types>"
        )

    def _package_rels(self) -> str:
        return (
            f'{_XML_DECLARATION}<Relationships xmlns="{_NS_PKG}">'
            f'<Relationship Id="rId1" Type="{_NS_R}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        )

    def _workbook_rels(self) -> str:
        count = len(self._sheets)
        sheets = "".join(
            f'<Relationship Id="rId{i}" Type="{_NS_R}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, count + 1)
        )
        return (
            f'{_XML_DECLARATION}<Relationships xmlns="{_NS_PKG}">{sheets}'
            f'<Relationship Id="rId{count + 1}" Type="{_NS_R}/styles" Target="styles.xml"/>'
            "</Relationships>"
        )

    def _workbook(self) -> str:
        sheets = "".join(
            f'<sheet name={quoteattr(s.title)} sheetId="{i}" r:id="rId{i}"/>'
            for i, s in enumerate(self._sheets, start=1)
        )
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"'{_escape_text(s.title.replace(chr(39), chr(39) * 2))}'!{s.filter_ref}"
            "</definedName>"
            for i, s in enumerate(self._sheets)
            if s.filter_ref
        )
        return (
            f'{_XML_DECLARATION}<workbook xmlns="{_NS}" xmlns:r="{_NS_R}">'
            '<bookViews><workbookView xWindow="240" yWindow="15" windowWidth="16095" '
            f'windowHeight="9660"/></bookViews><sheets>{sheets}</sheets>'
            + (f"<definedNames>{names}</definedNames>" if names else "")
            + "</workbook>"
        )


def _escape_text(text: str) -> str:
    return _ESCAPE.sub(_escape_one, text)
