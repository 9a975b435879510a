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

from django.db import models

if TYPE_CHECKING:
    from stammgast.tenants.models import Tenant

_active_tenant: ContextVar[Tenant | None] = ContextVar("stammgast_tenant", default=None)


class TenantNotActive(RuntimeError):
    """A tenant-owned table was queried with no tenant active."""


def active_tenant() -> Tenant:
    tenant = _active_tenant.get()
    if tenant is None:
        raise TenantNotActive("No tenant is active; use tenant_scope(tenant).")
    return tenant


def active_tenant_or_none() -> Tenant | None:
    return _active_tenant.get()


@contextlib.contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[Tenant]:
    token = _active_tenant.set(tenant)
    try:
        yield tenant
    finally:
        _active_tenant.reset(token)


def activate(tenant: Tenant | None):
    """Activate for the rest of this request; the middleware resets the token."""
    return _active_tenant.set(tenant)


def deactivate(token) -> None:
    _active_tenant.reset(token)


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
