"""The portal page where a tenant administrator sets up the guest area."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError
from stammgast.tenants.pages import render_page, staff_required

from . import selectors, services
from .fields import FIELD_NAMES, field_uses
from .forms import AreaSettingsForm


@staff_required
def area_settings(request: HttpRequest) -> HttpResponse:
    request.actor.require("tenant.manage", _("Only a tenant administrator may change this."))
    current = selectors.settings_for(request.actor.tenant)
    uses = field_uses(current.fields)
    initial = {"enabled": current.enabled, "colour": current.colour}
    form = AreaSettingsForm(request.POST or None, request.FILES or None, uses=uses, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.configure_self_service(
                actor=request.actor,
                enabled=data["enabled"],
                colour=data["colour"],
                fields={name: data[f"use_{name}"] for name in FIELD_NAMES},
                logo=data.get("logo"),
                remove_logo=data["remove_logo"],
            )
        except DomainError as exc:
            for field, errors in exc.fields.items():
                key = field if field in form.fields else f"use_{field}"
                for error in errors:
                    form.add_error(key if key in form.fields else None, error)
        else:
            messages.success(request, _("The guest area's settings are saved."))
            return redirect("selfservice_admin:settings")
    return render_page(
        request,
        "selfservice/area_settings.html",
        {
            "nav": "privacy",
            "form": form,
            "area": current,
            "address": request.build_absolute_uri(f"/me/{request.actor.tenant.slug}/"),
        },
    )
