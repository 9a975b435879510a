"""The guests' pages under /me/<tenant>/: thin views over the self-service services."""

from __future__ import annotations

import re
from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from stammgast.bills import selectors as bill_selectors
from stammgast.cards import services as card_services
from stammgast.core import tenancy
from stammgast.core.access import note_access
from stammgast.core.errors import DomainError, NotFound
from stammgast.core.money import format_amount, parse_amount
from stammgast.ledger import selectors as ledger_selectors
from stammgast.payments import providers as payment_providers
from stammgast.payments import selectors as payment_selectors
from stammgast.payments import services as payment_services
from stammgast.privacy import person
from stammgast.privacy import selectors as privacy_selectors
from stammgast.privacy import services as privacy_services
from stammgast.privacy.models import AccessKind, LegalText, LegalTextKind
from stammgast.tenants import services as tenant_services

from . import selectors, services, session
from .fields import field_uses
from .forms import (
    DataForm,
    EmailChangeForm,
    LoginForm,
    NewPasswordForm,
    PasswordChangeForm,
    PasswordForm,
    RegisterForm,
    ResetForm,
)
from .models import LinkPurpose

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MOVEMENTS_SHOWN = 10


def _address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _version(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 9 else None


def guest_area(view):
    """Open the tenant named in the address for the request; know its guest, if any."""

    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args, **kwargs):
        try:
            tenant = tenant_services.get_tenant(slug)
        except NotFound:
            raise Http404(_("There is no such guest area.")) from None
        tenancy.activate(tenant)  # reset by the tenant middleware at the end
        request.tenant = tenant
        request.area = selectors.settings_for(tenant)
        request.guest = session.current_account(request, tenant)
        if not request.area.enabled:
            return _page(request, "selfservice/closed.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def guest_required(view):
    """Logged in, with a customer record, and the current legal texts accepted."""

    @guest_area
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        account = request.guest
        if account is None:
            return redirect(_url(request, "login"))
        if account.customer_id is None and view.__name__ != "data":
            return redirect(_url(request, "data"))
        # A new text waits to be accepted before anything else, but a guest's rights do
        # not: downloading or deleting their data and revoking consents need no "yes".
        if (
            account.customer_id is not None
            and view.__name__ not in ("accept", "download", "delete", "consent")
            and selectors.texts_to_accept(account)
        ):
            return redirect(_url(request, "accept"))
        return view(request, *args, **kwargs)

    return wrapper


def _url(request: HttpRequest, name: str, *args) -> str:
    return reverse(f"selfservice:{name}", args=[request.tenant.slug, *args])


def _links(request: HttpRequest):
    """How services name the pages their e-mails link to, as absolute addresses."""

    def make(kind: str, token: str) -> str:
        names = {
            "confirm": "confirm",
            "reset": "reset_password" if token else "reset",
            "email": "confirm_email",
            "erase": "confirm_erasure",
            "login": "login",
        }
        args = [token] if token else []
        return request.build_absolute_uri(_url(request, names[kind], *args))

    return make


def _page(request: HttpRequest, template: str, context: dict | None = None, *, status=200):
    ctx = {
        "tenant": request.tenant,
        "area": request.area,
        "guest": getattr(request, "guest", None),
        "slug": request.tenant.slug,
    }
    ctx.update(context or {})
    return render(request, template, ctx, status=status)


def _show_errors(form, exc: DomainError) -> None:
    """A service's refusal shown at the form's fields (or above the form)."""
    placed = False
    for field, errors in exc.fields.items():
        if field in form.fields:
            for error in errors:
                form.add_error(field, error)
            placed = True
    if not placed or exc.code not in ("invalid", "weak_password"):
        form.add_error(None, exc.message)


def brand_css(request: HttpRequest, slug: str) -> HttpResponse:
    """The tenant's colour as a style sheet (the pages allow no inline styles)."""
    try:
        tenant = tenant_services.get_tenant(slug)
    except NotFound:
        raise Http404 from None
    with tenancy.tenant_scope(tenant):
        colour = selectors.settings_for(tenant).colour
    colour = colour if _COLOUR.match(colour or "") else "#1f5f8b"
    response = HttpResponse(f":root {{ --brand: {colour}; }}\n", content_type="text/css")
    response["Cache-Control"] = "max-age=300"
    return response


# --- registration ----------------------------------------------------------------------


@guest_area
def register(request: HttpRequest) -> HttpResponse:
    policy = privacy_selectors.current_legal_text(LegalTextKind.PRIVACY)
    terms = privacy_selectors.current_legal_text(LegalTextKind.TERMS)
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.register_guest(
                tenant=request.tenant,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                accepted_texts=form.cleaned_data["accepted_texts"],
                newsletter=form.cleaned_data["newsletter"],
                language=(get_language() or "de")[:2],
                link=_links(request),
                address=_address(request),
                shown_versions={
                    "privacy": _version(request.POST.get("shown_privacy")),
                    "terms": _version(request.POST.get("shown_terms")),
                },
            )
        except DomainError as exc:
            _show_errors(form, exc)
            if exc.code == "texts_changed":
                policy = privacy_selectors.current_legal_text(LegalTextKind.PRIVACY)
                terms = privacy_selectors.current_legal_text(LegalTextKind.TERMS)
        else:
            return redirect(_url(request, "registered"))
    return _page(
        request,
        "selfservice/register.html",
        {"form": form, "policy": policy, "terms": terms, "open": policy is not None},
    )


@guest_area
def registered(request: HttpRequest) -> HttpResponse:
    return _page(request, "selfservice/registered.html")


@guest_area
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        account = services.check_link(token=token, purpose=LinkPurpose.CONFIRM)
    except DomainError as exc:
        return _page(request, "selfservice/link_failed.html", {"message": exc.message}, status=410)
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.confirm_registration(
                tenant=request.tenant,
                token=token,
                password=form.cleaned_data["password"],
                address=_address(request),
            )
        except DomainError as exc:
            _show_errors(form, exc)
        else:
            session.log_in(request, account)
            messages.success(request, _("Your address is confirmed. Welcome!"))
            return redirect(_url(request, "data" if account.customer_id is None else "home"))
    return _page(request, "selfservice/confirm.html", {"form": form, "email": account.email})


# --- log-in, log-out, passwords ----------------------------------------------------------


@guest_area
def login(request: HttpRequest) -> HttpResponse:
    if request.guest is not None and request.method == "GET":
        return redirect(_url(request, "home"))
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            account = services.log_in_guest(
                tenant=request.tenant,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                address=_address(request),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            session.log_in(request, account)
            return redirect(_url(request, "home"))
    return _page(request, "selfservice/login.html", {"form": form}, status=status)


@require_POST
@guest_area
def logout(request: HttpRequest) -> HttpResponse:
    session.log_out(request)
    messages.info(request, _("You are logged out."))
    return redirect(_url(request, "login"))


@guest_area
def reset(request: HttpRequest) -> HttpResponse:
    form = ResetForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.request_password_reset(
                tenant=request.tenant,
                email=form.cleaned_data["email"],
                address=_address(request),
                link=_links(request),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            return _page(request, "selfservice/reset_sent.html")
    return _page(request, "selfservice/reset.html", {"form": form}, status=status)


@guest_area
def reset_password(request: HttpRequest, token: str) -> HttpResponse:
    try:
        services.check_link(token=token, purpose=LinkPurpose.RESET)
    except DomainError as exc:
        return _page(request, "selfservice/link_failed.html", {"message": exc.message}, status=410)
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reset_password(
                tenant=request.tenant, token=token, password=form.cleaned_data["password"]
            )
        except DomainError as exc:
            _show_errors(form, exc)
        else:
            session.log_out(request)
            messages.success(request, _("Your new password is set. Please log in."))
            return redirect(_url(request, "login"))
    return _page(request, "selfservice/new_password.html", {"form": form})


@guest_required
def password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.change_password(
                account=request.guest,
                old=form.cleaned_data["old_password"],
                new=form.cleaned_data["new_password"],
            )
        except DomainError as exc:
            _show_errors(form, exc)
        else:
            session.refresh(request, account)
            messages.success(request, _("Your password is changed."))
            return redirect(_url(request, "home"))
    return _page(request, "selfservice/password.html", {"form": form})


# --- the guest's own data -----------------------------------------------------------------


@guest_required
def home(request: HttpRequest) -> HttpResponse:
    account = request.guest
    customer = account.customer
    actor = services.guest_actor(account)
    _top_up_outcome(request, account)
    credit = ledger_selectors.credit_summary(actor=actor, customer_number=customer.number)
    movements = ledger_selectors.credit_entries(
        actor=actor, customer_number=customer.number, cursor=None, limit=MOVEMENTS_SHOWN
    ).items
    bills = bill_selectors.customer_bills(
        actor=actor, customer_number=customer.number, limit=MOVEMENTS_SHOWN
    ).items
    cards = card_services.cards_of_customer(customer_id=customer.pk)
    consents = privacy_selectors.consents_of(customer.pk)
    rows = [
        {"key": key, "label": label, "granted": bool(consents.get(key) and consents[key].granted)}
        for key, label in privacy_selectors.purposes()
        if key not in ("data_processing", "terms")
    ]
    uses = field_uses(request.area.fields)
    shown = [
        (form_field.label, getattr(customer, name))
        for name, form_field in DataForm(uses=uses, with_locations=False).fields.items()
    ]
    return _page(
        request,
        "selfservice/home.html",
        {
            "customer": customer,
            "shown": shown,
            "credit": credit,
            "movements": movements,
            "consent_rows": rows,
            "bills": bills,
            "cards": cards,
            "can_top_up": bool(payment_providers.enabled_provider_names()),
        },
    )


@guest_required
def data(request: HttpRequest) -> HttpResponse:
    account = request.guest
    uses = field_uses(request.area.fields)
    first_time = account.customer_id is None
    initial = {}
    if not first_time:
        customer = account.customer
        initial = {name: getattr(customer, name) for name in uses}
        initial["favourite_locations"] = list(
            account.favourite_locations.values_list("code", flat=True)
        )
    form = DataForm(request.POST or None, uses=uses, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = {
            name: value
            for name, value in form.cleaned_data.items()
            if name != "favourite_locations"
        }
        values = {k: ("" if v is None else v) for k, v in values.items()}
        try:
            services.save_guest_data(
                account=account,
                data=values,
                favourite_locations=form.cleaned_data.get("favourite_locations"),
            )
        except DomainError as exc:
            _show_errors(form, exc)
        else:
            messages.success(request, _("Your data is saved."))
            return redirect(_url(request, "home"))
    return _page(request, "selfservice/data.html", {"form": form, "first_time": first_time})


@require_POST
@guest_required
def consent(request: HttpRequest) -> HttpResponse:
    purpose = request.POST.get("purpose", "")
    granted = request.POST.get("granted") == "1"
    try:
        services.set_guest_consent(account=request.guest, purpose=purpose, granted=granted)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Thank you, your consent is recorded.") if granted else _("Your consent is revoked."),
        )
    return redirect(_url(request, "home") + "#consents")


@guest_required
def accept(request: HttpRequest) -> HttpResponse:
    due = selectors.texts_to_accept(request.guest)
    if not due:
        return redirect(_url(request, "home"))
    if request.method == "POST":
        shown = {k: _version(request.POST.get(f"shown_{k}")) for k in ("privacy", "terms")}
        try:
            services.accept_legal_texts(account=request.guest, shown_versions=shown)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(_url(request, "accept"))
        return redirect(_url(request, "home"))
    texts = [
        privacy_selectors.current_legal_text(
            LegalTextKind.TERMS if purpose == "terms" else LegalTextKind.PRIVACY
        )
        for purpose in due
    ]
    return _page(request, "selfservice/accept.html", {"texts": texts})


@guest_required
def email(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_email_change(
                account=request.guest,
                new_email=form.cleaned_data["new_email"],
                password=form.cleaned_data["password"],
                link=_links(request),
            )
        except DomainError as exc:
            _show_errors(form, exc)
        else:
            messages.success(
                request,
                _("We have sent a link to %(email)s. Your address changes once you open it.")
                % {"email": form.cleaned_data["new_email"]},
            )
            return redirect(_url(request, "home"))
    return _page(request, "selfservice/email.html", {"form": form})


@guest_area
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        account = services.check_link(token=token, purpose=LinkPurpose.EMAIL)
    except DomainError as exc:
        return _page(request, "selfservice/link_failed.html", {"message": exc.message}, status=410)
    if request.method == "POST":
        try:
            account = services.confirm_email_change(tenant=request.tenant, token=token)
        except DomainError as exc:
            return _page(
                request, "selfservice/link_failed.html", {"message": exc.message}, status=409
            )
        messages.success(request, _("Your new e-mail address is confirmed."))
        return redirect(_url(request, "home" if request.guest else "login"))
    new = account.links.filter(purpose=LinkPurpose.EMAIL, used_at=None).first()
    return _page(
        request, "selfservice/confirm_email.html", {"new_email": new.new_email if new else ""}
    )


@guest_area
def legal_text(request: HttpRequest, kind: str, version: int) -> HttpResponse:
    """Every published version stays readable."""
    text = LegalText.objects.filter(kind=kind, version=version).first()
    if text is None:
        raise Http404(_("There is no such text."))
    return _page(request, "selfservice/legal_text.html", {"text": text})


@guest_required
def download(request: HttpRequest) -> HttpResponse:
    """Everything stored about the guest, as a ZIP (Art. 15 and 20 DSGVO)."""
    account = request.guest
    actor = services.guest_actor(account)
    content, name = person.person_archive(actor=actor, number=account.customer.number)
    note_access(
        actor=actor,
        kind=AccessKind.DATA_DOWNLOAD,
        customer_number=account.customer.number,
        count=1,
    )
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@guest_required
def delete(request: HttpRequest) -> HttpResponse:
    account = request.guest
    actor = services.guest_actor(account)
    preview = privacy_services.erasure_preview(actor=actor, number=account.customer.number)
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_erasure(
                account=account, password=form.cleaned_data["password"], link=_links(request)
            )
        except DomainError as exc:
            _show_errors(form, exc)
        else:
            return _page(request, "selfservice/delete_sent.html")
    return _page(
        request,
        "selfservice/delete.html",
        {"form": form, "preview": preview, "note": services.balance_note(preview)},
    )


@guest_area
def confirm_erasure(request: HttpRequest, token: str) -> HttpResponse:
    try:
        account = services.check_link(token=token, purpose=LinkPurpose.ERASE)
    except DomainError as exc:
        return _page(request, "selfservice/link_failed.html", {"message": exc.message}, status=410)
    actor = services.guest_actor(account)
    preview = privacy_services.erasure_preview(actor=actor, number=account.customer.number)
    if request.method == "POST":
        try:
            services.confirm_erasure(tenant=request.tenant, token=token)
        except DomainError as exc:
            return _page(
                request, "selfservice/link_failed.html", {"message": exc.message}, status=409
            )
        session.log_out(request)
        request.guest = None
        return _page(request, "selfservice/erased.html")
    return _page(
        request,
        "selfservice/confirm_erasure.html",
        {"preview": preview, "note": services.balance_note(preview)},
    )


@require_POST
@guest_required
def block_card(request: HttpRequest) -> HttpResponse:
    """ "Block my lost card"."""
    account = request.guest
    try:
        card_services.block_lost_card(
            actor=services.guest_actor(account),
            customer_number=account.customer.number,
            card_number=request.POST.get("card", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The card is blocked. Ask us for a new one."))
    return redirect(_url(request, "home") + "#cards")


@require_POST
@guest_required
def top_up(request: HttpRequest) -> HttpResponse:
    """Start an online top-up: off to the payment provider's own page."""
    account = request.guest
    try:
        amount = parse_amount(request.POST.get("amount", ""))
        _payment, address = payment_services.start_top_up(
            actor=services.guest_actor(account),
            customer_number=account.customer.number,
            amount=amount,
            return_url=_url(request, "home"),
            provider=request.POST.get("provider") or "sandbox",
        )
    except DomainError as exc:
        details = [m for ms in exc.fields.values() for m in ms if m != exc.message]
        messages.error(request, " ".join([exc.message, *details]))
        return redirect(_url(request, "home") + "#credit")
    return redirect(address)


def _top_up_outcome(request: HttpRequest, account) -> None:
    """Back from the provider: say how the top-up ended, or that it is being confirmed."""
    reference = request.GET.get("top_up")
    if not reference:
        return
    try:
        payment = payment_selectors.top_up_by_reference(reference=reference[:40])
    except DomainError:
        return
    if payment.customer_id != account.customer_id:
        return
    if payment.status == "succeeded":
        messages.success(
            request,
            _("Thank you: %(amount)s %(currency)s are credited.")
            % {"amount": format_amount(payment.amount), "currency": payment.currency},
        )
    elif payment.status == "pending":
        messages.info(request, _("Your payment is being confirmed; reload in a moment."))
    else:
        messages.error(request, _("The top-up was not paid; nothing was charged."))
