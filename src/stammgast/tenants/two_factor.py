"""Staff two-factor log-in: authenticator apps (TOTP), recovery codes and the tenant's rule.

The devices are django-otp's (`otp_totp` for the authenticator app, `otp_static` for the
recovery codes) and live where their user lives: every function here works on the
user's cluster, whichever cluster the request has active.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
from base64 import b32encode
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from stammgast.core import db
from stammgast.core.errors import DomainError, NotFound
from stammgast.core.tenancy import current_database, database_scope, tenant_scope

from . import events
from .actor import Actor
from .models import Tenant, TenantEvent

RECOVERY_CODE_COUNT = 10
# 10 random bytes: 16 letters and digits of base32, shown in groups of four.
RECOVERY_CODE_BYTES = 10
TOTP_DIGITS = 6
MAX_CODE_LENGTH = 40


class SecondFactorRefused(DomainError):
    """A wrong, used-up or throttled code; `locked_until` says when to try again."""

    def __init__(self, message: str, *, code: str, locked_until: dt.datetime | None = None):
        status = 429 if code == "code_throttled" else 403
        super().__init__(code, message, fields={"code": message}, status=status)
        self.locked_until = locked_until


@dataclass(frozen=True)
class Enrolment:
    """An authenticator app being set up: what the app must be given."""

    secret: str  # base32, in groups of four, for typing it in by hand
    config_url: str  # otpauth://… for the QR code


@dataclass(frozen=True)
class TwoFactorStatus:
    enabled: bool
    recovery_codes_left: int
    required_by_tenant: bool


@contextlib.contextmanager
def _on_cluster_of(user) -> Iterator[None]:
    # A user row read from its cluster knows it; its devices are beside it.
    with database_scope(user._state.db or current_database()):
        yield


def _normalise(code: str) -> str:
    return "".join((code or "")[:MAX_CODE_LENGTH].split()).replace("-", "").lower()


def recovery_code_hash(code: str) -> str:
    """What otp_static keeps of a recovery code (its token column holds 16 characters).

    The codes carry 80 random bits, so a stolen table gives no usable code: finding a text
    for one of these 64-bit fingerprints costs 2**64 hashes, and guessing codes online is
    throttled.
    """
    return hashlib.sha256(_normalise(code).encode()).hexdigest()[:16]


def _new_recovery_code() -> str:
    text = b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode().lower()
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def _enrolment(device: TOTPDevice) -> Enrolment:
    secret = b32encode(device.bin_key).decode().rstrip("=")
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return Enrolment(secret=grouped, config_url=device.config_url)


def _authenticator(user, *, confirmed: bool, lock: bool = False) -> TOTPDevice | None:
    found = TOTPDevice.objects.filter(user=user, confirmed=confirmed)
    if lock:
        found = found.select_for_update()
    return found.order_by("pk").first()


def _recovery_device(user, *, lock: bool = False) -> StaticDevice | None:
    found = StaticDevice.objects.filter(user=user, confirmed=True)
    if lock:
        found = found.select_for_update()
    return found.order_by("pk").first()


def _check_password(user, password: str) -> None:
    if not user.check_password(password or ""):
        message = _("The password is not right.")
        raise DomainError("wrong_password", message, fields={"password": message}, status=403)


# --- reads -------------------------------------------------------------------------------


def has_second_factor(user) -> bool:
    """The user has a confirmed authenticator app: a log-in needs its code."""
    with _on_cluster_of(user):
        return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def is_recovery_code(device: Device) -> bool:
    """The second step was passed with a recovery code (now used up), not the app."""
    return isinstance(device, StaticDevice)


def required_for(user) -> bool:
    """The user's tenant makes two-factor login mandatory."""
    from .models import Membership

    with _on_cluster_of(user):
        return Membership.all_tenants.filter(user=user, tenant__two_factor_required=True).exists()


def two_factor_status(*, user, tenant: Tenant | None) -> TwoFactorStatus:
    with _on_cluster_of(user):
        enabled = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        left = StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
    return TwoFactorStatus(
        enabled=enabled,
        recovery_codes_left=left if enabled else 0,
        required_by_tenant=bool(tenant and tenant.two_factor_required),
    )


def pending_enrolment(*, user) -> Enrolment | None:
    """The authenticator app being set up and not yet confirmed, if any."""
    with _on_cluster_of(user):
        device = _authenticator(user, confirmed=False)
    return _enrolment(device) if device is not None else None


@dataclass(frozen=True)
class StaffLogin:
    username: str
    role: str
    location: str  # the location's name; empty for head office
    two_factor: bool


def staff_logins(*, actor: Actor) -> list[StaffLogin]:
    """The tenant's staff and whether each has two-factor log-in on (for its settings)."""
    from .models import Membership, Role

    memberships = list(
        Membership.objects.select_related("user", "location").order_by("user__username", "pk")
    )
    user_ids = {m.user_id for m in memberships}
    with_app = set(
        TOTPDevice.objects.filter(user_id__in=user_ids, confirmed=True).values_list(
            "user_id", flat=True
        )
    )
    return [
        StaffLogin(
            username=m.user.get_username(),
            role=Role(m.role).label,
            location=m.location.name if m.location else "",
            two_factor=m.user_id in with_app,
        )
        for m in memberships
    ]


def tenant_history(*, actor: Actor, limit: int = 50) -> list[TenantEvent]:
    """The newest entries of the tenant's own history (settings and staff log-ins)."""
    return list(TenantEvent.objects.all()[: max(1, min(limit, 200))])


# --- writes ------------------------------------------------------------------------------


def start_enrolment(*, user) -> Enrolment:
    """A new secret for an authenticator app; active only once a code from it is confirmed.

    Asking again before confirming shows the same secret, so an app set up from the first
    page still fits.
    """
    with _on_cluster_of(user), db.atomic():
        device = _authenticator(user, confirmed=False, lock=True)
        if device is None:
            device = TOTPDevice.objects.create(
                user=user, name=_("Authenticator app"), confirmed=False, digits=TOTP_DIGITS
            )
        return _enrolment(device)


def _make_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=_("Recovery codes"), confirmed=True)
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(
        [StaticToken(device=device, token=recovery_code_hash(code)) for code in codes]
    )
    return codes


def confirm_enrolment(*, user, code: str, actor: Actor | None) -> tuple[Device, list[str]]:
    """Turn two-factor log-in on with a code the new app shows; returns the device and the
    recovery codes, which are shown this once and kept only as fingerprints."""
    refusal: SecondFactorRefused | None = None
    with _on_cluster_of(user), db.atomic():
        device = _authenticator(user, confirmed=False, lock=True)
        if device is None:
            raise DomainError(
                "no_enrolment",
                _("Start setting up two-factor login first."),
                status=409,
            )
        allowed, info = device.verify_is_allowed()
        if not allowed:
            refusal = _throttled(info)
        elif device.verify_token(_normalise(code)):
            # The new app replaces an earlier one; the recovery codes are made anew.
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _make_recovery_codes(user)
            if actor is not None:
                events.two_factor_enabled(
                    actor=actor, username=user.get_username(), at=timezone.now()
                )
            return device, codes
        else:
            refusal = _wrong_code(_("The code is not right. Enter the code the app shows now."))
    # Raised outside the transaction, so the failure count the device keeps is saved.
    raise refusal


def renew_recovery_codes(*, user, password: str, actor: Actor | None) -> list[str]:
    """Ten new recovery codes; the old ones stop working."""
    _check_password(user, password)
    with _on_cluster_of(user), db.atomic():
        if _authenticator(user, confirmed=True, lock=True) is None:
            raise DomainError("two_factor_off", _("Two-factor login is not turned on."), status=409)
        codes = _make_recovery_codes(user)
        if actor is not None:
            events.recovery_codes_renewed(
                actor=actor, username=user.get_username(), at=timezone.now()
            )
        return codes


def disable_two_factor(*, user, password: str, code: str, actor: Actor | None) -> None:
    """Turn two-factor log-in off, after the password and a current code."""
    if actor is not None and actor.tenant.two_factor_required:
        raise DomainError(
            "two_factor_required",
            _("Your tenant requires two-factor login for all staff; it cannot be turned off."),
            status=403,
        )
    _check_password(user, password)
    verify_second_factor(user=user, code=code)
    with _on_cluster_of(user), db.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        if actor is not None:
            events.two_factor_disabled(actor=actor, username=user.get_username(), at=timezone.now())


def reset_two_factor(*, actor: Actor, username: str, password: str | None = None) -> None:
    """Turn a staff member's two-factor log-in off for them (phone and recovery codes both
    lost); their next log-in needs the password only, or the set-up if it is mandatory.
    A staff member doing this confirms it with their own password; an operator on the
    command line needs none."""
    from django.contrib.auth import get_user_model

    from .models import Membership

    actor.require(
        "tenant.manage", _("Only a tenant administrator may reset a staff member's log-in.")
    )
    if actor.user is not None:
        _check_password(actor.user, password or "")
    with tenant_scope(actor.tenant), db.atomic():
        user = (
            get_user_model()
            ._default_manager.filter(pk__in=Membership.objects.values("user_id"), username=username)
            .first()
        )
        if user is None:
            raise NotFound(_("There is no staff member %(name)s.") % {"name": username})
        deleted, _by_model = TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        if deleted:
            events.two_factor_disabled(actor=actor, username=username, at=timezone.now())


def _throttled(info: dict | None) -> SecondFactorRefused:
    locked_until = (info or {}).get("locked_until")
    seconds = 1
    if locked_until is not None:
        seconds = max(1, int((locked_until - timezone.now()).total_seconds()) + 1)
    return SecondFactorRefused(
        _("Too many wrong codes. Wait %(seconds)d seconds and try again.") % {"seconds": seconds},
        code="code_throttled",
        locked_until=locked_until,
    )


def _wrong_code(message: str) -> SecondFactorRefused:
    return SecondFactorRefused(message, code="wrong_code")


def verify_second_factor(*, user, code: str) -> Device:
    """The device that accepts `code`: the app's current code, or a recovery code, which
    is used up. A wrong code counts against the device (django-otp's growing delay)."""
    text = _normalise(code)
    refusal: SecondFactorRefused
    with _on_cluster_of(user), db.atomic():
        if text.isdigit() and len(text) == TOTP_DIGITS:
            device, token = _authenticator(user, confirmed=True, lock=True), text
        else:
            device, token = _recovery_device(user, lock=True), recovery_code_hash(text)
            if _authenticator(user, confirmed=True) is None:
                device = None
        if device is None:
            refusal = _wrong_code(_("The code is not right."))
        else:
            allowed, info = device.verify_is_allowed()
            if not allowed:
                refusal = _throttled(info)
            elif device.verify_token(token):
                return device
            else:
                refusal = _wrong_code(
                    _("The code is not right. Enter the code your app shows, or a recovery code.")
                )
    # Raised outside the transaction, so the failure count the device keeps is saved.
    raise refusal


@db.atomic
def set_two_factor_required(*, actor: Actor, required: bool) -> Tenant:
    """Make two-factor log-in mandatory (or optional again) for every staff member."""
    actor.require(
        "tenant.manage", _("Only a tenant administrator may change the tenant's settings.")
    )
    tenant = Tenant.objects.select_for_update().get(pk=actor.tenant.pk)
    if tenant.two_factor_required != required:
        events.setting_changed(
            actor=actor,
            setting="two_factor_required",
            old=tenant.two_factor_required,
            new=required,
            at=timezone.now(),
        )
        tenant.two_factor_required = required
        tenant.save(update_fields=["two_factor_required"])
    return tenant
