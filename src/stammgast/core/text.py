"""Text folding for search: case-, accent- and umlaut-insensitive forms of names."""

import unicodedata

_GERMAN_SPELLINGS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def fold(text: str) -> str:
    """Lower-case, strip accents: "Müller" -> "muller", "Straße" -> "strasse"."""
    text = text.casefold()  # ß -> ss
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def search_forms(text: str) -> str:
    """All spellings a user may type for `text`: "Müller" gives "muller mueller"."""
    if not text:
        return ""
    lowered = text.lower()
    plain = fold(lowered)
    german = fold(lowered.translate(_GERMAN_SPELLINGS))
    return plain if german == plain else f"{plain} {german}"
