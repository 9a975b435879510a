"""Reads of personal data, noted where they happen and written after the answer is sent.

A till's lookup must not wait for its own log row: the rows a request notes are kept with
the request and written when the response is closed, after its last byte went out (the
WSGI server closes it). Outside a request (the command line) they are written at once.
The app that keeps the log (privacy) sets the writer; this module knows no app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.utils import timezone

log = logging.getLogger(__name__)

_pending: ContextVar[list[dict] | None] = ContextVar("stammgast_access_pending", default=None)
_writer: list[Callable[[list[dict]], None]] = []


def set_writer(write: Callable[[list[dict]], None]) -> None:
    """`write(entries)` stores noted reads; each entry names its tenant."""
    _writer[:] = [write]


def note_access(
    *,
    actor: Any,
    kind: str,
    what: str = "",
    count: int | None = None,
    customer_number: int | None = None,
) -> None:
    """Note that `actor` read personal data: `kind` (export, data_download, list, record),
    what (the filter in words), how many customers, or which one."""
    entry = {
        "tenant": actor.tenant,
        "at": timezone.now(),
        "kind": kind,
        "user": actor.user,
        "api_client": actor.api_client,
        "actor_label": actor.label[:200],
        "channel": actor.channel_name[:20],
        "what": what[:1000],
        "count": count,
        "customer_number": customer_number,
    }
    pending = _pending.get()
    if pending is None:
        _write([entry])
    else:
        pending.append(entry)


def _write(entries: list[dict]) -> None:
    for write in _writer:
        write(entries)


def _write_after_response(entries: list[dict]) -> Callable[[], None]:
    def write() -> None:
        try:
            _write(entries)
        except Exception:  # the answer is out; a lost log row must be seen in the logs
            log.exception("Could not write %d access log entries", len(entries))

    return write


class AccessLogMiddleware:
    """Collects the reads a request notes and writes them once its response is closed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _pending.set([])
        try:
            response = self.get_response(request)
            entries = _pending.get()
        finally:
            _pending.reset(token)
        if entries:
            closers = getattr(response, "_resource_closers", None)
            if closers is None:
                _write(entries)
            else:
                closers.append(_write_after_response(entries))
        return response
