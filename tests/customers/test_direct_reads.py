"""The tills' hot reads answered directly (core/direct.py) answer exactly as the full stack.

Each request below is sent twice: to the direct path and to the API's full handler. Where
the direct path answers, status, headers and body must be the same; everything it does
not answer (refusals, other tenants, conditional requests, ...) must fall through.
"""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test import override_settings

from stammgast.api import direct_reads
from stammgast.customers import services
from stammgast.tenants import services as tenant_services

from ..conftest import ApiClientFor, answer_directly

NUMBER = 4711


@pytest.fixture
def guest(admin_actor, location, make_customer):
    from stammgast.customers.models import CustomerGroup, Tag

    CustomerGroup.objects.create(name="Stammgäste")
    CustomerGroup.objects.create(name="VIP")
    Tag.objects.create(name="vegan")
    return make_customer(
        number=NUMBER,
        first_name="Jürgen",
        last_name="Weiß",
        company_name="Bäckerei Weiß & Söhne",
        kind="business",
        email="juergen@example.de",
        mobile="0151 23456789",
        phone_private="030 1234567",
        date_of_birth="1970-02-28",
        groups=["VIP", "Stammgäste"],
        tags=["vegan"],
        memo="Mag den Tisch am Fenster 🪟",
        blocked=True,
        lock_text="Rechnung offen",
    )


@pytest.fixture
def key(tenant):
    _client, key = tenant_services.create_api_key(tenant=tenant, name="Kasse", scopes=["pos"])
    return key


def _environ(client: ApiClientFor, path: str, **extra) -> dict:
    query = ""
    if "?" in path:
        path, query = path.split("?", 1)
    # WSGI hands the path over as bytes read as Latin-1.
    wsgi_path = path.encode().decode("latin-1")
    request = client._base_environ(PATH_INFO=wsgi_path, QUERY_STRING=query, REQUEST_METHOD="GET")
    request.update(extra)
    return request


def _both(key: str, path: str, **extra):
    """(direct answer or None, full stack's answer) of the same request."""
    client = ApiClientFor(key)
    direct = answer_directly(_environ(client, path, **extra))
    full = client.handler.api(_environ(client, path, **extra))
    return direct, full


def _same(direct, full) -> None:
    assert direct is not None, "the direct path should have answered"
    assert direct.status_code == full.status_code == 200
    assert direct.content == full.content
    sent = direct.direct_headers
    assert len({name.lower() for name, _value in sent}) == len(sent), sent
    assert dict(sent) == dict(full.items())


READS = [
    f"/api/v1/customers/{NUMBER}",
    f"/api/v1/customers/00{NUMBER}",
    "/api/v1/customers/lookup?phone=%2B4915123456789",
    "/api/v1/customers/lookup?phone=0151%2023456789",
    "/api/v1/customers/lookup?phone=%2B4930123456",  # nobody: an empty list, a 200
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("language", ["de", "en-GB,en;q=0.8", "fr", ""])
def test_direct_answer_is_the_full_stacks(guest, key, path, language):
    direct, full = _both(key, path, HTTP_ACCEPT_LANGUAGE=language)
    _same(direct, full)


@pytest.mark.django_db
def test_direct_record_shows_what_a_till_needs(guest, key):
    direct, _full = _both(key, f"/api/v1/customers/{NUMBER}")
    record = json.loads(direct.content)
    assert record["blocked"] is True and record["lock_text"] == "Rechnung offen"
    assert record["groups"] == ["Stammgäste", "VIP"]
    assert record["tags"] == ["vegan"]
    assert direct["ETag"] == f'"{NUMBER}-1"'
    found = json.loads(_both(key, "/api/v1/customers/lookup?phone=0151-234%2056789")[0].content)
    assert [c["number"] for c in found] == [NUMBER]


@pytest.mark.django_db
def test_language_cookie_decides_like_the_middleware(guest, key):
    direct, full = _both(key, f"/api/v1/customers/{NUMBER}", HTTP_COOKIE="django_language=en")
    _same(direct, full)
    assert direct["Content-Language"] == "en"


@pytest.mark.django_db
@override_settings(
    SECURE_HSTS_SECONDS=3600,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SECURE_REFERRER_POLICY="no-referrer, strict-origin",
    SECURE_CROSS_ORIGIN_OPENER_POLICY="same-origin-allow-popups",
)
@pytest.mark.parametrize("scheme", ["https", "http"])
def test_security_headers_follow_the_settings(guest, key, scheme):
    direct, full = _both(key, f"/api/v1/customers/{NUMBER}", **{"wsgi.url_scheme": scheme})
    _same(direct, full)
    assert ("Strict-Transport-Security" in direct) == (scheme == "https")


FALLS_THROUGH = [
    # (path, extra environ, status of the full stack)
    (f"/api/v1/customers/{NUMBER}", {"HTTP_AUTHORIZATION": ""}, 401),
    (f"/api/v1/customers/{NUMBER}", {"HTTP_AUTHORIZATION": "Bearer sg_nothing_here"}, 401),
    (f"/api/v1/customers/{NUMBER}", {"HTTP_AUTHORIZATION": "Basic YWRtaW46YWRtaW4="}, 401),
    ("/api/v1/customers/4712", {}, 404),
    ("/api/v1/customers/99999999999999999999", {}, 404),
    (f"/api/v1/customers/{NUMBER}", {"HTTP_IF_NONE_MATCH": f'"{NUMBER}-1"'}, 304),
    (f"/api/v1/customers/{NUMBER}", {"REQUEST_METHOD": "HEAD"}, 405),
    (f"/api/v1/customers/{NUMBER}?fields=all", {}, 200),
    (f"/api/v1/customers/{NUMBER}/", {}, 404),
    ("/api/v1/customers/٤٧١١", {}, 404),  # Arabic-Indic digits are no customer number
    ("/api/v1/customers/lookup?phone=abc", {}, 400),
    ("/api/v1/customers/lookup?phone=", {}, 400),
    ("/api/v1/customers/lookup?phone=%2B4915123456789&email=x%40y.de", {}, 400),
    ("/api/v1/customers/lookup?phone=%2B4915123456789&phone=%2B4930123456", {}, 200),
    ("/api/v1/customers/lookup?email=juergen%40example.de", {}, 200),
    (f"/api/v1/customers/{NUMBER}", {"HTTP_HOST": "evil.example"}, 400),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "extra", "status"), FALLS_THROUGH)
def test_everything_else_takes_the_full_stack(guest, key, path, extra, status):
    direct, full = _both(key, path, **extra)
    assert direct is None
    assert full.status_code == status


@pytest.mark.django_db
def test_another_tenants_key_gets_the_full_stacks_404(guest, other_tenant):
    _c, other_key = tenant_services.create_api_key(tenant=other_tenant, name="K", scopes=["pos"])
    direct, full = _both(other_key, f"/api/v1/customers/{NUMBER}")
    assert direct is None and full.status_code == 404
    direct, full = _both(other_key, "/api/v1/customers/lookup?phone=%2B4915123456789")
    assert json.loads(direct.content) == json.loads(full.content) == []


@pytest.mark.django_db
def test_location_bound_till_reads_only_what_its_location_may_serve(
    tenant, guest, location, location_b, admin_actor
):
    services.update_customer(
        actor=admin_actor, number=NUMBER, data={"allowed_locations": ["hafen"]}
    )
    _c, at_mitte = tenant_services.create_api_key(
        tenant=tenant, name="Mitte", scopes=["pos"], location=location
    )
    _c, at_hafen = tenant_services.create_api_key(
        tenant=tenant, name="Hafen", scopes=["pos"], location=location_b
    )
    direct, full = _both(at_mitte, f"/api/v1/customers/{NUMBER}")
    assert direct is None and full.status_code == 404
    direct, full = _both(at_mitte, "/api/v1/customers/lookup?phone=%2B4915123456789")
    _same(direct, full)
    assert json.loads(direct.content) == []
    direct, full = _both(at_hafen, f"/api/v1/customers/{NUMBER}")
    _same(direct, full)
    assert json.loads(direct.content)["allowed_locations"] == ["hafen"]


@pytest.mark.django_db
def test_a_revoked_key_is_refused_at_once_in_this_process(
    guest, tenant, django_capture_on_commit_callbacks
):
    client, key = tenant_services.create_api_key(tenant=tenant, name="Alt", scopes=["pos"])
    assert _both(key, f"/api/v1/customers/{NUMBER}")[0] is not None
    with django_capture_on_commit_callbacks(execute=True):
        tenant_services.revoke_api_key(client=client)
    direct, full = _both(key, f"/api/v1/customers/{NUMBER}")
    assert direct is None and full.status_code == 401


@pytest.mark.django_db
def test_a_changed_customer_is_read_fresh(guest, key, admin_actor):
    first, _ = _both(key, f"/api/v1/customers/{NUMBER}")
    services.update_customer(actor=admin_actor, number=NUMBER, data={"city": "Köln"})
    second, full = _both(key, f"/api/v1/customers/{NUMBER}")
    _same(second, full)
    assert second["ETag"] == f'"{NUMBER}-2"' != first["ETag"]
    assert json.loads(second.content)["city"] == "Köln"


@pytest.mark.django_db
def test_direct_path_is_off_when_the_api_middleware_changes(guest, key, settings):
    settings.API_MIDDLEWARE = [*settings.API_MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    direct, full = _both(key, f"/api/v1/customers/{NUMBER}")
    assert direct is None and full.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "setting",
    [
        {"SECURE_SSL_REDIRECT": True},
        {"DISALLOWED_USER_AGENTS": [re.compile("curl")]},
        {"PREPEND_WWW": True},
    ],
)
def test_settings_the_direct_path_does_not_imitate_send_everything_the_full_way(
    guest, key, setting
):
    with override_settings(**setting):
        direct, full = _both(key, f"/api/v1/customers/{NUMBER}", HTTP_USER_AGENT="curl/8")
    assert direct is None
    assert full.status_code in (301, 403)


@pytest.mark.django_db
def test_a_fault_of_the_direct_path_is_logged_and_the_full_stack_answers(
    guest, key, monkeypatch, caplog
):
    from stammgast.core import direct

    def broken(*args, **kwargs):
        raise RuntimeError("broken")

    monkeypatch.setattr(direct, "_query_pairs", broken)
    direct_answer, full = _both(key, f"/api/v1/customers/{NUMBER}")
    assert direct_answer is None and full.status_code == 200
    assert "Direct read of /api/v1/customers/4711 failed" in caplog.text


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
def test_the_tills_reads_are_prepared_statements(guest, key):
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    _same(*_both(key, f"/api/v1/customers/{NUMBER}"))
    _same(*_both(key, "/api/v1/customers/lookup?phone=%2B4915123456789"))
    by_email = ApiClientFor(key).get("/api/v1/customers/lookup?email=juergen%40example.de")
    assert [c["number"] for c in by_email.json()] == [NUMBER]
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("number = $2" in sql for sql in prepared), prepared
    assert any("mobile_e164 = $3" in sql for sql in prepared), prepared
    # Not the e-mail lookup: its plan must be made for the address asked for.
    assert not any("email = $" in sql for sql in prepared), prepared


@pytest.mark.django_db(transaction=True)
def test_direct_reads_keep_the_connection_rules_of_a_request(tenant, admin_actor):
    """Outside a test's transaction, with Django's request signals connected."""
    services.create_customer(actor=admin_actor, data={"number": 7, "last_name": "Ohnefehl"})
    _c, key = tenant_services.create_api_key(tenant=tenant, name="Kasse", scopes=["pos"])
    environ = _environ(ApiClientFor(key), "/api/v1/customers/7")
    first = direct_reads.answer(dict(environ))
    assert first is not None and first[0] == "200 OK"
    opened = connection.connection
    # An obsolete connection (CONN_MAX_AGE passed) is closed when the request ends...
    connection.close_at = 0
    again = direct_reads.answer(dict(environ))
    assert again is not None and again[2] == first[2]
    if connection.vendor == "postgresql":  # SQLite keeps an in-memory test database open
        assert connection.connection is None or connection.connection is not opened
    # ...and the next read opens a new one.
    assert direct_reads.answer(dict(environ))[2] == first[2]
