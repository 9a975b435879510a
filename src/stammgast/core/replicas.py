"""Reads that may go to a streaming replica, and a client that reads its own writes.

A cluster may have streaming replicas (`STAMMGAST_REPLICAS`, docs/scaling.md). Reads that
scan (search, customer lists, the dashboard, exports) run inside `replica_reads()` and go
to a replica that answers and keeps up; every write, every read inside a write
transaction and every other read goes to the primary.

Read-your-writes: a request that wrote learns the primary's WAL position at its end; the
portal keeps it in the session, the API returns it in the `Stammgast-Position` header,
which a client may send back. A request that carries a position reads from a replica
only once the replica has replayed it, and from the primary until then.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

POSITION_HEADER = "Stammgast-Position"
SESSION_POSITION_KEY = "stammgast_position"
# How long a replica found down or behind is skipped before it is asked again.
RECHECK_SECONDS = 2.0

_replica_ok: ContextVar[bool] = ContextVar("stammgast_replica_reads", default=False)
# The position this request must see (from the client), and the clusters it wrote to.
_position: ContextVar[int | None] = ContextVar("stammgast_position", default=None)
_wrote: ContextVar[set[str] | None] = ContextVar("stammgast_wrote", default=None)
# Per replica alias: (checked at, usable, replayed position). Per process.
_health: dict[str, tuple[float, bool, int]] = {}


def replicas_of(alias: str) -> list[str]:
    return settings.STAMMGAST_REPLICAS.get(alias, [])


def parse_position(text: str | None) -> int | None:
    """PostgreSQL's "16/B374D848" as a number; None for anything else."""
    high, sep, low = (text or "").strip().partition("/")
    try:
        value = (int(high, 16) << 32) | int(low, 16) if sep else None
    except ValueError:
        return None
    return value if value is not None and 0 <= value < 2**64 else None


def format_position(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


@contextlib.contextmanager
def replica_reads() -> Iterator[None]:
    token = _replica_ok.set(True)
    try:
        yield
    finally:
        _replica_ok.reset(token)


def reads_from_replica(func: Callable) -> Callable:
    """Decorator of a selector whose reads may be served by a replica."""

    @functools.wraps(func)
    def inner(*args, **kwargs):
        with replica_reads():
            return func(*args, **kwargs)

    return inner


def _check(alias: str) -> tuple[bool, int]:
    """Whether the replica answers and is within the lag limit, and what it replayed."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT pg_last_wal_replay_lsn()::text,"
                " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
                " ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"
            )
            replayed, lag = cursor.fetchone()
    except Exception:
        connections[alias].close()
        return False, 0
    position = parse_position(replayed) or 0
    return float(lag or 0) <= settings.STAMMGAST_REPLICA_MAX_LAG, position


def _replayed(alias: str, *, fresh: bool) -> tuple[bool, int]:
    now = time.monotonic()
    seen = _health.get(alias)
    if seen is None or fresh or now - seen[0] > RECHECK_SECONDS:
        usable, position = _check(alias)
        _health[alias] = seen = (now, usable, position)
    return seen[1], seen[2]


def choose(primary: str) -> str:
    """Where a replica-eligible read on `primary`'s cluster goes."""
    if not _replica_ok.get() or connections[primary].in_atomic_block:
        return primary
    needed = _position.get()
    for replica in replicas_of(primary):
        usable, replayed = _replayed(replica, fresh=False)
        if usable and needed is not None and replayed < needed:
            # The kept figure may be old: ask the replica once more before giving up on it.
            usable, replayed = _replayed(replica, fresh=True)
        if usable and (needed is None or replayed >= needed):
            return replica
    return primary


def forget_health() -> None:
    _health.clear()


# --- Per request -----------------------------------------------------------------------


def begin_request(position: str | None):
    return _position.set(parse_position(position)), _wrote.set(set())


def end_request(tokens) -> None:
    position_token, wrote_token = tokens
    _wrote.reset(wrote_token)
    _position.reset(position_token)


def wrote_on(alias: str) -> None:
    """A write transaction on `alias` committed (core.db)."""
    wrote = _wrote.get()
    if wrote is not None and replicas_of(alias):
        wrote.add(alias)


def position_after_writes() -> str | None:
    """The primary's WAL position if this request wrote to a cluster with replicas."""
    wrote = _wrote.get()
    if not wrote:
        return None
    alias = sorted(wrote)[0]  # a request works for one tenant, on one cluster
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]
