"""Text folding for search: case-, accent- and umlaut-insensitive forms of names."""

import re
import unicodedata

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Lone surrogates come from broken "\\ud800" escapes in JSON; no database stores them.
SURROGATES = re.compile(r"[\ud800-\udfff]")


def is_plain_text(value: str) -> bool:
    """True if `value` holds no control characters (beyond tab/newline) and no surrogates."""
    return not (CONTROL_CHARACTERS.search(value) or SURROGATES.search(value))


# "ae", "oe", "ue" are how "ä", "ö", "ü" are written without umlauts.
_UMLAUT_SPELLING = re.compile(r"([aou])e")


def fold(text: str) -> str:
    """Lower-case, strip accents: "Müller" -> "muller", "Straße" -> "strasse"."""
    text = text.casefold()  # ß -> ss
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def search_form(text: str) -> str:
    """The one spelling search stores and compares: fold(), then "ae"/"oe"/"ue" -> a/o/u.

    "Müller", "Mueller" and "Muller" all give "muller", so a name is found however it
    was entered and however it is typed, with a single substring test.
    """
    return _UMLAUT_SPELLING.sub(r"\1", fold(text)) if text else ""
