"""What every staff page needs: the acting staff member, and a render with the shell."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from stammgast.core.errors import PermissionDenied

from .models import Role


def render_page(
    request: HttpRequest, template: str, context: dict | None = None, *, status: int = 200
) -> HttpResponse:
    """Render a portal page with what the shell shows (tenant, location, role)."""
    actor = getattr(request, "actor", None)
    ctx = {
        "actor": actor,
        "role_label": Role(actor.role).label if actor and actor.role else "",
        "nav_can_import": bool(actor and actor.can("customers.import")),
        "nav_can_manage_tenant": bool(actor and actor.can("tenant.manage")),
    }
    ctx.update(context or {})
    return render(request, template, ctx, status=status)


def staff_required(view):
    """Logged in and a member of a tenant; otherwise say clearly why nothing is shown."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if getattr(request, "actor", None) is None:
            return render_page(request, "portal/no_membership.html", status=403)
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            # A page the role may not open says so, as the services worded it.
            return render_page(request, "portal/denied.html", {"denied": exc.message}, status=403)

    return wrapper
