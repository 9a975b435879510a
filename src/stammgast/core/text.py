"""Text folding for search: case-, accent- and umlaut-insensitive forms of names."""

import re
import unicodedata

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
