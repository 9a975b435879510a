"""Online top-ups of credit: started with limits, settled by the provider's signed word,
credited exactly once.

A top-up is a `TopUpPayment` row from `start_top_up` until the provider's callback says
how it ended. `confirm_top_up` believes only a callback the provider signed; it locks the
payment, and only the one callback that finds it not yet succeeded books the credit, with
the payment's reference as the ledger's idempotency key and the entry linked to the
payment under a constraint that leaves room for one (docs/payments.md).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import DomainError, NotFound, PermissionDenied
from stammgast.core.money import format_amount
from stammgast.core.tenancy import active_tenant
from stammgast.customers import selectors as customer_selectors
from stammgast.ledger import services as ledger_services
from stammgast.tenants.actor import Actor

from . import lock_objects, providers
from .models import TopUpChannel, TopUpPayment, TopUpStatus

log = logging.getLogger(__name__)

# Limits of one online top-up (docs/payments.md, "Limits").
MIN_TOP_UP = 500  # 5.00: below that the provider's fee eats the payment
MAX_TOP_UP = 50_000  # 500.00: prepaid credit for meals and drinks, not a bank account
EXPIRES_AFTER = dt.timedelta(minutes=30)
MAX_PENDING_PER_CUSTOMER = 5
MAX_RETURN_URL = 500


@dataclass(frozen=True)
class CallbackResult:
    """What a callback did: `result` is "credited", "already_credited", "failed",
    "cancelled", "duplicate" (the same word again) or "ignored" (too late to matter)."""

    payment: TopUpPayment
    result: str
    late: bool = False


def _invalid(code: str, field: str, message: str, status: int = 422) -> DomainError:
    return DomainError(code, message, fields={field: message}, status=status)


def _check_amount(amount: object) -> int:
    if type(amount) is not int:
        raise _invalid("invalid_amount", "amount", _("The amount must be whole cents."))
    if not MIN_TOP_UP <= amount <= MAX_TOP_UP:
        raise _invalid(
            "invalid_amount",
            "amount",
            _("Top up at least %(min)s and at most %(max)s.")
            % {"min": format_amount(MIN_TOP_UP), "max": format_amount(MAX_TOP_UP)},
        )
    return amount


def _check_return_url(url: str) -> str:
    # A path on this server only: an absolute URL here would make the payment pages an
    # open redirect to anywhere.
    url = (url or "").strip()
    parts = urlsplit(url)
    if (
        not url.startswith("/")
        or url.startswith("//")
        or parts.scheme
        or parts.netloc
        or len(url) > MAX_RETURN_URL
        or not url.isprintable()
        or "\\" in url
    ):
        raise _invalid(
            "invalid_return_url",
            "return_url",
            _("The return address must be a path on this server (at most %(n)d characters).")
            % {"n": MAX_RETURN_URL},
        )
    return url


def _channel(actor: Actor) -> str:
    if actor.guest:
        return TopUpChannel.SELF_SERVICE
    if actor.api_client is not None:
        return TopUpChannel.API
    return TopUpChannel.STAFF


def start_top_up(
    *,
    actor: Actor,
    customer_number: int,
    amount: int,
    return_url: str,
    provider: str = "sandbox",
) -> tuple[TopUpPayment, str]:
    """Open an online top-up of `amount` cents for the customer and answer the payment with
    the provider's URL to send the guest to. Nothing is credited until the provider's
    signed callback says it was paid (`confirm_top_up`)."""
    actor.require("credit.top_up", _("You may not top up credit."))
    if actor.guest and actor.own_customer != customer_number:
        raise PermissionDenied(_("A guest may top up only their own credit."))
    try:
        chosen = providers.get_provider(provider)
    except NotFound as exc:
        raise _invalid("unknown_provider", "provider", exc.message) from None
    _check_amount(amount)
    return_url = _check_return_url(return_url)
    customer = customer_selectors.get_payer(actor=actor, number=customer_number)
    ledger_services.refuse_blocked(customer=customer)
    now = timezone.now()
    with db.atomic():
        pending = TopUpPayment.objects.filter(
            customer_id=customer.pk, status=TopUpStatus.PENDING, expires_at__gt=now
        ).count()
        if pending >= MAX_PENDING_PER_CUSTOMER:
            raise DomainError(
                "too_many_pending_top_ups",
                _("Finish or cancel the top-ups already started, or wait %(m)d minutes.")
                % {"m": EXPIRES_AFTER.seconds // 60},
                status=429,
            )
        payment = TopUpPayment.objects.create(
            tenant=actor.tenant,
            reference=secrets.token_urlsafe(18),
            customer_id=customer.pk,
            amount=amount,
            currency=actor.tenant.currency,
            provider=chosen.name,
            channel=_channel(actor),
            started_by_user=actor.user,
            started_by_api_client=actor.api_client,
            started_by_label=actor.label[:200],
            location=actor.location,
            return_url=return_url,
            created_at=now,
            expires_at=now + EXPIRES_AFTER,
        )
    # Outside the transaction: a real provider's start is a call over the network, and
    # the payment row is there to say what became of it even if that call fails.
    try:
        redirect_url = chosen.start(payment=payment, return_url=return_url)
    except Exception as exc:
        _close(payment, TopUpStatus.FAILED, note=_("The payment provider could not be reached."))
        if isinstance(exc, DomainError):
            raise
        log.exception("payment provider %s failed to start %s", chosen.name, payment.reference)
        raise DomainError(
            "provider_unavailable",
            _("The payment provider cannot be reached; nothing was charged. Try again later."),
            status=502,
        ) from None
    payment.redirect_url = redirect_url[:MAX_RETURN_URL]
    payment.save(update_fields=["redirect_url"])
    return payment, redirect_url


def _close(payment: TopUpPayment, status: str, *, note: str = "") -> None:
    with db.atomic():
        TopUpPayment.objects.filter(pk=payment.pk, status=TopUpStatus.PENDING).update(
            status=status, completed_at=timezone.now(), outcome_note=note[:200]
        )


def _booking_actor(payment: TopUpPayment) -> Actor:
    """Who the ledger entry names: whoever started the payment, on their channel."""
    tenant = active_tenant()
    if payment.channel == TopUpChannel.SELF_SERVICE:
        return Actor.for_guest(tenant=tenant, customer_number=payment.customer.number)
    # The clerk's or the web shop's right to top up was checked when the payment started;
    # the provider's signed success is what books it now, whatever their role is today.
    return Actor(
        tenant=tenant,
        user=payment.started_by_user,
        api_client=payment.started_by_api_client,
        location=payment.location,
        permissions=frozenset({"credit.top_up"}),
    )


def _credit(payment: TopUpPayment, outcome: providers.CallbackOutcome) -> CallbackResult:
    if payment.status == TopUpStatus.SUCCEEDED:
        if outcome.transaction_id != payment.provider_transaction_id:
            # Paid twice at the provider for one top-up: that is for the provider's refund,
            # never a second credit.
            log.warning(
                "top-up %s: a second transaction %s reported paid",
                payment.reference,
                outcome.transaction_id,
            )
        return CallbackResult(payment, "already_credited")
    # Still pending, or already expired, declined or cancelled here: the provider says the
    # money was taken, so the guest gets the credit, once (docs/payments.md, "States").
    late = payment.status != TopUpStatus.PENDING
    entry = ledger_services.top_up_credit(
        actor=_booking_actor(payment),
        customer_number=payment.customer.number,
        amount=payment.amount,
        terminal=f"online: {payment.provider}"[:50],
        reason=f"online top-up {payment.reference} ({payment.channel})",
        idempotency_key=f"top-up:{payment.reference}",
    )
    payment.outcome_note = f"paid after {payment.status}" if late else ""
    payment.status = TopUpStatus.SUCCEEDED
    payment.ledger_entry = entry
    payment.completed_at = timezone.now()
    payment.provider_transaction_id = outcome.transaction_id
    payment.save(
        update_fields=[
            "status",
            "ledger_entry",
            "completed_at",
            "provider_transaction_id",
            "outcome_note",
        ]
    )
    return CallbackResult(payment, "credited", late=late)


def _record_unpaid(payment: TopUpPayment, outcome: providers.CallbackOutcome) -> CallbackResult:
    if payment.status != TopUpStatus.PENDING:
        # A repeat, or news about a payment already settled: it changes nothing.
        return CallbackResult(
            payment, "duplicate" if payment.status == outcome.status else "ignored"
        )
    payment.status = outcome.status
    payment.completed_at = timezone.now()
    payment.provider_transaction_id = outcome.transaction_id
    payment.outcome_note = outcome.note[:200]
    payment.save(
        update_fields=["status", "completed_at", "provider_transaction_id", "outcome_note"]
    )
    return CallbackResult(payment, outcome.status)


def confirm_top_up(*, provider: str, payload: bytes, signature: str) -> CallbackResult:
    """Apply a provider's callback (the raw body and its signature) to its payment.

    Only a callback the provider signed counts (400 `bad_signature` otherwise, nothing
    changes). A signed success credits the payment's amount once, also when it comes late
    (after the payment expired or was cancelled: the money was taken); any repeat is
    answered without a second credit. A decline or a cancel closes a pending payment.
    The amount and currency must be the payment's (422 `amount_mismatch`).
    """
    chosen = providers.get_provider(provider)
    outcome = chosen.verify_callback(payload=payload, signature=signature)
    try:
        with db.atomic():
            payment = lock_objects.top_up_for_update(outcome.reference)
            if payment.provider != chosen.name:
                raise NotFound(_("There is no such payment."), code="unknown_payment")
            if outcome.amount != payment.amount or outcome.currency != payment.currency:
                log.error(
                    "top-up %s: provider reported %s %s, expected %s %s",
                    payment.reference,
                    outcome.amount,
                    outcome.currency,
                    payment.amount,
                    payment.currency,
                )
                raise DomainError(
                    "amount_mismatch",
                    _("The amount paid is not the amount of this top-up; nothing was booked."),
                    fields={
                        "amount": _("Expected %(a)s %(c)s.")
                        % {"a": format_amount(payment.amount), "c": payment.currency}
                    },
                    status=422,
                )
            if outcome.status == providers.PAID:
                return _credit(payment, outcome)
            return _record_unpaid(payment, outcome)
    except IntegrityError:
        # The provider's transaction id already paid another top-up: not credited twice.
        log.error("top-up %s: transaction %s is taken", outcome.reference, outcome.transaction_id)
        raise DomainError(
            "transaction_already_used",
            _("This transaction already paid another top-up; nothing was booked."),
            status=409,
        ) from None


def expire_stale_top_ups(*, now: dt.datetime | None = None) -> int:
    """Mark the active tenant's top-ups still pending after EXPIRES_AFTER as expired; how
    many. A success that arrives later is still credited (the money was taken)."""
    now = now or timezone.now()
    with db.atomic():
        return TopUpPayment.objects.filter(status=TopUpStatus.PENDING, expires_at__lte=now).update(
            status=TopUpStatus.EXPIRED, completed_at=now
        )
