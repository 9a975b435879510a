"""Posting and cancelling bills: everything of a bill is booked at once, or nothing.

`post_bill` checks the bill (lines add up, payments add up to the total, the customer may
pay as asked), stores it with the customer's data of that moment, and books its money in
the same transaction: a credit payment in the customer's credit, the part on account as an
open item, the subsidies the lines claim. A retry with the same Idempotency-Key, or the
same bill number of the same terminal with the same content, returns the bill already
posted; the same number with other content is a 409.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from django.apps import apps
from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import Conflict, DomainError, FieldErrors, NotFound
from stammgast.core.idempotency import run_once
from stammgast.core.money import check_currency, format_amount, parse_amount
from stammgast.customers import selectors as customer_selectors
from stammgast.customers import services as customer_services
from stammgast.customers.models import Customer, CustomerEvent
from stammgast.ledger import services as ledger_services
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor

from . import lock_objects, selectors
from .models import Bill, PaymentMethod

MAX_LINES = 200
MAX_PAYMENTS = 10
MAX_QUANTITY = 9_999
# How far a till's clock may be ahead, and how old a bill may be when it is posted (a till
# that was offline posts its bills later).
CLOCK_SKEW = dt.timedelta(minutes=10)
MAX_AGE = dt.timedelta(days=90)
SNAPSHOT_FIELDS = (
    "number", "kind", "title", "first_name", "last_name", "company_name", "vat_id",
    "street", "postcode", "city", "country", "email", "price_level", "discount",
    "payment_term_days",
)  # fmt: skip


@dataclass
class Line:
    item: str
    name: str
    category: str
    quantity: int
    unit_price: int
    discount: int
    subsidy: int
    total: int

    def as_dict(self) -> dict:
        return {
            "item": self.item,
            "name": self.name,
            "category": self.category,
            "quantity": self.quantity,
            "unit_price": self.unit_price,
            "discount": self.discount,
            "subsidy": self.subsidy,
            "total": self.total,
        }


def _text(data: Mapping, key: str, field: str, errors: FieldErrors, max_len: int, required=False):
    value = data.get(key)
    if value is None or value == "":
        if required:
            errors.add(field, _("Required."))
        return ""
    if not isinstance(value, str) or len(value) > max_len or not value.isprintable():
        errors.add(field, _("Text of at most %(max)d characters.") % {"max": max_len})
        return ""
    return value.strip()


def _amount(data: Mapping, key: str, field: str, errors: FieldErrors, *, zero=True) -> int:
    try:
        return parse_amount(data.get(key, "0"), field=field, allow_zero=zero)
    except DomainError as exc:
        for message in exc.fields.get(field, [exc.message]):
            errors.add(field, message)
        return 0


def read_lines(raw: Any, errors: FieldErrors) -> list[Line]:
    if not isinstance(raw, list) or not raw:
        errors.add("lines", _("A bill has at least one line."))
        return []
    if len(raw) > MAX_LINES:
        errors.add("lines", _("At most %(n)d lines.") % {"n": MAX_LINES})
        return []
    lines = []
    for i, data in enumerate(raw):
        field = f"lines.{i}"
        if not isinstance(data, Mapping):
            errors.add(field, _("Each line is an object."))
            continue
        quantity = data.get("quantity", 1)
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 1 <= quantity <= MAX_QUANTITY
        ):
            errors.add(
                f"{field}.quantity", _("A whole number from 1 to %(n)d.") % {"n": MAX_QUANTITY}
            )
            quantity = 1
        line = Line(
            item=_text(data, "item", f"{field}.item", errors, 100, required=True),
            name=_text(data, "name", f"{field}.name", errors, 200),
            category=_text(data, "category", f"{field}.category", errors, 100),
            quantity=quantity,
            unit_price=_amount(data, "unit_price", f"{field}.unit_price", errors),
            discount=_amount(data, "discount", f"{field}.discount", errors),
            subsidy=_amount(data, "subsidy", f"{field}.subsidy", errors),
            total=0,
        )
        line.total = line.quantity * line.unit_price - line.discount - line.subsidy
        if line.total < 0:
            errors.add(field, _("Discount and subsidy exceed the line's price."))
        given_total = data.get("total")
        if given_total is not None:
            stated = _amount(data, "total", f"{field}.total", errors)
            if stated != line.total and f"{field}.total" not in errors.errors:
                errors.add(
                    f"{field}.total",
                    _("The line adds up to %(sum)s.") % {"sum": format_amount(line.total)},
                )
        unknown = set(data) - {
            "item",
            "name",
            "category",
            "quantity",
            "unit_price",
            "discount",
            "subsidy",
            "total",
        }
        for key in sorted(unknown)[:10]:
            errors.add(f"{field}.{key}", _("Unknown field."))
        lines.append(line)
    return lines


def read_payments(raw: Any, total: int, errors: FieldErrors) -> list[dict]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_PAYMENTS:
        errors.add("payments", _("From 1 to %(n)d payments.") % {"n": MAX_PAYMENTS})
        return []
    payments = []
    for i, data in enumerate(raw):
        field = f"payments.{i}"
        if not isinstance(data, Mapping):
            errors.add(field, _("Each payment is an object."))
            continue
        method = data.get("method")
        if method not in PaymentMethod.values:
            errors.add(
                f"{field}.method",
                _("Choose one of: %(v)s.") % {"v": ", ".join(PaymentMethod.values)},
            )
        amount = _amount(data, "amount", f"{field}.amount", errors, zero=False)
        for key in sorted(set(data) - {"method", "amount"})[:10]:
            errors.add(f"{field}.{key}", _("Unknown field."))
        payments.append({"method": method, "amount": amount})
    paid = sum(p["amount"] for p in payments)
    if not errors and paid != total:
        errors.add(
            "payments",
            _("The payments add up to %(paid)s, the bill to %(total)s.")
            % {"paid": format_amount(paid), "total": format_amount(total)},
        )
    return payments


def customer_snapshot(customer: Customer) -> dict:
    """The customer's data as it is now, for a bill to keep."""
    snapshot = {name: getattr(customer, name) for name in SNAPSHOT_FIELDS}
    snapshot["display_name"] = customer.display_name
    snapshot["groups"] = customer_selectors.group_names(customer)
    return snapshot


def _fingerprint(content: dict) -> str:
    return hashlib.sha256(
        orjson.dumps(content, option=orjson.OPT_SORT_KEYS, default=str)
    ).hexdigest()


def _bill_time(value: Any, errors: FieldErrors) -> dt.datetime:
    now = timezone.now()
    if value in (None, ""):
        return now
    try:
        at = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        at = None
    if at is None:
        errors.add("at", _("A date and time such as 2026-12-04T12:30:00+01:00."))
        return now
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > now + CLOCK_SKEW or at < now - MAX_AGE:
        errors.add("at", _("Not in the future, and at most 90 days ago."))
    return at


def _book_subsidies(actor: Actor, customer: Customer | None, bill: Bill, lines: list[Line]) -> None:
    claims = [line for line in lines if line.subsidy]
    if not claims:
        return
    if customer is None:
        raise DomainError(
            "subsidy_needs_customer",
            _("Only a customer's bill can have a subsidy."),
            fields={"lines": _("A subsidy needs a customer on the bill.")},
            status=422,
        )
    if not apps.is_installed("stammgast.pricing"):
        raise DomainError("subsidies_not_available", _("Subsidies are not set up."), status=422)
    from stammgast.pricing import services as pricing_services

    pricing_services.book_subsidies(
        actor=actor,
        customer=customer,
        bill_id=bill.pk,
        at=bill.at,
        claims=[
            {
                "line": i,
                "category": line.category,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount": line.discount,
                "amount": line.subsidy,
            }
            for i, line in enumerate(lines)
            if line.subsidy
        ],
    )


def post_bill(*, actor: Actor, data: Mapping[str, Any], idempotency_key: str | None = None) -> Bill:
    """Post a closed bill and book its money; all of it, or nothing."""
    actor.require("bills.post", _("You may not post bills."))
    errors = FieldErrors()
    number = _text(data, "number", "number", errors, 50, required=True)
    terminal = _text(data, "terminal", "terminal", errors, 50, required=True)
    at = _bill_time(data.get("at"), errors)
    currency = actor.tenant.currency
    try:
        check_currency(data.get("currency"), currency)
    except DomainError as exc:
        errors.add("currency", exc.message)
    lines = read_lines(data.get("lines"), errors)
    total = sum(line.total for line in lines)
    payments = read_payments(data.get("payments"), total, errors)
    location = actor.location
    code = data.get("location")
    if code not in (None, ""):
        try:
            location = tenant_services.get_location(actor.tenant, str(code))
        except NotFound as exc:
            errors.add("location", exc.message)
        if actor.location is not None and location is not None and location.pk != actor.location.pk:
            errors.add("location", _("This till posts for its own location only."))
    if location is None and "location" not in errors.errors:
        errors.add("location", _("Say which location the bill is from."))
    errors.raise_if_any("invalid_bill", _("The bill is not valid."))
    content = {
        "number": number,
        "terminal": terminal,
        "location": location.code,
        # A bill posted without its time gets the time it arrives; a retry arrives later.
        "at": at.isoformat() if data.get("at") else None,
        "customer": data.get("customer"),
        "lines": [line.as_dict() for line in lines],
        "payments": payments,
    }
    fingerprint = _fingerprint(content)

    def run() -> Bill:
        existing = Bill.objects.filter(location=location, terminal=terminal, number=number).first()
        if existing is not None:
            return _same_or_conflict(existing, fingerprint)
        customer = None
        if data.get("customer") is not None:
            customer = customer_selectors.customer_by_reference(
                actor=actor, ref=data.get("customer")
            )
            # Held until the bill is written: an erasure running meanwhile either finishes
            # first (and the customer is gone) or waits for the bill (and anonymises it).
            customer = customer_services.lock_customer_for_bill(actor=actor, number=customer.number)
            if customer.blocked:
                text = customer.lock_text or _("No lock text given.")
                raise DomainError(
                    "customer_blocked",
                    _("The customer is blocked: %(text)s") % {"text": text},
                    fields={"customer": text},
                    status=422,
                )
        methods = {p["method"] for p in payments}
        if methods & {PaymentMethod.CREDIT, PaymentMethod.ON_ACCOUNT} and customer is None:
            raise DomainError(
                "payment_needs_customer",
                _("Credit and customer-account payments need a customer on the bill."),
                fields={"customer": _("Required for these payments.")},
                status=422,
            )
        try:
            with db.atomic():
                bill = Bill.objects.create(
                    tenant=actor.tenant,
                    number=number,
                    location=location,
                    terminal=terminal,
                    at=at,
                    customer=customer,
                    customer_snapshot=customer_snapshot(customer) if customer else {},
                    currency=currency,
                    total=total,
                    lines=[line.as_dict() for line in lines],
                    payments=payments,
                    fingerprint=fingerprint,
                    created_by=actor.user if getattr(actor.user, "pk", None) else None,
                    created_by_client=actor.api_client,
                    created_by_label=actor.label[:200],
                )
        except IntegrityError:
            # The same bill number posted at the same moment by a retry that won.
            existing = Bill.objects.get(location=location, terminal=terminal, number=number)
            return _same_or_conflict(existing, fingerprint)
        _book_money(actor, bill, customer, payments)
        _book_subsidies(actor, customer, bill, lines)
        if customer is not None:
            customer_services.note_in_history(
                actor=actor,
                customer_id=customer.pk,
                action=CustomerEvent.Action.BILL,
                changes={
                    "bill": [None, f"{number} ({terminal})"],
                    "total": [None, format_amount(total)],
                },
                at=bill.created_at,
            )
        return bill

    return run_once(
        owner=actor.ref,
        key=idempotency_key,
        operation="bills.post",
        arguments=content,
        run=run,
        remember=lambda bill: bill.pk,
        recall=lambda pk: Bill.objects.get(pk=pk),
    )


def _same_or_conflict(existing: Bill, fingerprint: str) -> Bill:
    if existing.fingerprint == fingerprint:
        return existing
    raise Conflict(
        "bill_number_taken",
        _("This terminal posted bill %(number)s already, with other content.")
        % {"number": existing.number},
        fields={"number": _("Already posted with other content.")},
    )


def _book_money(actor: Actor, bill: Bill, customer: Customer | None, payments: list[dict]) -> None:
    for payment in payments:
        if payment["method"] == PaymentMethod.CREDIT:
            ledger_services.pay_with_credit(
                actor=actor,
                customer=customer,
                amount=payment["amount"],
                terminal=bill.terminal,
                bill_id=bill.pk,
            )
        elif payment["method"] == PaymentMethod.ON_ACCOUNT:
            ledger_services.charge_account(
                actor=actor,
                customer=customer,
                amount=payment["amount"],
                bill_id=bill.pk,
                reference=f"{bill.number} ({bill.terminal})",
                terminal=bill.terminal,
            )


def cancel_bill(
    *, actor: Actor, bill_uid: str, number: str = "", idempotency_key: str | None = None
) -> Bill:
    """A new bill that reverses `bill_uid` and its money: credit paid is refunded, what
    was put on account is taken off it, subsidies are given back. A bill is cancelled once."""
    actor.require("bills.cancel", _("You may not cancel bills."))

    def run() -> Bill:
        original = get_bill_for_update(actor=actor, bill_uid=bill_uid)
        if original.cancels_id is not None or hasattr(original, "cancelled_by"):
            raise Conflict(
                "bill_cancelled",
                _("This bill is cancelled already, or cancels another."),
                fields={"bill": _("Cannot be cancelled.")},
            )
        cancel_number = (number or f"S-{original.number}")[:50]
        lines = [
            {**line, "quantity": -line["quantity"], "total": -line["total"]}
            for line in original.lines
        ]
        payments = [{**p, "amount": -p["amount"]} for p in original.payments]
        try:
            with db.atomic():
                cancellation = Bill.objects.create(
                    tenant=actor.tenant,
                    number=cancel_number,
                    location=original.location,
                    terminal=original.terminal,
                    at=timezone.now(),
                    customer=original.customer,
                    customer_snapshot=original.customer_snapshot,
                    currency=original.currency,
                    total=-original.total,
                    lines=lines,
                    payments=payments,
                    cancels=original,
                    fingerprint=_fingerprint({"cancels": str(original.uid)}),
                    created_by=actor.user if getattr(actor.user, "pk", None) else None,
                    created_by_client=actor.api_client,
                    created_by_label=actor.label[:200],
                )
        except IntegrityError:
            raise Conflict(
                "bill_number_taken",
                _("This terminal has a bill %(number)s already.") % {"number": cancel_number},
                fields={"number": _("Choose another number for the cancellation.")},
            ) from None
        customer = original.customer
        for payment in original.payments:
            if payment["method"] == PaymentMethod.CREDIT:
                ledger_services.refund_credit(
                    actor=actor,
                    customer_number=customer.number,
                    amount=payment["amount"],
                    reason=_("bill %(n)s cancelled") % {"n": original.number},
                    terminal=original.terminal,
                    bill_id=cancellation.pk,
                )
        if any(p["method"] == PaymentMethod.ON_ACCOUNT for p in original.payments):
            ledger_services.cancel_account_charge(
                actor=actor, customer=customer, bill_id=original.pk, cancel_bill_id=cancellation.pk
            )
        if any(line.get("subsidy") for line in original.lines) and apps.is_installed(
            "stammgast.pricing"
        ):
            from stammgast.pricing import services as pricing_services

            pricing_services.release_subsidies(actor=actor, bill_id=original.pk)
        if customer is not None:
            customer_services.note_in_history(
                actor=actor,
                customer_id=customer.pk,
                action=CustomerEvent.Action.BILL,
                changes={
                    "bill": [original.number, cancel_number],
                    "total": [None, format_amount(-original.total)],
                },
                at=cancellation.created_at,
            )
        return cancellation

    return run_once(
        owner=actor.ref,
        key=idempotency_key,
        operation="bills.cancel",
        arguments={"bill": str(bill_uid), "number": number},
        run=run,
        remember=lambda bill: bill.pk,
        recall=lambda pk: Bill.objects.get(pk=pk),
    )


def get_bill_for_update(*, actor: Actor, bill_uid: str) -> Bill:
    bill = lock_objects.bill_for_update(selectors.visible_bills(actor), bill_uid)
    if bill is None:
        raise NotFound(_("There is no bill %(id)s.") % {"id": bill_uid})
    return bill


def anonymise_bills_of_erased_customer(*, customer_id: int, number: int) -> int:
    """Replace the customer data kept with the bills of a customer whose data is erased
    (in the caller's transaction); amounts, lines and payments stay as they were."""
    return Bill.objects.filter(customer_id=customer_id).update(
        customer_snapshot={"number": number, "erased": True}
    )
