"""Shared fixtures: tenants, actors, API clients; the suite runs on SQLite and PostgreSQL."""

from __future__ import annotations

import os

import pytest
from django.db import connection
from django.test import Client

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
def _access_log_at_once(settings):
    # A test reads the log right after its requests, inside its own transaction: the rows
    # are written as each response closes (the writer thread has a test of its own).
    settings.STAMMGAST_ACCESS_LOG_DELAY = 0


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    from stammgast.tenants.keys import forget_cached_keys

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


class ApiClientFor(Client):
    """A test client that sends one API key on every request."""

    def __init__(self, key: str, **kwargs):
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {key}", **kwargs)


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


class _Mailbox:
    """What a real SMTP server on localhost received: email.message objects, in order."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        import email
        from email import policy

        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        import time

        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"{len(self.messages)} of {count} mails arrived"
        return self.messages


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on a free local port, with Django sending to it."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        yield mailbox
    finally:
        controller.stop()
