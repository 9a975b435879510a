"""HTTP of online top-ups: the providers' callback endpoint, a payment's status, the
sandbox provider's own hosted payment page, and the customer record's "Online payments"
register.

The first three are reached without a staff session (a guest, a provider's server): the
tenant is the one named in the URL, activated here for the request.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from stammgast.core.errors import DomainError
from stammgast.core.http import json_response
from stammgast.core.money import format_amount
from stammgast.core.tenancy import tenant_scope
from stammgast.customers.registers import Register, add_register
from stammgast.tenants import services as tenant_services
from stammgast.tenants.models import Tenant

from . import providers, selectors, services
from .models import TopUpPayment, TopUpStatus

log = logging.getLogger(__name__)

# The headers a provider may send its signature in; the sandbox uses the first.
SIGNATURE_HEADERS = ("Stammgast-Signature",)
SANDBOX_ACTIONS = {
    "pay": providers.PAID,
    "decline": providers.DECLINED,
    "cancel": providers.CANCELLED,
}


def _error(exc: DomainError) -> HttpResponse:
    headers = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else None
    return json_response(exc.status, exc.as_dict(), headers)


@csrf_exempt
@never_cache
def callback(request: HttpRequest, tenant: str, provider: str) -> HttpResponse:
    """Where a provider's server reports how a payment ended (POST, signed body).

    200 for every callback applied or recognised as a repeat (so the provider stops
    sending it), 400 for a bad signature, 404 for an unknown payment, 422 for a signed
    amount that is not the payment's: nothing changes on any of those.
    """
    if request.method != "POST":
        return json_response(
            405,
            {"code": "method_not_allowed", "message": _("Send the callback with POST.")},
            {"Allow": "POST"},
        )
    signature = next((request.headers[h] for h in SIGNATURE_HEADERS if h in request.headers), "")
    try:
        body = request.body
        with tenant_scope(tenant_services.get_tenant(tenant)):
            result = services.confirm_top_up(provider=provider, payload=body, signature=signature)
    except DomainError as exc:
        if exc.code in ("bad_signature", "bad_callback"):
            log.warning("refused %s callback for tenant %s: %s", provider[:30], tenant, exc.code)
        return _error(exc)
    payment = result.payment
    return json_response(
        200,
        {
            "code": result.result,
            "reference": payment.reference,
            "status": payment.status,
            "late": result.late,
        },
    )


@never_cache
def status(request: HttpRequest, tenant: str, reference: str) -> HttpResponse:
    """How a top-up stands (for the page the guest returns to, which may arrive before
    the provider's callback)."""
    try:
        with tenant_scope(tenant_services.get_tenant(tenant)):
            payment = selectors.top_up_by_reference(reference=reference)
    except DomainError as exc:
        return _error(exc)
    return json_response(
        200,
        {
            "reference": payment.reference,
            "status": payment.status,
            "amount": format_amount(payment.amount),
            "amount_cents": payment.amount,
            "currency": payment.currency,
        },
    )


def _back_to_shop(return_url: str, reference: str, status: str) -> HttpResponse:
    joiner = "&" if "?" in return_url else "?"
    return redirect(return_url + joiner + urlencode({"top_up": reference, "status": status}))


@never_cache
def sandbox(request: HttpRequest, tenant: str, reference: str) -> HttpResponse:
    """The sandbox provider's hosted page: the amount, and "Pay", "Decline", "Cancel".

    A button sends the provider's signed callback to the callback service (what the
    provider's server would POST to the callback endpoint, the same bytes and signature)
    and sends the guest back to the shop's return URL, as a real provider does.
    """
    try:
        provider = providers.get_provider(providers.SandboxProvider.name)
        assert isinstance(provider, providers.SandboxProvider)
        home = tenant_services.get_tenant(tenant)
        with tenant_scope(home):
            payment = selectors.top_up_by_reference(reference=reference)
            if payment.provider != provider.name:
                raise DomainError("unknown_payment", _("There is no such payment."), status=404)
            # The provider's own state: it has not reported this payment yet. (Our side may
            # have expired it meanwhile; the provider does not know that.)
            open_at_provider = not payment.provider_transaction_id
            if request.method == "POST" and open_at_provider:
                outcome = SANDBOX_ACTIONS.get(request.POST.get("action", ""))
                if outcome is None:
                    return _page(request, payment, home, status=400, open_=True)
                body, signature = provider.callback_for(payment, outcome)
                result = services.confirm_top_up(
                    provider=provider.name, payload=body, signature=signature
                )
                return _back_to_shop(payment.return_url, payment.reference, result.payment.status)
    except DomainError as exc:
        return render(
            request,
            "payments/sandbox.html",
            {"error": exc.message},
            status=exc.status,
        )
    return _page(request, payment, home, status=200, open_=open_at_provider)


def _page(
    request: HttpRequest, payment: TopUpPayment, tenant: Tenant, *, status: int, open_: bool
) -> HttpResponse:
    return render(
        request,
        "payments/sandbox.html",
        {
            "payment": payment,
            "merchant": tenant.name,
            "amount": format_amount(payment.amount),
            "open": open_,
            "succeeded": payment.status == TopUpStatus.SUCCEEDED,
            "invalid_action": status == 400,
        },
        status=status,
    )


def payments_register(request: HttpRequest, customer) -> dict:
    # A guest who says "I paid but see no credit": the clerk sees each attempt and its end.
    return {
        "top_ups": selectors.top_ups_of_customer(
            actor=request.actor, customer_number=customer.number
        )
    }


def add_payments_register() -> None:
    add_register(
        Register(
            "online-payments",
            gettext_lazy("Online payments"),
            "payments/register.html",
            49,
            context=payments_register,
            group="money",
        )
    )
