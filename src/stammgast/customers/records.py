"""Customer records as the API shows them, read in one statement compiled once per shape.

A till looks a guest up many times a minute (by number, caller ID, card, e-mail). The
selectors say *what* such a read selects, as an ORM query with the same rules as every
other read (tenant, location visibility). Compiling that query, making model instances and
asking once more for groups and tags would cost several times the read itself, so this
module compiles each shape of query once per process (with placeholder values), keeps the
SQL, runs it with the real values and returns plain dicts, typed as the API writes them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import DatabaseError, connections
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from stammgast.core.http import entity_tag
from stammgast.core.tenancy import active_tenant, current_database
from stammgast.tenants.actor import Actor

from .models import Customer, CustomerGroup, Tag, display_name

log = logging.getLogger(__name__)

# Scalar columns of a full record, in the API's order.
RECORD_COLUMNS = (
    "number", "kind", "title", "first_name", "last_name", "company_name", "vat_id", "alias",
    "gender", "date_of_birth", "street", "postcode", "city", "care_of", "po_box", "country",
    "phone_private", "phone_business", "mobile", "fax", "email", "homepage", "iban", "bic",
    "institute", "discount", "price_level", "loss_reason", "payment_method",
    "payment_term_days", "favourite", "blocked", "lock_text", "newsletter",
    "invoices_by_email", "memo", "third_party_memo", "comments", "features", "picture",
    "created_at", "updated_at", "version",
)  # fmt: skip
RECORD_RELATIONS = ("groups", "tags", "allowed_locations")
SUMMARY_COLUMNS = (
    "number", "kind", "first_name", "last_name", "company_name", "alias", "postcode", "city",
    "phone_private", "mobile", "email", "blocked", "lock_text",
)  # fmt: skip
SUMMARY_RELATIONS = ("groups",)
MAX_LOOKUP_RESULTS = 20
_BOOLEANS = {"favourite", "blocked", "newsletter", "invoices_by_email"}
_NAME_PARTS = ("kind", "first_name", "last_name", "company_name", "alias")


@dataclass(frozen=True)
class Placeholders:
    """Stand-ins a shape's query is built with; each is replaced by the real value when
    the compiled statement runs. Values no real row has, so none can be mistaken, and that
    fit their columns (Django compiles a lookup of an impossible value to nothing)."""

    tenant: int = 9_000_000_000_000_000_001
    location: int = 9_000_000_000_000_000_002
    number: int = 2_000_000_003
    text: str = "\x1fplaceholder\x1f"


PLACEHOLDERS = Placeholders()


@dataclass(frozen=True)
class _Statement:
    sql: str
    # Per parameter: "tenant", "location", "value", or a constant of the query itself.
    slots: tuple[Any, ...]
    keys: tuple[str, ...]
    special: tuple[str, ...]


def _names_sql(vendor: str) -> dict[str, str]:
    """Correlated subqueries giving the sorted names of a customer's groups, tags, places."""
    customer = Customer._meta.db_table
    groups_through = Customer.groups.through._meta.db_table
    tags_through = Customer.tags.through._meta.db_table
    places_through = Customer.allowed_locations.through._meta.db_table
    group_table, tag_table = CustomerGroup._meta.db_table, Tag._meta.db_table
    location_table = Customer.allowed_locations.field.related_model._meta.db_table

    def names(through: str, key: str, table: str, column: str) -> str:
        if vendor == "postgresql":
            # A key lookup per link: cheaper than a join the planner would hash per row.
            return (
                f"ARRAY(SELECT (SELECT n.{column} FROM {table} n WHERE n.id = x.{key}) "
                f"FROM {through} x WHERE x.customer_id = {customer}.id ORDER BY 1)"
            )
        return (
            f"(SELECT json_group_array(n) FROM (SELECT n.{column} AS n FROM {through} x "
            f"JOIN {table} n ON n.id = x.{key} WHERE x.customer_id = {customer}.id "
            "ORDER BY 1))"
        )

    none = "'{}'::text[]" if vendor == "postgresql" else "'[]'"
    return {
        "groups": names(groups_through, "customergroup_id", group_table, "name"),
        "tags": names(tags_through, "tag_id", tag_table, "name"),
        # Only looked up for the few customers restricted to locations.
        "allowed_locations": (
            f"CASE WHEN {customer}.location_restricted THEN "
            f"{names(places_through, 'location_id', location_table, 'code')} ELSE {none} END"
        ),
    }


_statements: dict[tuple, _Statement] = {}


def _statement(
    vendor: str,
    shape: Hashable,
    location_bound: bool,
    build: Callable[[Placeholders, bool], QuerySet],
    columns: tuple[str, ...],
    relations: tuple[str, ...],
) -> _Statement:
    cache_key = (vendor, shape, location_bound, columns, relations)
    found = _statements.get(cache_key)
    if found is not None:
        return found
    names = _names_sql(vendor)
    qs = build(PLACEHOLDERS, location_bound)
    qs = qs.annotate(**{f"_{r}": RawSQL(names[r], ()) for r in relations})
    qs = qs.order_by("number").values_list(*columns, *(f"_{r}" for r in relations))
    sql, params = qs[:MAX_LOOKUP_RESULTS].query.sql_with_params()
    by_value = {
        PLACEHOLDERS.tenant: "tenant",
        PLACEHOLDERS.location: "location",
        PLACEHOLDERS.number: "value",
        PLACEHOLDERS.text: "value",
    }
    slots = tuple(
        by_value.get(p, ("const", p)) if isinstance(p, int | str) else ("const", p) for p in params
    )
    keys = (*columns, *relations)
    statement = _Statement(sql, slots, keys, _special_keys(keys))
    _statements[cache_key] = statement
    return statement


def fetch(
    *,
    actor: Actor,
    shape: Hashable,
    build: Callable[[Placeholders, bool], QuerySet],
    value: Any,
    columns: tuple[str, ...],
    relations: tuple[str, ...],
    prepared: bool = False,
) -> list[dict[str, Any]]:
    """Rows of the query `build(placeholders, location_bound)` makes for `shape`, with the
    active tenant, the actor's location and `value` in place of the placeholders.

    `build` must give the same query for the same shape every time: it is called once.
    """
    # The connection of this thread, looked up once: every attribute read through
    # django.db.connection is a lookup in a context-local store.
    db = connections[current_database()]
    location_bound = actor.location_bound
    statement = _statement(db.vendor, shape, location_bound, build, columns, relations)
    given = {
        "tenant": active_tenant().pk,
        "location": actor.location.pk if location_bound else None,
        "value": value,
    }
    params = [given[s] if s.__class__ is str else s[1] for s in statement.slots]
    rows = _fetch(db, statement.sql, params, prepared=prepared)
    keys, special = statement.keys, statement.special
    return [_typed(dict(zip(keys, row, strict=True)), special) for row in rows]


class _PreparingCursor(psycopg.Cursor):
    """A server-binding cursor whose every statement is prepared (see `_fetch`)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


def _fetch(db, sql: str, params: list, *, prepared: bool) -> list[tuple]:
    """The rows of `sql`; `prepared`: on PostgreSQL as a prepared statement of the connection.

    Planning the read of a whole record (the row and three subqueries) costs PostgreSQL
    about three times the CPU of running it. Prepared, it is planned once per connection
    and run with that generic plan. Only for statements whose best plan does not depend on
    the values (a unique key, a phone number): a generic plan for `email = $1` would walk
    the number index in a tenant where most customers have no e-mail address, as if the
    address looked for were the common empty one.

    Django's cursors bind values on the client and never prepare; this wraps a
    server-binding cursor on the same connection in Django's cursor wrapper (error
    handling, query log, execute wrappers). With prepared statements off in settings
    psycopg ignores the request to prepare.
    """
    if not prepared or db.vendor != "postgresql" or db.alias in _NOT_PREPARING:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    db.ensure_connection()
    db.validate_thread_sharing()
    raw = _PreparingCursor(db.connection)
    wrapped = db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)
    try:
        with wrapped as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    except DatabaseError as exc:
        # A prepared statement can outlive a change of its table ("cached plan must not
        # change result type" after a migration) and would fail on this connection until
        # it closes: retire the connection at the end of the request.
        db.close_at = time.monotonic()
        if not isinstance(exc.__cause__, _LOST_STATEMENT) or db.in_atomic_block:
            raise
    # A pooler in transaction mode hands this client another server connection, which
    # does not know the statement (or knows another one of that name): this cluster
    # cannot keep prepared statements. Stop preparing there and say which setting to set.
    _NOT_PREPARING.add(db.alias)
    log.warning(
        "Prepared statements fail on database %r (a connection pooler in transaction mode?);"
        " they are off for it now. Add ?pool_mode=transaction to its URL, or set"
        " max_prepared_statements in PgBouncer 1.21 or later.",
        db.alias,
    )
    db.close()
    return _fetch(db, sql, params, prepared=False)


# psycopg's errors for a statement the server connection does not have, or has twice.
_LOST_STATEMENT = (
    psycopg.errors.InvalidSqlStatementName,
    psycopg.errors.DuplicatePreparedStatement,
)
# Aliases where preparing failed that way; this process prepares nothing there any more.
_NOT_PREPARING: set[str] = set()


_JSON_KEYS = frozenset({"groups", "tags", "allowed_locations", "features"})
_STAMP_KEYS = frozenset({"created_at", "updated_at"})


def _special_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The keys of a row that `_typed` converts, in the row's order."""
    wanted = _JSON_KEYS | _BOOLEANS | _STAMP_KEYS | {"date_of_birth", "picture"}
    return tuple(k for k in keys if k in wanted)


def _typed(record: dict[str, Any], special: tuple[str, ...]) -> dict[str, Any]:
    """Raw column values -> the API's JSON types (SQLite returns text and integers)."""
    for key in special:
        value = record[key]
        if key in _JSON_KEYS:
            if isinstance(value, str):
                record[key] = json.loads(value)
        elif key in _BOOLEANS:
            record[key] = bool(value)
        elif key in _STAMP_KEYS:
            if isinstance(value, str):
                value = dt.datetime.fromisoformat(value)
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
            # The same spelling pydantic gives the other endpoints: UTC with "Z".
            record[key] = value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        elif key == "picture":
            del record["picture"]
            record["picture_url"] = picture_url(record["number"]) if value else None
        elif value is not None:  # date_of_birth
            record[key] = value if isinstance(value, str) else value.isoformat()
    if "version" in record:
        record["etag"] = entity_tag(record["number"], record["version"])
    return record


def with_display_name(summary: dict[str, Any]) -> dict[str, Any]:
    summary["display_name"] = display_name(**{k: summary[k] for k in _NAME_PARTS})
    return summary


def picture_url(number: int) -> str:
    """Pictures are personal data: served only through the tenant-checked API."""
    return f"/api/v1/customers/{number}/picture"
