"""Middleware every request passes: answers under /api/ are JSON, whatever went wrong."""

from __future__ import annotations

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.signals import setting_changed
from django.db import OperationalError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from . import replicas
from .http import error_body, json_response

API_PREFIX = "/api/"


def _refusal(status: int, response: HttpResponse) -> dict:
    if status == 404:
        return error_body("not_found", _("There is nothing at this address of the API."))
    if status == 405:
        allowed = response.get("Allow", "")
        return error_body(
            "method_not_allowed",
            _("This address does not take %(method)s; it takes %(allowed)s.")
            % {"method": response.get("X-Refused-Method", _("this method")), "allowed": allowed},
        )
    if status == 413:
        return error_body("request_too_large", _("The request is too large."))
    if status >= 500:
        return error_body("server_error", _("Something went wrong on our side."))
    return error_body("bad_request", _("The request could not be read."))


class ApiErrorsAsJson:
    """Django's own error pages (an unmatched path, a method ninja does not route, a body
    it cannot parse, a crash outside ninja) become JSON bodies with a code for requests
    under /api/, as the API's own refusals are; the status and headers stay."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            if response.status_code == 405:
                response["X-Refused-Method"] = request.method
            body = _refusal(response.status_code, response)
            replaced = json_response(response.status_code, body)
            for name, value in response.items():
                if name.lower() not in ("content-type", "content-length", "x-refused-method"):
                    replaced[name] = value
            return replaced
        return response


# How long a caller is asked to wait when the database stayed busy (SQLite's one writer).
RETRY_AFTER_SECONDS = 5


_UNREACHABLE = ("connection failed", "could not connect", "connection refused", "server closed")


def is_database_busy(exc: BaseException) -> bool:
    """SQLite lets one connection write at a time; a writer that waited out the busy
    timeout gets "database is locked". A cluster that cannot be reached (down, restarting,
    failing over) is busy too: for its tenants only, the others go on."""
    if not isinstance(exc, OperationalError):
        return False
    text = str(exc).lower()
    return "database is locked" in text or any(part in text for part in _UNREACHABLE)


def busy_body() -> dict:
    return error_body(
        "database_busy",
        _("The database is busy or cannot be reached just now; try again in a few seconds."),
    )


class DatabaseBusy:
    """A write that waited out the busy timeout is answered 503 with Retry-After (JSON
    under /api/, a page in the portal), never as a crash: nothing was written."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not is_database_busy(exc):
            return None
        if request.path_info.startswith(API_PREFIX):
            response = json_response(503, busy_body())
        else:
            response = render(request, "503.html", {"busy": busy_body()}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


class ContentSecurityPolicy(CSPMiddleware):
    """django-csp's middleware with the settings' policy built once per process.

    The stock middleware builds the policy string twice on every response
    (enforced and report-only) although for almost every response it is the
    same string. A response that changes the policy (the ``csp_update`` and
    ``csp_replace`` decorators), a request that used a nonce and an exempt
    response still go through django-csp's own code, unchanged.
    """

    _policy: str | None = None

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if (
            _policy_is_customised(request, response)
            or HEADER in response
            or (settings.DEBUG and response.status_code in (404, 500))
        ):
            return super().process_response(request, response)
        policy = ContentSecurityPolicy._policy
        if policy is None:
            policy = ContentSecurityPolicy._policy = build_policy()
        if policy and not request.path_info.startswith(_excluded_prefixes()):
            response[HEADER] = policy
        # As django-csp does: a nonce asked for after this point is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


_CUSTOMISING_ATTRIBUTES = (
    "_csp_exempt",
    "_csp_exempt_ro",
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)


def _policy_is_customised(request: HttpRequest, response: HttpResponse) -> bool:
    return (
        getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None) is not None
        or getattr(request, "_csp_nonce", None) is not None
        or any(hasattr(response, name) for name in _CUSTOMISING_ATTRIBUTES)
    )


def _excluded_prefixes() -> tuple[str, ...]:
    policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
    return tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ())


@receiver(setting_changed)
def _forget_policy(setting: str, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        ContentSecurityPolicy._policy = None


class ReadYourWrites:
    """A client reads its own writes although scans may go to a replica (core.replicas).

    Only installed where replicas are configured; otherwise Django drops it at start-up.
    """

    def __init__(self, get_response) -> None:
        if not settings.STAMMGAST_REPLICAS:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        carried = request.headers.get(replicas.POSITION_HEADER)
        if carried is None and session is not None:
            carried = session.get(replicas.SESSION_POSITION_KEY)
        tokens = replicas.begin_request(carried)
        try:
            response = self.get_response(request)
            position = replicas.position_after_writes()
        finally:
            replicas.end_request(tokens)
        if position is not None:
            response[replicas.POSITION_HEADER] = position
            if session is not None and not request.path_info.startswith(API_PREFIX):
                session[replicas.SESSION_POSITION_KEY] = position
        return response
