"""Portal forms of the shell: the login form that refuses after repeated failures."""

from __future__ import annotations

import hashlib

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

MAX_FAILED_LOGINS = 5
LOCKOUT_SECONDS = 15 * 60


def _throttle_key(username: str, ip: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}|{ip}".encode()).hexdigest()
    return f"portal:login-failures:{digest}"


def client_ip(request) -> str:
    # REMOTE_ADDR only: a forwarded-for header is set by the client and cannot be trusted
    # unless a known proxy sets it (then configure the proxy to set REMOTE_ADDR).
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing a username from one address after 5 failures."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": _(
            "Too many failed log-in attempts for this user. Wait %(minutes)d minutes and try again."
        ),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        key = _throttle_key(username, client_ip(self.request))
        if cache.get(key, 0) >= MAX_FAILED_LOGINS:
            raise forms.ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": LOCKOUT_SECONDS // 60},
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if cache.add(key, 1, LOCKOUT_SECONDS) is False:
                try:
                    cache.incr(key)
                except ValueError:
                    cache.set(key, 1, LOCKOUT_SECONDS)
            raise
        cache.delete(key)
        return cleaned
