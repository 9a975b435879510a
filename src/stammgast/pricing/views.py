"""Portal pages of pricing: subsidy rules and the price levels of customer groups."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from stammgast.core.errors import DomainError
from stammgast.tenants.pages import render_page, staff_required

from . import selectors, services
from .models import SubsidyKind

WEEKDAYS = list(
    enumerate(
        [
            gettext_lazy("Mon"),
            gettext_lazy("Tue"),
            gettext_lazy("Wed"),
            gettext_lazy("Thu"),
            gettext_lazy("Fri"),
            gettext_lazy("Sat"),
            gettext_lazy("Sun"),
        ]
    )
)


def _refused(request: HttpRequest, exc: DomainError) -> None:
    details = [f"{k}: {m}" for k, ms in exc.fields.items() for m in ms]
    messages.error(request, " ".join([exc.message, *details]))


@staff_required
def overview(request: HttpRequest) -> HttpResponse:
    return render_page(
        request,
        "pricing/overview.html",
        {
            "nav": "pricing",
            "rules": selectors.subsidy_rules(),
            "levels": selectors.group_levels(),
            "can_manage": request.actor.can("pricing.manage"),
            "kinds": SubsidyKind.choices,
            "weekdays": WEEKDAYS,
        },
    )


@require_POST
@staff_required
def set_level(request: HttpRequest) -> HttpResponse:
    raw = (request.POST.get("price_level") or "").strip()
    try:
        level = int(raw) if raw else None
    except ValueError:
        level = -1
    try:
        services.set_group_price_level(
            actor=request.actor, group_name=request.POST.get("group", ""), price_level=level
        )
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("The price level has been saved."))
    return redirect("pricing:overview")


@require_POST
@staff_required
def create_rule(request: HttpRequest) -> HttpResponse:
    post = request.POST
    kind = post.get("kind", "")
    value: object = post.get("value", "").strip()
    if kind == SubsidyKind.PERCENT and str(value).isdigit():
        value = int(str(value))
    data = {
        "name": post.get("name", ""),
        "group": post.get("group", ""),
        "categories": [c.strip() for c in post.get("categories", "").split(",") if c.strip()],
        "kind": kind,
        "value": value,
        "times_per_day": int(post["times_per_day"])
        if post.get("times_per_day", "").isdigit()
        else 1,
        "weekdays": [int(d) for d in post.getlist("weekdays") if d.isdigit()],
        "valid_from": post.get("valid_from") or None,
        "valid_to": post.get("valid_to") or None,
        "monthly_cap": post.get("monthly_cap") or None,
    }
    try:
        services.create_subsidy_rule(actor=request.actor, data=data)
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("The subsidy rule has been created."))
    return redirect("pricing:overview")


@require_POST
@staff_required
def deactivate_rule(request: HttpRequest, rule_id: int) -> HttpResponse:
    try:
        services.deactivate_subsidy_rule(actor=request.actor, rule_id=rule_id)
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("The subsidy rule no longer applies."))
    return redirect("pricing:overview")
