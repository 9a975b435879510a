"""Activates the tenant of the logged-in staff user for the request, and always resets it."""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth

from stammgast.core import tenancy

from .backends import SESSION_DATABASE_KEY, moved_database


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = tenancy.activate(None)
        request.actor = None
        try:
            # The API authenticates by key inside its own auth hook; the portal by session.
            if not request.path.startswith("/api/"):
                # The session's user lives on the cluster the log-in found it on.
                alias = request.session.get(SESSION_DATABASE_KEY)
                if alias in settings.DATABASES:
                    tenancy.activate_database(alias)
                user = request.user
                if not user.is_authenticated and (moved := moved_database(request.session)):
                    # The user's tenant moved to another cluster: the user is there now.
                    request.session[SESSION_DATABASE_KEY] = moved
                    tenancy.activate_database(moved)
                    user = request.user = auth.get_user(request)
                if user.is_authenticated:
                    from .services import staff_actor

                    actor = staff_actor(user)
                    if actor is not None:
                        request.actor = actor
                        tenancy.activate(actor.tenant)
            return self.get_response(request)
        finally:
            tenancy.deactivate(token)
