"""Sends every query to the cluster that holds it (Django's database router).

Placed rows (every tenant-owned row, the tenant's own row, its locations, staff users
and memberships, API clients; and every model a new app adds) go to the current
database (`core.tenancy.current_database`): the active tenant's home cluster. What
serves all tenants at once stays on the directory database ("default"): the tenant
directory, sessions, login throttling records and the background-job queue.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from .tenancy import current_database

DIRECTORY = DEFAULT_DB_ALIAS
# Apps and models that live on the directory database only.
DIRECTORY_APPS = frozenset({"sessions", "axes", "django_tasks_db"})
DIRECTORY_MODELS = frozenset({"tenants.tenanthome", "tenants.directoryname", "tenants.cluster"})


def on_directory(app_label: str, model_name: str | None) -> bool:
    if app_label in DIRECTORY_APPS:
        return True
    return model_name is not None and f"{app_label}.{model_name}" in DIRECTORY_MODELS


class TenantRouter:
    def _place(self, model, hints) -> str:
        meta = model._meta
        if on_directory(meta.app_label, meta.model_name):
            return DIRECTORY
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            # Related rows are read where the row they hang off was read.
            return instance._state.db
        return current_database()

    def db_for_read(self, model, **hints):
        return self._place(model, hints)

    def db_for_write(self, model, **hints):
        return self._place(model, hints)

    def allow_relation(self, obj1, obj2, **hints):
        return (obj1._state.db or DIRECTORY) == (obj2._state.db or DIRECTORY)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # Every cluster has every placed table; the directory's tables only on "default".
        if on_directory(app_label, model_name):
            return db == DIRECTORY
        return True
