"""Keeps a logged-in session without the second factor it needs away from every page but the
two-factor ones."""

from __future__ import annotations

from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from stammgast.core.http import error_body, json_response
from stammgast.tenants import two_factor

# What a session may open while it still owes its second factor: setting it up, leaving,
# the language.
OPEN_VIEWS = frozenset(
    {
        "portal:two_factor",
        "portal:two_factor_setup",
        "portal:logout",
        "portal:login",
        "portal:login_code",
        "set_language",
    }
)


class TwoFactorGate:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        is_api = request.path.startswith("/api/")
        if is_api and "Authorization" in request.headers:
            return None  # an API key, not a session, says who calls
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_VIEWS:
            return None
        user = request.user
        if not user.is_authenticated:
            return None
        verified = getattr(user, "is_verified", None)
        if verified is not None and verified():
            return None
        if two_factor.has_second_factor(user):
            # Logged in by password alone (before two-factor login was set up in another
            # session, or through the admin's log-in): the code first.
            logout(request)
            if is_api:
                return json_response(
                    401, error_body("unauthorized", _("Log in, or send a valid API key."))
                )
            return redirect_to_login(request.get_full_path())
        # The portal's requests know the actor already; the API's docs ask the user's tenant.
        actor = getattr(request, "actor", None)
        required = (
            two_factor.required_for(user)
            if is_api
            else actor is not None and actor.tenant.two_factor_required
        )
        if required:
            message = _("Your tenant requires two-factor login. Set it up to continue.")
            if is_api:
                return json_response(403, error_body("two_factor_required", message))
            return redirect("portal:two_factor")
        return None
