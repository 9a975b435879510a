"""Portal pages of the shell: log-in, password change, dashboard."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from stammgast.tenants.models import Role
from stammgast.tenants.pages import render_page

from . import selectors
from .charts import stacked_bars


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True


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
