"""Portal pages of privacy: the record's "Consents" register, legal texts, own purposes."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from stammgast.core.access import note_access
from stammgast.core.errors import DomainError, NotFound
from stammgast.customers.registers import Register, add_register
from stammgast.tenants.pages import render_page, staff_required

from . import person, selectors, services
from .forms import ConsentForm, ErasureRequestForm, LegalTextForm, PrivacySettingsForm, PurposeForm
from .models import AccessKind, LegalText, LegalTextKind

LOG_SHOWN = 100


def consents_register(request: HttpRequest, customer) -> dict:
    current = selectors.consents_of(customer.pk)
    rows = [
        {"key": key, "label": label, "consent": current.get(key)}
        for key, label in selectors.purposes()
    ]
    return {
        "consent_rows": rows,
        "consent_log": list(selectors.consent_log(customer.pk, limit=LOG_SHOWN)),
        "log_limit": LOG_SHOWN,
        "consent_form": ConsentForm(auto_id="consent_%s")
        if request.actor.can("customers.change")
        else None,
    }


def privacy_register(request: HttpRequest, customer) -> dict:
    actor = request.actor
    can_erase = actor.can("customers.erase")
    pending = selectors.open_erasure_request(customer.pk) if can_erase else None
    return {
        "can_download": actor.can("customers.export"),
        "can_erase": can_erase,
        "pending_erasure": pending,
        "preview": services.erasure_preview(actor=actor, number=customer.number)
        if pending
        else None,
        "erasure_form": ErasureRequestForm(auto_id="erasure_%s") if can_erase else None,
    }


def add_privacy_registers() -> None:
    add_register(
        Register(
            "consents",
            gettext_lazy("Consents"),
            "privacy/consents_register.html",
            18,
            context=consents_register,
            group="master",
        )
    )
    add_register(
        Register(
            "privacy",
            gettext_lazy("Data download and erasure"),
            "privacy/privacy_register.html",
            90,
            context=privacy_register,
            group="more",
        )
    )


def _error_text(exc: DomainError) -> str:
    details = [m for ms in exc.fields.values() for m in ms if m != exc.message]
    return " ".join([exc.message, *details])


@require_POST
@staff_required
def record_consent(request: HttpRequest, number: int) -> HttpResponse:
    form = ConsentForm(request.POST)
    back = redirect("portal:customers:register", number=number, register="consents")
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else error)
        return back
    data = form.cleaned_data
    try:
        services.record_consent(
            actor=request.actor,
            number=number,
            purpose=data["purpose"],
            granted=data["granted"],
            text_version=data["text_version"],
            channel=data["channel"],
            note=data["note"],
        )
    except NotFound as exc:
        raise Http404(exc.message) from None
    except DomainError as exc:
        messages.error(request, _error_text(exc))
        return back
    messages.success(request, _("The consent is recorded."))
    return back


@staff_required
def overview(request: HttpRequest) -> HttpResponse:
    can_manage = request.actor.can("tenant.manage")
    return render_page(
        request,
        "privacy/overview.html",
        {
            "nav": "privacy",
            "texts": list(selectors.legal_texts()),
            "purposes": selectors.purposes(),
            "can_manage": can_manage,
            "text_form": LegalTextForm(auto_id="text_%s") if can_manage else None,
            "purpose_form": PurposeForm(auto_id="purpose_%s") if can_manage else None,
            "settings_form": PrivacySettingsForm(
                auto_id="settings_%s",
                initial={
                    "credit_at_erasure": selectors.privacy_settings().credit_at_erasure,
                    "bill_retention_years": selectors.privacy_settings().bill_retention_years,
                },
            )
            if can_manage
            else None,
        },
    )


@staff_required
def legal_text(request: HttpRequest, kind: str, version: int) -> HttpResponse:
    text = LegalText.objects.filter(kind=kind, version=version).first()
    if text is None or kind not in LegalTextKind.values:
        raise Http404(_("There is no such text."))
    return render_page(request, "privacy/legal_text.html", {"nav": "privacy", "text": text})


@require_POST
@staff_required
def publish_text(request: HttpRequest) -> HttpResponse:
    form = LegalTextForm(request.POST)
    if form.is_valid():
        try:
            text = services.publish_legal_text(actor=request.actor, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(
                request,
                _("%(text)s version %(v)d is published.")
                % {"text": text.get_kind_display(), "v": text.version},
            )
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("privacy:overview")


@require_POST
@staff_required
def define_purpose(request: HttpRequest) -> HttpResponse:
    form = PurposeForm(request.POST)
    if form.is_valid():
        try:
            services.define_consent_purpose(actor=request.actor, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("The consent purpose is saved."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("privacy:overview")


def _record(number: int):
    return redirect("portal:customers:register", number=number, register="privacy")


@staff_required
def download_person(request: HttpRequest, number: int) -> HttpResponse:
    """Everything stored about the customer, for a request under Art. 15 or 20."""
    request.actor.require("customers.export", _("You may not export customers' data."))
    try:
        content, name = person.person_archive(actor=request.actor, number=number)
    except NotFound as exc:
        raise Http404(exc.message) from None
    note_access(actor=request.actor, kind=AccessKind.DATA_DOWNLOAD, customer_number=number, count=1)
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@staff_required
def receive_erasure(request: HttpRequest, number: int) -> HttpResponse:
    form = ErasureRequestForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _record(number)
    try:
        services.receive_erasure_request(
            actor=request.actor.via("portal"),
            number=number,
            received_how=form.cleaned_data["received_how"],
        )
    except NotFound as exc:
        raise Http404(exc.message) from None
    except DomainError as exc:
        messages.error(request, _error_text(exc))
        return _record(number)
    messages.info(request, _("The request is recorded. Check the money below, then erase."))
    return _record(number)


@require_POST
@staff_required
def complete_erasure(request: HttpRequest, request_id: int) -> HttpResponse:
    try:
        done = services.complete_erasure(actor=request.actor, request_id=request_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    except DomainError as exc:
        messages.error(request, _error_text(exc))
        return redirect("privacy:erasures")
    messages.success(
        request,
        _("The data of customer %(n)d is erased.") % {"n": done.customer_number},
    )
    return redirect("privacy:erasures")


@staff_required
def erasures(request: HttpRequest) -> HttpResponse:
    """The record of erasure requests (Art. 30) for tenant administrators."""
    request.actor.require("tenant.manage", _("Only a tenant administrator may see this."))
    rows = list(selectors.erasure_requests()[:500])
    return render_page(
        request,
        "privacy/erasures.html",
        {
            "nav": "privacy",
            "requests": rows,
            "shown": ngettext("%(n)d request", "%(n)d requests", len(rows)) % {"n": len(rows)},
        },
    )


@require_POST
@staff_required
def save_settings(request: HttpRequest) -> HttpResponse:
    form = PrivacySettingsForm(request.POST)
    if form.is_valid():
        try:
            services.update_privacy_settings(actor=request.actor, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("Saved."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("privacy:overview")


@staff_required
def access_log(request: HttpRequest) -> HttpResponse:
    """Who read personal data, when, what and how much: for tenant administrators."""
    request.actor.require("privacy.access_log", _("Only a tenant administrator may see this."))
    kind = request.GET.get("kind") or None
    if kind not in (None, *AccessKind.values):
        kind = None
    before = request.GET.get("before", "")
    rows, next_before = selectors.access_log(
        kind=kind, before=int(before) if before.isdigit() else None, limit=100
    )
    return render_page(
        request,
        "privacy/access_log.html",
        {
            "nav": "privacy",
            "entries": rows,
            "next_before": next_before,
            "kind": kind or "",
            "kinds": AccessKind.choices,
        },
    )
