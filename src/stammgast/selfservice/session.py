"""Who the guest of a request is: the account kept in the session, checked on every
request against the account's current password."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac

from stammgast.tenants.models import Tenant

from .models import GuestAccount

SESSION_KEY = "stammgast_guest"


def _fingerprint(account: GuestAccount) -> str:
    # A new password (a reset, a change) or a new address ends every other session.
    value = f"{account.password}\n{account.email}"
    return salted_hmac("stammgast.selfservice.session", value).hexdigest()


def log_in(request: HttpRequest, account: GuestAccount) -> None:
    # A new session key on log-in: a session id planted before cannot be taken over.
    request.session.cycle_key()
    request.session[SESSION_KEY] = {
        "tenant": account.tenant_id,
        "account": account.pk,
        "fingerprint": _fingerprint(account),
    }


def log_out(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()


def current_account(request: HttpRequest, tenant: Tenant) -> GuestAccount | None:
    kept = request.session.get(SESSION_KEY)
    if not isinstance(kept, dict) or kept.get("tenant") != tenant.pk:
        return None
    account = (
        GuestAccount.objects.select_related("customer", "tenant")
        .filter(pk=kept.get("account"), is_active=True)
        .first()
    )
    if account is None or not constant_time_compare(
        kept.get("fingerprint", ""), _fingerprint(account)
    ):
        request.session.pop(SESSION_KEY, None)
        return None
    return account


def refresh(request: HttpRequest, account: GuestAccount) -> None:
    """Keep this session after the guest changed their own password."""
    kept = request.session.get(SESSION_KEY)
    if isinstance(kept, dict):
        kept["fingerprint"] = _fingerprint(account)
        request.session[SESSION_KEY] = kept
