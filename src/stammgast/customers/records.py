"""Lean reads of customer records for the tills' hot paths: one SQL statement per read.

A till looks a guest up many times a minute (by number, caller ID, card, e-mail). The ORM
costs several milliseconds of Python per lookup here (query compilation, model
instances, one more query for groups and tags); these selectors fetch the row and its
group, tag and location names in one statement and return plain dicts. They apply the
same tenant and location rules as `selectors.visible_customers`: the tenant comes from the
active tenant scope, never from the caller.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from functools import cache
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils.translation import gettext as _

from stammgast.core.errors import NotFound
from stammgast.core.tenancy import active_tenant
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import MAX_CUSTOMER_NUMBER

from .models import Customer, CustomerGroup, Tag, display_name

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
SUMMARY_COLUMNS = (
    "number", "kind", "first_name", "last_name", "company_name", "alias", "postcode", "city",
    "phone_private", "mobile", "email", "blocked", "lock_text",
)  # fmt: skip
_BOOLEANS = {"favourite", "blocked", "newsletter", "invoices_by_email"}
MAX_LOOKUP_RESULTS = 20
_NAME_PARTS = ("kind", "first_name", "last_name", "company_name", "alias")


@cache
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
        "visible_at": (
            f"(NOT {customer}.location_restricted OR EXISTS (SELECT 1 FROM {places_through} "
            f"x WHERE x.customer_id = {customer}.id AND x.location_id = %s))"
        ),
    }


def _query(
    actor: Actor,
    columns: tuple[str, ...],
    relations: tuple[str, ...],
    where: str,
    params: list,
    *,
    prepared: bool = False,
) -> list[dict[str, Any]]:
    # The connection of this thread, looked up once: every attribute read through
    # django.db.connection is a lookup in a context-local store.
    db = connections[DEFAULT_DB_ALIAS]
    sql = _statement(db.vendor, columns, relations, where, actor.location_bound)
    params = [active_tenant().pk, *params]
    if actor.location_bound:
        params.append(actor.location.pk)
    rows = _fetch(db, sql, params, prepared=prepared)
    keys = (*columns, *relations)
    special = _special_keys(keys)
    return [_typed(dict(zip(keys, row, strict=True)), special) for row in rows]


@cache
def _statement(
    vendor: str,
    columns: tuple[str, ...],
    relations: tuple[str, ...],
    where: str,
    location_bound: bool,
) -> str:
    names = _names_sql(vendor)
    table = Customer._meta.db_table
    select = [f"{table}.{c}" for c in columns] + [names[r] for r in relations]
    sql = f"SELECT {', '.join(select)} FROM {table} WHERE {table}.tenant_id = %s AND ({where})"
    if location_bound:
        sql += f" AND {names['visible_at']}"
    return sql + f" ORDER BY {table}.number LIMIT {MAX_LOOKUP_RESULTS}"


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
    if not prepared or db.vendor != "postgresql":
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
    except DatabaseError:
        # A prepared statement can outlive a change of its table ("cached plan must not
        # change result type" after a migration) and would fail on this connection until
        # it closes: retire the connection at the end of the request.
        db.close_at = time.monotonic()
        raise


_JSON_KEYS = frozenset({"groups", "tags", "allowed_locations", "features"})
_STAMP_KEYS = frozenset({"created_at", "updated_at"})


@cache
def _special_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The keys of a row that `_typed` converts, in the row's order."""
    wanted = _JSON_KEYS | _BOOLEANS | _STAMP_KEYS | {"date_of_birth"}
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
        elif value is not None:  # date_of_birth
            record[key] = value if isinstance(value, str) else value.isoformat()
    if "picture" in record:
        picture = record.pop("picture")
        record["picture_url"] = picture_url(record["number"]) if picture else None
    return record


def customer_record(*, actor: Actor, number: int) -> dict[str, Any]:
    """The whole record of one customer as the API shows it, or NotFound."""
    if not 1 <= number <= MAX_CUSTOMER_NUMBER:
        raise NotFound(_("There is no customer %(n)s.") % {"n": number})
    found = _query(
        actor,
        RECORD_COLUMNS,
        ("groups", "tags", "allowed_locations"),
        "number = %s",
        [number],
        prepared=True,
    )
    if not found:
        raise NotFound(_("There is no customer %(n)s.") % {"n": number})
    record = found[0]
    record["etag"] = f'"{record["number"]}-{record["version"]}"'
    return record


def _summaries(
    actor: Actor, where: str, params: list, *, prepared: bool = False
) -> list[dict[str, Any]]:
    summaries = _query(actor, SUMMARY_COLUMNS, ("groups",), where, params, prepared=prepared)
    for summary in summaries:
        summary["display_name"] = display_name(**{k: summary[k] for k in _NAME_PARTS})
    return summaries


# Any of a customer's phone numbers, in E.164 (one value for each placeholder).
PHONE_MATCH = "phone_private_e164 = %s OR mobile_e164 = %s OR phone_business_e164 = %s"


def summaries_by_phone(*, actor: Actor, e164: str) -> list[dict[str, Any]]:
    """Caller ID: customers with this number as private, mobile or business phone.

    Prepared: with no number stored as NULL (not "") the generic plan looks the number up
    in the three phone indexes whatever it is (see Customer.phone_private_e164).
    """
    return _summaries(actor, PHONE_MATCH, [e164, e164, e164], prepared=True)


def summaries_by_email(*, actor: Actor, email: str) -> list[dict[str, Any]]:
    return _summaries(actor, "email = %s", [email])


def summaries_by_card(*, actor: Actor, card: str) -> list[dict[str, Any]]:
    from stammgast.cards.models import Card

    cards = Card._meta.db_table
    return _summaries(
        actor,
        f"id IN (SELECT customer_id FROM {cards} WHERE tenant_id = %s AND number = %s "
        "AND NOT blocked)",
        [active_tenant().pk, card],
    )


def picture_url(number: int) -> str:
    """Pictures are personal data: served only through the tenant-checked API."""
    return f"/api/v1/customers/{number}/picture"
