"""Tenant scoping in one place: every tenant-owned query is filtered by the active tenant.

A request (portal session or API key), a management command or a background task
activates exactly one tenant; the default manager of every tenant-owned model refuses to
run without one, so a forgotten filter is an error rather than a cross-tenant leak.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.db import DEFAULT_DB_ALIAS, models

if TYPE_CHECKING:
    from stammgast.tenants.models import Tenant

_active_tenant: ContextVar[Tenant | None] = ContextVar("stammgast_tenant", default=None)
# The database alias of the cluster that holds the work at hand: the active tenant's home,
# or, before a tenant is known (a staff user's session, a cluster-wide job), the cluster
# the caller named. The router (core.routing) sends every placed query there.
_active_database: ContextVar[str | None] = ContextVar("stammgast_database", default=None)


class TenantNotActive(RuntimeError):
    """A tenant-owned table was queried with no tenant active."""


def active_tenant() -> Tenant:
    tenant = _active_tenant.get()
    if tenant is None:
        raise TenantNotActive("No tenant is active; use tenant_scope(tenant).")
    return tenant


def active_tenant_or_none() -> Tenant | None:
    return _active_tenant.get()


def current_database() -> str:
    """The alias every placed query of this moment goes to ("default" with one database)."""
    return _active_database.get() or DEFAULT_DB_ALIAS


def _home_of(tenant: Tenant | None) -> str | None:
    # A tenant row read from its home cluster knows where it came from.
    return tenant._state.db if tenant is not None else None


@contextlib.contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[Tenant]:
    token = _active_tenant.set(tenant)
    database = _active_database.set(_home_of(tenant) or _active_database.get())
    try:
        yield tenant
    finally:
        _active_database.reset(database)
        _active_tenant.reset(token)


@contextlib.contextmanager
def database_scope(alias: str) -> Iterator[str]:
    """Work on one cluster before (or without) a tenant: a session's user, a sweep."""
    token = _active_database.set(alias)
    try:
        yield alias
    finally:
        _active_database.reset(token)


def activate(tenant: Tenant | None):
    """Activate for the rest of this request; the middleware resets the token."""
    return (_active_tenant.set(tenant), _active_database.set(_home_of(tenant)))


def activate_database(alias: str | None):
    """Send this request's placed queries to `alias` until the middleware resets it."""
    return _active_database.set(alias)


def deactivate(token) -> None:
    tenant_token, database_token = token
    _active_database.reset(database_token)
    _active_tenant.reset(tenant_token)


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Default manager of tenant-owned models: only the active tenant's rows exist."""

    def get_queryset(self) -> TenantQuerySet:
        return super().get_queryset().filter(tenant_id=active_tenant().pk)


class TenantOwned(models.Model):
    """Base of every model whose rows belong to one tenant."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")

    objects = TenantManager()
    # Operations across tenants (admin for superusers, tenant directory jobs) say so by name.
    all_tenants = models.Manager()

    class Meta:
        abstract = True
        base_manager_name = "all_tenants"

    def save(self, *args, **kwargs):
        tenant = active_tenant()
        if self.tenant_id is None:
            self.tenant = tenant
        elif self.tenant_id != tenant.pk:
            raise TenantNotActive("Refusing to write a row of another tenant.")
        super().save(*args, **kwargs)
