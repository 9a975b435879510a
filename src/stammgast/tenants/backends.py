"""Staff log-in on the cluster where the user lives (the tenant directory says which)."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from stammgast.core.tenancy import database_scope

from .directory import database_for_username

# The session remembers the cluster of its user, so the next request reads the user there.
SESSION_DATABASE_KEY = "stammgast_database"
# ... and the username, to find the user again after their tenant moved to another cluster.
SESSION_USERNAME_KEY = "stammgast_username"


class PlacedModelBackend(ModelBackend):
    """Django's username and password check, run on the user's home cluster."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            return None
        with database_scope(database_for_username(username)):
            return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_logged_in)
def remember_database(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_DATABASE_KEY] = user._state.db
        request.session[SESSION_USERNAME_KEY] = user.get_username()


def moved_database(session) -> str | None:
    """Where the session's user lives now, if the directory says another cluster."""
    username = session.get(SESSION_USERNAME_KEY)
    if not username or SESSION_DATABASE_KEY not in session:
        return None
    home = database_for_username(username)
    return home if home != session[SESSION_DATABASE_KEY] else None
