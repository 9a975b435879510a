"""Direct answers to the API's hottest reads, past Django's URL resolver, middleware and ninja.

A till reads a customer by number or by caller ID many times a minute. Through Django's
handler, the API's middleware and ninja such a read costs about 0.6 ms of CPU, of which the
read itself is about 0.25 ms (see docs/benchmarks.md). Routes registered here are answered
by their handler directly; everything else about the request stays with the full stack.

The contract that keeps this one API and not two:

* Only GET requests on registered routes, and only their plain 200 answers, are answered
  here. Anything else returns None and the request goes through the full stack, which
  words every refusal: no or unknown key, a customer that is not there, bad parameters,
  an unexpected query parameter, conditional requests, any error at all.
* A route's handler calls the same selector and encodes the body with the same function as
  the ninja handler of the same path.
* The headers are those the API's middleware would add. They are made here from the same
  settings; if `settings.API_MIDDLEWARE` is not the stack imitated here, nothing is answered
  directly, and the tests compare the answers of both paths header by header.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import request_finished, request_started, setting_changed
from django.dispatch import receiver
from django.utils import translation

from stammgast.core import tenancy
from stammgast.core.errors import DomainError

log = logging.getLogger(__name__)

# The API's middleware as this module imitates it (see `_headers`).
IMITATED_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "stammgast.tenants.middleware.TenantMiddleware",
    "ninja.compatibility.files.fix_request_files_middleware",
)

# handler(actor, match, query) -> (body bytes, extra headers), or None: "not here".
# `query` is the query string as (name, [values]) pairs.
Query = list[tuple[str, list[str]]]
Handler = Callable[[Any, re.Match, Query], tuple[bytes, dict[str, str]] | None]


@dataclass(frozen=True)
class DirectRoute:
    path: re.Pattern
    handler: Handler
    # Request headers that make the answer depend on more than path and query (e.g.
    # If-None-Match); a request carrying one goes the full way.
    conditional: tuple[str, ...] = ()


def bearer_token(value: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header, read as ninja's HttpBearer does."""
    if not value:
        return None
    scheme, _space, token = value.partition(" ")
    return token if scheme.lower() == "bearer" else None


class DirectReads:
    """Answers the registered GET routes, or says None so the full stack answers."""

    def __init__(self, *, routes: list[DirectRoute], authenticate: Callable[[str], Any]):
        self.routes = routes
        self.authenticate = authenticate

    def answer(self, environ: dict) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """(status line, headers, body) of a plain 200 answer, or None."""
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        path = environ.get("PATH_INFO", "")
        for route in self.routes:
            match = route.path.fullmatch(path)
            if match is not None:
                break
        else:
            return None
        if any(h in environ for h in route.conditional) or not _imitable():
            return None
        token = bearer_token(environ.get("HTTP_AUTHORIZATION"))
        if token is None:
            return None
        request_started.send(sender=self.__class__, environ=environ)
        try:
            return self._answer(environ, route, match, token)
        except DomainError:
            return None  # a refusal (not found, bad phone number): the full stack words it
        except Exception:
            # The full stack meets it again and answers it properly; said here too, so that
            # a fault of this path alone does not hide behind the slower answers.
            log.exception("Direct read of %s failed; the full stack answers it", path)
            return None
        finally:
            request_finished.send(sender=self.__class__)

    def _answer(self, environ, route: DirectRoute, match: re.Match, token: str):
        # A copy: WSGIRequest rewrites PATH_INFO in the environ the full stack may get next.
        request = WSGIRequest(dict(environ))
        try:
            request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks it
        except DisallowedHost:
            return None
        secure = request.is_secure()
        if settings.SECURE_SSL_REDIRECT and not secure:
            return None
        actor = self.authenticate(token)
        if actor is None:
            return None
        language = translation.get_language_from_request(request)
        query = _query_pairs(environ)
        # No language is activated: a 200 answer holds data, never words; every message
        # comes with a refusal, which the full stack words in the caller's language.
        tenant_token = tenancy.activate(actor.tenant)
        try:
            answered = route.handler(actor, match, query)
        finally:
            tenancy.deactivate(tenant_token)
        if answered is None:
            return None
        body, extra = answered
        headers = [("Content-Type", "application/json"), *extra.items()]
        headers += _headers(secure=secure, language=language, length=len(body))
        return "200 OK", headers, body


def _query_pairs(environ: dict) -> Query:
    """The query string as request.GET.lists() has it, without building a QueryDict."""
    # WSGI hands the query string over as bytes read as Latin-1; QueryDict decodes them as
    # UTF-8, or as Latin-1 if they are none.
    raw = environ.get("QUERY_STRING", "").encode("iso-8859-1")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("iso-8859-1")
    pairs: dict[str, list[str]] = {}
    fields = parse_qsl(
        text, keep_blank_values=True, max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    )
    for name, value in fields:
        pairs.setdefault(name, []).append(value)
    return list(pairs.items())


# What follows depends on settings only: worked out once, again when a setting changes.


@cache
def _imitable() -> bool:
    return (
        tuple(settings.API_MIDDLEWARE) == IMITATED_MIDDLEWARE
        and not settings.DISALLOWED_USER_AGENTS
        and not settings.PREPEND_WWW
    )


@cache
def _security_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    """What SecurityMiddleware adds to an answer, from the same settings."""
    out = []
    if settings.SECURE_HSTS_SECONDS and secure:
        sts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            sts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            sts += "; preload"
        out.append(("Strict-Transport-Security", sts))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        out.append(("X-Content-Type-Options", "nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:
        values = [v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy
        out.append(("Referrer-Policy", ",".join(values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        out.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    return tuple(out)


@receiver(setting_changed)
def _forget_settings(**kwargs) -> None:
    _imitable.cache_clear()
    _security_headers.cache_clear()


def _headers(*, secure: bool, language: str, length: int) -> list[tuple[str, str]]:
    """What the API's middleware adds to a 200 answer: SecurityMiddleware's headers, then
    LocaleMiddleware's and CommonMiddleware's."""
    return [
        *_security_headers(secure),
        ("Vary", "Accept-Language"),
        ("Content-Language", language),
        ("Content-Length", str(length)),
    ]
