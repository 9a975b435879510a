"""The customer import: every row planned by the customer services, applied in batches.

A file's rows are read (rows.py) by the columns its headings name (headings.py) and
planned one by one with `plan_create` / `plan_update`, the rules `POST /customers` and
the portal's forms go through; the plans are applied a thousand at a time by the
services' bulk writer (COPY on PostgreSQL, while the next batch is planned). New
customers get their numbers from a block reserved at the start in a short transaction of
its own, so tills creating customers meanwhile are not held up. One transaction holds
the whole import: all-or-nothing keeps nothing if any row is bad, a dry run keeps
nothing at all; nothing is ever half-applied.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import traceback
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import translation
from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import DomainError
from stammgast.customers import selectors as customer_selectors
from stammgast.customers import services as customer_services
from stammgast.tenants.actor import Actor

from .columns import IMPORT_COLUMNS
from .headings import PlannedColumn, plan_columns
from .progress import Cancelled, ImportStages, Progress, ShouldCancel
from .readers import open_table
from .rows import PendingRow, RowProblem, RowReader, is_blank, number_of, shown

MODES = ("all-or-nothing", "valid-rows")
MATCHES = ("number", "new")
# The error report keeps this many lines; the count says how many there were in all.
MAX_REPORTED = 10_000
_E164 = customer_selectors.E164_FIELDS
# What the duplicate check reads of a new customer's planned row.
_CONTACT_FIELDS = ("email", *_E164)
# A file of more rows is read and checked in a second process while this one writes
# (setting EXCHANGE_IMPORT_PLANNING_PROCESS_ROWS); a smaller one is done before that
# process would have paid for its start.
PLANNING_PROCESS_ROWS = 20_000
# Batches the planning process may be ahead of the writer: what keeps memory flat.
BATCHES_AHEAD = 4


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
    # Columns with a heading that fill no field, each with the reason (one line each).
    left_out: list[str] = field(default_factory=list)
    sheet: str = ""  # the workbook's sheet that was read ("" for CSV)
    header_row: int = 1

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
            "left_out": self.left_out,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "errors": [vars(p) for p in self.errors[:50]],
            "duplicates": [vars(p) for p in self.duplicates[:50]],
        }


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


def planning_process_rows() -> int:
    """Files with more rows than this are checked in a process of their own."""
    return getattr(settings, "EXCHANGE_IMPORT_PLANNING_PROCESS_ROWS", PLANNING_PROCESS_ROWS)


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _forbid_database() -> None:
    """In the planning process any query would run outside the import's transaction, on a
    copy of the writer's connection: refuse it loudly rather than corrupt that one."""

    def refuse(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("The import's planning process has no database connection.")

    BaseDatabaseWrapper.ensure_connection = refuse  # type: ignore[method-assign]


def _for_writer(pending: PendingRow) -> PendingRow:
    """A planned row without what only planning needed: less to send between processes."""
    if pending.plan is not None:
        pending.data, pending.stamps, pending.blank = {}, {}, []
    return pending


def _hand_over(handover, item: tuple[str, Any], writer_pid: int) -> None:
    """Put `item` in the queue, waiting while the writer is behind; give up if it is gone."""
    while True:
        try:
            handover.put(item, timeout=1.0)
            return
        except queue.Full:
            if os.getppid() != writer_pid:
                raise SystemExit(1) from None


def _receive(handover, planner) -> tuple[str, Any]:
    """The planning process's next batch or last word; an error if it died without one."""
    while True:
        try:
            return handover.get(timeout=1.0)
        except queue.Empty:
            if not planner.is_alive():
                try:
                    return handover.get(timeout=1.0)
                except queue.Empty:
                    raise RuntimeError(
                        "The import's planning process ended without a word"
                        f" (exit code {planner.exitcode})."
                    ) from None


class _Import:
    """State of one import run."""

    def __init__(
        self,
        *,
        actor: Actor,
        path: Path,
        mode: str,
        match: str,
        dry_run: bool,
        mapping: Mapping[str, str | None] | None,
        separator: str | None,
        language: str,
        progress: Progress | None,
        should_cancel: ShouldCancel | None,
        batch_size: int,
        sheet: str | None = None,
        header_row: int | None = None,
    ) -> None:
        self.actor = actor
        self.path = Path(path)
        self.mode = mode
        self.match = match
        self.dry_run = dry_run
        self.mapping = mapping
        self.separator = separator
        self.sheet = sheet
        self.header_row = header_row
        self.language = language
        self.progress = progress
        self.should_cancel = should_cancel
        self.batch_size = batch_size
        self.result = ImportResult(mode=mode, match=match, dry_run=dry_run)

    # -- pass 1: headings, numbers named in the file, row count ------------------------

    def _open(self):
        return open_table(
            self.path, separator=self.separator, sheet=self.sheet, header_row=self.header_row
        )

    def prescan(self) -> tuple[list[PlannedColumn], bool]:
        with self._open() as table:
            # The second pass reads the same sheet from the same row, whatever was found.
            self.sheet, self.header_row = table.sheet or None, table.header_row
            self.result.sheet, self.result.header_row = table.sheet, table.header_row
            # Everything the headings alone can tell is refused before a row is read.
            headings = plan_columns(table.headers, self.mapping, match=self.match, with_data=set())
            plan = headings.columns
            from_csv = table.from_csv
            number_col = next((p.index for p in plan if p.column.field == "number"), None)
            by_number = self.match == "number" and number_col is not None
            self.claimed = customer_services.NumberSet() if by_number else None
            self.doubled: set[int] = set()
            self.total = 0
            self.unnumbered = 0
            # Columns nobody said anything about: refused only if they hold data.
            silent = {i for i, _h in headings.unknown}
            with_data: set[int] = set()
            for _row, cells in table.rows:
                if is_blank(cells):
                    continue
                self.total += 1
                if silent:
                    for i in [i for i in silent if i < len(cells) and shown(cells[i]).strip()]:
                        with_data.add(i)
                        silent.discard(i)
                n = number_of(cells[number_col]) if by_number and number_col < len(cells) else None
                if n is None:
                    self.unnumbered += 1
                elif n in self.claimed:
                    self.doubled.add(n)
                else:
                    self.claimed.add(n)
        if with_data:
            plan_columns(table.headers, self.mapping, match=self.match, with_data=with_data)
        self.result.left_out = [
            _("Column %(c)s (%(h)s) is left out: %(why)s.")
            % {"c": c.letter, "h": c.header, "why": c.reason}
            for c in headings.left_out
        ]
        if self.total == 0:
            raise DomainError(
                "no_rows",
                _("The file has headings but no customers."),
                fields={"file": _("No rows below the headings.")},
                status=422,
            )
        return plan, from_csv

    def load_base(self) -> None:
        """The numbers in use and the contacts of the customers there are (one pass)."""
        self.taken = customer_services.NumberSet()
        self.seen = _SeenValues()
        add_number, add_value = self.taken.add, self.seen.add
        for n, *values in customer_selectors.contact_values():
            add_number(n)
            for value in values:
                if value:
                    add_value(value)

    # -- pass 2 ------------------------------------------------------------------------

    def run(self, plan: list[PlannedColumn], from_csv: bool, block) -> None:
        """Plan and apply every row, in the caller's transaction."""
        self.ctx = customer_services.planning_context(
            actor=self.actor.via("import"), block=block, taken=self.taken
        )
        self.reader = RowReader(
            plan,
            from_csv=from_csv,
            match=self.match,
            tz=zoneinfo.ZoneInfo(settings.TIME_ZONE),
            default_country=self.ctx.region,
        )
        self.first_row_of: dict[int, int] = {}
        # Rows read and checked: counted here, or by the planning process in shared memory.
        self.counts: Any = [0, 0]
        self.handed_over = 0  # rows of the batches given to the writer
        self.written = 0  # rows of the batches the database has taken
        self._tell_progress()
        writer = customer_services.BulkApply(self.ctx)
        try:
            if self.total > planning_process_rows() and _can_fork():
                self._run_beside_planner(writer)
            else:
                self._run_alone(writer)
            writer.finish()
            self.written = self.result.rows
            self._tell_progress()
        finally:
            writer.close()

    def _batches(self) -> Iterator[list[PendingRow]]:
        """The file's rows as read, `batch_size` at a time."""
        with self._open() as table:
            batch: list[PendingRow] = []
            for row_no, cells in table.rows:
                if is_blank(cells):
                    continue
                batch.append(self.reader.read(row_no, cells))
                if len(batch) >= self.batch_size:
                    yield batch
                    batch = []
            if batch:
                yield batch

    def _run_alone(self, writer) -> None:
        """A small file: each batch is checked here while the one before is written."""
        for batch in self._batches():
            self.counts[0] += len(batch)
            self._check_batch(batch)
            self.counts[1] += len(batch)
            self._apply_batch(batch, writer)

    def _run_beside_planner(self, writer) -> None:
        """A large file: a second process reads, checks and plans the rows (the most of the
        work per row, and all of it without the database) while this one writes.

        It is forked, so it starts with what was prepared here: the columns, the numbers in
        use and those the file names, the reserved numbers, the tenant's references. Rows
        whose number may exist come back unplanned; they are planned here, against the
        customer locked in the import's transaction. At most BATCHES_AHEAD batches wait
        between the two, so memory stays flat however large the file.
        """
        self.ctx.read_references()
        mp = multiprocessing.get_context("fork")
        handover = mp.Queue(maxsize=BATCHES_AHEAD)
        self.counts = mp.Array("q", 2, lock=False)
        planner = mp.Process(
            target=self._plan_in_own_process,
            args=(handover, writer, os.getpid()),
            name="stammgast-import-planner",
        )
        planner.start()
        try:
            while True:
                kind, payload = _receive(handover, planner)
                if kind == "rows":
                    self._apply_batch(payload, writer)
                elif kind == "end":
                    if self.ctx.block is not None:
                        self.ctx.block.used = payload  # the numbers the planner handed out
                    break
                elif kind == "refused":
                    code, message, fields, status = payload
                    raise DomainError(code, message, fields=fields, status=status)
                else:
                    raise RuntimeError(f"The import's planning process failed:\n{payload}")
        finally:
            if planner.is_alive():
                planner.terminate()
                planner.join(timeout=10)
                if planner.is_alive():
                    planner.kill()
            planner.join()
            handover.close()

    def _plan_in_own_process(self, handover, writer, writer_pid: int) -> None:
        """The planning process's work: every row read, checked and planned, handed over."""
        # Ctrl-C reaches the whole process group; the writer handles it and stops us. The
        # writer stops us with SIGTERM, which must end us whatever handler the process we
        # were forked from had (the task worker's waits for its task to finish).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _forbid_database()
        try:
            for batch in self._batches():
                self.counts[0] += len(batch)
                self._check_batch(batch)
                # The writer's own share that needs no database is done here too.
                writer.prepare([p.plan for p in batch if p.plan], keep=_CONTACT_FIELDS)
                self.counts[1] += len(batch)
                _hand_over(handover, ("rows", [_for_writer(p) for p in batch]), writer_pid)
            used = self.ctx.block.used if self.ctx.block is not None else 0
            _hand_over(handover, ("end", used), writer_pid)
        except DomainError as exc:
            refusal = (exc.code, exc.message, exc.fields, exc.status)
            _hand_over(handover, ("refused", refusal), writer_pid)
        except Exception:
            _hand_over(handover, ("failed", traceback.format_exc()), writer_pid)

    def _tell_progress(self) -> None:
        if self.progress is None:
            return
        # Checked first: rows are read before they are checked, so read >= checked holds
        # even while the planning process moves both between the two reads.
        checked = self.counts[1]
        read = self.counts[0]
        stages = ImportStages(read=read, checked=checked, written=self.written)
        self.progress(self.written, self.total, stages=stages)

    def _problem(self, pending: PendingRow, fld: str, message: str, code: str) -> RowProblem:
        header = self.reader.header_of.get(fld)
        if header is None:
            column = IMPORT_COLUMNS.get(fld)
            header = column.header(self.language) if column else fld
        return RowProblem(pending.row, header, self.reader.raw_value(pending, fld), message, code)

    def _plan(self, pending: PendingRow, existing: dict, visible: set[int] | None) -> None:
        """Plan the row (pending.plan), or note why it cannot be (pending.problems)."""
        try:
            customer = existing.get(pending.number) if pending.number is not None else None
            if customer is None:
                pending.plan = customer_services.plan_create(
                    ctx=self.ctx, data=pending.data, stamps=pending.stamps
                )
                self.taken.add(pending.plan.number)
                return
            if visible is not None and customer.number not in visible:
                # Another location's customer: this till may neither change nor see it.
                raise customer_services.number_conflict(number=customer.number, visible=False)
            # The columns in the file's order; empty text cells clear the field.
            given, blank = pending.data, set(pending.blank)
            data = {
                f: given.get(f, "")
                for f in self.reader.update_order
                if f != "number" and (f in given or f in blank)
            }
            pending.plan = customer_services.plan_update(ctx=self.ctx, customer=customer, data=data)
        except DomainError as exc:
            for fld, messages in exc.fields.items():
                for message in messages:
                    pending.problems.append(self._problem(pending, fld, message, exc.code))
            if not exc.fields:
                pending.problems.append(self._problem(pending, "number", exc.message, exc.code))

    def _check_batch(self, batch: list[PendingRow]) -> None:
        """Check and plan the rows that need no database (in the planning process when
        there is one).

        Rows with a number that may exist (it did when the import started, or the file
        names it twice) are left unplanned, for the writer; every other row becomes a new
        customer and is planned here.
        """
        by_number = self.match == "number"
        for pending in batch:
            number = number_of(pending.data.get("number")) if by_number else None
            pending.number = number
            if number is not None and number in self.doubled:
                first = self.first_row_of.setdefault(number, pending.row)
                if first != pending.row:
                    pending.problems.append(
                        self._problem(
                            pending,
                            "number",
                            _("Customer number %(n)d is already in row %(row)d.")
                            % {"n": number, "row": first},
                            "number_taken",
                        )
                    )
            if pending.problems:
                continue
            if number is None or number not in self.taken:
                self._plan(pending, {}, None)

    def _apply_batch(self, batch: list[PendingRow], writer) -> None:
        """Plan the rows left for the database, count, report duplicates, and hand the
        plans to the writer (which writes them while the next batch is prepared)."""
        writer.wait()  # the previous batch is written; the database is ours again
        self.written = self.handed_over
        if self.should_cancel is not None and self.should_cancel():
            raise Cancelled
        deferred = [p for p in batch if p.plan is None and not p.problems]
        if deferred:
            existing = customer_services.lock_customers_for_import(
                actor=self.actor, numbers={p.number for p in deferred}
            )
            visible = None
            if self.actor.location_bound and existing:
                visible = customer_selectors.visible_numbers(actor=self.actor, numbers=existing)
            for pending in deferred:
                self._plan(pending, existing, visible)

        plans, planned = [], []
        result = self.result
        for pending in batch:
            result.rows += 1
            if pending.problems:
                result.failed_rows += 1
                for p in pending.problems:
                    result.add_error(p)
                continue
            plan = pending.plan
            if plan.action == "create":
                result.created += 1
            elif plan.action == "update":
                result.updated += 1
            else:
                result.unchanged += 1
                continue
            plans.append(plan)
            planned.append(pending)
        self._report_duplicates(planned)
        writer.apply(plans)
        self.handed_over = result.rows
        self._tell_progress()

    def _report_duplicates(self, rows: list[PendingRow]) -> None:
        """Same e-mail or phone as another row of the file or a customer already there."""
        if not rows:
            return
        contacts = []
        for pending in rows:
            plan = pending.plan
            values = plan.row if plan.customer is None else {**plan.customer.__dict__, **plan.row}
            contacts.append((pending, plan.number, values["email"], *map(values.get, _E164)))
        emails = {r[2] for r in contacts if r[2]}
        phones = {v for r in contacts for v in r[3:] if v}
        seen = self.seen
        by_email: dict[str, list[int]] = {}
        by_phone: dict[str, list[int]] = {}
        # Only values some customer may have are looked up: usually none at all.
        for email, number in customer_selectors.numbers_by_email(v for v in emails if v in seen):
            by_email.setdefault(email, []).append(number)
        maybe = {v for v in phones if v in seen}
        for *values, number in customer_selectors.numbers_by_phone(maybe):
            for v in values:
                if v in maybe:
                    by_phone.setdefault(v, []).append(number)
        for value in (*emails, *phones):
            seen.add(value)  # in the database once this batch is written
        in_batch: dict[tuple[str, str], int] = {}
        phone_fields = [f.removesuffix("_e164") for f in _E164]
        for pending, own_number, email, *e164s in contacts:
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
                    numbers = ", ".join(map(str, sorted(others)[:5]))
                    message = _("The same %(what)s is used by customer %(n)s.") % {
                        "what": what,
                        "n": numbers,
                    }
                    self.result.add_duplicate(self._problem(pending, fld, message, "duplicate"))
                if first != pending.row:
                    message = _("The same %(what)s is in row %(row)d.") % {
                        "what": what,
                        "row": first,
                    }
                    self.result.add_duplicate(self._problem(pending, fld, message, "duplicate"))


def check_import_file(
    *,
    actor: Actor,
    path: Path,
    mapping: Mapping[str, str | None] | None = None,
    match: str = "number",
    separator: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    language: str = "de",
) -> ImportResult:
    """Read a file through as the import will (its encoding to the end, its headings,
    the columns that hold data, its rows) without checking or writing a customer; raises
    the DomainError the import would. The result holds the row count and the notices."""
    run = _Import(
        actor=actor,
        path=path,
        mode="all-or-nothing",
        match=match,
        dry_run=True,
        mapping=mapping,
        separator=separator,
        language=language,
        progress=None,
        should_cancel=None,
        batch_size=1000,
        sheet=sheet,
        header_row=header_row,
    )
    with translation.override(language):
        run.prescan()
    run.result.rows = run.total
    return run.result


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
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
    batch_size: int = 1000,
    sheet: str | None = None,
    header_row: int | None = None,
) -> ImportResult:
    """Import customers from a CSV, XLSX or our own ZIP export.

    `sheet` (name or number from 1) and `header_row` (as the spreadsheet numbers rows)
    say where the customers are; by default the first sheet with known headings in its
    first 20 rows, and the first such row.

    All-or-nothing (the default) keeps nothing if any row is bad; "valid-rows" keeps the
    good rows. A dry run checks everything and keeps nothing. Problems are in the result,
    worded in `language` (de or en).
    """
    with translation.override(language):
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
            language=language,
            progress=progress,
            should_cancel=should_cancel,
            batch_size=batch_size,
            sheet=sheet,
            header_row=header_row,
        )
        plan, from_csv = run.prescan()
        run.load_base()
        # The numbers for the rows without one, before the import's own transaction: a till
        # creating a customer meanwhile waits for this short transaction only.
        block = customer_services.reserve_numbers(
            actor=actor, count=run.unnumbered, skip=run.claimed, keep=not dry_run
        )
        keep = False
        try:
            with db.atomic():
                run.run(plan, from_csv, block)
                result = run.result
                keep = not dry_run and (mode == "valid-rows" or result.errors_total == 0)
                if not keep:
                    db.set_rollback()
        finally:
            if not dry_run:
                if not keep:
                    block.used = 0
                customer_services.release_unused_numbers(block)
        result.applied = keep
        return result
