"""The server's WSGI application: API requests take the short stack, the portal the full one."""

from __future__ import annotations

import io
import json

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from stammgast.core.handlers import StammgastWSGI


def _call(app, path: str, **headers) -> tuple[str, dict[str, str], bytes]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
    }
    got = {}

    def start_response(status, response_headers, exc_info=None):
        got["status"] = status
        got["headers"] = dict(response_headers)

    # As Django's test client does: the test's transaction must outlive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = app(environ, start_response)
        body = b"".join(response)
        getattr(response, "close", lambda: None)()  # WSGI: close if it can be closed
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return got["status"], got["headers"], body


@pytest.fixture
def app():
    return StammgastWSGI()


@pytest.mark.django_db
def test_api_read_through_the_server_application(app, pos_api):
    created = pos_api.post(
        "/api/v1/customers",
        {"first_name": "Erika", "last_name": "Mustermann"},
        content_type="application/json",
    )
    assert created.status_code == 201
    key = pos_api.defaults["HTTP_AUTHORIZATION"]
    status, headers, body = _call(
        app, f"/api/v1/customers/{created.json()['number']}", authorization=key
    )
    assert status.startswith("200")
    assert json.loads(body)["last_name"] == "Mustermann"
    assert headers["X-Content-Type-Options"] == "nosniff"
    # A length, so a till's client can keep its connection open for the next request.
    assert headers["Content-Length"] == str(len(body))
    # No session, CSRF or frame headers: the portal's middleware did not run.
    assert "Set-Cookie" not in headers
    assert "X-Frame-Options" not in headers


@pytest.mark.django_db
def test_api_without_key_is_refused_in_the_callers_language(app):
    status, _headers, body = _call(
        app, "/api/v1/customers/1", accept_language="en", authorization="Bearer wrong"
    )
    assert status.startswith("401")
    assert json.loads(body)["code"] == "unauthorized"
    assert "API key" in json.loads(body)["message"]


@pytest.mark.django_db
def test_portal_keeps_its_full_stack(app):
    status, headers, _body = _call(app, "/customers/")
    # Not logged in: to the login page, with the portal's clickjacking protection.
    assert status.startswith("302")
    assert "/login" in headers["Location"]
    assert headers["X-Frame-Options"] == "DENY"
