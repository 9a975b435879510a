"""schemathesis over the whole OpenAPI schema, with a key of every scope: no answer is a
5xx, every answer has a documented status, content type and shape.

Bounded for the suite (STAMMGAST_FUZZ_EXAMPLES examples per operation, default 8);
`make fuzz` runs a longer round.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stammgast.customers import services as customer_services
from stammgast.tenants import services as tenant_services

EXAMPLES = int(os.environ.get("STAMMGAST_FUZZ_EXAMPLES", "8"))
SCOPES = ("pos", "webshop", "thirdparty", "readonly", "exchange")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class _InTestTransaction:
    """The WSGI application, called as Django's test client calls it: the test's database
    connection (and its transaction) outlives the request."""

    def __init__(self) -> None:
        self.app = get_wsgi_application()
        self.statuses: Counter[int] = Counter()
        self.operations: set[str] = set()

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:

            def counted(status, headers, exc_info=None):
                self.statuses[int(status.split()[0])] += 1
                return start_response(status, headers, exc_info)

            response = self.app(environ, counted)
            try:
                return [b"".join(response)]
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


def _schema():
    from stammgast.api import api

    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema())
    loaded.app = _InTestTransaction()
    return loaded


@pytest.fixture(autouse=True)
def customers(admin_actor, tmp_path, settings):
    """Something to find: customers 1-3; files of jobs in a folder of the test's own."""
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    for name in ("Müller", "Schulz", "Weiß"):
        customer_services.create_customer(actor=admin_actor, data={"last_name": name})


@pytest.fixture
def keys(tenant):
    return {
        scope: tenant_services.create_api_key(tenant=tenant, name=f"Fuzz {scope}", scopes=[scope])[
            1
        ]
        for scope in SCOPES
    }


schema = _schema()


@pytest.fixture(autouse=True, scope="module")
def _figures():
    """The run's figures (shown with `pytest -s`, as `make fuzz` runs it)."""
    yield
    app = schema.app
    print(
        f"\nfuzz: {len(app.operations)} operations, {app.statuses.total():,} requests, "
        f"{sum(n for s, n in app.statuses.items() if s >= 500)} answers 5xx; by status: "
        + ", ".join(f"{s}: {n:,}" for s, n in sorted(app.statuses.items()))
    )


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_makes_the_api_answer_a_5xx_or_off_its_schema(case, keys):
    schema.app.operations.add(case.operation.label)
    for scope in SCOPES:
        case.call_and_validate(headers={"Authorization": f"Bearer {keys[scope]}"}, checks=CHECKS)
