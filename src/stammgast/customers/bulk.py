"""Writing planned rows in bulk: Django's bulk_create, or COPY in a thread on PostgreSQL.

Used by the apply step of the customer services (services.apply_plans): one customer
created by hand and a million imported ones are written from the same planned rows, the
first by bulk_create, the second by COPY while the next batch is being planned.
"""

from __future__ import annotations

import enum
import json
import operator
import threading
from collections.abc import Callable
from typing import Any

from django.db.models import FileField, JSONField, Model
from psycopg._copy_base import format_row_text  # COPY's text format, in C
from psycopg.adapt import Transformer

from stammgast.core import db


class PreparedJSON(str):
    """A JSON value already serialised (where the rows were planned), written as it is."""

    __slots__ = ()

    def __reduce__(self):
        # Sent between processes as plain text: str's default costs three times as much.
        return (PreparedJSON, (str(self),))


def _plain(value: Any) -> Any:
    """A model default as the database stores it (choices' members are their values)."""
    return value.value if isinstance(value, enum.Enum) else value


class Table:
    """Rows for one table as dicts of column attribute -> value, inserted in bulk."""

    def __init__(self, model: type[Model]) -> None:
        meta = model._meta
        self.model = model
        self.pk = meta.pk
        self.fields = [f for f in meta.concrete_fields if not f.primary_key]
        self.attnames = [f.attname for f in self.fields]
        self.json = [i for i, f in enumerate(self.fields, 1) if isinstance(f, JSONField)]
        self.files = [i for i, f in enumerate(self.fields, 1) if isinstance(f, FileField)]
        quote = db.connection().ops.quote_name
        columns = ", ".join(quote(f.column) for f in [self.pk, *self.fields])
        self.copy_sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
        self.sequence: str | None = None
        self.getter = operator.itemgetter(*self.attnames)

    def defaults(self) -> dict[str, Any]:
        """Every column with the model's default (callable defaults called)."""
        return {f.attname: _plain(f.get_default()) for f in self.fields}

    def bulk_create(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert with Django's bulk_create; the new rows' ids."""
        if not rows:
            return []
        objs = [self.model(**row) for row in rows]
        self.model._base_manager.bulk_create(objs, batch_size=500)
        return [obj.pk for obj in objs]

    def find_sequence(self) -> None:
        """Look up the sequence the table's ids come from (PostgreSQL)."""
        with db.connection().cursor() as cursor:
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

    def _values(self, row: dict[str, Any]) -> list[Any]:
        """The row's columns after the id, as COPY takes them."""
        values = [*self.getter(row)]
        for i in self.json:
            value = values[i - 1]
            if type(value) is not PreparedJSON:
                value = "{}" if value == {} else json.dumps(value, ensure_ascii=False)
            values[i - 1] = value
        for i in self.files:
            value = values[i - 1]
            values[i - 1] = getattr(value, "name", value) or ""
        return values

    def copy_lines(self, rows: list[dict[str, Any]]) -> list[bytes]:
        """The rows in COPY's text format without their ids, which `copy_prepared` puts in
        front: made without the database, so wherever the rows were planned."""
        transformer = Transformer()
        lines = []
        for row in rows:
            line = bytearray()
            format_row_text(self._values(row), transformer, line)
            lines.append(bytes(line))
        return lines

    def copy(self, raw_connection, ids: list[int], rows: list[dict[str, Any]]) -> None:
        """COPY the rows with the ids reserved for them (PostgreSQL; any thread).

        Django's bulk insert spends more time preparing parameters than PostgreSQL spends
        inserting; COPY takes the rows as they are.
        """
        if not rows:
            return
        with raw_connection.cursor() as cursor, cursor.copy(self.copy_sql) as copy:
            write = copy.write_row
            for pk, row in zip(ids, rows, strict=True):
                write([pk, *self._values(row)])

    def copy_prepared(self, raw_connection, ids: list[int], lines: list[bytes]) -> None:
        """COPY rows made by `copy_lines`, each with the id reserved for it in front."""
        if not lines:
            return
        data = b"".join([b"%d\t%s" % (pk, line) for pk, line in zip(ids, lines, strict=True)])
        with raw_connection.cursor() as cursor, cursor.copy(self.copy_sql) as copy:
            copy.write(data)


class Background:
    """Runs one piece of database work at a time in a thread on this thread's connection.

    On PostgreSQL the server inserts one batch and maintains its indexes while this
    process plans the next. The caller touches the database again only after `wait()`:
    one connection serves one statement at a time.
    """

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def submit(self, work: Callable[[], None]) -> None:
        self.wait()

        def run() -> None:
            try:
                work()
            except BaseException as exc:  # handed to the caller's thread by wait()
                self.error = exc

        self.thread = threading.Thread(target=run, name="customers-bulk-writer", daemon=True)
        self.thread.start()

    def wait(self) -> None:
        """Until the last piece is done; raises what doing it raised."""
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def close(self) -> None:
        """Wait without raising: the caller is failing already, for its own reason."""
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        self.error = None


def check_references_at_once(tables: list[Table]) -> str:
    """Have PostgreSQL check the references of the rows written while it inserts them.

    Django's foreign keys are checked at commit (deferred). For a million new customers
    that is some three million checks in one piece after the last row, with nothing else
    going on; checked row by row they run while the next batch is being planned. Parents
    are always written before their children, so nothing fails that would pass at commit.
    Returns the constraints switched (`SET CONSTRAINTS ... DEFERRED` switches them back).
    """
    names = [t.model._meta.db_table for t in tables]
    with db.connection().cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND condeferrable"
            " AND condeferred AND conrelid = ANY(%s::regclass[])",
            [names],
        )
        found = ", ".join(db.connection().ops.quote_name(r[0]) for r in cursor.fetchall())
        if found:
            cursor.execute(f"SET CONSTRAINTS {found} IMMEDIATE")
    return found


def defer_references(found: str) -> None:
    if found:
        with db.connection().cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {found} DEFERRED")
