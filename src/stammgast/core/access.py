"""Reads of personal data, noted where they happen and written after the answer is sent.

A till's lookup must not wait for its own log row, nor pay for a round trip of its own:
the rows a request notes are handed over when its response is closed (after its last byte
went out) to a writer thread of the process, which stores what gathered every
STAMMGAST_ACCESS_LOG_DELAY seconds in one insert per tenant, and once more when the
process ends. A process that is killed loses at most that last fraction of a second of
rows. With a delay of 0 they are written as the response closes; outside a request (the
command line) at once. The app that keeps the log (privacy) sets the writer; this module
knows no app.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import connections
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


_gathered: list[dict] = []
_lock = threading.Lock()
_writer_thread: dict[str, Any] = {"pid": None}


def flush_access_log() -> int:
    """Write the rows gathered so far (the writer thread does so every few tenths of a
    second; tests and the process's end call it directly); how many there were."""
    with _lock:
        entries = _gathered[:]
        _gathered.clear()
    if entries:
        try:
            _write(entries)
        except Exception:  # the answers are out; lost log rows must be seen in the logs
            log.exception("Could not write %d access log entries", len(entries))
    return len(entries)


def _keep_writing(delay: float) -> None:
    while True:
        time.sleep(delay)
        if not flush_access_log():
            # Idle: the thread's connections are let go (a busy server keeps them).
            for conn in connections.all(initialized_only=True):
                conn.close()


def _hand_over(entries: list[dict]) -> None:
    delay = getattr(settings, "STAMMGAST_ACCESS_LOG_DELAY", 0.5)
    if delay <= 0:
        _write(entries)
        return
    with _lock:
        _gathered.extend(entries)
        # One thread per process, started in the process (a forked worker has none).
        if _writer_thread["pid"] != os.getpid():
            _writer_thread["pid"] = os.getpid()
            threading.Thread(
                target=_keep_writing, args=(delay,), name="access-log", daemon=True
            ).start()


atexit.register(flush_access_log)


def _write_after_response(entries: list[dict]) -> Callable[[], None]:
    def write() -> None:
        try:
            _hand_over(entries)
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
