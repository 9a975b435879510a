"""Portal pages of pricing: subsidy rules, the price levels of customer groups, and the
customer record's "Prices" register.

Every member of the tenant's staff sees the rules and levels; only a role with
"pricing.manage" (tenant administrators) may change them: the others get a 403 page.
Views are thin: a form's values go to one service, its DomainError back to the fields.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from stammgast.core.errors import DomainError, NotFound
from stammgast.customers.registers import Register, add_register
from stammgast.tenants.pages import render_page, staff_required

from . import selectors, services
from .forms import WEEKDAYS, GroupLevelsForm, SubsidyRuleForm
from .models import GroupPricing, PricingEvent, SubsidyKind, SubsidyRule

WEEKDAY_NAMES = dict(WEEKDAYS)


def _status(exc: DomainError) -> int:
    return exc.status if exc.status in (403, 409, 422) else 400


def _denied(request: HttpRequest) -> HttpResponse:
    return render_page(
        request,
        "pricing/denied.html",
        {"nav": "pricing", "denied": _("Your role may not change prices and subsidies.")},
        status=403,
    )


def _can_manage(request: HttpRequest) -> bool:
    return request.actor.can(services.MANAGE)


def weekday_names(days: list[int]) -> str:
    if sorted(days) == list(range(7)):
        return _("every day")
    return ", ".join(str(WEEKDAY_NAMES[str(d)])[:2] for d in days)


def _field_label(field: str) -> str:
    for model in (SubsidyRule, GroupPricing):
        try:
            return capfirst(model._meta.get_field(field).verbose_name)
        except FieldDoesNotExist:
            continue
    return field


def _shown(field: str, value: Any) -> str:
    """A value of the pricing history as a person reads it."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if field == "weekdays" and isinstance(value, list):
        return weekday_names([d for d in value if isinstance(d, int) and 0 <= d <= 6])
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if field == "kind" and value in SubsidyKind.values:
        return str(SubsidyKind(value).label)
    return str(value)


def history_rows(events: list[PricingEvent]) -> list[dict]:
    return [
        {
            "at": e.at,
            "action": e.get_action_display(),
            "subject": e.subject,
            "who": e.actor_label,
            "where": e.location_code,
            "changes": [
                {"field": _field_label(f), "old": _shown(f, old), "new": _shown(f, new)}
                for f, (old, new) in e.changes.items()
            ],
        }
        for e in events
    ]


@staff_required
def overview(request: HttpRequest) -> HttpResponse:
    rules = selectors.subsidy_rules()
    for rule in rules:
        rule.weekday_names = weekday_names(rule.weekdays)
    return render_page(
        request,
        "pricing/overview.html",
        {
            "nav": "pricing",
            "rules": rules,
            "levels": selectors.group_levels(),
            "default_level": request.actor.tenant.default_price_level,
            "history": history_rows(selectors.pricing_history(limit=20)),
            "can_manage": _can_manage(request),
        },
    )


@staff_required
def group_levels(request: HttpRequest) -> HttpResponse:
    if not _can_manage(request):
        return _denied(request)
    groups = selectors.group_levels()
    form = GroupLevelsForm(request.POST or None, groups=groups)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.set_group_price_levels(actor=request.actor, levels=form.to_levels())
            except DomainError as exc:
                form.add_domain_error(exc)
                status = _status(exc)
            else:
                messages.success(request, _("The price levels have been saved."))
                return redirect("pricing:overview")
        else:
            status = 422
    return render_page(
        request,
        "pricing/levels.html",
        {
            "nav": "pricing",
            "form": form,
            "default_level": request.actor.tenant.default_price_level,
        },
        status=status,
    )


def _rule_page(request: HttpRequest, form: SubsidyRuleForm, rule, status: int) -> HttpResponse:
    return render_page(
        request, "pricing/rule.html", {"nav": "pricing", "form": form, "rule": rule}, status=status
    )


@staff_required
def rule_create(request: HttpRequest) -> HttpResponse:
    if not _can_manage(request):
        return _denied(request)
    form = SubsidyRuleForm(request.POST or None, groups=selectors.group_levels())
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rule = services.create_subsidy_rule(
                    actor=request.actor,
                    data=form.to_data(),
                    idempotency_key=form.cleaned_data["idempotency_key"] or None,
                )
            except DomainError as exc:
                form.add_domain_error(exc)
                status = _status(exc)
            else:
                messages.success(
                    request, _("The subsidy rule %(name)s has been created.") % {"name": rule.name}
                )
                return redirect("pricing:overview")
        else:
            status = 422
    return _rule_page(request, form, None, status)


def _rule_or_404(rule_id: int):
    try:
        return selectors.get_subsidy_rule(rule_id=rule_id)
    except NotFound as exc:
        raise Http404(exc.message) from None


@staff_required
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    if not _can_manage(request):
        return _denied(request)
    rule = _rule_or_404(rule_id)
    groups = selectors.group_levels()
    form = SubsidyRuleForm(request.POST or None, groups=groups, rule=rule)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.update_subsidy_rule(
                    actor=request.actor, rule_id=rule.pk, data=form.to_data()
                )
            except NotFound as exc:
                raise Http404(exc.message) from None
            except DomainError as exc:
                form.add_domain_error(exc)
                status = _status(exc)
            else:
                messages.success(request, _("The subsidy rule has been saved."))
                return redirect("pricing:overview")
        else:
            status = 422
    return _rule_page(request, form, rule, status)


@require_POST
@staff_required
def rule_stop(request: HttpRequest, rule_id: int) -> HttpResponse:
    if not _can_manage(request):
        return _denied(request)
    try:
        rule = services.deactivate_subsidy_rule(actor=request.actor, rule_id=rule_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("The subsidy rule %(name)s no longer applies.") % {"name": rule.name}
        )
    return redirect("pricing:overview")


# --- the customer record's register ------------------------------------------------------

SOURCES = {
    selectors.LevelSource.CUSTOMER: gettext_lazy("the customer's own price level"),
    selectors.LevelSource.GROUP: gettext_lazy(
        "the customer's groups: per item the lowest price among their levels"
    ),
    selectors.LevelSource.DEFAULT: gettext_lazy("the tenant's default"),
}


def pricing_register(request: HttpRequest, customer) -> dict:
    found = selectors.customer_pricing(actor=request.actor, customer=customer, at=timezone.now())
    return {
        "pricing": found,
        "level_source": SOURCES.get(found.price_level_source, ""),
        "levels": ", ".join(map(str, found.price_levels)),
    }


def add_pricing_register() -> None:
    add_register(
        Register(
            "pricing",
            gettext_lazy("Prices and subsidies"),
            "pricing/register.html",
            48,
            context=pricing_register,
            group="money",
        )
    )
