"""Writes for tenants, locations, staff users and API keys: one function per use case."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import Conflict, DomainError, NotFound
from stammgast.core.tenancy import current_database, database_scope, tenant_scope

from . import directory
from .keys import KEY_PREFIX_LEN, hash_key, keys_changed
from .models import (
    MAX_CUSTOMER_NUMBER,
    ApiClient,
    DirectoryName,
    Location,
    Membership,
    Role,
    Scope,
    Tenant,
    TenantHome,
)
from .signals import location_leaving

_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]*")


def _check_slug(value: str, field: str, max_len: int = 50) -> str:
    # fullmatch: "$" would let a trailing newline through.
    if not _SLUG_RE.fullmatch(value or "") or len(value) > max_len:
        message = _("Use lower-case letters, digits and hyphens (at most %(max)d).") % {
            "max": max_len
        }
        raise DomainError("invalid_slug", message, fields={field: message}, status=422)
    return value


def _check_name(value: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 200:
        raise DomainError(
            "invalid_name",
            _("A name of 1 to 200 characters is required."),
            fields={"name": _("A name of 1 to 200 characters is required.")},
            status=422,
        )
    return value


def create_tenant(*, slug: str, name: str, cluster: str | None = None) -> Tenant:
    """A new tenant on `cluster` (default: the current one), entered in the directory."""
    _check_slug(slug, "slug")
    name = _check_name(name)
    alias = directory.check_cluster(cluster or current_database())
    with directory.directory_transaction():
        if TenantHome.objects.using(directory.DIRECTORY).filter(slug=slug).exists():
            raise Conflict(
                "tenant_exists",
                _("A tenant with this slug exists already."),
                fields={"slug": _("Already taken.")},
            )
        # The directory hands out tenant ids, so they are unique over all clusters. If the
        # cluster refuses the row, the directory's entry is rolled back with it.
        home = TenantHome.objects.using(directory.DIRECTORY).create(slug=slug, cluster=alias)
        with database_scope(alias), db.atomic():
            return Tenant.objects.create(pk=home.pk, slug=slug, name=name)


def parse_number_range(text: str | None) -> tuple[int, int] | None:
    """ "1000-1999" -> (1000, 1999); None or "" -> None."""
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d{1,7})\s*-\s*(\d{1,7})\s*", text)
    if not match:
        raise DomainError(
            "invalid_number_range",
            _("Give the range as FROM-TO, e.g. 1000-1999."),
            fields={"numbers": _("Give the range as FROM-TO, e.g. 1000-1999.")},
            status=422,
        )
    return int(match[1]), int(match[2])


def _check_number_range(
    tenant: Tenant, numbers: tuple[int, int] | None, exclude: Location | None = None
) -> None:
    if numbers is None:
        return
    low, high = numbers
    if not (1 <= low <= high <= MAX_CUSTOMER_NUMBER):
        raise DomainError(
            "invalid_number_range",
            _("A number range lies within 1 to 9,999,999 and FROM is not above TO."),
            fields={
                "numbers": _("A number range lies within 1 to 9,999,999 and FROM is not above TO.")
            },
            status=422,
        )
    overlapping = Location.objects.filter(number_from__lte=high, number_to__gte=low)
    if exclude is not None:
        overlapping = overlapping.exclude(pk=exclude.pk)
    if clash := overlapping.first():
        raise Conflict(
            "number_range_overlap",
            _("The range overlaps the range of location %(code)s.") % {"code": clash.code},
            fields={"numbers": _("Overlaps location %(code)s.") % {"code": clash.code}},
        )


def create_location(
    *, tenant: Tenant, code: str, name: str, numbers: tuple[int, int] | None = None
) -> Location:
    # Codes are kept in lower case: "BER", "Ber" and "ber" are one location.
    code = (code or "").lower()
    _check_slug(code, "code", max_len=Location._meta.get_field("code").max_length)
    name = _check_name(name)
    with tenant_scope(tenant), db.atomic():
        # Serialise range checks per tenant so two new locations cannot take one range.
        Tenant.objects.select_for_update(no_key=True).get(pk=tenant.pk)
        if Location.objects.filter(code=code).exists():
            raise Conflict(
                "location_exists",
                _("This tenant has a location with this code."),
                fields={"code": _("Already taken.")},
            )
        _check_number_range(tenant, numbers)
        low, high = numbers or (None, None)
        return Location.objects.create(
            tenant=tenant,
            code=code,
            name=name,
            number_from=low,
            number_to=high,
            number_counter=(low - 1) if low else 0,
        )


def get_tenant(slug: str) -> Tenant:
    """The tenant, read from its home cluster."""
    return directory.tenant_by_slug(slug)


def home_database(tenant_id: int) -> str:
    """The alias of the cluster the tenant lives on."""
    return directory.home_of(tenant_id).cluster


def cluster_aliases() -> list[str]:
    return directory.cluster_aliases()


def list_tenants() -> list[tuple[TenantHome, Tenant | None]]:
    """Every tenant in the directory with its row (None where its cluster is unknown)."""
    homes = list(TenantHome.objects.using(directory.DIRECTORY).order_by("slug"))
    rows: dict[int, Tenant] = {}
    for alias in {home.cluster for home in homes}:
        if alias in directory.cluster_aliases():
            ids = [home.pk for home in homes if home.cluster == alias]
            rows.update(Tenant.objects.using(alias).in_bulk(ids))
    return [(home, rows.get(home.pk)) for home in homes]


def get_location(tenant: Tenant, code: str) -> Location:
    code = (code or "").lower()
    with tenant_scope(tenant):
        try:
            return Location.objects.get(code=code)
        except Location.DoesNotExist:
            raise NotFound(
                _("Tenant %(tenant)s has no location %(code)s.")
                % {"tenant": tenant.slug, "code": code}
            ) from None


def _check_username(User, username: str) -> None:
    if not username or len(username) > User._meta.get_field("username").max_length:
        raise ValidationError(_("A username has 1 to 150 characters."))
    User.username_validator(username)


def create_staff_user(
    *,
    tenant: Tenant,
    username: str,
    password: str,
    role: str,
    location: Location | None = None,
    email: str = "",
) -> object:
    _check_location_of(tenant, location)
    if role not in Role.values:
        raise DomainError(
            "invalid_role",
            _("Unknown role."),
            fields={"role": _("Choose one of: %(roles)s.") % {"roles": ", ".join(Role.values)}},
            status=422,
        )
    if role == Role.TENANT_ADMIN and location is not None:
        raise DomainError(
            "invalid_role",
            _("A tenant administrator works for the whole tenant."),
            fields={"location": _("Leave empty for a tenant administrator.")},
            status=422,
        )
    if role == Role.LOCATION_MANAGER and location is None:
        raise DomainError(
            "invalid_role",
            _("A location manager needs a location."),
            fields={"location": _("Required for this role.")},
            status=422,
        )
    User = get_user_model()
    user = User(username=username, email=email)
    for field, check in (
        ("username", lambda: _check_username(User, username)),
        ("email", lambda: EmailValidator()(email) if email else None),
        ("password", lambda: validate_password(password, user)),
    ):
        try:
            check()
        except ValidationError as exc:
            raise DomainError(
                "invalid_user",
                _("The user cannot be created."),
                fields={field: exc.messages},
                status=422,
            ) from None
    # Usernames are unique over every cluster: the directory says where a login goes.
    with directory.directory_transaction(), tenant_scope(tenant), db.atomic():
        if (
            directory.name_taken(DirectoryName.Kind.STAFF_USER, username)
            or User.objects.filter(username=username).exists()
        ):
            raise Conflict(
                "user_exists",
                _("This username is taken."),
                fields={"username": _("Already taken.")},
            )
        directory.add_name(DirectoryName.Kind.STAFF_USER, username, tenant)
        user.set_password(password)
        user.save()
        Membership.objects.create(tenant=tenant, user=user, role=role, location=location)
    return user


def _check_location_of(tenant: Tenant, location: Location | None) -> None:
    if location is not None and location.tenant_id != tenant.pk:
        raise DomainError(
            "invalid_location",
            _("The location belongs to another tenant."),
            fields={"location": _("Choose a location of this tenant.")},
            status=422,
        )


def create_api_key(
    *, tenant: Tenant, name: str, scopes: list[str], location: Location | None = None
) -> tuple[ApiClient, str]:
    """Create an API client; the key is returned once and only its hash is kept."""
    name = _check_name(name)
    _check_location_of(tenant, location)
    unknown = [s for s in scopes if s not in Scope.values]
    if not scopes or unknown:
        raise DomainError(
            "invalid_scopes",
            _("Unknown or missing scopes."),
            fields={"scopes": _("Choose from: %(scopes)s.") % {"scopes": ", ".join(Scope.values)}},
            status=422,
        )
    # 32 random bytes: guessing is hopeless, so a fast hash protects the stored value.
    prefix = secrets.token_hex(KEY_PREFIX_LEN // 2)
    key = f"sg_{prefix}_{secrets.token_urlsafe(32)}"
    with directory.directory_transaction(), tenant_scope(tenant), db.atomic():
        directory.add_name(DirectoryName.Kind.API_KEY, prefix, tenant)
        client = ApiClient.objects.create(
            tenant=tenant,
            name=name,
            scopes=sorted(set(scopes)),
            location=location,
            key_prefix=prefix,
            key_hash=hash_key(key),
        )
    return client, key


def _forget_verified_keys() -> None:
    """Once the change is committed, every server process verifies its kept keys again
    on its next request (see keys.py)."""
    db.on_commit(keys_changed)


def revoke_api_key(*, client: ApiClient) -> None:
    with tenant_scope(client.tenant), db.atomic():
        ApiClient.all_tenants.filter(pk=client.pk).update(revoked_at=timezone.now())
        _forget_verified_keys()


def detach_location(*, location: Location, new_slug: str, new_name: str) -> Tenant:
    """A location leaves its group: it moves to a new tenant with an empty customer base.

    The customers stay with the old group (they travel only by export and import). Staff
    bound to the location and API clients of its tills move with it.
    """
    old_tenant = location.tenant
    # The new tenant starts where the location's rows are: on the old tenant's cluster.
    new_tenant = create_tenant(slug=new_slug, name=new_name, cluster=old_tenant._state.db)
    with directory.directory_transaction(), tenant_scope(old_tenant), db.atomic():
        # These writes cross tenants on purpose: that is what leaving a group means. The
        # apps whose rows name the location (customers restricted to it, ...) release it.
        location_leaving.send(sender=Location, location=location)
        members = Membership.all_tenants.filter(location=location)
        clients = ApiClient.all_tenants.filter(location=location)
        directory.move_names(
            DirectoryName.Kind.STAFF_USER,
            list(members.values_list("user__username", flat=True)),
            new_tenant,
        )
        directory.move_names(
            DirectoryName.Kind.API_KEY,
            list(clients.values_list("key_prefix", flat=True)),
            new_tenant,
        )
        members.update(tenant=new_tenant)
        clients.update(tenant=new_tenant)
        # A till's cached key still names the old tenant; it must not see the old customers.
        _forget_verified_keys()
        Location.all_tenants.filter(pk=location.pk).update(
            tenant=new_tenant,
            number_counter=(location.number_from - 1 if location.number_from else 0),
        )
    location.refresh_from_db()
    return new_tenant


def staff_actor(user, *, location_code: str | None = None):
    """The Actor for a logged-in staff user, or None if the user belongs to no tenant."""
    from .actor import Actor

    memberships = Membership.all_tenants.select_related("tenant", "location").filter(user=user)
    if location_code:
        memberships = memberships.filter(location__code=location_code)
    # The tenant-wide membership first: NULL sorts first in SQLite but last in PostgreSQL.
    membership = memberships.order_by(F("location_id").asc(nulls_first=True), "pk").first()
    if membership is None:
        return None
    return Actor.for_staff(
        tenant=membership.tenant, user=user, role=membership.role, location=membership.location
    )


@dataclass
class TenantSize:
    slug: str
    rows: int | None
    moving_to: str


@dataclass
class ClusterSize:
    alias: str
    reachable: bool
    size: str
    tenants: list[TenantSize]


def describe_clusters() -> list[ClusterSize]:
    """Every cluster with its tenants (and their rows) and its database's size."""
    from .placement import count_rows, database_size

    homes = list(TenantHome.objects.using(directory.DIRECTORY).order_by("slug"))
    found = []
    for alias in directory.cluster_aliases():
        reachable = directory.reachable(alias)
        tenants = [
            TenantSize(home.slug, count_rows(alias, home.pk) if reachable else None, home.moving_to)
            for home in homes
            if home.cluster == alias
        ]
        found.append(
            ClusterSize(alias, reachable, database_size(alias) if reachable else "", tenants)
        )
    return found


def move_tenant(*, slug: str, to: str, report=lambda line: None):
    """Move a tenant's rows to cluster `to`, verified, then switch its home (placement.py)."""
    from .placement import MoveFailed, move

    directory.check_cluster(to)
    home = TenantHome.objects.using(directory.DIRECTORY).filter(slug=slug).first()
    if home is None:
        raise NotFound(_("There is no tenant %(slug)s.") % {"slug": slug})
    if home.cluster == to:
        raise DomainError(
            "same_cluster",
            _("Tenant %(slug)s lives on cluster %(alias)s already.") % {"slug": slug, "alias": to},
            status=422,
        )
    for alias in (home.cluster, to):
        if not directory.reachable(alias):
            raise directory.TenantUnavailable(
                _("Cluster %(alias)s cannot be reached; nothing was moved.") % {"alias": alias}
            )
    try:
        return move(home, to, report)
    except (MoveFailed, DatabaseError) as exc:
        raise DomainError(
            "move_failed",
            _("The move was stopped, the tenant stays on %(alias)s: %(reason)s")
            % {"alias": home.cluster, "reason": exc},
            status=409,
        ) from None
