"""What the ledger records of a movement: the entry itself, and a line in the customer's
history (who moved how much, when and where)."""

from __future__ import annotations

import datetime as dt

from stammgast.core.money import format_amount
from stammgast.customers import services as customer_services
from stammgast.customers.models import CustomerEvent
from stammgast.tenants.actor import Actor

from .models import AccountEntry, CreditAccount, CreditEntry, CustomerAccount, OpenItem


def _who(actor: Actor) -> dict:
    return {
        "user_id": getattr(actor.user, "pk", None),
        "api_client_id": actor.api_client.pk if actor.api_client is not None else None,
        "actor_label": actor.label[:200],
        "location_code": actor.location.code if actor.location else "",
    }


def credit_moved(
    *,
    actor: Actor,
    account: CreditAccount,
    kind: str,
    amount: int,
    at: dt.datetime,
    terminal: str = "",
    reason: str = "",
    bill_id: int | None = None,
    idempotency_key: str = "",
) -> CreditEntry:
    """An entry of the credit account (the account's balance already moved by `amount`)."""
    entry = CreditEntry.objects.create(
        tenant_id=account.tenant_id,
        account=account,
        kind=kind,
        amount=amount,
        balance_after=account.balance,
        currency=account.currency,
        at=at,
        terminal=terminal,
        reason=reason,
        bill_id=bill_id,
        idempotency_key=idempotency_key or "",
        **_who(actor),
    )
    customer_services.note_in_history(
        actor=actor,
        customer_id=account.customer_id,
        action=CustomerEvent.Action.CREDIT,
        changes={
            "credit": [format_amount(account.balance - amount), format_amount(account.balance)],
            "entry": [None, kind],
        },
        at=at,
    )
    return entry


def account_moved(
    *,
    actor: Actor,
    account: CustomerAccount,
    item: OpenItem,
    kind: str,
    amount: int,
    at: dt.datetime,
    method: str = "",
    terminal: str = "",
    reason: str = "",
    bill_id: int | None = None,
    idempotency_key: str = "",
) -> AccountEntry:
    """An entry of the customer account (its balance already moved by `amount`)."""
    entry = AccountEntry.objects.create(
        tenant_id=account.tenant_id,
        account=account,
        open_item=item,
        kind=kind,
        method=method,
        amount=amount,
        balance_after=account.balance,
        currency=account.currency,
        at=at,
        terminal=terminal,
        reason=reason,
        bill_id=bill_id,
        idempotency_key=idempotency_key or "",
        **_who(actor),
    )
    customer_services.note_in_history(
        actor=actor,
        customer_id=account.customer_id,
        action=CustomerEvent.Action.ACCOUNT,
        changes={
            "customer_account": [
                format_amount(account.balance - amount),
                format_amount(account.balance),
            ],
            "entry": [None, kind],
        },
        at=at,
    )
    return entry
