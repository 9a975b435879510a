"""The REST API /api/v1: bearer-key auth, tenant activation, JSON errors, the app routers."""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from stammgast.bills.api import router as bills_router
from stammgast.cards.api import router as cards_router
from stammgast.core import tenancy
from stammgast.core.errors import DomainError
from stammgast.core.http import (
    JsonRenderer,
    error_body,
    json_response,
    refuse_unknown_query_parameters,
    validation_error_body,
)
from stammgast.core.middleware import RETRY_AFTER_SECONDS, busy_body, is_database_busy
from stammgast.customers.api import router as customers_router
from stammgast.exchange.api import router as exchange_router
from stammgast.ledger.api import router as ledger_router
from stammgast.pricing.api import router as pricing_router
from stammgast.privacy.api import access_router
from stammgast.privacy.api import router as privacy_router
from stammgast.tenants.actor import Actor
from stammgast.tenants.keys import actor_for_key

log = logging.getLogger(__name__)


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        actor = actor_for_key(token)
        if actor is None:
            return None
        request.actor = actor
        # Reset at the end of the request by TenantMiddleware.
        tenancy.activate(actor.tenant)
        return actor


def docs_for_staff_or_keys(view):
    """The interactive docs and the schema: for logged-in staff and API keys (unless
    STAMMGAST_PUBLIC_API_DOCS=1): they list every endpoint and field an attacker could try."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs):
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        allowed = (
            settings.PUBLIC_API_DOCS
            or request.user.is_authenticated
            or (token and actor_for_key(token) is not None)
        )
        if not allowed:
            if request.path.endswith("/docs"):
                return redirect_to_login(request.get_full_path())
            return json_response(
                401, error_body("unauthorized", _("Log in, or send a valid API key."))
            )
        return view(request, *args, **kwargs)

    return guarded


api = NinjaAPI(
    title="stammgast API",
    version="1",
    urls_namespace="api-v1",
    auth=ApiKeyAuth(),
    renderer=JsonRenderer(),
    docs_url="/docs",
    docs_decorator=docs_for_staff_or_keys,
    openapi_url="/openapi.json",
)


api.add_decorator(refuse_unknown_query_parameters, mode="operation")


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    if retry_after := getattr(exc, "retry_after", None):
        response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    return api.create_response(request, validation_error_body(exc.errors), status=422)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return api.create_response(
        request,
        error_body("unauthorized", _("Send a valid API key as 'Authorization: Bearer <key>'.")),
        status=401,
    )


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return api.create_response(request, error_body("error", str(exc)), status=exc.status_code)


@api.exception_handler(MultiPartParserError)
def on_bad_multipart(request, exc):
    return api.create_response(
        request,
        error_body(
            "bad_multipart",
            _("The request body is not valid multipart/form-data (a file upload)."),
        ),
        status=400,
    )


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request, exc):
    mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    return api.create_response(
        request,
        error_body("request_too_large", _("The request is larger than %(mb)d MB.") % {"mb": mb}),
        status=413,
    )


@api.exception_handler(Exception)
def on_unexpected(request, exc: Exception):
    if is_database_busy(exc):
        response = api.create_response(request, busy_body(), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    log.exception("Unexpected error in API", exc_info=exc)
    return api.create_response(
        request, error_body("server_error", _("Something went wrong on our side.")), status=500
    )


api.add_router("/customers", customers_router)
api.add_router("/customers", cards_router)
api.add_router("/customers", ledger_router)
api.add_router("/customers", privacy_router)
api.add_router("/access-log", access_router)
api.add_router("", exchange_router)
api.add_router("", bills_router)
api.add_router("/pricing", pricing_router)
