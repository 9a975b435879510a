"""Search over customers: every typed word, in one spelling, as a substring of search_text."""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import DomainError
from stammgast.core.text import fold, search_form

from .models import Customer
from .validation import phone_to_e164

MIN_SEARCH_TERM = 3


def search_terms(q: str) -> list[str]:
    """What search_text must contain for `q`: one substring per word, all must match.

    Words are compared in search_form() spelling, the one search_text is stored in:
    "Müller", "Mueller" and "muller" all look for "muller". Words of fewer than 3
    characters are left out. A word that its spelling shortens to 2 characters ("Zoë",
    "mue" while typing "Mueller") looks for a word starting with it (" zo", " mu"): two
    characters are too short to look for anywhere. A phone number in any spelling
    ("+49 151 2345678", "0151/2345678") is one word of digits.
    """
    q = q.strip()
    if _PHONE_LIKE.fullmatch(q) and not q.isdigit():
        digits = re.sub(r"\D", "", q)
        if len(digits) < MIN_SEARCH_TERM:
            return []
        # "0049 30 ..." is stored as "4930...": the E.164 form says which digits count.
        e164 = phone_to_e164(q) if digits.startswith("00") else None
        return [e164[1:] if e164 else digits]
    terms = []
    for word in q.split():
        if len(fold(word)) < MIN_SEARCH_TERM:
            continue
        form = search_form(word)
        term = form if len(form) >= MIN_SEARCH_TERM else " " + form
        if term not in terms:
            terms.append(term)
    return terms


_PHONE_LIKE = re.compile(r"\+?[\d\s()/.-]+")


def search_too_short(q: str) -> bool:
    """True when `q` is typed but too short to look for (and is no customer number)."""
    q = (q or "").strip()
    return bool(q) and not search_terms(q) and not re.fullmatch(r"\d{1,7}", q)


def _sqlite_fts_query(terms: list[str]) -> str:
    # Each term is a quoted phrase: FTS5's trigram tokenizer matches it as a substring.
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)


def apply_search(qs: QuerySet[Customer], q: str) -> QuerySet[Customer]:
    """Customers of `qs` whose searchable fields contain every word of `q`."""
    q = (q or "").strip()
    if not q:
        return qs
    terms = search_terms(q)
    number_match = Q(number=int(q)) if re.fullmatch(r"\d{1,7}", q) else Q(pk__in=[])
    if not terms:
        if re.fullmatch(r"\d{1,7}", q):
            return qs.filter(number_match)
        raise DomainError(
            "search_too_short",
            _("Enter at least %(n)d characters to search.") % {"n": MIN_SEARCH_TERM},
            fields={"q": _("Enter at least %(n)d characters.") % {"n": MIN_SEARCH_TERM}},
            status=400,
        )
    if db.connection().vendor == "postgresql":
        # LIKE '%term%': with a pg_trgm GIN index on search_text, an index-assisted
        # substring test, one per word.
        text_match = Q()
        for term in terms:
            text_match &= Q(search_text__contains=term)
        return qs.filter(text_match | number_match)
    # SQLite: FTS5's trigram index for terms of 3+ characters, LIKE for word starts.
    long_terms = [t for t in terms if not t.startswith(" ")]
    text_match = Q()
    for term in terms:
        if term.startswith(" "):
            text_match &= Q(search_text__contains=term)
    if long_terms:
        text_match &= Q(
            pk__in=RawSQL(
                "SELECT rowid FROM customers_customer_fts WHERE customers_customer_fts MATCH %s",
                [_sqlite_fts_query(long_terms)],
            )
        )
    return qs.filter(text_match | number_match)


def drop_deleted_terms() -> None:
    """On SQLite, rewrite the search index so that the terms of erased values leave it:
    FTS5 keeps a deleted row's terms in its segments until they are merged. (PostgreSQL's
    trigram index holds no deleted row a reader or a dump could see.)"""
    conn = db.connection()
    if conn.vendor == "sqlite":
        with conn.cursor() as cursor:
            cursor.execute(
                "INSERT INTO customers_customer_fts(customers_customer_fts) VALUES ('optimize')"
            )
