"""Text folding for search: case-, accent- and umlaut-insensitive forms of names."""

import re
import sys
import unicodedata
from functools import cache

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Lone surrogates come from broken "\\ud800" escapes in JSON; no database stores them.
SURROGATES = re.compile(r"[\ud800-\udfff]")


# Characters that show nothing but make two equal-looking texts differ: zero-width spaces
# and joiners, the soft hyphen, direction marks, the byte order mark. Pasted from web
# pages and spreadsheets; removed from stored text and from what is searched for.
INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def without_invisible(text: str) -> str:
    # Visible text is printable: the common case needs no pattern at all.
    return text if text.isprintable() else INVISIBLE.sub("", text)


def is_plain_text(value: str) -> bool:
    """True if `value` holds no control characters (beyond tab/newline) and no surrogates."""
    return not (CONTROL_CHARACTERS.search(value) or SURROGATES.search(value))


# "ae", "oe", "ue" are how "ä", "ö", "ü" are written without umlauts.
_UMLAUT_SPELLING = re.compile(r"([aou])e")


@cache
def _without_combining_marks() -> dict[int, None]:
    """A str.translate table deleting every combining mark (accents, the umlaut's dots)."""
    return {cp: None for cp in range(sys.maxunicode + 1) if unicodedata.combining(chr(cp))}


def fold(text: str) -> str:
    """Lower-case, strip accents: "Müller" -> "muller", "Straße" -> "strasse"."""
    text = without_invisible(text).casefold()  # ß -> ss
    decomposed = unicodedata.normalize("NFKD", text)
    # An ASCII text has no marks; any other loses them in one pass in C (a bulk import
    # folds millions of names).
    if decomposed.isascii():
        return decomposed
    return decomposed.translate(_without_combining_marks())


def search_form(text: str) -> str:
    """The one spelling search stores and compares: fold(), then "ae"/"oe"/"ue" -> a/o/u.

    "Müller", "Mueller" and "Muller" all give "muller", so a name is found however it
    was entered and however it is typed, with a single substring test.
    """
    return _UMLAUT_SPELLING.sub(r"\1", fold(text)) if text else ""
