"""Reading an import file's rows: each cell read by its column's kind, problems noted.

columns.read_cell decides what a cell means. A CSV has millions of cells of a handful of
kinds, so each column gets a reader that answers the common cases directly (text as it is,
repeated labels and dates from a memo, the export's date-time spelling) and asks read_cell
for everything else, which also words every refusal.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import operator
import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
import pycountry

from stammgast.tenants.models import MAX_CUSTOMER_NUMBER

from .columns import (
    CODE,
    DATETIME,
    NAMES,
    TEXT,
    TIMESTAMP_FIELDS,
    CellInvalid,
    Salutation,
    read_cell,
    restore,
)
from .headings import PlannedColumn


@dataclass
class RowProblem:
    row: int
    column: str
    value: str
    message: str
    code: str = "invalid"


def shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


_DIGITS = re.compile(r"\s*\d{1,7}\s*")


def number_of(value: Any) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        n = int(value)
    else:
        return None
    return n if 1 <= n <= MAX_CUSTOMER_NUMBER else None


def is_blank(cells: list[Any]) -> bool:
    try:
        # A CSV row is all text: whitespace only when the joined text is.
        return not "".join(cells).strip()
    except TypeError:
        return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


# --- reading cells -------------------------------------------------------------------------
# columns.read_cell decides what a cell means. A CSV has millions of cells of a handful of
# kinds, so each column gets a reader that answers the common cases directly (text as it
# is, repeated labels and dates from a memo, the export's date-time spelling) and asks
# read_cell for everything else, which also words every refusal.

_MEMO_SIZE = 100_000
_EXPORT_DATETIME = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}) (\d{1,2}):(\d{2}):(\d{2})")


def _read_csv_text(raw: str) -> str:
    return restore(raw) if raw[:1] == "'" else raw


def _read_csv_datetime(raw: str) -> dt.datetime | None:
    m = _EXPORT_DATETIME.fullmatch(raw)
    if m is not None:
        day, month, year, hour, minute, second = map(int, m.groups())
        try:
            return dt.datetime(year, month, day, hour, minute, second)
        except ValueError:
            pass  # read_cell says what is wrong with it
    return read_cell(DATETIME, raw, from_csv=True)


def _memo_reader(kind: str):
    memo: dict[str, Any] = {}

    def read(raw: str) -> Any:
        try:
            return memo[raw]
        except KeyError:
            pass
        value = read_cell(kind, raw, from_csv=True)  # refusals are not kept: they raise
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[raw] = value
        return value

    return read


def _cell_reader(kind: str, from_csv: bool):
    if not from_csv or kind == NAMES:  # a list of names is not shared between rows
        return lambda raw: read_cell(kind, raw, from_csv=False)
    if kind in (TEXT, CODE):
        return _read_csv_text
    if kind == DATETIME:
        return _read_csv_datetime
    return _memo_reader(kind)


class PendingRow:
    """One row of the file as read: the values for the cleaners and what was wrong."""

    __slots__ = ("blank", "cells", "data", "number", "plan", "problems", "row", "stamps")

    def __init__(self, row: int, cells: list[Any]) -> None:
        self.row = row
        self.cells = cells
        self.data: dict[str, Any] = {}
        # Text columns left empty: nothing to check for a new customer, "clear it" for one
        # that exists.
        self.blank: list[str] = []
        self.stamps: dict[str, dt.datetime] = {}
        self.problems: list[RowProblem] = []
        self.number: int | None = None
        # What the customer services made of the row (a CustomerPlan), once planned.
        self.plan: Any = None


# --- values a spreadsheet changed --------------------------------------------------------

# Countries whose postcodes are a fixed number of digits: a spreadsheet that took one for a
# number dropped its leading zeros (01067 -> 1067, 00118 -> 118).
POSTCODE_DIGITS = {
    "DE": 5,
    "FR": 5,
    "IT": 5,
    "ES": 5,
    "FI": 5,
    "HR": 5,
    "AT": 4,
    "CH": 4,
    "LI": 4,
    "DK": 4,
    "BE": 4,
    "LU": 4,
    "NO": 4,
    "HU": 4,
    "SI": 4,
}
PHONE_FIELDS = ("phone_private", "phone_business", "mobile", "fax")


@functools.lru_cache(maxsize=1)
def _german_country_names() -> dict[str, str]:
    """Deutschland -> DE, Österreich -> AT ...: German offices write the country's name."""
    german = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["de"])
    names = {}
    for country in pycountry.countries:
        for name in (country.name, getattr(country, "common_name", None)):
            if name:
                names[german.gettext(name).casefold()] = country.alpha_2
    return names


@functools.lru_cache(maxsize=1024)
def country_code(value: str) -> str | None:
    """The ISO code of a country as a file names it (DE, DEU, Germany, Deutschland), None
    if unknown."""
    try:
        return pycountry.countries.lookup(value.strip()).alpha_2
    except LookupError:
        return _german_country_names().get(value.strip().casefold())


def padded_postcode(postcode: str, country: str | None) -> str:
    """A postcode with the leading zeros a spreadsheet dropped, for the country's length."""
    length = POSTCODE_DIGITS.get(country or "")
    if length and postcode.isascii() and postcode.isdigit() and len(postcode) < length:
        return postcode.zfill(length)
    return postcode


@functools.lru_cache(maxsize=4096)
def restored_phone(digits: str, region: str) -> str:
    """A phone number a spreadsheet took for a number (1511234567, 4915112345678) with the
    leading 0 or + it lost, where that makes a valid number of the region; else as it is,
    for the cleaner to refuse with its own words."""
    if not (digits.isascii() and digits.isdigit()) or digits[0] == "0":
        return digits
    for candidate, where in (("0" + digits, region), ("+" + digits, None)):
        try:
            number = phonenumbers.parse(candidate, where)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return candidate
    return digits


class RowReader:
    """Reads the rows of one file by its planned columns into PendingRows."""

    def __init__(
        self,
        plan: list[PlannedColumn],
        *,
        from_csv: bool,
        match: str,
        tz,
        default_country: str = "DE",
    ) -> None:
        self.match = match
        self.tz = tz
        self.default_country = default_country
        self.field_order = [p.column.field for p in plan]
        # A salutation column fills the gender, the kind and the title, each only where the
        # file has no column of its own for it.
        self.from_salutation: tuple[str, ...] = ()
        if "salutation" in self.field_order:
            self.from_salutation = tuple(
                f for f in ("gender", "kind", "title") if f not in self.field_order
            )
        self.update_order = [f for f in self.field_order if f != "salutation"] + list(
            self.from_salutation
        )
        self.phone_fields = [f for f in PHONE_FIELDS if f in self.field_order]
        self.header_of = {p.column.field: p.header for p in plan}
        self.index_of = {p.column.field: p.index for p in plan}
        self.width = max(p.index for p in plan) + 1 if plan else 0
        indexes = [p.index for p in plan]
        get = operator.itemgetter(*indexes)
        self.cells_of = get if len(indexes) > 1 else lambda cells: (get(cells),)
        # CSV text as it is (one apostrophe of an escaped formula less); every other kind
        # through its reader.
        self.text_fields = []
        self.other_fields = []
        for p in plan:
            fld, kind = p.column.field, p.column.kind
            if from_csv and kind in (TEXT, CODE) and fld != "number":
                self.text_fields.append(fld)
            else:
                self.other_fields.append((fld, p.header, _cell_reader(kind, from_csv)))

    def read(self, row_no: int, cells: list[Any]) -> PendingRow:
        if len(cells) < self.width:
            cells = [*cells, *([""] * (self.width - len(cells)))]
        pending = PendingRow(row_no, cells)
        # The cells by field in the file's order; each is then replaced by its value or
        # left out (setting a key keeps its place).
        data = pending.data = dict(zip(self.field_order, self.cells_of(cells), strict=True))
        for fld in self.text_fields:
            raw = data[fld]
            if not raw:
                del data[fld]
                pending.blank.append(fld)
            elif raw[0] == "'":
                data[fld] = restore(raw)
        for fld, header, read in self.other_fields:
            raw = data[fld]
            try:
                value = read(raw)
            except CellInvalid as exc:
                pending.problems.append(RowProblem(row_no, header, shown(raw), str(exc)))
                del data[fld]
                continue
            if value is None:
                del data[fld]
            elif fld in TIMESTAMP_FIELDS:
                # What timezone.make_aware does for a zoneinfo zone.
                pending.stamps[fld] = value.replace(tzinfo=self.tz)
                del data[fld]
            elif fld == "number" and (value == "" or self.match == "new"):
                del data[fld]
            else:
                data[fld] = value
        salutation = data.pop("salutation", None)
        if salutation is not None:
            self._fill_from_salutation(data, salutation)
        if "postcode" in data or "country" in data or self.phone_fields:
            self._restore_numbers(data)
        return pending

    def _fill_from_salutation(self, data: dict[str, Any], salutation: Salutation) -> None:
        for fld in self.from_salutation:
            value = getattr(salutation, fld)
            if value:
                data[fld] = value

    def _restore_numbers(self, data: dict[str, Any]) -> None:
        country = data.get("country")
        if country:
            country = country_code(country)
            if country:
                data["country"] = country  # the code of a name in German, too
        else:
            country = self.default_country
        if "postcode" in data:
            data["postcode"] = padded_postcode(data["postcode"], country)
        for fld in self.phone_fields:
            value = data.get(fld)
            if value and value[0] != "0" and value[0] != "+":
                data[fld] = restored_phone(value.strip(), country or self.default_country)

    def raw_value(self, pending: PendingRow, fld: str) -> str:
        index = self.index_of.get(fld)
        return shown(pending.cells[index]) if index is not None else ""
