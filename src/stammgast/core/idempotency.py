"""Idempotency at the service level: a use case runs once per caller and key.

The API's Idempotency-Key header, a portal form's hidden key and a POS node's event id all
end up here, so a retried request, a double-clicked form and a replayed sync batch are
equally safe. Only successful runs are remembered: a refused call changed nothing and may
be sent again, corrected, with the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from django.db import IntegrityError
from django.utils.translation import gettext as _

from stammgast.core import db

from .errors import DomainError
from .models import IdempotencyRecord
from .tenancy import active_tenant

T = TypeVar("T")
MAX_KEY_LENGTH = 200


def check_key(key: str | None) -> str | None:
    """The key as given, None for none; refuses keys longer than the store keeps."""
    if key is None or key == "":
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise DomainError(
            "invalid_idempotency_key",
            _("The Idempotency-Key is too long."),
            fields={"Idempotency-Key": _("At most %(n)d characters.") % {"n": MAX_KEY_LENGTH}},
            status=400,
        )
    return key


def fingerprint(operation: str, arguments: Any) -> str:
    """What makes two calls "the same request": the use case and its arguments."""
    payload = orjson.dumps(
        [operation, arguments], option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str
    )
    return hashlib.sha256(payload).hexdigest()


def run_once(
    *,
    owner: str,
    key: str | None,
    operation: str,
    arguments: Any,
    run: Callable[[], T],
    remember: Callable[[T], Any],
    recall: Callable[[Any], T],
) -> T:
    """`run()` once per (tenant, owner, key), in a transaction; a retry with the same
    arguments gets `recall(remember(first result))`, one with other arguments a 422.

    Without a key it simply runs, in a transaction. With one, the record is written in the
    same transaction as the run's own writes, so either both are kept or neither. `run`
    need not open a transaction of its own (one more savepoint per call).
    """
    key = check_key(key)
    if key is None:
        with db.atomic():
            return run()
    tenant = active_tenant()
    print_ = fingerprint(operation, arguments)

    def replay(record: IdempotencyRecord) -> T:
        if record.fingerprint != print_ or record.operation != operation:
            raise DomainError(
                "idempotency_key_reused",
                _("This Idempotency-Key was used for a different request."),
                status=422,
            )
        return recall(record.result)

    existing = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
    if existing is not None:
        return replay(existing)
    try:
        with db.atomic():
            result = run()
            IdempotencyRecord.objects.create(
                tenant=tenant,
                owner=owner,
                key=key,
                operation=operation,
                fingerprint=print_,
                result=remember(result),
            )
    except IntegrityError:
        # The same call raced this one and won (its record is committed); its result is
        # the result. Anything else that broke a constraint is not ours to hide.
        existing = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
        if existing is None:
            raise
        return replay(existing)
    return result
