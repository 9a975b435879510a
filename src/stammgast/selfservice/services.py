"""What guests do in the self-service area: register, confirm, log in, reset, change
their address, their data and their consents; one function per use case."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import DomainError, FieldErrors
from stammgast.customers import services as customer_services
from stammgast.customers.models import Customer
from stammgast.privacy import selectors as privacy_selectors
from stammgast.privacy import services as privacy_services
from stammgast.privacy.models import LegalTextKind, Purpose
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import Location, Tenant

from . import selectors
from .fields import OPTIONAL_MAX, field_uses
from .mail import send_mail
from .models import FieldUse, GuestAccount, GuestLink, GuestThrottle, LinkPurpose

LINK_LIFETIME = {
    LinkPurpose.CONFIRM: dt.timedelta(hours=48),
    LinkPurpose.RESET: dt.timedelta(hours=1),
    LinkPurpose.EMAIL: dt.timedelta(hours=24),
    LinkPurpose.ERASE: dt.timedelta(hours=24),
}
# Guessing: after this many failures within the window, the account (or the address the
# attempts come from) waits until the lock-out ends.
ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
THROTTLE_WINDOW = dt.timedelta(minutes=15)
LOCKOUT = dt.timedelta(minutes=15)
# Mails a guest can make the system send, per address and per network in the window:
# more are refused (no mail bombing), whether or not the address has an account.
RESETS_PER_EMAIL = 3
RESETS_PER_ADDRESS = 10
REGISTRATIONS_PER_EMAIL = 3
REGISTRATIONS_PER_ADDRESS = 10
EMAIL_MAX = 254
PASSWORD_MAX = 200

LinkMaker = Callable[[str, str], str]  # (kind of page, token) -> absolute URL


class Throttled(DomainError):
    """Too many attempts; `retry_at` says when the next one is heard."""

    status = 429

    def __init__(self, retry_at: dt.datetime) -> None:
        self.retry_at = retry_at
        local = timezone.localtime(retry_at)
        super().__init__(
            "too_many_attempts",
            _("Too many attempts. Please try again after %(time)s.")
            % {"time": formats.time_format(local, "TIME_FORMAT")},
        )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(value: Any, field: str = "email") -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    try:
        if not text or len(text) > EMAIL_MAX:
            raise ValidationError("")
        validate_email(text)
    except ValidationError:
        raise DomainError(
            "invalid",
            _("Some fields are not valid."),
            fields={field: _("Enter a valid e-mail address.")},
            status=422,
        ) from None
    return text


class _PasswordOwner:
    """What Django's password validators compare a new password with."""

    def __init__(self, email: str) -> None:
        self.email = email
        self.username = email.split("@", 1)[0]


def _check_new_password(password: Any, email: str, field: str = "password") -> str:
    if not isinstance(password, str) or not password:
        raise DomainError(
            "invalid",
            _("Some fields are not valid."),
            fields={field: _("Enter a password.")},
            status=422,
        )
    if len(password) > PASSWORD_MAX:
        raise DomainError(
            "invalid",
            _("Some fields are not valid."),
            fields={field: _("At most %(max)d characters.") % {"max": PASSWORD_MAX}},
            status=422,
        )
    try:
        validate_password(password, user=_PasswordOwner(email))
    except ValidationError as exc:
        raise DomainError(
            "weak_password",
            _("Choose another password."),
            fields={field: exc.messages},
            status=422,
        ) from None
    return password


# --- throttling ----------------------------------------------------------------------


def _throttle_rows(keys: list[str]) -> list[GuestThrottle]:
    return list(GuestThrottle.objects.select_for_update().filter(key__in=keys).order_by("key"))


def check_throttle(keys: list[str]) -> None:
    """Refuse (429) while any of `keys` is locked out."""
    now = timezone.now()
    locked = [
        row.locked_until
        for row in GuestThrottle.objects.filter(key__in=keys)
        if row.locked_until and row.locked_until > now
    ]
    if locked:
        raise Throttled(max(locked))


def _attempt(limits: Mapping[str, int]) -> None:
    """Count an attempt against every key before it is judged, so that attempts sent at
    once cannot all pass before the first failure is written; refuse (429) while a key is
    locked out. The attempt that reaches a key's limit locks it for LOCKOUT. Written in
    its own transaction: the count stays when the caller's work is rolled back."""
    now = timezone.now()
    with db.atomic():
        rows = {row.key: row for row in _throttle_rows(list(limits))}
        locked = [r.locked_until for r in rows.values() if r.locked_until and r.locked_until > now]
        if locked:
            raise Throttled(max(locked))
        for key, limit in limits.items():
            row = rows.get(key) or GuestThrottle(key=key, failures=0, window_start=now)
            if now - row.window_start > THROTTLE_WINDOW:
                row.failures, row.window_start, row.locked_until = 0, now, None
            row.failures += 1
            if row.failures >= limit:
                row.locked_until = now + LOCKOUT
            row.save()


def _forgive(limits: Mapping[str, int], *, account_key: str | None = None) -> None:
    """A right password: the attempt does not count. The account's own count starts
    again; the address keeps the failures it made (a right password for one's own
    account must not reset the count of guesses at others')."""
    with db.atomic():
        for row in _throttle_rows(list(limits)):
            if row.key == account_key:
                row.delete()
            elif row.failures > 0:
                row.failures -= 1
                if row.failures < limits[row.key]:
                    row.locked_until = None
                row.save()


def _network(address: str) -> str:
    """The address attempts are counted by: an IPv4 address, or an IPv6 /64 (one
    connection owns a whole /64 and could walk through it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:60]
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _login_keys(email: str, address: str) -> dict[str, int]:
    return {f"login:{email}": ACCOUNT_FAILURES, f"address:{_network(address)}": ADDRESS_FAILURES}


def _check_password(account: GuestAccount, password: Any, *, address: str = "") -> None:
    """The account's password, checked under the account's guessing limit."""
    keys = {f"login:{account.email}": ACCOUNT_FAILURES}
    if address:
        keys[f"address:{_network(address)}"] = ADDRESS_FAILURES
    _attempt(keys)
    if not (isinstance(password, str) and check_password(password, account.password)):
        check_throttle(list(keys))
        raise DomainError(
            "wrong_password",
            _("The password is wrong."),
            fields={"password": _("Wrong password.")},
            status=403,
        )
    _forgive(keys, account_key=f"login:{account.email}")


# --- one-time links ------------------------------------------------------------------


def _new_link(account: GuestAccount, purpose: str, *, new_email: str = "") -> str:
    """A fresh link for `purpose`; the earlier unused ones for it stop working."""
    now = timezone.now()
    GuestLink.objects.filter(account=account, purpose=purpose, used_at=None).update(used_at=now)
    token = secrets.token_urlsafe(32)
    GuestLink.objects.create(
        account=account,
        purpose=purpose,
        digest=_digest(token),
        created_at=now,
        expires_at=now + LINK_LIFETIME[purpose],
        new_email=new_email,
    )
    return token


def _find_link(token: Any, purpose: str) -> GuestLink:
    """The link the token opens, locked; refuses a forged, used or expired one."""
    link = (
        GuestLink.objects.select_for_update()
        .select_related("account")
        .filter(digest=_digest(token if isinstance(token, str) else ""), purpose=purpose)
        .first()
    )
    if link is None:
        raise DomainError(
            "link_invalid", _("This link is not valid, or its work is done."), status=404
        )
    if link.used_at is not None:
        raise DomainError(
            "link_used", _("This link was used already; each link works once."), status=410
        )
    if link.expires_at <= timezone.now():
        raise DomainError(
            "link_expired", _("This link has expired; please ask for a new one."), status=410
        )
    return link


def check_link(*, token: str, purpose: str) -> GuestAccount:
    """Whether a link still works (for the page it opens), without using it."""
    with db.atomic():
        return _find_link(token, purpose).account


def _use(link: GuestLink) -> None:
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])


# --- registration ----------------------------------------------------------------------


def _mail_context(tenant: Tenant, **more) -> dict:
    settings_ = selectors.settings_for(tenant)
    return {"tenant": tenant, "colour": settings_.colour, **more}


@db.atomic
def register_guest(
    *,
    tenant: Tenant,
    email: Any,
    password: Any,
    accepted_texts: bool,
    newsletter: bool = False,
    language: str = "de",
    link: LinkMaker,
    address: str = "",
    shown_versions: Mapping[str, int | None] | None = None,
) -> None:
    """Open an inactive account and e-mail a confirmation link. The answer is the same
    whether or not the address has an account already: the mail says what happened.
    `shown_versions` ({"privacy": n, "terms": n}) are the texts the page showed: a
    version published meanwhile must be read first."""
    if not selectors.settings_for(tenant).enabled:
        raise DomainError("closed", _("Registration is closed."), status=403)
    policy = privacy_selectors.current_legal_text(LegalTextKind.PRIVACY)
    if policy is None:
        raise DomainError(
            "closed", _("Registration opens once a privacy policy is published."), status=403
        )
    errors = FieldErrors()
    try:
        email = normalise_email(email)
    except DomainError as exc:
        errors.errors.update(exc.fields)
    else:
        try:
            _check_new_password(password, email)
        except DomainError as exc:
            errors.errors.update(exc.fields)
    if not accepted_texts:
        errors.add("accepted_texts", _("Please accept the privacy policy and the terms."))
    errors.raise_if_any("invalid", _("Some fields are not valid."))
    terms = privacy_selectors.current_legal_text(LegalTextKind.TERMS)
    if shown_versions is not None and (
        shown_versions.get("privacy") != policy.version
        or shown_versions.get("terms") != (terms.version if terms else None)
    ):
        raise DomainError(
            "texts_changed",
            _(
                "A new version of the privacy policy or the terms was just published; please "
                "read it and register again."
            ),
            status=409,
        )
    # Every registration is counted, by address and by network: no mail bombing.
    _attempt(
        {
            f"register:{email}": REGISTRATIONS_PER_EMAIL,
            f"register-from:{_network(address)}": REGISTRATIONS_PER_ADDRESS,
        }
    )
    now = timezone.now()
    # Hashed whatever comes next, so that a known address takes as long as a new one.
    password_hash = make_password(password)
    account = GuestAccount.objects.select_for_update().filter(email=email).first()
    if account is not None and account.is_active:
        send_mail(
            "already_registered",
            to=email,
            language=account.language,
            context=_mail_context(
                tenant, login_link=link("login", ""), reset_link=link("reset", "")
            ),
        )
        return
    if account is None:
        account = GuestAccount(email=email, created_at=now)
    account.password = password_hash
    account.created_at = now
    account.language = language if language in ("de", "en") else "de"
    account.accepted = {
        "privacy": policy.version,
        "terms": terms.version if terms else None,
        "newsletter": bool(newsletter),
        "at": now.isoformat(),
    }
    account.save()
    _send_link(
        account,
        LinkPurpose.CONFIRM,
        "confirm",
        to=email,
        label=_("Confirm my registration"),
        link=link,
    )


def _send_link(
    account: GuestAccount,
    purpose: str,
    kind: str,
    *,
    to: str,
    label: str,
    link: LinkMaker,
    new_email: str = "",
    **more: Any,
) -> None:
    """A fresh one-time link for `purpose`, mailed as `kind` with its lifetime."""
    token = _new_link(account, purpose, new_email=new_email)
    lifetime = int(LINK_LIFETIME[purpose].total_seconds())
    send_mail(
        kind,
        to=to,
        language=account.language,
        context=_mail_context(
            account.tenant,
            link=link(_LINK_PAGES[purpose], token),
            link_label=label,
            hours=lifetime // 3600,
            minutes=lifetime // 60,
            **more,
        ),
    )


# The page of `LinkMaker` each purpose's link opens.
_LINK_PAGES = {
    LinkPurpose.CONFIRM: "confirm",
    LinkPurpose.RESET: "reset",
    LinkPurpose.EMAIL: "email",
    LinkPurpose.ERASE: "erase",
}


def _record_accepted(account: GuestAccount) -> None:
    """The consents given at registration, with the text versions shown then."""
    accepted, number = account.accepted or {}, account.customer.number
    actor = Actor.for_guest(tenant=account.tenant, customer_number=number)
    privacy_services.record_consent(
        actor=actor,
        number=number,
        purpose=Purpose.DATA_PROCESSING,
        granted=True,
        text_version=accepted.get("privacy"),
    )
    if accepted.get("terms"):
        privacy_services.record_consent(
            actor=actor,
            number=number,
            purpose=Purpose.TERMS,
            granted=True,
            text_version=accepted["terms"],
        )
    if accepted.get("newsletter"):
        privacy_services.record_consent(
            actor=actor,
            number=number,
            purpose=Purpose.NEWSLETTER,
            granted=True,
            text_version=accepted.get("privacy"),
        )
    account.accepted = {}
    account.save(update_fields=["accepted"])


def confirm_registration(
    *, tenant: Tenant, token: Any, password: Any, address: str
) -> GuestAccount:
    """Activate the account whose link this is, once its password is given too (the
    link alone proves the mailbox, the password that this is who registered). A customer
    record with the confirmed address is linked, never one named by a claim alone."""
    account = check_link(token=token, purpose=LinkPurpose.CONFIRM)
    try:
        _check_password(account, password, address=address)
    except DomainError as exc:
        if exc.code != "wrong_password":
            raise
        raise DomainError(
            "wrong_password",
            _("The password is not the one chosen at registration."),
            fields={"password": _("Wrong password.")},
            status=403,
        ) from None
    with db.atomic():
        link = _find_link(token, LinkPurpose.CONFIRM)
        account = link.account
        _use(link)
        now = timezone.now()
        account.is_active = True
        account.confirmed_at = account.last_login = now
        matches = list(
            Customer.objects.filter(email__iexact=account.email, guest_account__isnull=True)
            .order_by("number")
            .only("pk", "number")[:2]
        )
        if len(matches) == 1:
            # The address is confirmed now: the record that carries it is this guest's.
            account.customer = matches[0]
        account.save()
        if account.customer_id is not None:
            _record_accepted(account)
    return account


def expire_registrations() -> int:
    """Remove the active tenant's unconfirmed registrations whose link has expired."""
    cutoff = timezone.now() - LINK_LIFETIME[LinkPurpose.CONFIRM]
    stale = GuestAccount.objects.filter(is_active=False, created_at__lt=cutoff)
    count = stale.count()
    stale.delete()
    return count


def clean_up_guest_area() -> tuple[int, int]:
    """For every tenant on every cluster: unconfirmed registrations past their link, and
    throttle rows past their window (they hold typed-in addresses). Run from cron."""
    from stammgast.core.tenancy import database_scope
    from stammgast.tenants import services as tenant_services

    now = timezone.now()
    registrations = throttles = 0
    for alias in tenant_services.cluster_aliases():
        with database_scope(alias):
            stale = GuestAccount.all_tenants.filter(
                is_active=False, created_at__lt=now - LINK_LIFETIME[LinkPurpose.CONFIRM]
            )
            registrations += stale.count()
            stale.delete()
            old = GuestThrottle.all_tenants.filter(
                window_start__lt=now - THROTTLE_WINDOW - LOCKOUT
            ).exclude(locked_until__gt=now)
            throttles += old.count()
            old.delete()
    return registrations, throttles


# --- log-in and passwords ----------------------------------------------------------------

# Compared against when the address has no account, so both cases take as long.
_NO_PASSWORD = make_password(secrets.token_urlsafe(16))


def log_in_guest(*, tenant: Tenant, email: Any, password: Any, address: str) -> GuestAccount:
    """The account whose address and password these are; wrong ones count against the
    address and the account, and lock both out for a while after too many."""
    email = email.strip().lower()[:EMAIL_MAX] if isinstance(email, str) else ""
    keys = _login_keys(email, address)
    _attempt(keys)
    account = GuestAccount.objects.filter(email=email).first() if email else None
    given = password if isinstance(password, str) else ""
    right = check_password(given, account.password if account else _NO_PASSWORD)
    if account is None or not right:
        check_throttle(list(keys))
        raise DomainError(
            "wrong_login", _("The e-mail address or the password is wrong."), status=403
        )
    _forgive(keys, account_key=f"login:{email}")
    if not account.is_active:
        raise DomainError(
            "not_confirmed",
            _("Please confirm your address first with the link we e-mailed you."),
            status=403,
        )
    account.last_login = timezone.now()
    account.save(update_fields=["last_login"])
    return account


@db.atomic
def request_password_reset(*, tenant: Tenant, email: Any, address: str, link: LinkMaker) -> None:
    """E-mail a one-time link to choose a new password, if the address has an account.
    The answer is the same either way."""
    email = normalise_email(email)
    # Counted whether or not the address has an account: the answers are the same.
    _attempt(
        {f"reset:{email}": RESETS_PER_EMAIL, f"reset-from:{_network(address)}": RESETS_PER_ADDRESS}
    )
    account = GuestAccount.objects.filter(email=email, is_active=True).first()
    if account is None:
        return
    _send_link(
        account,
        LinkPurpose.RESET,
        "reset",
        to=email,
        label=_("Choose a new password"),
        link=link,
    )


@db.atomic
def reset_password(*, tenant: Tenant, token: Any, password: Any) -> GuestAccount:
    """Set the new password the link was sent for; the link then stops working, and so
    does every session of the account (they carry the old password's fingerprint)."""
    link = _find_link(token, LinkPurpose.RESET)
    account = link.account
    _check_new_password(password, account.email)
    _use(link)
    account.password = make_password(password)
    account.save(update_fields=["password"])
    _end_open_links(account)
    GuestThrottle.objects.filter(key=f"login:{account.email}").delete()
    return account


def _end_open_links(account: GuestAccount) -> None:
    """A new password ends every link still open (an address change or an erasure asked
    for by whoever knew the old one)."""
    GuestLink.objects.filter(account=account, used_at=None).update(used_at=timezone.now())


def change_password(*, account: GuestAccount, old: Any, new: Any) -> GuestAccount:
    account = GuestAccount.objects.get(pk=account.pk)
    try:
        _check_password(account, old)
    except DomainError as exc:
        if exc.code != "wrong_password":
            raise
        raise DomainError(
            "wrong_password",
            _("The current password is wrong."),
            fields={"old_password": _("Wrong password.")},
            status=403,
        ) from None
    _check_new_password(new, account.email, "new_password")
    with db.atomic():
        account = GuestAccount.objects.select_for_update().get(pk=account.pk)
        account.password = make_password(new)
        account.save(update_fields=["password"])
        _end_open_links(account)
    return account


# --- the e-mail address --------------------------------------------------------------


def request_email_change(
    *, account: GuestAccount, new_email: Any, password: Any, link: LinkMaker
) -> None:
    """Send a confirmation link to the new address and a notice to the old one; the
    account keeps its address until the new one is confirmed."""
    # The password is checked (and a wrong one counted) before the transaction.
    _check_password(GuestAccount.objects.get(pk=account.pk), password)
    with db.atomic():
        _send_email_change(account=account, new_email=new_email, link=link)


def _send_email_change(*, account: GuestAccount, new_email: Any, link: LinkMaker) -> None:
    account = GuestAccount.objects.select_for_update().get(pk=account.pk)
    new_email = normalise_email(new_email, "new_email")
    if new_email == account.email:
        raise DomainError(
            "invalid",
            _("Some fields are not valid."),
            fields={"new_email": _("This is your address already.")},
            status=422,
        )
    tenant = account.tenant
    if GuestAccount.objects.filter(email=new_email).exists():
        # The same answer as for a free address; the mail to it says it is taken.
        send_mail(
            "email_taken",
            to=new_email,
            language=account.language,
            context=_mail_context(tenant, login_link=link("login", "")),
        )
        return
    _send_link(
        account,
        LinkPurpose.EMAIL,
        "email_change",
        to=new_email,
        label=_("Confirm my new address"),
        link=link,
        new_email=new_email,
    )
    send_mail(
        "email_change_notice",
        to=account.email,
        language=account.language,
        context=_mail_context(tenant, new_email=new_email, login_link=link("login", "")),
    )


@db.atomic
def confirm_email_change(*, tenant: Tenant, token: Any) -> GuestAccount:
    link = _find_link(token, LinkPurpose.EMAIL)
    account = link.account
    if GuestAccount.objects.filter(email=link.new_email).exclude(pk=account.pk).exists():
        raise DomainError(
            "email_taken", _("Another account uses this address meanwhile."), status=409
        )
    _use(link)
    account.email = link.new_email
    account.save(update_fields=["email"])
    if account.customer_id is not None:
        actor = Actor.for_guest(tenant=tenant, customer_number=account.customer.number)
        # The confirmed address may be written by this workflow, and only by it.
        actor = replace(actor, editable_fields=actor.editable_fields | {"email"})
        customer_services.update_customer(
            actor=actor, number=account.customer.number, data={"email": link.new_email}
        )
    return account


# --- the guest's data ------------------------------------------------------------------


def _check_form(tenant: Tenant, data: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values the tenant asks for; required ones present, optional ones short.
    The customer rules (the same as the API's) check them again when they are written."""
    uses = field_uses(selectors.settings_for(tenant).fields)
    errors = FieldErrors()
    values: dict[str, Any] = {}
    for name, value in data.items():
        use = uses.get(name)
        if use is None or use == FieldUse.HIDDEN:
            errors.add(name, _("This field is not asked for."))
            continue
        text = value.strip() if isinstance(value, str) else value
        if use == FieldUse.REQUIRED and text in (None, ""):
            errors.add(name, _("This field is required."))
        elif isinstance(text, str) and len(text) > OPTIONAL_MAX:
            errors.add(name, _("At most %(max)d characters.") % {"max": OPTIONAL_MAX})
        values[name] = text
    for name, use in uses.items():
        if use == FieldUse.REQUIRED and name not in data:
            errors.add(name, _("This field is required."))
    errors.raise_if_any("invalid", _("Some fields are not valid."))
    return values


@db.atomic
def save_guest_data(
    *, account: GuestAccount, data: Mapping[str, Any], favourite_locations: list[str] | None = None
) -> Customer:
    """The guest's own data: creates their customer record after registration, changes
    it later; with the same rules as every other path, and "by the guest" in the history."""
    account = GuestAccount.objects.select_for_update().get(pk=account.pk)
    tenant = account.tenant
    values = _check_form(tenant, data)
    if account.customer_id is None:
        actor = Actor.for_guest(tenant=tenant, customer_number=None)
        newsletter = bool((account.accepted or {}).get("newsletter"))
        customer = customer_services.create_customer(
            actor=actor, data={**values, "email": account.email, "newsletter": newsletter}
        )
        account.customer = customer
        account.save(update_fields=["customer"])
        _record_accepted(account)
    else:
        number = account.customer.number
        actor = Actor.for_guest(tenant=tenant, customer_number=number)
        customer = customer_services.update_customer(actor=actor, number=number, data=values)
    if favourite_locations is not None:
        found = list(Location.objects.filter(code__in=favourite_locations))
        if len(found) != len(set(favourite_locations)):
            raise DomainError(
                "invalid",
                _("Some fields are not valid."),
                fields={"favourite_locations": _("Choose from the list.")},
                status=422,
            )
        account.favourite_locations.set(found)
    return customer


def set_guest_consent(*, account: GuestAccount, purpose: str, granted: bool) -> None:
    """A consent given or revoked by the guest, under the current text."""
    privacy_services.record_consent(
        actor=guest_actor(account),
        number=account.customer.number,
        purpose=purpose,
        granted=granted,
    )


@db.atomic
def accept_legal_texts(
    *, account: GuestAccount, shown_versions: Mapping[str, int | None] | None = None
) -> None:
    """The guest accepts the current privacy policy and terms (asked at log-in when a
    new version was published), as the page showed them: a version published meanwhile
    is shown first."""
    actor, number = guest_actor(account), account.customer.number
    for purpose in selectors.texts_to_accept(account):
        kind = LegalTextKind.TERMS if purpose == Purpose.TERMS else LegalTextKind.PRIVACY
        current = privacy_selectors.current_legal_text(kind)
        if shown_versions is not None and shown_versions.get(kind) != current.version:
            raise DomainError(
                "texts_changed",
                _("A newer version was just published; please read it first."),
                status=409,
            )
        privacy_services.record_consent(
            actor=actor,
            number=number,
            purpose=purpose,
            granted=True,
            text_version=current.version,
        )


def guest_actor(account: GuestAccount) -> Actor:
    return Actor.for_guest(
        tenant=account.tenant,
        customer_number=account.customer.number if account.customer_id else None,
    )


# --- the person's data: download and erasure --------------------------------------------


def account_section(customer) -> dict | None:
    """What the self-service area keeps of the person (for their data download)."""
    account = GuestAccount.objects.filter(customer=customer).first()
    if account is None:
        return None
    return {
        "email": account.email,
        "registered": account.created_at.isoformat(),
        "confirmed": account.confirmed_at.isoformat() if account.confirmed_at else None,
        "last_login": account.last_login.isoformat() if account.last_login else None,
        "language": account.language,
        "favourite_locations": sorted(account.favourite_locations.values_list("code", flat=True)),
    }


def remove_account_of_erased(*, customer) -> list[str]:
    """Hook of the erasure: the guest account goes with the person's data, and so do the
    throttles and registration counts kept under its address. Returns the addresses, for
    the erasure to look for in files and logs."""
    addresses = []
    for account in GuestAccount.objects.filter(customer=customer):
        addresses.append(account.email)
        GuestThrottle.objects.filter(
            key__in=[f"{kind}:{account.email}" for kind in ("login", "reset", "register")]
        ).delete()
        account.delete()
    return addresses


def request_erasure(*, account: GuestAccount, password: Any, link: LinkMaker) -> None:
    """The guest asks for their data to be erased; a link confirms it by e-mail."""
    _check_password(GuestAccount.objects.get(pk=account.pk), password)
    with db.atomic():
        _send_erasure_link(account=account, link=link)


def _send_erasure_link(*, account: GuestAccount, link: LinkMaker) -> None:
    account = GuestAccount.objects.select_for_update().get(pk=account.pk)
    actor = guest_actor(account)
    number = account.customer.number
    privacy_services.receive_erasure_request(actor=actor, number=number)
    preview = privacy_services.erasure_preview(actor=actor, number=number)
    _send_link(
        account,
        LinkPurpose.ERASE,
        "erase",
        to=account.email,
        label=_("Delete my data"),
        link=link,
        balance_note=balance_note(preview),
    )


def balance_note(preview) -> str:
    """What happens to the money, in words, for the page and the mail."""
    from stammgast.core.money import format_amount

    money = {"currency": preview.currency}
    if preview.debt:
        return _(
            "You owe %(amount)s %(currency)s; please settle it at one of our locations "
            "first, then your data can be deleted."
        ) % {**money, "amount": format_amount(preview.debt)}
    if preview.top_ups_pending:
        return _(
            "An online top-up of yours is still being paid; please try again once it is "
            "done (within 30 minutes)."
        )
    if preview.credit_to_pay_out:
        return _(
            "You still have %(amount)s %(currency)s of credit. Have it paid out at one of "
            "our locations (or ask us to transfer it) first; then your data can be deleted."
        ) % {**money, "amount": format_amount(preview.credit_to_pay_out)}
    if preview.balance > 0:
        return _(
            "Your credit of %(amount)s %(currency)s will be forfeited. Use it or have it "
            "paid out at one of our locations before you confirm."
        ) % {**money, "amount": format_amount(preview.balance)}
    return _("You have no credit left.")


def confirm_erasure(*, tenant: Tenant, token: Any) -> str:
    """Erase the guest's data once the link is opened and confirmed; the address the
    closing mail goes to is returned (the account is gone afterwards)."""
    with db.atomic():
        link = _find_link(token, LinkPurpose.ERASE)
        account = link.account
        email, language = account.email, account.language
        actor = guest_actor(account)
        request = privacy_selectors.open_erasure_request(account.customer_id)
        if request is None:
            raise DomainError("already_erased", _("This erasure was done already."), status=409)
        _use(link)
        request.confirmed_at = timezone.now()
        request.save(update_fields=["confirmed_at"])
        privacy_services.complete_erasure(actor=actor, request_id=request.pk)
        send_mail("erased", to=email, language=language, context=_mail_context(tenant))
    return email


# --- the tenant's settings ------------------------------------------------------------

LOGO_MAX_BYTES = 512 * 1024
_LOGO_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}


def _logo_suffix(upload) -> str:
    from PIL import Image, UnidentifiedImageError

    refused = DomainError(
        "invalid_logo",
        _("The logo must be a PNG, JPEG or WebP picture of at most 512 KB."),
        fields={"logo": _("Not a usable picture.")},
        status=422,
    )
    if upload.size > LOGO_MAX_BYTES:
        raise refused
    try:
        with Image.open(upload) as image:
            if image.format not in _LOGO_FORMATS or image.width * image.height > 4_000_000:
                raise refused
            suffix = _LOGO_FORMATS[image.format]
            image.verify()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise refused from None
    upload.seek(0)
    return suffix


@db.atomic
def configure_self_service(
    *,
    actor: Actor,
    enabled: bool,
    colour: str,
    fields: Mapping[str, str],
    logo=None,
    remove_logo: bool = False,
):
    """How the tenant's guest area looks and what its data form asks."""
    import re

    actor.require("tenant.manage", _("Only a tenant administrator may change this."))
    errors = FieldErrors()
    if not isinstance(colour, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
        errors.add("colour", _("Enter a colour as #RRGGBB."))
    uses = {}
    for name, use in fields.items():
        if name not in field_uses({}):
            errors.add(name, _("There is no such field."))
        elif use not in FieldUse.values:
            errors.add(name, _("Choose hidden, optional or required."))
        else:
            uses[name] = use
    # stammgast keeps no customer without a name (docs/exchange.md): one of the name
    # fields is always asked for.
    resolved = field_uses(uses)
    if resolved["last_name"] != FieldUse.REQUIRED and resolved["first_name"] != FieldUse.REQUIRED:
        errors.add("last_name", _("The first name or the name must be required."))
    suffix = _logo_suffix(logo) if logo is not None else ""
    errors.raise_if_any("invalid", _("Some fields are not valid."))
    from .models import SelfServiceSettings

    found = SelfServiceSettings.objects.select_for_update().filter(tenant=actor.tenant).first()
    found = found or SelfServiceSettings(tenant=actor.tenant)
    old_logo = found.logo.name if found.logo else ""
    found.enabled, found.colour, found.fields = bool(enabled), colour.lower(), uses
    if logo is not None:
        found.logo.save(f"{secrets.token_urlsafe(12)}.{suffix}", logo, save=False)
    elif remove_logo:
        found.logo = ""
    found.save()
    if old_logo and (logo is not None or remove_logo):
        storage = found.logo.storage
        db.on_commit(lambda: storage.delete(old_logo))
    return found
