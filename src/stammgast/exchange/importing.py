"""The customer import: headings to fields, every row through the API's rules, bulk writes.

One transaction per import. Rows are read, validated with `clean_customer_data` (the
same cleaners the API and the portal use) and written in batches with bulk_create /
bulk_update, numbers handed out in bulk from the same counter `create_customer` uses, and
one history entry per customer. If anything is wrong in all-or-nothing mode, or on a dry
run, the transaction is rolled back at the end: nothing is ever half-applied.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import FileField, JSONField, Q
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
    IMPORT_COLUMNS,
    TIMESTAMP_FIELDS,
    CellInvalid,
    Column,
    _fold_header,
    column_letter,
    field_for_header,
    read_cell,
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
    """Free customer numbers in bulk, in the order the tenant-wide counter hands them out."""

    WINDOW = 10_000

    def __init__(self, tenant: Tenant, claimed: bytearray | None) -> None:
        self.tenant = tenant
        self.claimed = claimed
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
        used = set(
            Customer.objects.filter(number__gte=start, number__lte=end).values_list(
                "number", flat=True
            )
        )
        ranges = [(lo, hi) for lo, hi in self.ranges if lo <= end and hi >= start]
        claimed = self.claimed
        for n in range(start, end + 1):
            if n in used or (claimed is not None and claimed[n >> 3] & (1 << (n & 7))):
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
        if not self.wrapped:
            self.highest = max(self.highest, n)
        return n

    def save_counter(self) -> None:
        if self.highest > self.tenant.number_counter:
            Tenant.objects.filter(pk=self.tenant.pk).update(number_counter=self.highest)


def _bit(bits: bytearray, n: int) -> bool:
    return bool(bits[n >> 3] & (1 << (n & 7)))


def _set_bit(bits: bytearray, n: int) -> None:
    bits[n >> 3] |= 1 << (n & 7)


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
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


@dataclass
class _Pending:
    row: int
    data: dict[str, Any]
    raw: dict[str, tuple[str, Any]]  # field -> (heading, cell as read)
    stamps: dict[str, dt.datetime]
    problems: list[RowProblem]


def _history_value(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


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
        self.may_create = actor.can("customers.create")
        self.may_change = actor.can("customers.change")

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
                if _bit(claimed, n):
                    doubled.add(n)
                else:
                    _set_bit(claimed, n)
        return claimed, doubled, total

    # -- pass 2 ------------------------------------------------------------------------

    def run(self) -> ImportResult:
        with open_table(self.path, separator=self.separator) as table:
            plan = plan_columns(table.headers, self.mapping, match=self.match)
        self.header_of = {p.column.field: p.header for p in plan}
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
        self.numbers = NumberAllocator(self.tenant, claimed)
        if self.progress:
            self.progress(0, total)
        with open_table(self.path, separator=self.separator) as table:
            from_csv = table.from_csv
            batch: list[_Pending] = []
            for row_no, cells in table.rows:
                if _blank(cells):
                    continue
                batch.append(self._read_row(row_no, cells, plan, from_csv))
                if len(batch) >= self.batch_size:
                    self._flush(batch)
                    batch = []
            self._flush(batch)
        self.numbers.save_counter()
        return self.result

    def _read_row(self, row_no, cells, plan, from_csv) -> _Pending:
        pending = _Pending(row_no, {}, {}, {}, [])
        for p in plan:
            raw = cells[p.index] if p.index < len(cells) else ""
            fld = p.column.field
            pending.raw[fld] = (p.header, raw)
            try:
                value = read_cell(p.column.kind, raw, from_csv=from_csv)
            except CellInvalid as exc:
                pending.problems.append(RowProblem(row_no, p.header, _shown(raw), str(exc)))
                continue
            if value is None:
                continue
            if fld in TIMESTAMP_FIELDS:
                pending.stamps[fld] = timezone.make_aware(value, self.tz)
                continue
            if fld == "number" and (value == "" or self.match == "new"):
                continue
            pending.data[fld] = value
        return pending

    def _problem(self, pending: _Pending, fld: str, message: str) -> RowProblem:
        header, raw = pending.raw.get(fld, (None, ""))
        if header is None:
            column = IMPORT_COLUMNS.get(fld)
            header = column.header(self.actor_language) if column else fld
        return RowProblem(pending.row, header, _shown(raw), message)

    actor_language = "de"

    def _check_permissions(self, pending: _Pending, fields: set[str]) -> list[RowProblem]:
        out = []
        if not self.actor.can("customers.change_payment"):
            for f in sorted(fields & PAYMENT_FIELDS):
                out.append(self._problem(pending, f, _("You may not change payment information.")))
        if not self.actor.can("customers.block"):
            for f in sorted(fields & BLOCK_FIELDS):
                out.append(self._problem(pending, f, _("You may not block or unblock customers.")))
        return out

    def _flush(self, batch: list[_Pending]) -> None:
        if not batch:
            return
        if self.should_cancel is not None and self.should_cancel():
            raise Cancelled
        existing: dict[int, Customer] = {}
        visible: set[int] | None = None
        if self.match == "number":
            numbers = {n for p in batch if (n := _number_of(p.data.get("number"))) is not None}
            if numbers:
                existing = {c.number: c for c in Customer.objects.filter(number__in=numbers)}
                if self.actor.location_bound and existing:
                    visible = set(
                        customer_selectors.visible_customers(self.actor)
                        .filter(number__in=list(existing))
                        .values_list("number", flat=True)
                    )
        creates: list[tuple[_Pending, Customer, dict]] = []
        updates: list[tuple[_Pending, Customer, dict]] = []
        for pending in batch:
            self.result.rows += 1
            problems = list(pending.problems)
            outcome = None
            number = _number_of(pending.data.get("number"))
            if number is not None and number in self.doubled:
                first = self.first_row_of.setdefault(number, pending.row)
                if first != pending.row:
                    problems.append(
                        self._problem(
                            pending,
                            "number",
                            _("Customer number %(n)d is already in row %(row)d.")
                            % {"n": number, "row": first},
                        )
                    )
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
            if problems:
                self.result.failed_rows += 1
                for p in problems:
                    self.result.add_error(p)
                continue
            kind, customer, changes = outcome
            if kind == "create":
                creates.append((pending, customer, changes))
            elif kind == "update":
                updates.append((pending, customer, changes))
            else:
                self.result.unchanged += 1
        self._report_duplicates(creates + updates)
        self._write(creates, updates)
        if self.progress:
            self.progress(self.result.rows, self.total)

    def _create(self, pending: _Pending, problems: list[RowProblem]):
        if not self.may_create:
            self.actor.require("customers.create", _("You may not create customers."))
        cleaned = clean_customer_data(pending.data, default_region=self.region)
        problems += self._check_permissions(
            pending,
            {
                k
                for k, v in cleaned.items()
                if k in self.defaults
                and v != self.defaults[k]
                or k not in self.defaults
                and v not in ("", None, False, 0)
            },
        )
        if problems:
            return None
        values = {**self.defaults, **cleaned}
        if "number" not in values:
            values["number"] = self.numbers.take()
        created = pending.stamps.get("created_at") or self.now
        customer = Customer(
            tenant=self.tenant,
            created_at=created,
            updated_at=pending.stamps.get("updated_at") or created,
            created_location=self.actor.location,
            **values,
        )
        customer.search_text = build_search_text(customer)
        changes = {
            k: [None, _history_value(v)]
            for k, v in values.items()
            if v not in ("", None, {}, []) and k not in _E164
        }
        return "create", customer, changes

    def _update(self, pending, customer: Customer, visible, problems):
        if visible is not None and customer.number not in visible:
            raise DomainError(
                "number_taken",
                _("Customer number %(n)d is taken.") % {"n": customer.number},
                fields={"number": _("This number is taken.")},
            )
        if not self.may_change:
            self.actor.require("customers.change", _("You may not change customers."))
        data = {k: v for k, v in pending.data.items() if k != "number"}
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

    def _report_duplicates(self, rows: list[tuple[_Pending, Customer, dict]]) -> None:
        """Same e-mail or phone as another row of the file or a customer already there."""
        if not rows:
            return
        emails = {c.email for _p, c, _ch in rows if c.email}
        phones = {getattr(c, f) for _p, c, _ch in rows for f in _E164 if getattr(c, f)}
        by_email: dict[str, list[int]] = {}
        by_phone: dict[str, list[int]] = {}
        if emails:
            for email, number in Customer.objects.filter(email__in=emails).values_list(
                "email", "number"
            ):
                by_email.setdefault(email, []).append(number)
        if phones:
            query = Q()
            for f in _E164:
                query |= Q(**{f"{f}__in": phones})
            for *values, number in Customer.objects.filter(query).values_list(*_E164, "number"):
                for v in values:
                    if v in phones:
                        by_phone.setdefault(v, []).append(number)
        in_batch: dict[tuple[str, str], int] = {}
        for pending, customer, _changes in rows:
            checks = [("email", customer.email, by_email)] + [
                (f.removesuffix("_e164"), getattr(customer, f), by_phone) for f in _E164
            ]
            for fld, value, known in checks:
                if not value:
                    continue
                others = [n for n in known.get(value, ()) if n != customer.number]
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
                key = ("email" if fld == "email" else "phone", value)
                first = in_batch.setdefault(key, pending.row)
                if first != pending.row:
                    self.result.add_duplicate(
                        self._problem(
                            pending,
                            fld,
                            _("The same %(what)s is in row %(row)d.")
                            % {"what": what, "row": first},
                        )
                    )

    def _write(self, creates, updates) -> None:
        tenant = self.tenant
        events = []
        if creates:
            objs = _insert([c for _p, c, _ch in creates])
            self.result.created += len(objs)
            if tenant.default_group_id:
                Through = Customer.groups.through
                Through.objects.bulk_create(
                    [
                        Through(customer_id=c.pk, customergroup_id=tenant.default_group_id)
                        for c in objs
                    ],
                    batch_size=1000,
                )
            for _p, customer, changes in creates:
                if tenant.default_group_id:
                    changes["groups"] = [None, [tenant.default_group.name]]
                events.append(self._event(customer, CustomerEvent.Action.CREATED, changes))
        if updates:
            fields = sorted(
                {f for _p, _c, ch in updates for f in ch}
                | set(_E164)
                | {"search_text", "updated_at", "version"}
            )
            Customer.objects.bulk_update([c for _p, c, _ch in updates], fields, batch_size=500)
            self.result.updated += len(updates)
            for _p, customer, changes in updates:
                events.append(self._event(customer, CustomerEvent.Action.UPDATED, changes))
        if events:
            _insert(events)

    def _event(self, customer: Customer, action: str, changes: dict) -> CustomerEvent:
        return CustomerEvent(
            tenant=self.tenant,
            customer_id=customer.pk,
            at=self.now,
            action=action,
            user=self.actor.user,
            api_client=self.actor.api_client,
            actor_label=self.label,
            location_code=self.location_code,
            changes=changes,
        )


def _insert(objs: list) -> list:
    """bulk_create, or on PostgreSQL COPY with ids taken from the sequence beforehand.

    Django's bulk insert spends more time preparing parameters than PostgreSQL spends
    inserting; COPY takes the rows as they are. Either way the objects get their ids.
    """
    if not objs:
        return objs
    model = type(objs[0])
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs, batch_size=500)
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    columns = ", ".join(quote(f.column) for f in [meta.pk, *fields])
    plan = [
        (
            f.attname,
            "json" if isinstance(f, JSONField) else "file" if isinstance(f, FileField) else "",
        )
        for f in fields
    ]
    with (
        connection.connection.cursor() as raw,
        raw.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        for obj, pk in zip(objs, ids, strict=True):
            obj.pk = pk
            row = [pk]
            for attname, special in plan:
                value = getattr(obj, attname)
                if special == "json":
                    value = json.dumps(value, ensure_ascii=False)
                elif special == "file":
                    value = value.name or ""
                row.append(value)
            copy.write_row(row)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


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
    with transaction.atomic():
        result = run.run()
        keep = not dry_run and (mode == "valid-rows" or result.errors_total == 0)
        if not keep:
            transaction.set_rollback(True)
    result.applied = keep
    if not keep:
        # Nothing was kept; the counts say what would have happened.
        pass
    return result
