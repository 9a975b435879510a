"""German order of names on both databases: one ICU collation, in PostgreSQL and in SQLite.

PostgreSQL sorts the name columns with the ICU collation `COLLATION` (created by a
migration: German rules at strength 2, so "Ä" sorts with "A", "ß" as "ss", and case does
not count). SQLite gets a collation of the same name on every connection, computed by the
same ICU library (PyICU), so a list is in the same order whichever database is behind it.
Strings equal at strength 2 ("müller", "Müller") are ordered by their code points, as a
deterministic PostgreSQL collation does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import icu

COLLATION = "german_ci"
ICU_LOCALE = "de-u-ks-level2"
POSTGRES_CREATE = (
    f"CREATE COLLATION IF NOT EXISTS \"{COLLATION}\" (provider = icu, locale = '{ICU_LOCALE}')"
)
POSTGRES_DROP = f'DROP COLLATION IF EXISTS "{COLLATION}"'


@functools.cache
def _collator(language: str) -> icu.Collator:
    collator = icu.Collator.createInstance(icu.Locale(language))
    collator.setStrength(icu.Collator.SECONDARY)
    return collator


def sort_key_for(language: str) -> Callable[[str], bytes]:
    """A sort key by the rules of `language`, case not counting ("de": German order)."""
    return _collator(language or "en").getSortKey


def compare_german(a: str, b: str) -> int:
    """-1, 0 or 1: `a` before, equal to or after `b` in the order of COLLATION."""
    if a == b:
        return 0
    if a is None or b is None:  # SQLite passes no NULLs, but be safe
        return -1 if a is None else 1
    key = _collator("de").getSortKey
    ka, kb = key(a), key(b)
    if ka != kb:
        return -1 if ka < kb else 1
    return -1 if a < b else 1


def register_sqlite_collation(sender, connection, **kwargs) -> None:
    """connection_created handler: teach a new SQLite connection the German order."""
    if connection.vendor == "sqlite":
        connection.connection.create_collation(COLLATION, compare_german)
