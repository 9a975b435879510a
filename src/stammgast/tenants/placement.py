"""Cluster upkeep: each cluster's id space, and moving a tenant between clusters."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import connections, models, transaction

from . import directory
from .keys import keys_changed
from .models import Cluster


def give_cluster_its_id_space(sender, using: str, **kwargs) -> None:
    """After a migration: every sequence of a cluster hands out ids of its own space.

    A tenant keeps its rows' ids when it moves, so two clusters must never hand out the
    same id for one table: cluster n counts from n * 2**40 (the "default" cluster from 1).
    Runs after every migration, so a table added later gets its space too.
    (Django's integer-keyed tables get a smaller space: n * 2**24.)
    """
    directory_tables = connections[directory.DIRECTORY].introspection.table_names()
    if Cluster._meta.db_table not in directory_tables:
        return  # the directory's tables were migrated away
    cluster = directory.register_cluster(using)
    connection = connections[using]
    if connection.vendor != "postgresql" or cluster.number == 0:
        return
    with connection.cursor() as cursor:
        # Bigint ids (every stammgast table) get 2**40 ids per cluster; the few integer
        # ones (Django's users, content types) 2**24.
        cursor.execute(
            "SELECT format('%%I.%%I', schemaname, sequencename),"
            " CASE WHEN max_value > 2147483647 THEN %s ELSE %s END AS start"
            " FROM pg_sequences WHERE schemaname = current_schema()",
            [cluster.number * Cluster.ID_SPACE, cluster.number * Cluster.SMALL_ID_SPACE],
        )
        for sequence, start in cursor.fetchall():
            cursor.execute(
                "SELECT setval(%s::regclass, %s, false) FROM pg_sequences"
                " WHERE format('%%I.%%I', schemaname, sequencename) = %s"
                " AND coalesce(last_value, 0) < %s",
                [sequence, start, sequence, start],
            )


# --- What a tenant's rows are ----------------------------------------------------------


@dataclass(frozen=True)
class TenantTable:
    """A table with rows of a tenant and the SQL condition that picks them."""

    model: type[models.Model]
    where: str  # SQL on the table's columns, with one %s for the tenant id

    @property
    def name(self) -> str:
        return self.model._meta.db_table

    def params(self, tenant_id: int) -> list[int]:
        return [tenant_id] * self.where.count("%s")

    @property
    def columns(self) -> list[str]:
        return [field.column for field in self.model._meta.concrete_fields]


def tenant_tables() -> list[TenantTable]:
    """Every table that holds a tenant's rows, found from the models (so a new app's
    models move with their tenant without code of their own)."""
    from django.contrib.auth import get_user_model

    from stammgast.core.tenancy import TenantOwned

    from .models import Tenant

    found = [TenantTable(Tenant, "id = %s")]
    owned = [
        m
        for m in apps.get_models()
        if issubclass(m, TenantOwned) and not m._meta.proxy and m._meta.managed
    ]
    User = get_user_model()
    # Its staff users, and any user its rows name (who booked, who changed).
    named = [
        f"SELECT {field.column} FROM {model._meta.db_table} WHERE tenant_id = %s"
        for model in owned
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is User
    ]
    found.append(TenantTable(User, f"id IN ({' UNION '.join(named)})"))
    for model in owned:
        found.append(TenantTable(model, "tenant_id = %s"))
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            if through._meta.auto_created:
                column = through._meta.get_field(field.m2m_field_name()).column
                found.append(
                    TenantTable(
                        through,
                        f"{column} IN (SELECT id FROM {model._meta.db_table} WHERE tenant_id = %s)",
                    )
                )
    found.extend(_staff_tables(owned, User))
    return found


# Tables keyed by a user rather than a tenant that stay where they are: the admin site's
# log (superusers, on the directory) and Django's own permission links.
_NOT_STAFF_APPS = frozenset({"admin", "auth", "contenttypes"})


def _staff_tables(owned: list, User) -> list[TenantTable]:
    """Rows that belong to the tenant's staff users though they carry no tenant: their
    two-factor devices (django-otp) and the rows hanging off those (recovery codes)."""
    from stammgast.core.routing import on_directory

    from .models import Membership

    staff = f"SELECT user_id FROM {Membership._meta.db_table} WHERE tenant_id = %s"
    by_user: dict[type[models.Model], str] = {}
    for model in apps.get_models():
        meta = model._meta
        if (
            model in owned
            or model is User
            or meta.proxy
            or not meta.managed
            or meta.app_label in _NOT_STAFF_APPS
            or on_directory(meta.app_label, meta.model_name)
        ):
            continue
        for field in meta.concrete_fields:
            if field.is_relation and field.many_to_one and field.related_model is User:
                by_user[model] = f"{field.column} IN ({staff})"
                break
    found = [TenantTable(model, where) for model, where in by_user.items()]
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            parent = field.related_model if field.is_relation and field.many_to_one else None
            if parent in by_user and model not in by_user:
                inner = f"SELECT id FROM {parent._meta.db_table} WHERE {by_user[parent]}"
                found.append(TenantTable(model, f"{field.column} IN ({inner})"))
                break
    return found


def count_rows(alias: str, tenant_id: int) -> int:
    with connections[alias].cursor() as cursor:
        total = 0
        for table in tenant_tables():
            cursor.execute(
                f'SELECT count(*) FROM "{table.name}" WHERE {table.where}', table.params(tenant_id)
            )
            total += cursor.fetchone()[0]
    return total


def database_size(alias: str) -> str:
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return cursor.fetchone()[0]


# --- Moving a tenant -------------------------------------------------------------------


@dataclass
class Moved:
    slug: str
    cluster: str
    rows: int
    tables: int


def _select(table: TenantTable) -> str:
    columns = ", ".join(f'"{c}"' for c in table.columns)
    return f'SELECT {columns} FROM "{table.name}" WHERE {table.where}'


def _fingerprint(cursor, table: TenantTable, tenant_id: int) -> tuple[int, int]:
    """Rows and a checksum of their values (order-free: a sum of row hashes)."""
    cursor.execute(
        f"SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)"
        f" FROM ({_select(table)}) t",
        table.params(tenant_id),
    )
    count, checksum = cursor.fetchone()
    return int(count), int(checksum)


def _copy(source, target, table: TenantTable, tenant_id: int, *, skip_existing: bool) -> None:
    """Stream the table's rows of the tenant from source to target (binary COPY)."""
    columns = ", ".join(f'"{c}"' for c in table.columns)
    into = table.name
    with target.cursor() as out:
        if skip_existing:
            # Users a tenant's rows name may be on the target already (same id).
            into = f"stammgast_move_{table.name}"
            out.execute(f'CREATE TEMP TABLE "{into}" (LIKE "{table.name}") ON COMMIT DROP')
        with source.cursor() as cursor:
            query = cursor.mogrify(_select(table), table.params(tenant_id))
            with (
                cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as reader,
                out.copy(f'COPY "{into}" ({columns}) FROM STDIN (FORMAT BINARY)') as writer,
            ):
                for block in reader:
                    writer.write(block)
        if skip_existing:
            out.execute(
                f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM "{into}"'
                " ON CONFLICT DO NOTHING"
            )


def _delete(cursor, tables: list[TenantTable], tenant_id: int, staff: list[int]) -> None:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    for table in reversed(tables):
        if table.model is User:
            # Only the tenant's own staff; other users its rows named stay where they are.
            cursor.execute(f'DELETE FROM "{table.name}" WHERE id = ANY(%s)', [staff])
        else:
            cursor.execute(
                f'DELETE FROM "{table.name}" WHERE {table.where}', table.params(tenant_id)
            )


def move(home, to: str, report=lambda line: None) -> Moved:
    """Move the tenant of `home` (a TenantHome) to cluster `to`.

    1. The directory marks the tenant as moving; on its cluster the move takes the
       tenant's write lock, so writes in flight finish and new ones are answered 503.
    2. Every table's rows of the tenant are streamed to the target in one transaction
       there; row counts and checksums are compared per table before it commits.
    3. The directory switches the tenant's home; then the old rows are removed.
    Anything going wrong before the switch leaves the tenant where it was, writable.
    """
    from django.contrib.auth import get_user_model

    from stammgast.core.db import TENANT_LOCK_CLASS

    from .models import Membership, TenantHome

    source_alias, tenant_id = home.cluster, home.pk
    source, target = connections[source_alias], connections[to]
    in_directory = TenantHome.objects.using(directory.DIRECTORY).filter(pk=tenant_id)
    tables = tenant_tables()
    # The write lock is held by a transaction of its own connection for the whole move,
    # which works directly and through a pooler in transaction mode alike.
    holder = connections.create_connection(source_alias)
    holder.set_autocommit(False)
    marked = False
    try:
        with holder.cursor() as cursor:
            if home.state == TenantHome.State.MOVING:
                # Only a move that died leaves the mark without holding the lock.
                cursor.execute(
                    "SELECT pg_try_advisory_xact_lock(%s, %s)", [TENANT_LOCK_CLASS, tenant_id]
                )
                if not cursor.fetchone()[0]:
                    raise MoveFailed(f"{home.slug} is being moved to {home.moving_to} right now.")
            else:
                in_directory.update(state=TenantHome.State.MOVING, moving_to=to)
                marked = True
                report(f"Waiting for writes of {home.slug} in progress to finish ...")
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)", [TENANT_LOCK_CLASS, tenant_id]
                )
    except BaseException:
        if marked:
            in_directory.update(state=TenantHome.State.ACTIVE, moving_to="")
        holder.close()
        raise
    copied = switched = False
    try:
        if in_directory.values_list("cluster", flat=True).first() != source_alias:
            raise MoveFailed(f"{home.slug} was moved by someone else meanwhile.")
        total = 0
        User = get_user_model()
        with transaction.atomic(using=to), target.cursor() as out:
            for table in tables:
                _copy(source, target, table, tenant_id, skip_existing=table.model is User)
            with source.cursor() as cursor:
                for table in tables:
                    expected = _fingerprint(cursor, table, tenant_id)
                    found = _fingerprint(out, table, tenant_id)
                    if expected != found:
                        raise MoveFailed(
                            f"{table.name}: {expected[0]} rows on {source_alias},"
                            f" {found[0]} on {to} (or their values differ)."
                        )
                    total += expected[0]
                    report(f"  {table.name}: {expected[0]:,} rows copied and verified")
            # References are checked here, before the switch, not after it.
            out.execute("SET CONSTRAINTS ALL IMMEDIATE")
        copied = True
        with transaction.atomic(using=directory.DIRECTORY):
            in_directory.update(cluster=to, state=TenantHome.State.ACTIVE, moving_to="")
        switched = True
        keys_changed()
        report(f"{home.slug} now lives on {to}; removing its rows from {source_alias} ...")
        staff = list(
            Membership.all_tenants.using(source_alias)
            .filter(tenant_id=tenant_id)
            .values_list("user_id", flat=True)
        )
        with transaction.atomic(using=source_alias), source.cursor() as cursor:
            _delete(cursor, tables, tenant_id, staff)
        return Moved(home.slug, to, total, len(tables))
    finally:
        if not switched:
            if copied:
                staff = list(
                    Membership.all_tenants.using(to)
                    .filter(tenant_id=tenant_id)
                    .values_list("user_id", flat=True)
                )
                with transaction.atomic(using=to), target.cursor() as out:
                    _delete(out, tables, tenant_id, staff)
            in_directory.update(state=TenantHome.State.ACTIVE, moving_to="")
        holder.rollback()  # lets go of the write lock
        holder.close()


class MoveFailed(Exception):
    """The copy did not match the original; nothing was switched."""
