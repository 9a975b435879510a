"""Portal pages of the shell: log-in, password change, dashboard."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from stammgast.tenants.models import Role
from stammgast.tenants.pages import render_page

from . import selectors
from .charts import stacked_bars
from .forms import ThrottledAuthenticationForm


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True


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
    monthly = selectors.new_customers_per_month(actor)
    series = [(label or _("No location"), values) for label, values in monthly.series]
    chart = stacked_bars(monthly.months, series)
    table = [
        (month, [values[i] for _label, values in series]) for i, month in enumerate(monthly.months)
    ]
    return render_page(
        request,
        "portal/dashboard.html",
        {"nav": "dashboard", "figures": figures, "chart": chart, "series": series, "table": table},
    )
