"""Portal pages of the shell: log-in (with its second step), password change, two-factor
log-in, tenant settings, dashboard."""

from __future__ import annotations

import time

import django_otp
import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from stammgast.core.errors import DomainError
from stammgast.core.tenancy import database_scope
from stammgast.tenants import two_factor
from stammgast.tenants.models import Role
from stammgast.tenants.pages import render_page, staff_required

from . import selectors
from .charts import stacked_bars
from .forms import (
    ConfirmEnrolmentForm,
    DisableTwoFactorForm,
    RenewRecoveryCodesForm,
    ResetTwoFactorForm,
    SecondStepForm,
    TenantSettingsForm,
)

# A password checked, its code not yet: the session is not logged in until the code is.
SECOND_STEP_KEY = "stammgast_second_step"


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor.has_second_factor(user):
            return super().form_valid(form)
        self.request.session[SECOND_STEP_KEY] = {
            "user": user.pk,
            "database": user._state.db,
            "backend": user.backend,
            "at": time.time(),
            "next": self.get_success_url(),
        }
        return redirect("portal:login_code")


def _second_step_user(request: HttpRequest):
    """The user whose password the first step checked, while the step is fresh."""
    step = request.session.get(SECOND_STEP_KEY)
    if not isinstance(step, dict):
        return None, None
    if time.time() - step.get("at", 0) > settings.STAMMGAST_SECOND_STEP_SECONDS:
        del request.session[SECOND_STEP_KEY]
        return None, None
    database = step.get("database")
    if database not in settings.DATABASES:
        return None, None
    with database_scope(database):
        user = get_user_model()._default_manager.filter(pk=step.get("user"), is_active=True).first()
    return user, step


@never_cache
def login_code(request: HttpRequest) -> HttpResponse:
    """The log-in's second step: the authenticator app's code or a recovery code."""
    if request.user.is_authenticated:
        return redirect("portal:dashboard")  # an old tab of a log-in already finished
    had_step = SECOND_STEP_KEY in request.session
    user, step = _second_step_user(request)
    if user is None:
        if had_step:
            messages.info(request, _("Log in again: the code was not entered in time."))
        return redirect("portal:login")
    credentials = {"username": user.get_username()}
    # Wrong codes count with wrong passwords in the log-in throttle (django-axes).
    if AxesProxyHandler.is_locked(request, credentials):
        request.session.pop(SECOND_STEP_KEY, None)
        return locked_out(request)
    form = SecondStepForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                device = two_factor.verify_second_factor(user=user, code=form.cleaned_data["code"])
            except two_factor.SecondFactorRefused as exc:
                form.add_domain_error(exc)
                status = exc.status
                if exc.code == "wrong_code":
                    user_login_failed.send(
                        sender=__name__, credentials=credentials, request=request
                    )
                    if getattr(request, "axes_locked_out", False):
                        request.session.pop(SECOND_STEP_KEY, None)
                        return locked_out(request)
            else:
                del request.session[SECOND_STEP_KEY]
                auth_login(request, user, backend=step["backend"])
                django_otp.login(request, device)
                if two_factor.is_recovery_code(device):
                    left = two_factor.two_factor_status(user=user, tenant=None)
                    messages.warning(
                        request,
                        _(
                            "You logged in with a recovery code, which is now used up;"
                            " %(left)d are left. Make new ones under Two-factor login."
                        )
                        % {"left": left.recovery_codes_left},
                    )
                return redirect(step["next"])
        else:
            status = 422
    return render(request, "portal/login_code.html", {"form": form}, status=status)


def client_ip(request) -> str:
    """The address log-in failures are counted by (see AXES_CLIENT_IP_CALLABLE)."""
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def locked_out(request, response=None, credentials=None):
    """The log-in page (portal or admin) once too many attempts failed: says when to try
    again, never whether the username exists; 429."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = _("Too many failed log-in attempts. Wait %(minutes)d minutes and try again.") % {
        "minutes": minutes
    }
    form = AuthenticationForm(request, data=None)
    return render(
        request,
        "portal/login.html",
        {"form": form, "locked_out": message, "next": request.POST.get("next", "")},
        status=429,
    )


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "portal/password_change.html"
    success_url = reverse_lazy("portal:dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password has been changed."))
        return response

    def get_context_data(self, **kwargs):
        actor = getattr(self.request, "actor", None)
        return {
            **super().get_context_data(**kwargs),
            "actor": actor,
            "role_label": Role(actor.role).label if actor and actor.role else "",
        }


@login_required
def dashboard(request):
    actor = request.actor
    if actor is None:
        return render_page(request, "portal/no_membership.html", status=403)
    figures = selectors.key_figures(actor)
    # Counts as the user's language writes them: German "12.345", English "12,345".
    shown = {
        name: number_format(getattr(figures, name), force_grouping=True)
        for name in ("customers", "new_this_month", "blocked", "newsletter")
    }
    monthly = selectors.new_customers_per_month(actor)
    series = [(label or _("No location"), values) for label, values in monthly.series]
    chart = stacked_bars(monthly.months, series)
    table = [
        (month, [values[i] for _label, values in series]) for i, month in enumerate(monthly.months)
    ]
    # Each card opens the list of the customers it counts.
    list_url = reverse("portal:customers:list")
    first_of_month = timezone.localdate().replace(day=1).isoformat()
    links = {
        "customers": list_url,
        "new_this_month": f"{list_url}?{urlencode({'created_from': first_of_month})}",
        "blocked": f"{list_url}?blocked=true",
        "newsletter": f"{list_url}?newsletter=true",
    }
    return render_page(
        request,
        "portal/dashboard.html",
        {
            "nav": "dashboard",
            "figures": shown,
            "links": links,
            "chart": chart,
            "series": series,
            "table": table,
        },
    )


# --- two-factor login ------------------------------------------------------------------------


def _qr_svg(text: str) -> str:
    """The QR code as inline SVG, drawn here: no image service, no script."""
    code = segno.make(text, error="m")
    return code.svg_inline(
        scale=5, border=4, title=_("QR code for your authenticator app"), svgclass="qr"
    )


def _actor(request: HttpRequest):
    return getattr(request, "actor", None)


def _two_factor_page(request: HttpRequest, *, status: int = 200, **forms) -> HttpResponse:
    actor = _actor(request)
    state = two_factor.two_factor_status(user=request.user, tenant=actor.tenant if actor else None)
    context = {
        "nav": "two_factor",
        "state": state,
        "renew_form": forms.get("renew_form") or RenewRecoveryCodesForm(),
        "disable_form": forms.get("disable_form") or DisableTwoFactorForm(),
        "pending": two_factor.pending_enrolment(user=request.user),
    }
    return render_page(request, "portal/two_factor.html", context, status=status)


@login_required
@never_cache
def two_factor_status(request: HttpRequest) -> HttpResponse:
    return _two_factor_page(request)


def _setup_page(request: HttpRequest, enrolment, form, *, status: int = 200) -> HttpResponse:
    return render_page(
        request,
        "portal/two_factor_setup.html",
        {
            "nav": "two_factor",
            "enrolment": enrolment,
            "qr": mark_safe(_qr_svg(enrolment.config_url)),  # noqa: S308 - segno's own SVG
            "form": form,
        },
        status=status,
    )


def _recovery_codes_page(request: HttpRequest, codes: list[str]) -> HttpResponse:
    response = render_page(
        request, "portal/recovery_codes.html", {"nav": "two_factor", "codes": codes}
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@never_cache
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: QR code and secret, then a code from the app."""
    if request.method == "POST" and "code" in request.POST:
        form = ConfirmEnrolmentForm(request.POST)
        if form.is_valid():
            try:
                device, codes = two_factor.confirm_enrolment(
                    user=request.user, code=form.cleaned_data["code"], actor=_actor(request)
                )
            except DomainError as exc:
                if exc.code == "no_enrolment":
                    messages.error(request, exc.message)
                    return redirect("portal:two_factor")
                form.add_domain_error(exc)
            else:
                # This session has just shown the code: it counts as verified.
                django_otp.login(request, device)
                messages.success(request, _("Two-factor login is on."))
                return _recovery_codes_page(request, codes)
        enrolment = two_factor.pending_enrolment(user=request.user)
        if enrolment is None:
            return redirect("portal:two_factor")
        return _setup_page(request, enrolment, form, status=422)
    if request.method == "POST":
        enrolment = two_factor.start_enrolment(user=request.user)
    else:
        enrolment = two_factor.pending_enrolment(user=request.user)
        if enrolment is None:
            return redirect("portal:two_factor")
    return _setup_page(request, enrolment, ConfirmEnrolmentForm())


@login_required
@require_POST
@never_cache
def two_factor_recovery_codes(request: HttpRequest) -> HttpResponse:
    form = RenewRecoveryCodesForm(request.POST)
    if form.is_valid():
        try:
            codes = two_factor.renew_recovery_codes(
                user=request.user, password=form.cleaned_data["password"], actor=_actor(request)
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("New recovery codes made; the old ones no longer work."))
            return _recovery_codes_page(request, codes)
    return _two_factor_page(request, status=422, renew_form=form)


@login_required
@require_POST
@never_cache
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    form = DisableTwoFactorForm(request.POST)
    if form.is_valid():
        try:
            two_factor.disable_two_factor(
                user=request.user,
                password=form.cleaned_data["password"],
                code=form.cleaned_data["code"],
                actor=_actor(request),
            )
        except DomainError as exc:
            form.add_domain_error(exc)
            return _two_factor_page(request, status=exc.status, disable_form=form)
        messages.success(request, _("Two-factor login is off."))
        return redirect("portal:two_factor")
    return _two_factor_page(request, status=422, disable_form=form)


# --- tenant settings -------------------------------------------------------------------------


def _history_rows(actor) -> list[dict]:
    labels = {"two_factor_required": TenantSettingsForm.base_fields["two_factor_required"].label}
    return [
        {
            "at": event.at,
            "action": event.get_action_display(),
            "subject": labels.get(event.subject, event.subject),
            "who": event.actor_label,
            "where": event.location_code,
            "changes": [change for change in event.changes.values() if isinstance(change, list)],
        }
        for event in two_factor.tenant_history(actor=actor)
    ]


def _settings_denied(request: HttpRequest) -> HttpResponse:
    return render_page(
        request,
        "portal/denied.html",
        {"denied": _("Only a tenant administrator may change the tenant's settings.")},
        status=403,
    )


def _settings_page(request: HttpRequest, form, *, status: int = 200, reset_form=None):
    actor = request.actor
    return render_page(
        request,
        "portal/tenant_settings.html",
        {
            "nav": "settings",
            "form": form,
            "history": _history_rows(actor),
            "staff": two_factor.staff_logins(actor=actor),
            "reset_form": reset_form,
        },
        status=status,
    )


@staff_required
@require_POST
def tenant_settings_reset_two_factor(request: HttpRequest) -> HttpResponse:
    """A tenant administrator turns off a staff member's lost two-factor log-in."""
    actor = request.actor
    if not actor.can("tenant.manage"):
        return _settings_denied(request)
    form = ResetTwoFactorForm(request.POST)
    status = 422
    if form.is_valid():
        username = form.cleaned_data["username"]
        try:
            two_factor.reset_two_factor(
                actor=actor, username=username, password=form.cleaned_data["password"]
            )
        except DomainError as exc:
            form.add_domain_error(exc)
            status = exc.status
        else:
            messages.success(
                request,
                _("Two-factor login of %(name)s is off; their next log-in needs the password.")
                % {"name": username},
            )
            return redirect("portal:tenant_settings")
    settings_form = TenantSettingsForm(
        initial={"two_factor_required": actor.tenant.two_factor_required}
    )
    return _settings_page(request, settings_form, status=status, reset_form=form)


@staff_required
def tenant_settings(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if not actor.can("tenant.manage"):
        return _settings_denied(request)
    form = TenantSettingsForm(
        request.POST or None, initial={"two_factor_required": actor.tenant.two_factor_required}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                two_factor.set_two_factor_required(
                    actor=actor, required=form.cleaned_data["two_factor_required"]
                )
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(request, _("The settings have been saved."))
                return redirect("portal:tenant_settings")
        else:
            status = 422
    return _settings_page(request, form, status=status)
