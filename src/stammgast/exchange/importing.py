"""The customer import: headings to fields, every row through the API's rules, bulk writes.

One transaction per import. Rows are read, validated with `clean_customer_data` (the
same cleaners the API and the portal use) and written in batches (COPY on PostgreSQL,
in a thread while the next batch is checked; bulk_create elsewhere; bulk_update for
changes), numbers handed out in bulk from the same counter `create_customer` uses, and
one history entry per customer. If anything is wrong in all-or-nothing mode, or on a dry
run, the transaction is rolled back at the end: nothing is ever half-applied.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import gc
import json
import operator
import re
import threading
import zoneinfo
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import FileField, JSONField, Q
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError
from stammgast.customers import selectors as customer_selectors
from stammgast.customers.models import Customer, CustomerEvent
from stammgast.customers.services import build_search_text, tenant_defaults
from stammgast.customers.validation import (
    BLOCK_FIELDS,
    CONTEXT_FIELDS,
    PAYMENT_FIELDS,
    clean_customer_data,
)
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import MAX_CUSTOMER_NUMBER, Location, Tenant

from .columns import (
    CODE,
    DATETIME,
    IMPORT_COLUMNS,
    TEXT,
    TIMESTAMP_FIELDS,
    CellInvalid,
    Column,
    _fold_header,
    column_letter,
    field_for_header,
    read_cell,
    restore,
)
from .readers import open_table

MODES = ("all-or-nothing", "valid-rows")
MATCHES = ("number", "new")
# The error report keeps this many lines; the count says how many there were in all.
MAX_REPORTED = 10_000
_E164 = ("phone_private_e164", "phone_business_e164", "mobile_e164")
_NAME_FIELDS = ("first_name", "last_name", "company_name")


class Cancelled(Exception):
    """The user asked to stop the job; nothing it did is kept."""


@dataclass
class RowProblem:
    row: int
    column: str
    value: str
    message: str


@dataclass
class ImportResult:
    mode: str
    match: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed_rows: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    errors_total: int = 0
    duplicates: list[RowProblem] = field(default_factory=list)
    duplicates_total: int = 0
    applied: bool = False

    def add_error(self, problem: RowProblem) -> None:
        self.errors_total += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(problem)

    def add_duplicate(self, problem: RowProblem) -> None:
        self.duplicates_total += 1
        if len(self.duplicates) < MAX_REPORTED:
            self.duplicates.append(problem)

    def as_dict(self) -> dict:
        return {
            "mode": self.mode,
            "match": self.match,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed_rows": self.failed_rows,
            "errors_total": self.errors_total,
            "duplicates_total": self.duplicates_total,
            "applied": self.applied,
            "errors": [vars(p) for p in self.errors[:50]],
            "duplicates": [vars(p) for p in self.duplicates[:50]],
        }


@dataclass
class PlannedColumn:
    index: int
    column: Column
    header: str


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def plan_columns(
    headers: list[str], mapping: Mapping[str, str | None] | None, *, match: str
) -> list[PlannedColumn]:
    """Which column of the file fills which field; refuses unknown and doubled headings."""
    folded_mapping = {_fold_header(k): v for k, v in (mapping or {}).items()}
    plan: list[PlannedColumn] = []
    problems: dict[str, str] = {}
    unknown: list[str] = []
    seen_headers: dict[str, int] = {}
    seen_fields: dict[str, int] = {}
    for index, raw in enumerate(headers):
        header = str(raw).replace("\ufeff", "").strip()
        if not header:
            continue
        key = _fold_header(header)
        cell = f"{column_letter(index)}1"
        if key in seen_headers:
            problems[cell] = _("Columns %(a)s and %(b)s both have the heading %(h)s.") % {
                "a": column_letter(seen_headers[key]),
                "b": column_letter(index),
                "h": header,
            }
            continue
        seen_headers[key] = index
        if key in folded_mapping:
            target = folded_mapping[key]
            if not target:
                continue  # mapped to nothing: the column is left out on purpose
            target_field = field_for_header(str(target))
            if target_field is None:
                problems[cell] = _("The mapping names an unknown field %(f)s.") % {"f": target}
                continue
        else:
            target_field = field_for_header(header)
            if target_field is None:
                unknown.append(f"{column_letter(index)} ({header})")
                continue
        if target_field in seen_fields:
            problems[cell] = _("Columns %(a)s and %(b)s would both fill %(f)s.") % {
                "a": column_letter(seen_fields[target_field]),
                "b": column_letter(index),
                "f": IMPORT_COLUMNS[target_field].header("en"),
            }
            continue
        seen_fields[target_field] = index
        plan.append(PlannedColumn(index, IMPORT_COLUMNS[target_field], header))
    if problems:
        raise DomainError(
            "bad_headings",
            _("The headings of the file are not usable."),
            fields=problems,
            status=422,
        )
    if unknown:
        raise DomainError(
            "mapping_needed",
            _("These columns are not known: %(cols)s. Say which field each one fills.")
            % {"cols": ", ".join(unknown)},
            fields={"mapping": _("Give a column mapping.")},
            status=422,
        )
    fields_present = {p.column.field for p in plan}
    if not fields_present & set(_NAME_FIELDS) and not (
        match == "number" and "number" in fields_present
    ):
        raise DomainError(
            "missing_columns",
            _("The file has no column Name or First name (Vorname)."),
            fields={"file": _("Required column missing: Name or First name.")},
            status=422,
        )
    return plan


class NumberAllocator:
    """Free customer numbers in bulk, in the order the tenant-wide counter hands them out.

    `taken` has a bit for every number in use when the import started; the numbers handed
    out here are added to it, and `claimed` holds the numbers the file names itself.
    """

    WINDOW = 10_000

    def __init__(self, tenant: Tenant, claimed: bytearray | None, taken: bytearray) -> None:
        self.tenant = tenant
        self.claimed = claimed
        self.taken = taken
        self.next = tenant.number_counter + 1
        self.ranges = sorted(
            Location.objects.filter(number_from__isnull=False).values_list(
                "number_from", "number_to"
            )
        )
        self.free: deque[int] = deque()
        self.wrapped = False
        self.highest = 0

    def _fill(self) -> bool:
        start = self.next
        if start > MAX_CUSTOMER_NUMBER:
            if self.wrapped:
                return False
            self.wrapped, start = True, 1
        end = min(MAX_CUSTOMER_NUMBER, start + self.WINDOW - 1)
        ranges = [(lo, hi) for lo, hi in self.ranges if lo <= end and hi >= start]
        claimed, taken = self.claimed, self.taken
        for n in range(start, end + 1):
            if taken[n >> 3] & (1 << (n & 7)) or (
                claimed is not None and claimed[n >> 3] & (1 << (n & 7))
            ):
                continue
            if ranges and any(lo <= n <= hi for lo, hi in ranges):
                continue
            self.free.append(n)
        self.next = end + 1
        return True

    def take(self) -> int:
        while not self.free:
            if not self._fill():
                raise DomainError(
                    "numbers_exhausted", _("All customer numbers are in use."), status=409
                )
        n = self.free.popleft()
        self.taken[n >> 3] |= 1 << (n & 7)
        if not self.wrapped:
            self.highest = max(self.highest, n)
        return n

    def save_counter(self) -> None:
        if self.highest > self.tenant.number_counter:
            Tenant.objects.filter(pk=self.tenant.pk).update(number_counter=self.highest)


_DIGITS = re.compile(r"\s*\d{1,7}\s*")


def _number_of(value: Any) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        n = int(value)
    else:
        return None
    return n if 1 <= n <= MAX_CUSTOMER_NUMBER else None


def _blank(cells: list[Any]) -> bool:
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
    if not from_csv:
        return lambda raw: read_cell(kind, raw, from_csv=False)
    if kind in (TEXT, CODE):
        return _read_csv_text
    if kind == DATETIME:
        return _read_csv_datetime
    return _memo_reader(kind)


class _Pending:
    """One row of the file as read: the values for the cleaners and what was wrong."""

    __slots__ = ("blank", "cells", "data", "number", "outcome", "problems", "row", "stamps")

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
        self.outcome: tuple | None = None


def _history_value(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _plain(value: Any) -> Any:
    """A model default as the database stores it (choices' members are their values)."""
    return value.value if isinstance(value, enum.Enum) else value


def _as_customer(row: dict[str, Any]) -> Customer:
    """A Customer holding the row's values, for build_search_text.

    Model.__init__ costs more than everything else done for a row; the instance here only
    needs to answer its fields, which the row has all of.
    """
    customer = Customer.__new__(Customer)
    customer.__dict__.update(row)
    customer._state = ModelState()
    return customer


class _Table:
    """Rows for one table as dicts of column attribute -> value; inserted in bulk."""

    def __init__(self, model) -> None:
        meta = model._meta
        self.model = model
        self.pk = meta.pk
        self.fields = [f for f in meta.concrete_fields if not f.primary_key]
        self.attnames = [f.attname for f in self.fields]
        self.json = [i for i, f in enumerate(self.fields, 1) if isinstance(f, JSONField)]
        self.files = [i for i, f in enumerate(self.fields, 1) if isinstance(f, FileField)]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in [self.pk, *self.fields])
        self.copy_sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"

    def template(self, **values: Any) -> dict[str, Any]:
        row = {f.attname: _plain(f.get_default()) for f in self.fields}
        row.update(values)
        return row

    def find_sequence(self) -> None:
        """Look up the sequence the table's ids come from (PostgreSQL)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_serial_sequence(%s, %s)",
                [self.model._meta.db_table, self.pk.column],
            )
            self.sequence = cursor.fetchone()[0]

    def reserve_ids(self, raw_connection, count: int) -> list[int]:
        """The next `count` ids of the table's sequence (PostgreSQL; any thread)."""
        if not count:
            return []
        with raw_connection.cursor() as cursor:
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [self.sequence, count])
            return [r[0] for r in cursor.fetchall()]

    def copy(self, raw_connection, ids: list[int], rows: list[dict[str, Any]]) -> None:
        """COPY the rows with the ids reserved for them (PostgreSQL; any thread).

        Django's bulk insert spends more time preparing parameters than PostgreSQL spends
        inserting; COPY takes the rows as they are.
        """
        if not rows:
            return
        getter = operator.itemgetter(*self.attnames)
        json_at, files_at, dumps = self.json, self.files, json.dumps
        with raw_connection.cursor() as cursor, cursor.copy(self.copy_sql) as copy:
            write = copy.write_row
            for pk, row in zip(ids, rows, strict=True):
                values = [pk, *getter(row)]
                for i in json_at:
                    value = values[i]
                    values[i] = "{}" if value == {} else dumps(value, ensure_ascii=False)
                for i in files_at:
                    value = values[i]
                    values[i] = getattr(value, "name", value) or ""
                write(values)

    def bulk_create(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert the rows with Django's bulk_create (databases without COPY); their ids."""
        if not rows:
            return []
        objs = [self.model(**row) for row in rows]
        self.model._base_manager.bulk_create(objs, batch_size=500)
        return [obj.pk for obj in objs]


class _Writer:
    """Writes one batch while the next one is read and checked.

    On PostgreSQL a batch's COPY runs in a thread on the import's own connection (and so in
    its transaction): the server inserts the rows and maintains the indexes while this
    process reads and checks the next rows. The import touches the database again only
    after wait(). Elsewhere the work is done at once.
    """

    def __init__(self, threaded: bool) -> None:
        self.threaded = threaded
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def submit(self, work) -> None:
        self.wait()
        if not self.threaded:
            work()
            return

        def run() -> None:
            try:
                work()
            except BaseException as exc:  # handed to the importing thread by wait()
                self.error = exc

        self.thread = threading.Thread(target=run, name="import-writer", daemon=True)
        self.thread.start()

    def wait(self) -> None:
        """Until the last batch is written; raises what writing it raised."""
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def close(self) -> None:
        """Wait without raising: the import is failing already, for its own reason."""
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        self.error = None


_DEFERRED = ("deferred",)

# Python's cycle collector runs after every 700 new containers by default; an import makes
# some thirty dicts and lists per row, almost none in cycles, and the collections cost
# about a sixth of its time. While imports run it waits for 50,000 (process-wide; the
# memory that may wait is a few MB).
_GC_THRESHOLD = 50_000
_gc_lock = threading.Lock()
_gc_users = 0
_gc_before: tuple[int, ...] = ()


@contextlib.contextmanager
def _fewer_collections():
    global _gc_users, _gc_before
    with _gc_lock:
        if _gc_users == 0:
            _gc_before = gc.get_threshold()
            gc.set_threshold(max(_GC_THRESHOLD, _gc_before[0]), *_gc_before[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_before)


class _SeenValues:
    """The e-mail addresses and phone numbers customers of the tenant may have.

    A Bloom filter (8 MB, two bits per value) over the values of the customers there were
    when the import started and of every batch written since: a value it does not hold is
    in no customer record, so the duplicate check asks the database only about the few
    it may hold (the duplicates, and at a million values about one other in two hundred)
    instead of looking up every address and number of the file.
    """

    SIZE = 1 << 26
    MASK = SIZE - 1

    def __init__(self) -> None:
        self.bits = bytearray(self.SIZE >> 3)

    def add(self, value: str) -> None:
        h = hash(value)
        a, b = h & self.MASK, (h >> 26) & self.MASK
        self.bits[a >> 3] |= 1 << (a & 7)
        self.bits[b >> 3] |= 1 << (b & 7)

    def __contains__(self, value: str) -> bool:
        h = hash(value)
        a, b = h & self.MASK, (h >> 26) & self.MASK
        bits = self.bits
        return bool(bits[a >> 3] & (1 << (a & 7)) and bits[b >> 3] & (1 << (b & 7)))


class _Import:
    """State of one import run; `run()` does the work inside the caller's transaction."""

    def __init__(
        self,
        *,
        actor,
        path,
        mode,
        match,
        dry_run,
        mapping,
        separator,
        progress,
        should_cancel,
        batch_size,
    ):
        self.actor = actor
        self.path = Path(path)
        self.mode = mode
        self.match = match
        self.mapping = mapping
        self.separator = separator
        self.progress = progress
        self.should_cancel = should_cancel
        self.batch_size = batch_size
        self.result = ImportResult(mode=mode, match=match, dry_run=dry_run)
        self.tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        self.now = timezone.now()
        self.label = f"{actor.label} (import)"[:200]
        self.location_code = actor.location.code if actor.location else ""
        # What the actor may do does not change during the run: asked once, not per row.
        self.may_create = actor.can("customers.create")
        self.may_change = actor.can("customers.change")
        self.may_change_payment = actor.can("customers.change_payment")
        self.may_block = actor.can("customers.block")

    # -- pass 1: numbers named in the file, row count --------------------------------

    def prescan(self, plan: list[PlannedColumn]) -> tuple[bytearray | None, set[int], int]:
        number_col = next((p.index for p in plan if p.column.field == "number"), None)
        claimed = bytearray(MAX_CUSTOMER_NUMBER // 8 + 1) if self.match == "number" else None
        doubled: set[int] = set()
        total = 0
        with open_table(self.path, separator=self.separator) as table:
            for _row, cells in table.rows:
                if _blank(cells):
                    continue
                total += 1
                if claimed is None or number_col is None or number_col >= len(cells):
                    continue
                n = _number_of(cells[number_col])
                if n is None:
                    continue
                if claimed[n >> 3] & (1 << (n & 7)):
                    doubled.add(n)
                else:
                    claimed[n >> 3] |= 1 << (n & 7)
        return claimed, doubled, total

    # -- pass 2 ------------------------------------------------------------------------

    def run(self) -> ImportResult:
        with open_table(self.path, separator=self.separator) as table:
            plan = plan_columns(table.headers, self.mapping, match=self.match)
        self.header_of = {p.column.field: p.header for p in plan}
        self.index_of = {p.column.field: p.index for p in plan}
        self.field_order = [p.column.field for p in plan]
        self.width = max(p.index for p in plan) + 1 if plan else 0
        claimed, self.doubled, total = self.prescan(plan)
        if total == 0:
            raise DomainError(
                "no_rows",
                _("The file has headings but no customers."),
                fields={"file": _("No rows below the headings.")},
                status=422,
            )
        self.first_row_of: dict[int, int] = {}
        self.total = total
        self.tenant = Tenant.objects.select_for_update().get(pk=self.actor.tenant.pk)
        self.region = self.tenant.default_country
        self.defaults = tenant_defaults(self.tenant)
        self.seen = _SeenValues()
        self.taken = self._load_base()
        self.numbers = NumberAllocator(self.tenant, claimed, self.taken)
        self.customers = _Table(Customer)
        self.events = _Table(CustomerEvent)
        self.group_links = _Table(Customer.groups.through)
        location = self.actor.location
        self.customer_template = self.customers.template(
            tenant_id=self.tenant.pk,
            created_location_id=location.pk if location else None,
            version=1,
        )
        self.event_template = self.events.template(
            tenant_id=self.tenant.pk,
            at=self.now,
            user_id=self.actor.user.pk if self.actor.user else None,
            api_client_id=self.actor.api_client.pk if self.actor.api_client else None,
            actor_label=self.label,
            location_code=self.location_code,
        )
        self.default_group = self.tenant.default_group if self.tenant.default_group_id else None
        self.copy = connection.vendor == "postgresql"
        if self.copy:
            for table in (self.customers, self.events, self.group_links):
                table.find_sequence()
        self.writer = _Writer(threaded=self.copy)
        if self.progress:
            self.progress(0, total)
        checked_at_once = self._check_references_at_once()
        try:
            with open_table(self.path, separator=self.separator) as table:
                self._readers(plan, table.from_csv)
                batch: list[_Pending] = []
                for row_no, cells in table.rows:
                    if _blank(cells):
                        continue
                    batch.append(self._read_row(row_no, cells))
                    if len(batch) >= self.batch_size:
                        self._flush(batch)
                        batch = []
                self._flush(batch)
            self.writer.wait()
        finally:
            self.writer.close()
        if checked_at_once:
            with connection.cursor() as cursor:
                cursor.execute(f"SET CONSTRAINTS {checked_at_once} DEFERRED")
        self.numbers.save_counter()
        return self.result

    def _check_references_at_once(self) -> str:
        """Have PostgreSQL check the references of the rows written while it inserts them.

        Django's foreign keys are checked at commit (deferred). For a million new customers
        that is some three million checks in one piece after the last row, with nothing
        else going on; checked row by row they run while the next batch is being read and
        checked. Parents are always written before their children, so nothing fails that
        would pass at commit. Returns the constraints switched (to switch them back).
        """
        if not self.copy:
            return ""
        tables = [t.model._meta.db_table for t in (self.customers, self.events, self.group_links)]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname FROM pg_constraint WHERE contype = 'f' AND condeferrable"
                " AND condeferred AND conrelid = ANY(%s::regclass[])",
                [tables],
            )
            names = ", ".join(connection.ops.quote_name(r[0]) for r in cursor.fetchall())
            if names:
                cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
        return names

    def _load_base(self) -> bytearray:
        """The numbers in use (a bitmap) and the e-mail addresses and phone numbers of the
        customers there are (into self.seen); one pass over the tenant's customers."""
        taken = bytearray(MAX_CUSTOMER_NUMBER // 8 + 1)
        add = self.seen.add
        rows = Customer.objects.values_list("number", "email", *_E164)
        for n, *values in rows.iterator(chunk_size=20_000):
            taken[n >> 3] |= 1 << (n & 7)
            for value in values:
                if value:
                    add(value)
        return taken

    def _readers(self, plan: list[PlannedColumn], from_csv: bool) -> None:
        """How each column is read: CSV text as it is (one apostrophe of an escaped formula
        less), every other kind through its reader."""
        indexes = [p.index for p in plan]
        get = operator.itemgetter(*indexes)
        self.cells_of = get if len(indexes) > 1 else lambda cells: (get(cells),)
        self.text_fields = []
        self.other_fields = []
        for p in plan:
            fld, kind = p.column.field, p.column.kind
            if from_csv and kind in (TEXT, CODE) and fld != "number":
                self.text_fields.append(fld)
            else:
                self.other_fields.append((fld, p.header, _cell_reader(kind, from_csv)))

    def _read_row(self, row_no: int, cells: list[Any]) -> _Pending:
        if len(cells) < self.width:
            cells = [*cells, *([""] * (self.width - len(cells)))]
        pending = _Pending(row_no, cells)
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
                pending.problems.append(RowProblem(row_no, header, _shown(raw), str(exc)))
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
        return pending

    def _problem(self, pending: _Pending, fld: str, message: str) -> RowProblem:
        header = self.header_of.get(fld)
        if header is None:
            column = IMPORT_COLUMNS.get(fld)
            header = column.header(self.actor_language) if column else fld
            raw = ""
        else:
            raw = pending.cells[self.index_of[fld]]
        return RowProblem(pending.row, header, _shown(raw), message)

    actor_language = "de"

    def _check_permissions(self, pending: _Pending, fields: set[str]) -> list[RowProblem]:
        out = []
        if not self.may_change_payment:
            for f in sorted(fields & PAYMENT_FIELDS):
                out.append(self._problem(pending, f, _("You may not change payment information.")))
        if not self.may_block:
            for f in sorted(fields & BLOCK_FIELDS):
                out.append(self._problem(pending, f, _("You may not block or unblock customers.")))
        return out

    def _flush(self, batch: list[_Pending]) -> None:
        """Check a batch (while the previous one is being written), then write it.

        Rows with a number that may exist (it did when the import started, or the file
        names it twice) wait for the database; every other row becomes a new customer and
        is checked without it.
        """
        if not batch:
            return
        taken, doubled = self.taken, self.doubled
        by_number = self.match == "number"
        deferred = []
        for pending in batch:
            number = _number_of(pending.data.get("number"))
            pending.number = number
            if number is not None and number in doubled:
                first = self.first_row_of.setdefault(number, pending.row)
                if first != pending.row:
                    pending.problems.append(
                        self._problem(
                            pending,
                            "number",
                            _("Customer number %(n)d is already in row %(row)d.")
                            % {"n": number, "row": first},
                        )
                    )
            if (
                by_number
                and number is not None
                and (number in doubled or taken[number >> 3] & (1 << (number & 7)))
            ):
                pending.outcome = _DEFERRED
                deferred.append(pending)
            else:
                pending.outcome = self._outcome(pending, {}, None)

        self.writer.wait()  # the previous batch is written; the database is ours again
        if self.should_cancel is not None and self.should_cancel():
            raise Cancelled
        if deferred:
            numbers = {p.number for p in deferred}
            existing = {c.number: c for c in self._customers_numbered(numbers)}
            visible: set[int] | None = None
            if self.actor.location_bound and existing:
                visible = set(
                    customer_selectors.visible_customers(self.actor)
                    .filter(number__in=list(existing))
                    .values_list("number", flat=True)
                )
            for pending in deferred:
                pending.outcome = self._outcome(pending, existing, visible)

        creates: list[tuple[_Pending, dict, dict]] = []
        updates: list[tuple[_Pending, Customer, dict]] = []
        result = self.result
        for pending in batch:
            result.rows += 1
            if pending.problems:
                result.failed_rows += 1
                for p in pending.problems:
                    result.add_error(p)
                continue
            kind, values, changes = pending.outcome
            if kind == "create":
                creates.append((pending, values, changes))
            elif kind == "update":
                updates.append((pending, values, changes))
            else:
                result.unchanged += 1
        self._report_duplicates(
            [
                (p, row["number"], row["email"], *map(row.__getitem__, _E164))
                for p, row, _c in creates
            ]
            + [(p, c.number, c.email, *(getattr(c, f) for f in _E164)) for p, c, _c in updates]
        )
        self._write(creates, updates)
        if self.progress:
            self.progress(result.rows, self.total)

    def _outcome(self, pending: _Pending, existing: dict[int, Customer], visible):
        """("create", row, changes), ("update", customer, changes), ("unchanged", ...) or
        None with the reasons in pending.problems."""
        problems = pending.problems
        number = pending.number
        outcome = None
        try:
            if number is not None and number in existing:
                outcome = self._update(pending, existing[number], visible, problems)
            else:
                outcome = self._create(pending, problems)
        except DomainError as exc:
            for fld, messages in exc.fields.items():
                for message in messages:
                    problems.append(self._problem(pending, fld, message))
            if not exc.fields:
                problems.append(self._problem(pending, "number", exc.message))
        return None if problems else outcome

    def _create(self, pending: _Pending, problems: list[RowProblem]):
        if not self.may_create:
            self.actor.require("customers.create", _("You may not create customers."))
        # Empty text cells are left out: they would be cleaned to the "" every new
        # customer has anyway.
        cleaned = clean_customer_data(pending.data, default_region=self.region)
        if not (self.may_change_payment and self.may_block):
            defaults = self.defaults
            problems += self._check_permissions(
                pending,
                {
                    k
                    for k, v in cleaned.items()
                    if k in defaults
                    and v != defaults[k]
                    or k not in defaults
                    and v not in ("", None, False, 0)
                },
            )
        if problems:
            return None
        values = {**self.defaults, **cleaned}
        if "number" not in values:
            values["number"] = self.numbers.take()
        created = pending.stamps.get("created_at") or self.now
        row = self.customer_template.copy()
        row.update(values)
        row["features"] = {}
        row["created_at"] = created
        row["updated_at"] = pending.stamps.get("updated_at") or created
        row["search_text"] = build_search_text(_as_customer(row))
        changes = {}
        for k, v in values.items():
            if v.__class__ is str:
                if v and k not in _E164:
                    changes[k] = [None, v]
            elif v is not None and v != "" and v != {} and v != [] and k not in _E164:
                changes[k] = [None, _history_value(v)]
        return "create", row, changes

    def _update(self, pending, customer: Customer, visible, problems):
        if visible is not None and customer.number not in visible:
            raise DomainError(
                "number_taken",
                _("Customer number %(n)d is taken.") % {"n": customer.number},
                fields={"number": _("This number is taken.")},
            )
        if not self.may_change:
            self.actor.require("customers.change", _("You may not change customers."))
        # The columns in the file's order, empty text cells as "" (they clear the field).
        given, blank = pending.data, set(pending.blank)
        data = {
            f: given.get(f, "")
            for f in self.field_order
            if f != "number" and (f in given or f in blank)
        }
        current = {f: getattr(customer, f) for f in (*data, *CONTEXT_FIELDS)}
        cleaned = clean_customer_data(data, current=current, default_region=self.region)
        changes: dict[str, list] = {}
        new_values: dict[str, Any] = {}
        for fld, value in cleaned.items():
            old = getattr(customer, fld)
            if old != value:
                new_values[fld] = value
                if fld not in _E164:
                    changes[fld] = [_history_value(old), _history_value(value)]
        problems += self._check_permissions(pending, set(changes))
        if problems:
            return None
        if not new_values:
            return "unchanged", customer, {}
        for fld, value in new_values.items():
            setattr(customer, fld, value)
        customer.version += 1
        customer.updated_at = self.now
        customer.search_text = build_search_text(customer)
        return "update", customer, changes

    def _report_duplicates(self, rows: list[tuple]) -> None:
        """Same e-mail or phone as another row of the file or a customer already there.

        `rows` holds (pending, number, email, phone_private_e164, phone_business_e164,
        mobile_e164) of each row about to be written.
        """
        if not rows:
            return
        emails = {r[2] for r in rows if r[2]}
        phones = {v for r in rows for v in r[3:] if v}
        seen = self.seen
        by_email: dict[str, list[int]] = {}
        by_phone: dict[str, list[int]] = {}
        # Only values some customer may have are looked up: usually none at all.
        for email, number in self._known("email", {v for v in emails if v in seen}):
            by_email.setdefault(email, []).append(number)
        maybe = {v for v in phones if v in seen}
        for *values, number in self._known(_E164, maybe):
            for v in values:
                if v in maybe:
                    by_phone.setdefault(v, []).append(number)
        for value in (*emails, *phones):
            seen.add(value)  # in the database once this batch is written
        in_batch: dict[tuple[str, str], int] = {}
        phone_fields = [f.removesuffix("_e164") for f in _E164]
        for pending, own_number, email, *e164s in rows:
            checks = [("email", email, by_email)] + [
                (fld, value, by_phone) for fld, value in zip(phone_fields, e164s, strict=True)
            ]
            for fld, value, known in checks:
                if not value:
                    continue
                key = ("email" if fld == "email" else "phone", value)
                first = in_batch.setdefault(key, pending.row)
                others = known.get(value)
                if others:
                    others = [n for n in others if n != own_number]
                if not others and first == pending.row:
                    continue  # the common case: nothing to say, no message to build
                what = _("e-mail address") if fld == "email" else _("phone number")
                if others:
                    self.result.add_duplicate(
                        self._problem(
                            pending,
                            fld,
                            _("The same %(what)s is used by customer %(n)s.")
                            % {"what": what, "n": ", ".join(map(str, sorted(others)[:5]))},
                        )
                    )
                if first != pending.row:
                    self.result.add_duplicate(
                        self._problem(
                            pending,
                            fld,
                            _("The same %(what)s is in row %(row)d.")
                            % {"what": what, "row": first},
                        )
                    )

    def _customers_numbered(self, numbers: set[int]) -> list[Customer]:
        if not self.copy:
            return list(Customer.objects.filter(number__in=numbers))
        with connection.cursor() as cursor:  # by the index of tenant and number, see _known
            cursor.execute(
                f"SELECT id FROM {connection.ops.quote_name(Customer._meta.db_table)}"
                " WHERE tenant_id = (SELECT %s) AND number = ANY(%s)",
                [self.tenant.pk, list(numbers)],
            )
            ids = [r[0] for r in cursor.fetchall()]
        return list(Customer.objects.filter(pk__in=ids)) if ids else []

    def _known(self, fields: str | tuple[str, ...], values: set[str]) -> list[tuple]:
        """(values of `fields`..., number) of the customers with one of `values` in any of
        `fields`; on PostgreSQL as one array parameter per field rather than thousands.

        "(SELECT tenant)": the statistics may still say the tenant has no customers (they
        cannot see the rows this import wrote), and the planner would then scan all of its
        customers by tenant rather than use the index of tenant and value.
        """
        if not values:
            return []
        fields = (fields,) if isinstance(fields, str) else fields
        if not self.copy:
            query = Q()
            for f in fields:
                query |= Q(**{f"{f}__in": values})
            return list(Customer.objects.filter(query).values_list(*fields, "number"))
        quote = connection.ops.quote_name
        wanted = list(values)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(map(quote, fields))}, number"
                f" FROM {quote(Customer._meta.db_table)} WHERE tenant_id = (SELECT %s) AND ("
                + " OR ".join(f"{quote(f)} = ANY(%s)" for f in fields)
                + ")",
                [self.tenant.pk, *([wanted] * len(fields))],
            )
            return cursor.fetchall()

    def _write(self, creates, updates) -> None:
        """Updates at once; new customers, their group links and the history entries by
        COPY in the writer's thread (PostgreSQL), or at once by bulk_create."""
        template = self.event_template
        rows = [row for _p, row, _ch in creates]
        group = self.default_group
        created = CustomerEvent.Action.CREATED.value
        event_rows = []
        for _p, _row, changes in creates:
            if group is not None:
                changes["groups"] = [None, [group.name]]
            event = template.copy()
            event["action"] = created
            event["changes"] = changes
            event_rows.append(event)
        self.result.created += len(rows)
        if updates:
            fields = sorted(
                {f for _p, _c, ch in updates for f in ch}
                | set(_E164)
                | {"search_text", "updated_at", "version"}
            )
            Customer.objects.bulk_update([c for _p, c, _ch in updates], fields, batch_size=500)
            self.result.updated += len(updates)
            for _p, customer, changes in updates:
                event = template.copy()
                event["customer_id"] = customer.pk
                event["action"] = CustomerEvent.Action.UPDATED.value
                event["changes"] = changes
                event_rows.append(event)
        if not self.copy:
            ids = self.customers.bulk_create(rows)
            for event, pk in zip(event_rows, ids, strict=False):
                event["customer_id"] = pk
            if group is not None:
                self.group_links.bulk_create(
                    [{"customer_id": pk, "customergroup_id": group.pk} for pk in ids]
                )
            self.events.bulk_create(event_rows)
            return
        connection.ensure_connection()
        raw = connection.connection

        def work() -> None:
            ids = self.customers.reserve_ids(raw, len(rows))
            for event, pk in zip(event_rows, ids, strict=False):  # the new customers' first
                event["customer_id"] = pk
            self.customers.copy(raw, ids, rows)
            if group is not None:
                links = [{"customer_id": pk, "customergroup_id": group.pk} for pk in ids]
                self.group_links.copy(raw, self.group_links.reserve_ids(raw, len(ids)), links)
            self.events.copy(raw, self.events.reserve_ids(raw, len(event_rows)), event_rows)

        self.writer.submit(work)


def import_customers(
    *,
    actor: Actor,
    path: Path,
    mode: str = "all-or-nothing",
    match: str = "number",
    dry_run: bool = False,
    mapping: Mapping[str, str | None] | None = None,
    separator: str | None = None,
    language: str = "de",
    progress=None,
    should_cancel=None,
    batch_size: int = 1000,
) -> ImportResult:
    """Import customers from a CSV, XLSX or our own ZIP export.

    All-or-nothing (the default) keeps nothing if any row is bad; "valid-rows" keeps the
    good rows. A dry run checks everything and keeps nothing. Problems are in the result.
    """
    actor.require("customers.import", _("You may not import customers."))
    if mode not in MODES:
        raise DomainError(
            "invalid_mode",
            _("Unknown import mode."),
            status=400,
            fields={"mode": _("Choose one of: %(v)s.") % {"v": ", ".join(MODES)}},
        )
    if match not in MATCHES:
        raise DomainError(
            "invalid_match",
            _("Unknown way of matching customers."),
            status=400,
            fields={"match": _("Choose one of: %(v)s.") % {"v": ", ".join(MATCHES)}},
        )
    run = _Import(
        actor=actor,
        path=path,
        mode=mode,
        match=match,
        dry_run=dry_run,
        mapping=mapping,
        separator=separator,
        progress=progress,
        should_cancel=should_cancel,
        batch_size=batch_size,
    )
    run.actor_language = language
    with _fewer_collections(), transaction.atomic():
        result = run.run()
        keep = not dry_run and (mode == "valid-rows" or result.errors_total == 0)
        if not keep:
            transaction.set_rollback(True)
    result.applied = keep
    if not keep:
        # Nothing was kept; the counts say what would have happened.
        pass
    return result
