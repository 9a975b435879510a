"""Portal pages of the ledger: the customer record's "Credit" and "Account" registers,
booking from them, and a printable statement."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from stammgast.core.errors import DomainError, NotFound
from stammgast.core.money import format_amount, parse_amount
from stammgast.core.templatetags.money import money_text
from stammgast.customers.registers import HeaderFact, Register, add_header_fact, add_register
from stammgast.tenants.pages import render_page, staff_required

from . import selectors, services
from .forms import MovementForm, StatementForm


def credit_register(request: HttpRequest, customer) -> dict:
    summary = selectors.credit_summary(actor=request.actor, customer_number=customer.number)
    page = selectors.credit_entries(
        actor=request.actor, customer_number=customer.number, cursor=request.GET.get("cursor")
    )
    actor = request.actor
    return {
        "credit": summary,
        "balance": format_amount(summary.balance),
        "available": format_amount(summary.available),
        "entries": page.items,
        "next_cursor": page.next_cursor,
        "top_up_form": MovementForm(auto_id="top_up_%s") if actor.can("credit.top_up") else None,
        "correct_form": (
            MovementForm(auto_id="correct_%s", reason_required=True)
            if actor.can("credit.correct")
            else None
        ),
    }


def account_register(request: HttpRequest, customer) -> dict:
    summary = selectors.account_summary(actor=request.actor, customer_number=customer.number)
    today = timezone.localdate()
    return {
        "account": summary,
        "owed": format_amount(summary.balance),
        "can_settle": request.actor.can("account.settle") and bool(summary.open_items),
        "statement_form": StatementForm(
            initial={"start": today.replace(day=1), "end": today}, auto_id="statement_%s"
        ),
        "settle_key": MovementForm().initial["idempotency_key"],
    }


def credit_header(request: HttpRequest, customer) -> str:
    summary = selectors.credit_summary(actor=request.actor, customer_number=customer.number)
    return money_text(summary.balance, summary.currency)


def add_ledger_registers() -> None:
    # The credit balance in the record's header, on every register.
    add_header_fact(HeaderFact("credit", gettext_lazy("Credit"), 50, credit_header))
    add_register(
        Register(
            "credit",
            gettext_lazy("Credit"),
            "ledger/credit_register.html",
            45,
            context=credit_register,
            group="money",
        )
    )
    add_register(
        Register(
            "account",
            gettext_lazy("Account"),
            "ledger/account_register.html",
            46,
            context=account_register,
            group="money",
        )
    )


def _back(number: int, register: str):
    return redirect("portal:customers:register", number=number, register=register)


def _book(request: HttpRequest, number: int, *, correction: bool) -> HttpResponse:
    form = MovementForm(request.POST, reason_required=correction)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back(number, "credit")
    try:
        amount = parse_amount(form.cleaned_data["amount"], allow_negative=correction)
        book = services.correct_credit if correction else services.top_up_credit
        entry = book(
            actor=request.actor,
            customer_number=number,
            amount=amount,
            reason=form.cleaned_data["reason"],
            idempotency_key=form.cleaned_data["idempotency_key"],
        )
    except NotFound as exc:
        raise Http404(exc.message) from None
    except DomainError as exc:
        details = [m for ms in exc.fields.values() for m in ms if m != exc.message]
        messages.error(request, " ".join([exc.message, *details]))
        return _back(number, "credit")
    messages.success(
        request,
        _("Booked. New balance: %(balance)s %(currency)s.")
        % {"balance": format_amount(entry.balance_after), "currency": entry.currency},
    )
    return _back(number, "credit")


@require_POST
@staff_required
def top_up(request: HttpRequest, number: int) -> HttpResponse:
    return _book(request, number, correction=False)


@require_POST
@staff_required
def correct(request: HttpRequest, number: int) -> HttpResponse:
    return _book(request, number, correction=True)


@require_POST
@staff_required
def settle(request: HttpRequest, number: int) -> HttpResponse:
    method = request.POST.get("method", "cash")
    items = [int(i) for i in request.POST.getlist("items") if i.isdigit()] or None
    try:
        entries = services.settle_open_items(
            actor=request.actor,
            customer_number=number,
            method=method,
            item_ids=items,
            idempotency_key=request.POST.get("idempotency_key") or None,
        )
    except NotFound as exc:
        raise Http404(exc.message) from None
    except DomainError as exc:
        details = [m for ms in exc.fields.values() for m in ms if m != exc.message]
        messages.error(request, " ".join([exc.message, *details]))
        return _back(number, "account")
    paid = -sum(e.amount for e in entries)
    messages.success(
        request,
        ngettext(
            "%(n)d item settled: %(amount)s.", "%(n)d items settled: %(amount)s.", len(entries)
        )
        % {"n": len(entries), "amount": format_amount(paid)},
    )
    return _back(number, "account")


@staff_required
def statement(request: HttpRequest, number: int) -> HttpResponse:
    form = StatementForm(request.GET)
    if not form.is_valid():
        today = timezone.localdate()
        start, end = today.replace(day=1), today
    else:
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    try:
        found = selectors.account_statement(
            actor=request.actor, customer_number=number, start=start, end=end
        )
    except NotFound as exc:
        raise Http404(exc.message) from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back(number, "account")
    return render_page(
        request,
        "ledger/statement.html",
        {
            "nav": "customers",
            "statement": found,
            "opening": format_amount(found.opening),
            "closing": format_amount(found.closing),
            "printed_at": timezone.localtime(),
            "days": (end - start + dt.timedelta(days=1)).days,
        },
    )
