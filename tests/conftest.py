"""Shared fixtures: tenants, actors, API clients; the suite runs on SQLite and PostgreSQL."""

from __future__ import annotations

import os

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.http import HttpResponse
from django.test import Client
from django.test.client import ClientHandler

from stammgast.core.handlers import API_PREFIX, ApiMiddlewareMixin
from stammgast.core.tenancy import tenant_scope
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor


@pytest.fixture(autouse=True, scope="session")
def _expected_database(django_db_setup, django_db_blocker):
    """CI asks for a PostgreSQL run; make sure it is not silently SQLite."""
    expected = os.environ.get("STAMMGAST_EXPECT_DB")
    if expected:
        with django_db_blocker.unblock():
            assert connection.vendor == expected, (
                f"expected the {expected} database, got {connection.vendor}"
            )


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    from stammgast.api import forget_cached_keys

    forget_cached_keys()
    yield
    forget_cached_keys()


@pytest.fixture
def tenant(db):
    return tenant_services.create_tenant(slug="gasthaus", name="Gasthaus Adler")


@pytest.fixture
def other_tenant(db):
    return tenant_services.create_tenant(slug="konkurrenz", name="Konkurrenz GmbH")


@pytest.fixture
def location(tenant):
    return tenant_services.create_location(
        tenant=tenant, code="mitte", name="Mitte", numbers=(100000, 100999)
    )


@pytest.fixture
def location_b(tenant):
    return tenant_services.create_location(tenant=tenant, code="hafen", name="Hafen")


@pytest.fixture
def admin_actor(tenant):
    with tenant_scope(tenant):
        yield Actor.system(tenant)


class ApiClientHandler(ApiMiddlewareMixin, ClientHandler):
    """The test client's handler with the API's middleware stack."""


class RoutingClientHandler:
    """Routes like the server's application: the tills' hot reads answered directly where
    they can be, the rest of /api/ to the API's stack, everything else to the full one."""

    def __init__(self):
        self.portal = ClientHandler(enforce_csrf_checks=False)
        self.api = ApiClientHandler(enforce_csrf_checks=False)

    def __call__(self, environ):
        if not environ["PATH_INFO"].startswith(API_PREFIX):
            return self.portal(environ)
        response = answer_directly(environ)
        return response if response is not None else self.api(environ)


def answer_directly(environ) -> HttpResponse | None:
    """The direct answer (core/direct.py) as a test client's response, or None.

    As Django's test handler does, the test's transaction outlives the request: the
    signal handler that closes old connections is held off meanwhile.
    """
    from stammgast.api import direct_reads

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        answered = direct_reads.answer(environ)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    if answered is None:
        return None
    status, headers, body = answered
    response = HttpResponse(body, status=int(status.split()[0]))
    for name, value in headers:
        response[name] = value
    response.wsgi_request = WSGIRequest(environ)
    response.direct_headers = headers  # as sent, before HttpResponse merges names
    return response


class ApiClientFor(Client):
    """A test client that sends one API key on every request, routed as the server routes."""

    def __init__(self, key: str, **kwargs):
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {key}", **kwargs)
        self.handler = RoutingClientHandler()


@pytest.fixture
def make_api():
    def make(tenant, scopes=("pos",), location=None, name="Kasse 1"):
        _client, key = tenant_services.create_api_key(
            tenant=tenant, name=name, scopes=list(scopes), location=location
        )
        return ApiClientFor(key)

    return make


@pytest.fixture
def pos_api(tenant, make_api):
    return make_api(tenant, ("pos",))


@pytest.fixture
def other_api(other_tenant, make_api):
    return make_api(other_tenant, ("pos", "thirdparty"))
