"""Transactions and connections on the cluster of the work at hand.

With one database these are Django's own. With tenants placed on several clusters
(docs/scaling.md) a transaction must be opened on the cluster the queries go to, which
the bare `transaction.atomic()` (always "default") does not know: services use these.

While a tenant moves to another cluster its writes are refused (503, try again): every
write transaction of a tenant holds a shared advisory lock on the tenant for its
duration, which the move takes exclusively. With one database nothing can move and no
lock is taken.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.translation import gettext as _

from . import replicas
from .errors import DomainError
from .tenancy import active_tenant_or_none, current_database

# The first key of the advisory locks a tenant's writers share and a move takes alone.
TENANT_LOCK_CLASS = 0x5347  # "SG"
RETRY_AFTER_SECONDS = 5


class TenantMoving(DomainError):
    """The tenant is being moved between clusters; its writes wait until it is done."""

    def __init__(self) -> None:
        super().__init__(
            "tenant_moving",
            _("This customer base is being moved and is read-only for a moment; try again."),
            status=503,
        )
        self.retry_after = RETRY_AFTER_SECONDS


def _guard_writes(using: str) -> None:
    tenant = active_tenant_or_none()
    connection = connections[using]
    if tenant is None or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock_shared(%s, %s)", [TENANT_LOCK_CLASS, tenant.pk]
        )
        if not cursor.fetchone()[0]:
            raise TenantMoving


@contextlib.contextmanager
def _atomic(savepoint: bool, durable: bool) -> Iterator[None]:
    using = current_database()
    outermost = not connections[using].in_atomic_block
    with transaction.atomic(using=using, savepoint=savepoint, durable=durable):
        if outermost and len(settings.DATABASES) > 1:
            _guard_writes(using)
            if settings.STAMMGAST_REPLICAS:
                transaction.on_commit(lambda: replicas.wrote_on(using), using=using)
        yield


def atomic(func: Callable | None = None, *, savepoint: bool = True, durable: bool = False):
    """`transaction.atomic` on the current cluster, chosen when the block is entered.

    As a decorator, the cluster is the one active when the function is called.
    """
    if callable(func):

        @functools.wraps(func)
        def inner(*args, **kwargs):
            with _atomic(savepoint, durable):
                return func(*args, **kwargs)

        return inner
    return _atomic(savepoint, durable)


def set_rollback(rollback: bool = True) -> None:
    """Roll back the current cluster's innermost atomic block when it ends."""
    transaction.set_rollback(rollback, using=current_database())


def on_commit(callback: Callable[[], object], *, robust: bool = False) -> None:
    transaction.on_commit(callback, using=current_database(), robust=robust)


def connection() -> BaseDatabaseWrapper:
    """The connection of the current cluster (this thread's)."""
    return connections[current_database()]


def flush_deleted_data() -> None:
    """Make values just deleted or overwritten leave the database files now. On SQLite the
    write-ahead log still holds the pages as they were until a checkpoint copies them back
    (secure_delete zeroes them there) and empties the log. PostgreSQL never shows a dead
    row to a reader or in a dump; VACUUM reclaims its space later."""
    conn = connection()
    if conn.vendor == "sqlite":
        with conn.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
