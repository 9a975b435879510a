"""Sends every query to the cluster that holds it (Django's database router).

Placed rows (every tenant-owned row, the tenant's own row, its locations, staff users
and memberships, their two-factor devices, API clients; and every model a new app adds)
go to the current database (`core.tenancy.current_database`): the active tenant's home
cluster, and for
reads that may scan a replica (`core.replicas`) one of its replicas. What serves all
tenants at once stays on the directory database ("default"): the tenant directory,
sessions, login throttling records and the background-job queue.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

from . import replicas
from .tenancy import current_database

DIRECTORY = DEFAULT_DB_ALIAS
# Apps and models that live on the directory database only.
DIRECTORY_APPS = frozenset({"sessions", "axes", "django_tasks_db"})
DIRECTORY_MODELS = frozenset({"tenants.tenanthome", "tenants.directoryname", "tenants.cluster"})


def on_directory(app_label: str, model_name: str | None) -> bool:
    if app_label in DIRECTORY_APPS:
        return True
    return model_name is not None and f"{app_label}.{model_name}" in DIRECTORY_MODELS


@cache
def primary_of(alias: str) -> str:
    """The cluster a replica alias copies; a cluster's own alias for itself."""
    for cluster, aliases in settings.STAMMGAST_REPLICAS.items():
        if alias in aliases:
            return cluster
    return alias


class TenantRouter:
    def _place(self, model, hints) -> str | None:
        meta = model._meta
        if on_directory(meta.app_label, meta.model_name):
            return DIRECTORY
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            # Related rows are read where the row they hang off was read.
            return instance._state.db
        return None

    def db_for_read(self, model, **hints):
        placed = self._place(model, hints)
        if placed is not None:
            return placed
        primary = current_database()
        if settings.STAMMGAST_REPLICAS and primary in settings.STAMMGAST_REPLICAS:
            return replicas.choose(primary)
        return primary

    def db_for_write(self, model, **hints):
        placed = self._place(model, hints)
        return primary_of(placed) if placed is not None else current_database()

    def allow_relation(self, obj1, obj2, **hints):
        return primary_of(obj1._state.db or DIRECTORY) == primary_of(obj2._state.db or DIRECTORY)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if primary_of(db) != db:
            return False  # a replica gets its tables from its primary
        # Every cluster has every placed table; the directory's tables only on "default".
        if on_directory(app_label, model_name):
            return db == DIRECTORY
        return True
