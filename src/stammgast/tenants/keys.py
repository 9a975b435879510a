"""Which actor an API key stands for: verified once, kept, dropped everywhere on a change.

A till asks many times a second. Finding its client by the key's prefix, comparing the
hash and building the actor (tenant, location, scopes) is done once per process and key
and kept for KEY_CACHE_SECONDS. A change that makes a kept actor wrong (a key revoked, a
location leaving its group with its tills) moves the *key generation*, and every process
drops what it kept as soon as it sees the generation move, which it checks on every
request: the very next request with such a key is verified anew, and refused.

The generation lives where all server processes see it: the modification time of a file
in the data directory (every process of one server reads it with one `stat`, a few
microseconds), and, where a shared cache is configured (Redis, for several servers), a
counter in that cache. Reading the database on every request would cost a fifth of a
customer lookup; a generation kept in one process's memory alone let a revoked key work on
for seconds in the others.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from .actor import Actor
from .directory import database_for_api_key
from .models import ApiClient

KEY_PREFIX_LEN = 8
KEY_CACHE_SECONDS = 10.0
_MAX_CACHED = 10_000
_SHARED_KEY = "stammgast:api-key-generation"
# (valid until, generation when verified, actor) per SHA-256 of a key.
_cache: dict[str, tuple[float, tuple, Actor]] = {}


def hash_key(key: str) -> str:
    # 32 random bytes: guessing is hopeless, so a fast hash protects the stored value.
    return hashlib.sha256(key.encode()).hexdigest()


def authenticate_api_key(key: str) -> ApiClient | None:
    """The active API client holding `key`, or None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "sg" or len(parts[1]) != KEY_PREFIX_LEN:
        return None
    # The key's prefix says on which cluster its client (and tenant) lives.
    alias = database_for_api_key(parts[1])
    if alias is None or alias not in settings.DATABASES:
        return None
    client = (
        ApiClient.all_tenants.using(alias)
        .select_related("tenant", "location")
        .filter(key_prefix=parts[1], revoked_at__isnull=True)
        .first()
    )
    if client is None or not secrets.compare_digest(client.key_hash, hash_key(key)):
        return None
    return client


def _marker() -> Path:
    return Path(settings.VAR_DIR) / "api-keys.generation"


def _shared_cache() -> bool:
    return not settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")


def generation() -> tuple:
    """What a kept actor must have been verified under to be used."""
    try:
        on_disk = os.stat(_marker()).st_mtime_ns
    except FileNotFoundError:
        on_disk = 0
    return on_disk, cache.get(_SHARED_KEY) if _shared_cache() else None


def keys_changed() -> None:
    """Make every server process verify its kept keys again on its next request."""
    path = _marker()
    path.parent.mkdir(parents=True, exist_ok=True)
    before = generation()[0]
    path.write_text(uuid.uuid4().hex)
    if os.stat(path).st_mtime_ns == before:
        # A clock too coarse to tell two changes apart: move the time on by hand.
        os.utime(path, ns=(before + 1, before + 1))
    if _shared_cache():
        cache.set(_SHARED_KEY, uuid.uuid4().hex, None)
    _cache.clear()


def actor_for_key(token: str) -> Actor | None:
    """The actor an API key stands for, or None if the key is unknown or revoked."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    hit = _cache.get(digest)
    now = time.monotonic()
    current = generation()
    if hit is not None and hit[0] > now and hit[1] == current:
        return hit[2]
    client = authenticate_api_key(token)
    if client is None:
        _cache.pop(digest, None)
        return None
    actor = Actor.for_api_client(client)
    if len(_cache) >= _MAX_CACHED:
        _cache.clear()
    _cache[digest] = (now + KEY_CACHE_SECONDS, current, actor)
    return actor


def forget_cached_keys() -> None:
    """This process's kept keys only (tests start each with none)."""
    _cache.clear()
