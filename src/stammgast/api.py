"""The REST API /api/v1: bearer-key auth, tenant activation, JSON errors, idempotent POSTs."""

from __future__ import annotations

import hashlib
import json
import logging
import time

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from stammgast.core import tenancy
from stammgast.core.errors import DomainError
from stammgast.core.models import IdempotentRequest
from stammgast.tenants.actor import Actor
from stammgast.tenants.services import authenticate_api_key

log = logging.getLogger(__name__)

# A till asks many times a second; keep a verified key for a few seconds per process.
# A revoked key therefore stops working within KEY_CACHE_SECONDS.
KEY_CACHE_SECONDS = 10.0
_key_cache: dict[str, tuple[float, Actor]] = {}


def actor_for_key(token: str) -> Actor | None:
    """The actor an API key stands for, or None; verified keys are kept for a few seconds."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    hit = _key_cache.get(digest)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    client = authenticate_api_key(token)
    if client is None:
        _key_cache.pop(digest, None)
        return None
    actor = Actor.for_api_client(client)
    if len(_key_cache) > 10_000:
        _key_cache.clear()
    _key_cache[digest] = (now + KEY_CACHE_SECONDS, actor)
    return actor


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        actor = actor_for_key(token)
        if actor is None:
            return None
        request.actor = actor
        # Reset at the end of the request by TenantMiddleware.
        tenancy.activate(actor.tenant)
        return actor


def forget_cached_keys() -> None:
    _key_cache.clear()


api = NinjaAPI(
    title="stammgast API",
    version="1",
    urls_namespace="api-v1",
    auth=ApiKeyAuth(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = [
            str(p) for p in error.get("loc", []) if p not in ("body", "payload", "query", "path")
        ]
        # The one schema error a client commonly meets gets the field rules' own message.
        if error.get("type") == "extra_forbidden":
            message = _("Unknown field.")
        else:
            message = error.get("msg", "invalid")
        fields.setdefault(".".join(loc) or "request", []).append(message)
    return api.create_response(
        request,
        {"code": "invalid", "message": _("The request is not valid."), "fields": fields},
        status=422,
    )


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return api.create_response(
        request,
        {
            "code": "unauthorized",
            "message": _("Send a valid API key as 'Authorization: Bearer <key>'."),
        },
        status=401,
    )


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return api.create_response(
        request, {"code": "error", "message": str(exc)}, status=exc.status_code
    )


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request, exc):
    return api.create_response(
        request,
        {
            "code": "request_too_large",
            "message": _("The request is larger than %(mb)d MB.")
            % {"mb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)},
        },
        status=413,
    )


@api.exception_handler(Exception)
def on_unexpected(request, exc: Exception):
    log.exception("Unexpected error in API", exc_info=exc)
    return api.create_response(
        request,
        {"code": "server_error", "message": _("Something went wrong on our side.")},
        status=500,
    )


def run_idempotent(request: HttpRequest, run) -> tuple[int, dict]:
    """Run `run()` -> (status, body) once per Idempotency-Key; a retry gets the first answer.

    Only successful answers are kept: a refused request changed nothing and may be sent
    again, corrected, with the same key.
    """
    key = request.headers.get("Idempotency-Key")
    if not key:
        return run()
    if len(key) > 200:
        raise DomainError(
            "invalid_idempotency_key",
            _("The Idempotency-Key is too long."),
            fields={"Idempotency-Key": _("At most 200 characters.")},
            status=400,
        )
    actor: Actor = request.actor
    fingerprint = hashlib.sha256(
        request.method.encode() + b" " + request.path.encode() + b"\n" + request.body
    ).hexdigest()

    def replay(record: IdempotentRequest) -> tuple[int, dict]:
        if record.fingerprint != fingerprint:
            raise DomainError(
                "idempotency_key_reused",
                _("This Idempotency-Key was used for a different request."),
                status=422,
            )
        return record.status, record.body

    if (
        record := IdempotentRequest.objects.filter(api_client=actor.api_client, key=key).first()
    ) is not None:
        return replay(record)
    try:
        with transaction.atomic():
            status, body = run()
            IdempotentRequest.objects.create(
                tenant=actor.tenant,
                api_client=actor.api_client,
                key=key,
                fingerprint=fingerprint,
                status=status,
                body=body,
            )
    except IntegrityError:
        # The same request raced us and won; its answer is the answer.
        record = IdempotentRequest.objects.filter(api_client=actor.api_client, key=key).first()
        if record is None:
            raise
        return replay(record)
    return status, body


def encode_json(body: dict | list) -> bytes:
    """The bytes of a JSON answer body: UTF-8, non-ASCII characters as they are."""
    return json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False).encode()


def json_response(status: int, body: dict | list, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(encode_json(body), status=status, content_type="application/json")
    for k, v in (headers or {}).items():
        response[k] = v
    return response


from stammgast.customers.api import router as customers_router  # noqa: E402

api.add_router("/customers", customers_router)
from stammgast.exchange.api import router as exchange_router  # noqa: E402

api.add_router("", exchange_router)

from stammgast.core.direct import DirectReads  # noqa: E402
from stammgast.customers.api import DIRECT_ROUTES as customer_reads  # noqa: E402

# The tills' hot reads, answered past the framework (see core/direct.py).
direct_reads = DirectReads(routes=[*customer_reads], authenticate=actor_for_key)
