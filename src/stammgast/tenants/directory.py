"""The tenant directory: on which cluster a tenant lives, and how a request finds it.

The directory is a few small tables on the "default" database (models `Cluster`,
`TenantHome`, `DirectoryName`). A request that does not yet know its tenant finds it by
what it carries: an API key's prefix, a staff user's username, a tenant's slug. With one
database everything is "default" and the directory costs one indexed read where a tenant
is first found (an API key is verified once per process and kept; see keys.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils.translation import gettext as _

from stammgast.core.db import RETRY_AFTER_SECONDS
from stammgast.core.errors import DomainError, NotFound

from .models import Cluster, DirectoryName, Tenant, TenantHome

DIRECTORY = DEFAULT_DB_ALIAS


class TenantUnavailable(DomainError):
    """The tenant's cluster cannot be reached, or the tenant is being moved (writes)."""

    def __init__(self, message: str):
        super().__init__("tenant_unavailable", message, status=503)
        self.retry_after = RETRY_AFTER_SECONDS


def cluster_aliases() -> list[str]:
    """Every configured cluster (not its replicas), "default" first."""
    replicas = {alias for aliases in settings.STAMMGAST_REPLICAS.values() for alias in aliases}
    return [alias for alias in settings.DATABASES if alias not in replicas]


def check_cluster(alias: str) -> str:
    if alias not in cluster_aliases():
        raise DomainError(
            "unknown_cluster",
            _("There is no cluster %(alias)s; known: %(known)s.")
            % {"alias": alias, "known": ", ".join(cluster_aliases())},
            fields={"cluster": _("Unknown cluster.")},
            status=422,
        )
    return alias


def register_cluster(alias: str) -> Cluster:
    """The cluster's entry (and so its id space), made on its first migration."""
    with transaction.atomic(using=DIRECTORY):
        found = Cluster.objects.using(DIRECTORY).select_for_update().filter(alias=alias).first()
        if found is not None:
            return found
        if alias == DIRECTORY:
            number = 0
        else:
            numbers = Cluster.objects.using(DIRECTORY).values_list("number", flat=True)
            number = max([0, *numbers]) + 1
        return Cluster.objects.using(DIRECTORY).create(alias=alias, number=number)


def home_of(tenant_id: int) -> TenantHome:
    try:
        return TenantHome.objects.using(DIRECTORY).get(pk=tenant_id)
    except TenantHome.DoesNotExist:
        raise NotFound(_("There is no such tenant.")) from None


def _load(home: TenantHome) -> Tenant:
    if home.cluster not in settings.DATABASES:
        raise TenantUnavailable(
            _("This tenant's data is on cluster %(alias)s, which this server does not know.")
            % {"alias": home.cluster}
        )
    try:
        return Tenant.objects.using(home.cluster).get(pk=home.pk)
    except Tenant.DoesNotExist:
        raise NotFound(_("There is no such tenant.")) from None


def tenant_by_slug(slug: str) -> Tenant:
    home = TenantHome.objects.using(DIRECTORY).filter(slug=slug).first()
    if home is None:
        raise NotFound(_("There is no tenant %(slug)s.") % {"slug": slug})
    return _load(home)


def database_for_name(kind: str, name: str) -> str | None:
    """The cluster that holds the API key or staff user called `name`, if any is known."""
    home = (
        DirectoryName.objects.using(DIRECTORY)
        .filter(kind=kind, name=name)
        .values_list("home__cluster", flat=True)
        .first()
    )
    return home


def database_for_api_key(prefix: str) -> str | None:
    return database_for_name(DirectoryName.Kind.API_KEY, prefix)


def database_for_username(username: str) -> str:
    """Staff users of a tenant live on its cluster; others (superusers) on "default"."""
    return database_for_name(DirectoryName.Kind.STAFF_USER, username) or DIRECTORY


def name_taken(kind: str, name: str) -> bool:
    return DirectoryName.objects.using(DIRECTORY).filter(kind=kind, name=name).exists()


def add_name(kind: str, name: str, tenant: Tenant) -> None:
    DirectoryName.objects.using(DIRECTORY).create(kind=kind, name=name, home_id=tenant.pk)


def move_names(kind: str, names: list[str], tenant: Tenant) -> None:
    DirectoryName.objects.using(DIRECTORY).filter(kind=kind, name__in=names).update(
        home_id=tenant.pk
    )


@contextlib.contextmanager
def directory_transaction() -> Iterator[None]:
    with transaction.atomic(using=DIRECTORY):
        yield


def reachable(alias: str) -> bool:
    try:
        connections[alias].ensure_connection()
    except Exception:
        return False
    return True
