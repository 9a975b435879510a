"""Which actor an API key stands for, with a few seconds' cache per process.

A till asks many times a second; checking its key (a table read and a hash) on every
request would cost more than many of the reads it makes. A verified key is kept for
KEY_CACHE_SECONDS, so a revoked key stops working within that time in every process (and
at once in the process that revoked it).
"""

from __future__ import annotations

import hashlib
import secrets
import time

from .actor import Actor
from .models import ApiClient

KEY_PREFIX_LEN = 8
KEY_CACHE_SECONDS = 10.0
_MAX_CACHED = 10_000
_cache: dict[str, tuple[float, Actor]] = {}


def hash_key(key: str) -> str:
    # 32 random bytes: guessing is hopeless, so a fast hash protects the stored value.
    return hashlib.sha256(key.encode()).hexdigest()


def authenticate_api_key(key: str) -> ApiClient | None:
    """The active API client holding `key`, or None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "sg" or len(parts[1]) != KEY_PREFIX_LEN:
        return None
    client = (
        ApiClient.all_tenants.select_related("tenant", "location")
        .filter(key_prefix=parts[1], revoked_at__isnull=True)
        .first()
    )
    if client is None or not secrets.compare_digest(client.key_hash, hash_key(key)):
        return None
    return client


def actor_for_key(token: str) -> Actor | None:
    """The actor an API key stands for, or None if the key is unknown or revoked."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    hit = _cache.get(digest)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    client = authenticate_api_key(token)
    if client is None:
        _cache.pop(digest, None)
        return None
    actor = Actor.for_api_client(client)
    if len(_cache) >= _MAX_CACHED:
        _cache.clear()
    _cache[digest] = (now + KEY_CACHE_SECONDS, actor)
    return actor


def forget_cached_keys() -> None:
    _cache.clear()
