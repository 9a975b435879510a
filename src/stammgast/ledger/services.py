"""Moving a customer's money: one function per use case, each an entry under a row lock.

Every use case locks the account it books on (lock_objects.py), checks the rules with the
balance it then holds, moves the balance and writes the entry in one transaction, and
records the movement in the customer's history. With an idempotency key a retried call
books nothing and returns the first call's entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import DomainError, FieldErrors
from stammgast.core.idempotency import run_once
from stammgast.core.money import format_amount
from stammgast.customers import selectors as customer_selectors
from stammgast.customers.models import Customer
from stammgast.tenants.actor import Actor

from . import events, lock_objects
from .models import (
    AccountEntry,
    AccountEntryKind,
    CreditAccount,
    CreditEntry,
    CustomerAccount,
    EntryKind,
    GroupOverdraft,
    OpenItem,
    SettlementMethod,
)
from .selectors import overdraft_limit

MAX_TERMINAL = 50
MAX_REASON = 200


# --- helpers -----------------------------------------------------------------------------


def _customer(actor: Actor, number: int) -> Customer:
    return customer_selectors.get_payer(actor=actor, number=number)


def _text(value: str | None, field: str, max_len: int) -> str:
    value = (value or "").strip()
    if len(value) > max_len or not value.isprintable():
        message = _("At most %(max)d characters, no control characters.") % {"max": max_len}
        raise DomainError("invalid", message, fields={field: message}, status=422)
    return value


def _refuse_blocked(customer: Customer) -> None:
    if customer.blocked:
        text = customer.lock_text or _("No lock text given.")
        raise DomainError(
            "customer_blocked",
            _("The customer is blocked: %(text)s") % {"text": text},
            fields={"customer": text},
            status=422,
        )


def refuse_blocked(*, customer: Customer) -> None:
    """422 `customer_blocked` with the lock text: the rule for apps that take money for a
    customer's credit outside a till (an online top-up)."""
    _refuse_blocked(customer)


def _once(
    actor: Actor,
    key: str | None,
    operation: str,
    arguments: dict,
    run: Callable[[], Any],
    model: type[CreditEntry] | type[AccountEntry] = CreditEntry,
):
    return run_once(
        owner=actor.ref,
        key=key,
        operation=operation,
        arguments=arguments,
        run=run,
        remember=lambda entry: entry.pk,
        recall=lambda pk: model.objects.get(pk=pk),
    )


def _book_credit(
    *,
    actor: Actor,
    customer: Customer,
    kind: str,
    amount: int,
    check: Callable[[CreditAccount], None] | None = None,
    terminal: str = "",
    reason: str = "",
    bill_id: int | None = None,
    idempotency_key: str | None = None,
    account: CreditAccount | None = None,
) -> CreditEntry:
    """Lock the customer's credit account, check, move the balance, write the entry.
    Runs in the caller's transaction (the callers are atomic)."""
    if account is None:
        account = lock_objects.credit_account_for_update(customer.pk, actor.tenant.currency)
    if check is not None:
        check(account)
    account.balance += amount
    account.save(update_fields=["balance", "updated_at"])
    return events.credit_moved(
        actor=actor,
        account=account,
        kind=kind,
        amount=amount,
        at=timezone.now(),
        terminal=_text(terminal, "terminal", MAX_TERMINAL),
        reason=_text(reason, "reason", MAX_REASON),
        bill_id=bill_id,
        idempotency_key=idempotency_key or "",
    )


def _enough_credit(customer: Customer, amount: int) -> Callable[[CreditAccount], None]:
    def check(account: CreditAccount) -> None:
        if amount <= account.balance:
            return  # the common case: no overdraft to work out
        available = account.balance + overdraft_limit(account, customer)
        if amount > available:
            raise DomainError(
                "insufficient_credit",
                _("Not enough credit: %(available)s %(currency)s available.")
                % {"available": format_amount(max(available, 0)), "currency": account.currency},
                fields={"amount": _("At most %(a)s.") % {"a": format_amount(max(available, 0))}},
                status=422,
            )

    return check


# --- credit: use cases ---------------------------------------------------------------------


def top_up_credit(
    *,
    actor: Actor,
    customer_number: int,
    amount: int,
    terminal: str = "",
    reason: str = "",
    idempotency_key: str | None = None,
) -> CreditEntry:
    """Credit paid in (cash at a till, online in the web shop)."""
    actor.require("credit.top_up", _("You may not top up credit."))

    def run() -> CreditEntry:
        customer = _customer(actor, customer_number)
        return _book_credit(
            actor=actor,
            customer=customer,
            kind=EntryKind.TOP_UP,
            amount=amount,
            terminal=terminal,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    arguments = {"customer": customer_number, "amount": amount, "terminal": terminal}
    return _once(actor, idempotency_key, "credit.top_up", arguments, run)


def pay_with_credit(
    *,
    actor: Actor,
    customer_number: int | None = None,
    customer: Customer | None = None,
    amount: int,
    terminal: str = "",
    bill_id: int | None = None,
    idempotency_key: str | None = None,
) -> CreditEntry:
    """A payment from the customer's credit; refused for a blocked customer and beyond the
    balance and the overdraft the customer may use."""
    actor.require("credit.pay", _("You may not take payments from credit."))

    def run() -> CreditEntry:
        payer = customer or _customer(actor, customer_number)
        _refuse_blocked(payer)
        return _book_credit(
            actor=actor,
            customer=payer,
            kind=EntryKind.PAYMENT,
            amount=-amount,
            check=_enough_credit(payer, amount),
            terminal=terminal,
            bill_id=bill_id,
            idempotency_key=idempotency_key,
        )

    number = customer.number if customer is not None else customer_number
    arguments = {"customer": number, "amount": amount, "terminal": terminal, "bill": bill_id}
    return _once(actor, idempotency_key, "credit.pay", arguments, run)


def refund_credit(
    *,
    actor: Actor,
    customer_number: int,
    amount: int,
    reason: str = "",
    terminal: str = "",
    bill_id: int | None = None,
    idempotency_key: str | None = None,
) -> CreditEntry:
    """Money of a payment given back onto the credit (a returned item, a cancelled bill)."""
    actor.require("credit.refund", _("You may not refund credit."))

    def run() -> CreditEntry:
        return _book_credit(
            actor=actor,
            customer=_customer(actor, customer_number),
            kind=EntryKind.REFUND,
            amount=amount,
            terminal=terminal,
            reason=reason,
            bill_id=bill_id,
            idempotency_key=idempotency_key,
        )

    arguments = {"customer": customer_number, "amount": amount, "reason": reason, "bill": bill_id}
    return _once(actor, idempotency_key, "credit.refund", arguments, run)


def pay_out_credit(
    *,
    actor: Actor,
    customer_number: int,
    amount: int,
    reason: str = "",
    terminal: str = "",
    idempotency_key: str | None = None,
) -> CreditEntry:
    """Credit paid back in cash: at most the balance (no overdraft for a pay-out)."""
    actor.require("credit.pay_out", _("You may not pay out credit."))

    def at_most_balance(account: CreditAccount) -> None:
        if amount > account.balance:
            raise DomainError(
                "insufficient_credit",
                _("Not enough credit: %(available)s %(currency)s available.")
                % {
                    "available": format_amount(max(account.balance, 0)),
                    "currency": account.currency,
                },
                fields={
                    "amount": _("At most %(a)s.") % {"a": format_amount(max(account.balance, 0))}
                },
                status=422,
            )

    def run() -> CreditEntry:
        return _book_credit(
            actor=actor,
            customer=_customer(actor, customer_number),
            kind=EntryKind.PAYOUT,
            amount=-amount,
            check=at_most_balance,
            terminal=terminal,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    arguments = {"customer": customer_number, "amount": amount, "reason": reason}
    return _once(actor, idempotency_key, "credit.pay_out", arguments, run)


def correct_credit(
    *,
    actor: Actor,
    customer_number: int,
    amount: int,
    reason: str,
    idempotency_key: str | None = None,
) -> CreditEntry:
    """A correction up or down (`amount` signed), with the reason; staff only."""
    actor.require("credit.correct", _("You may not correct credit."))
    if not (reason or "").strip():
        message = _("Say why the credit is corrected.")
        raise DomainError("reason_required", message, fields={"reason": message}, status=422)

    def run() -> CreditEntry:
        customer = _customer(actor, customer_number)
        return _book_credit(
            actor=actor,
            customer=customer,
            kind=EntryKind.CORRECTION,
            amount=amount,
            # Down, a correction is held to what the customer may overdraw, as a payment.
            check=_enough_credit(customer, -amount) if amount < 0 else None,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    arguments = {"customer": customer_number, "amount": amount, "reason": reason}
    return _once(actor, idempotency_key, "credit.correct", arguments, run)


def transfer_credit(
    *,
    actor: Actor,
    from_number: int,
    to_number: int,
    amount: int,
    reason: str = "",
    idempotency_key: str | None = None,
) -> tuple[CreditEntry, CreditEntry]:
    """Credit moved from one customer to another (a lost card replaced by a new customer
    record, a family pooling credit): both accounts locked, lower key first."""
    actor.require("credit.transfer", _("You may not transfer credit."))
    if from_number == to_number:
        message = _("Choose another customer to transfer to.")
        raise DomainError("same_customer", message, fields={"to": message}, status=422)

    def run() -> tuple[CreditEntry, CreditEntry]:
        source = _customer(actor, from_number)
        target = _customer(actor, to_number)
        accounts = lock_objects.credit_accounts_for_update(
            [source.pk, target.pk], actor.tenant.currency
        )
        out = _book_credit(
            actor=actor,
            customer=source,
            kind=EntryKind.TRANSFER_OUT,
            amount=-amount,
            check=_enough_credit(source, amount),
            reason=reason,
            idempotency_key=idempotency_key,
            account=accounts[source.pk],
        )
        into = _book_credit(
            actor=actor,
            customer=target,
            kind=EntryKind.TRANSFER_IN,
            amount=amount,
            reason=reason,
            idempotency_key=idempotency_key,
            account=accounts[target.pk],
        )
        return out, into

    arguments = {"from": from_number, "to": to_number, "amount": amount, "reason": reason}
    return run_once(
        owner=actor.ref,
        key=idempotency_key,
        operation="credit.transfer",
        arguments=arguments,
        run=run,
        remember=lambda pair: [pair[0].pk, pair[1].pk],
        recall=lambda pks: tuple(CreditEntry.objects.get(pk=pk) for pk in pks),
    )


@db.atomic
def set_overdraft_limit(*, actor: Actor, customer_number: int, limit: int | None) -> CreditAccount:
    """The customer's own overdraft (cents, >= 0), or None to follow the groups."""
    actor.require("credit.correct", _("You may not change what a customer may overdraw."))
    if limit is not None and limit < 0:
        message = _("The amount must be positive.")
        raise DomainError("invalid_amount", message, fields={"limit": message}, status=422)
    customer = _customer(actor, customer_number)
    account = lock_objects.credit_account_for_update(customer.pk, actor.tenant.currency)
    account.overdraft_limit = limit
    account.save(update_fields=["overdraft_limit", "updated_at"])
    return account


@db.atomic
def set_group_overdraft(*, actor: Actor, group_name: str, limit: int | None) -> None:
    """How far the members of a group may overdraw (None: not at all)."""
    actor.require("tenant.manage", _("Only a tenant administrator may change this."))
    group = customer_selectors.group_named(group_name)
    if limit is None:
        GroupOverdraft.objects.filter(group=group).delete()
        return
    if limit < 0:
        message = _("The amount must be positive.")
        raise DomainError("invalid_amount", message, fields={"limit": message}, status=422)
    GroupOverdraft.objects.update_or_create(
        group=group, defaults={"limit": limit, "tenant": actor.tenant}
    )


# --- customer account ------------------------------------------------------------------------


def _due_on(customer: Customer, at: dt.datetime) -> dt.date:
    return timezone.localdate(at) + dt.timedelta(days=customer.payment_term_days)


def charge_account(
    *,
    actor: Actor,
    customer: Customer,
    amount: int,
    bill_id: int | None = None,
    reference: str = "",
    terminal: str = "",
) -> OpenItem:
    """A bill (or part of it) put on the customer's account: an open item, due after the
    customer's term of payment. Runs in the caller's transaction (a bill's posting)."""
    actor.require("account.charge", _("You may not put bills on a customer account."))
    _refuse_blocked(customer)
    now = timezone.now()
    with db.atomic():
        account = lock_objects.customer_account_for_update(customer.pk, actor.tenant.currency)
        item = OpenItem.objects.create(
            tenant_id=account.tenant_id,
            account=account,
            bill_id=bill_id,
            reference=_text(reference, "reference", 100),
            amount=amount,
            open_amount=amount,
            created_at=now,
            due_on=_due_on(customer, now),
        )
        account.balance += amount
        account.save(update_fields=["balance", "updated_at"])
        events.account_moved(
            actor=actor,
            account=account,
            item=item,
            kind=AccountEntryKind.CHARGE,
            amount=amount,
            at=now,
            terminal=terminal,
            bill_id=bill_id,
        )
    return item


def cancel_account_charge(
    *, actor: Actor, customer: Customer, bill_id: int, cancel_bill_id: int
) -> int:
    """A cancelled bill's open items: what is still open is closed by a cancellation entry,
    what was already paid becomes what the business owes the customer (a negative
    balance). Returns the amount taken off the account."""
    actor.require("account.charge", _("You may not put bills on a customer account."))
    now = timezone.now()
    total = 0
    with db.atomic():
        account = lock_objects.customer_account_for_update(customer.pk, actor.tenant.currency)
        items = list(
            OpenItem.objects.select_for_update(no_key=True)
            .filter(account=account, bill_id=bill_id)
            .order_by("pk")
        )
        for item in items:
            account.balance -= item.amount
            account.save(update_fields=["balance", "updated_at"])
            total += item.amount
            item.open_amount = 0
            item.settled_at = item.settled_at or now
            item.save(update_fields=["open_amount", "settled_at"])
            events.account_moved(
                actor=actor,
                account=account,
                item=item,
                kind=AccountEntryKind.CANCELLATION,
                amount=-item.amount,
                at=now,
                bill_id=cancel_bill_id,
                reason=_("bill cancelled"),
            )
    return total


def settle_open_items(
    *,
    actor: Actor,
    customer_number: int,
    method: str,
    item_ids: Iterable[int] | None = None,
    terminal: str = "",
    idempotency_key: str | None = None,
) -> list[AccountEntry]:
    """Settle open items in full: those named, or all (oldest due first). Paid in cash, by
    card, by transfer, or from the customer's credit (one credit payment for the sum)."""
    actor.require("account.settle", _("You may not settle customer accounts."))
    if method not in SettlementMethod.values or method == SettlementMethod.DIRECT_DEBIT:
        choices = ", ".join(
            m for m in SettlementMethod.values if m != SettlementMethod.DIRECT_DEBIT
        )
        message = _("Choose one of: %(v)s.") % {"v": choices}
        raise DomainError("invalid_method", message, fields={"method": message}, status=422)
    wanted = sorted(set(item_ids)) if item_ids is not None else None

    def run() -> list[AccountEntry]:
        customer = _customer(actor, customer_number)
        credit = None
        if method == SettlementMethod.CREDIT:
            actor.require("credit.pay", _("You may not take payments from credit."))
            _refuse_blocked(customer)
            # Credit before account: the order every booking locks them in.
            credit = lock_objects.credit_account_for_update(customer.pk, actor.tenant.currency)
        account = lock_objects.customer_account_for_update(customer.pk, actor.tenant.currency)
        items = lock_objects.open_items_for_update(account, wanted)
        errors = FieldErrors()
        if wanted is not None:
            missing = set(wanted) - {i.pk for i in items}
            for pk in sorted(missing):
                errors.add("items", _("No open item %(id)s on this account.") % {"id": pk})
        if not items and wanted is None:
            errors.add("items", _("Nothing is open on this account."))
        errors.raise_if_any("nothing_to_settle", _("These items cannot be settled."))
        items.sort(key=lambda i: (i.due_on, i.pk))
        total = sum(i.open_amount for i in items)
        if credit is not None:
            _book_credit(
                actor=actor,
                customer=customer,
                kind=EntryKind.PAYMENT,
                amount=-total,
                check=_enough_credit(customer, total),
                terminal=terminal,
                reason=_("customer account settled"),
                account=credit,
            )
        now = timezone.now()
        entries = []
        for item in items:
            paid = item.open_amount
            item.open_amount = 0
            item.settled_at = now
            item.save(update_fields=["open_amount", "settled_at"])
            account.balance -= paid
            account.save(update_fields=["balance", "updated_at"])
            entries.append(
                events.account_moved(
                    actor=actor,
                    account=account,
                    item=item,
                    kind=AccountEntryKind.SETTLEMENT,
                    amount=-paid,
                    at=now,
                    method=method,
                    terminal=_text(terminal, "terminal", MAX_TERMINAL),
                    bill_id=item.bill_id,
                    idempotency_key=idempotency_key or "",
                )
            )
        return entries

    arguments = {"customer": customer_number, "method": method, "items": wanted}
    return run_once(
        owner=actor.ref,
        key=idempotency_key,
        operation="account.settle",
        arguments=arguments,
        run=run,
        remember=lambda entries: [e.pk for e in entries],
        recall=lambda pks: list(AccountEntry.objects.filter(pk__in=pks).order_by("pk")),
    )


def check_balances() -> list[str]:
    """Accounts of the active tenant whose balance is not the sum of their entries (empty
    when all is well): what the tests and the benchmark check after their runs."""
    from django.db.models import Sum

    wrong = []
    for model, entry_model, label in (
        (CreditAccount, CreditEntry, "credit"),
        (CustomerAccount, AccountEntry, "account"),
    ):
        sums = dict(
            entry_model.objects.values("account_id")
            .annotate(total=Sum("amount"))
            .values_list("account_id", "total")
        )
        for pk, balance in model.objects.values_list("pk", "balance"):
            if sums.get(pk, 0) != balance:
                wrong.append(f"{label} account {pk}: balance {balance}, entries {sums.get(pk, 0)}")
    return wrong


def forfeit_credit_at_erasure(*, actor: Actor, customer: Customer, reason: str) -> int:
    """Book the whole credit of a customer whose data is being erased out as forfeited
    (the tenant's rule), in the caller's transaction, under the credit account's lock: the
    amount read is the amount booked, whatever a till does meanwhile. Returns it (0 when
    there was none)."""
    account = lock_objects.credit_account_for_update(customer.pk, actor.tenant.currency)
    if account.balance <= 0:
        return 0
    amount = account.balance
    _book_credit(
        actor=actor,
        customer=customer,
        kind=EntryKind.CORRECTION,
        amount=-amount,
        reason=reason,
        account=account,
    )
    return amount


def credit_balance_locked(*, actor: Actor, customer: Customer) -> int:
    """The customer's credit balance, read under the credit account's lock (held until the
    caller's transaction ends)."""
    return lock_objects.credit_account_for_update(customer.pk, actor.tenant.currency).balance
