"""Security headers on every answer, and the production settings behind TLS."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.test import Client

from stammgast.tenants import services as tenant_services


def _checked(response) -> None:
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_portal_pages_and_api_answers_carry_the_security_headers(tenant, pos_api, client):
    _checked(client.get("/login/"))
    user = tenant_services.create_staff_user(
        tenant=tenant, username="chefin", password="Kellner-Passwort-42", role="tenant_admin"
    )
    staff = Client()
    staff.force_login(user)
    _checked(staff.get("/customers/"))
    _checked(pos_api.get("/api/v1/customers"))
    _checked(pos_api.get("/api/v1/customers/4711"))  # a JSON 404
    _checked(pos_api.get("/api/v1/nothing"))


def _settings_with(env: dict) -> dict:
    code = (
        "import json, django\ndjango.setup()\nfrom django.conf import settings as s\n"
        "print(json.dumps({k: getattr(s, k, None) for k in ('SESSION_COOKIE_SECURE', "
        "'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', 'SECURE_SSL_REDIRECT', "
        "'SECURE_PROXY_SSL_HEADER', 'PUBLIC_API_DOCS')}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "stammgast.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_stammgast_https_turns_on_hsts_secure_cookies_and_the_proxy_header():
    plain = _settings_with({"STAMMGAST_HTTPS": ""})
    assert not plain["SESSION_COOKIE_SECURE"] and not plain["SECURE_HSTS_SECONDS"]
    tls = _settings_with({"STAMMGAST_HTTPS": "1"})
    assert tls["SESSION_COOKIE_SECURE"] and tls["CSRF_COOKIE_SECURE"] and tls["SECURE_SSL_REDIRECT"]
    assert tls["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert tls["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_behind_tls_the_session_cookie_is_secure_and_hsts_is_sent(tenant, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    tenant_services.create_staff_user(
        tenant=tenant, username="chefin", password="Kellner-Passwort-42", role="tenant_admin"
    )
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    page = client.get("/login/")
    assert page["Strict-Transport-Security"].startswith("max-age=31536000")
    assert client.cookies["csrftoken"]["secure"]
    client.post("/login/", {"username": "chefin", "password": "Kellner-Passwort-42"})
    assert client.cookies["sessionid"]["secure"]


def test_the_policy_follows_a_changed_setting_and_a_view_may_still_change_it(tenant, settings):
    from csp.decorators import csp_update
    from django.http import HttpResponse
    from django.test import RequestFactory

    from stammgast.core.middleware import ContentSecurityPolicy

    middleware = ContentSecurityPolicy(lambda request: HttpResponse("ok"))
    before = middleware(RequestFactory().get("/login/"))["Content-Security-Policy"]
    assert "default-src 'self'" in before and "example.org" not in before

    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {"default-src": ["'self'"], "img-src": ["'self'", "https://example.org"]}
    }
    changed = middleware(RequestFactory().get("/login/"))["Content-Security-Policy"]
    # Directives may come in any order; a browser reads them as a set.
    assert set(changed.split("; ")) == {"default-src 'self'", "img-src 'self' https://example.org"}

    @csp_update({"img-src": "https://cdn.example.org"})
    def view(request):
        return HttpResponse("ok")

    widened = ContentSecurityPolicy(view)(RequestFactory().get("/login/"))
    assert "https://cdn.example.org" in widened["Content-Security-Policy"]
    # The next ordinary answer has the settings' policy again.
    again = middleware(RequestFactory().get("/login/"))["Content-Security-Policy"]
    assert set(again.split("; ")) == set(changed.split("; "))
