"""Payment providers behind one interface, a registry by name, and the sandbox provider.

A provider does two things for a top-up: it says where to send the guest to pay
(`start`), and it turns what it later sends to the callback endpoint into a verified
outcome (`verify_callback`), refusing anything it did not sign. Everything else (limits,
states, crediting exactly once) is the services', the same for every provider.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from stammgast.core.errors import DomainError, NotFound

if TYPE_CHECKING:
    from .models import TopUpPayment

# What a provider may report about a payment.
PAID = "succeeded"
DECLINED = "failed"
CANCELLED = "cancelled"
OUTCOMES = (PAID, DECLINED, CANCELLED)
MAX_CALLBACK_BYTES = 10_000


class BadCallback(DomainError):
    """A callback the provider did not sign, or cannot have sent: 400, nothing changes."""

    def __init__(self, message: str, code: str = "bad_signature") -> None:
        super().__init__(code, message, status=400)


@dataclass(frozen=True)
class CallbackOutcome:
    """What a verified callback says: which payment, paid or not, how much, and the
    provider's own id of the transaction."""

    reference: str
    status: str  # one of OUTCOMES
    amount: int  # minor units
    currency: str
    transaction_id: str
    note: str = ""


class PaymentProvider(abc.ABC):
    """The interface every provider implements; one instance serves every tenant.

    A real provider's `start` calls its API to open a checkout for the payment (amount,
    currency, the payment's reference, `return_url`, and the callback URL
    `payments:callback`) and answers the URL of its hosted page. Its `verify_callback`
    checks the signature as its documentation says and maps its statuses onto OUTCOMES.
    """

    name: str = ""
    label = gettext_lazy("Payment provider")

    @abc.abstractmethod
    def start(self, *, payment: TopUpPayment, return_url: str) -> str:
        """The URL the guest is sent to, to pay `payment`."""

    @abc.abstractmethod
    def verify_callback(self, *, payload: bytes, signature: str) -> CallbackOutcome:
        """The outcome the provider signed; raises BadCallback for anything else."""


_registry: dict[str, PaymentProvider] = {}


def register_provider(provider: PaymentProvider) -> PaymentProvider:
    """Make a provider known by its name (a real provider's module calls this once)."""
    _registry[provider.name] = provider
    return provider


def enabled_provider_names() -> list[str]:
    return [name for name in settings.STAMMGAST_PAYMENT_PROVIDERS if name in _registry]


def get_provider(name: str) -> PaymentProvider:
    """A provider that is registered and enabled on this installation; 404 otherwise."""
    if name not in settings.STAMMGAST_PAYMENT_PROVIDERS or name not in _registry:
        raise NotFound(
            _("There is no payment provider %(name)s here.") % {"name": name[:30]},
            code="unknown_provider",
        )
    return _registry[name]


# --- the sandbox ------------------------------------------------------------------------


def sandbox_secret() -> bytes:
    """The installation's sandbox key: set, or derived from SECRET_KEY (never SECRET_KEY
    itself, so a leaked sandbox key gives away nothing else)."""
    configured = settings.STAMMGAST_PAYMENT_SANDBOX_SECRET
    if configured:
        return configured.encode()
    return hmac.new(
        settings.SECRET_KEY.encode(), b"stammgast.payments.sandbox", hashlib.sha256
    ).digest()


class SandboxProvider(PaymentProvider):
    """A provider for tests and demonstrations that behaves like a real one: its own page
    (served by this app at /pay/<tenant>/sandbox/<reference>/) with "Pay", "Decline" and
    "Cancel", a callback signed with HMAC-SHA256 over the body, and the guest sent back to
    the return URL. It moves no money: an installation enables it on purpose only
    (STAMMGAST_PAYMENT_PROVIDERS), since anyone who can start a top-up could "pay" here.
    """

    name = "sandbox"
    label = gettext_lazy("Sandbox (test payments, no money moves)")
    SIGNATURE_PREFIX = "sha256="

    def start(self, *, payment: TopUpPayment, return_url: str) -> str:
        # The sandbox reads the return URL from the payment; a real provider is told it.
        return reverse(
            "payments:sandbox",
            kwargs={"tenant": payment.tenant.slug, "reference": payment.reference},
        )

    def transaction_id(self, payment: TopUpPayment) -> str:
        return f"sbx-{payment.reference}"

    def sign(self, payload: bytes) -> str:
        digest = hmac.new(sandbox_secret(), payload, hashlib.sha256).hexdigest()
        return self.SIGNATURE_PREFIX + digest

    def callback_for(
        self, payment: TopUpPayment, outcome: str, *, amount: int | None = None
    ) -> tuple[bytes, str]:
        """The body and signature the sandbox sends for `payment` (also what a test sends
        again as a duplicate, or later as a late callback); `amount` lets a test sign a
        wrong amount, as a faulty provider might."""
        if outcome not in OUTCOMES:
            raise ValueError(f"Not a sandbox outcome: {outcome}")
        body = orjson.dumps(
            {
                "reference": payment.reference,
                "status": outcome,
                "amount": payment.amount if amount is None else amount,
                "currency": payment.currency,
                "transaction_id": self.transaction_id(payment),
                "sent_at": timezone.now().isoformat(),
            }
        )
        return body, self.sign(body)

    def verify_callback(self, *, payload: bytes, signature: str) -> CallbackOutcome:
        if len(payload) > MAX_CALLBACK_BYTES:
            raise BadCallback(_("The callback is too large."), code="callback_too_large")
        expected = self.sign(payload)
        # Constant time: how much of a forged signature is right must not show in timing.
        if not hmac.compare_digest(expected.encode(), (signature or "").strip().encode()):
            raise BadCallback(_("The callback's signature is not valid."))
        try:
            data = orjson.loads(payload)
            outcome = CallbackOutcome(
                reference=_text(data["reference"], 40),
                status=data["status"],
                amount=data["amount"],
                currency=_text(data["currency"], 3),
                transaction_id=_text(data["transaction_id"], 100),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise BadCallback(
                _("The callback is signed but not understood."), code="bad_callback"
            ) from None
        if outcome.status not in OUTCOMES or type(outcome.amount) is not int:
            raise BadCallback(_("The callback is signed but not understood."), code="bad_callback")
        return outcome


def _text(value: object, max_len: int) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ValueError("not a short text")
    return value


register_provider(SandboxProvider())
