"""Which column of an import file fills which customer field: headings and the mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError
from stammgast.core.text import is_plain_text

from .columns import (
    IMPORT_COLUMNS,
    KNOWN_HEADERS,
    NO_FIELD,
    SYNONYMS,
    Column,
    _fold_header,
    column_letter,
    field_for_header,
)

_NAME_FIELDS = ("first_name", "last_name", "company_name")
# A file has at most this many columns a mapping can name.
MAX_MAPPING = 500
MAX_HEADING = 200


def mapping_errors(mapping: Mapping[str, str | None] | None) -> dict[str, str]:
    """What is wrong with a mapping {their heading: field or None}, by "mapping"."""
    if not mapping:
        return {}
    if len(mapping) > MAX_MAPPING:
        return {"mapping": _("At most %(n)d columns.") % {"n": MAX_MAPPING}}
    for heading, target in mapping.items():
        for text in (heading, target):
            if text is None:
                continue
            if not isinstance(text, str) or len(text) > MAX_HEADING or not is_plain_text(text):
                return {
                    "mapping": _("Headings and fields are texts of at most %(n)d characters.")
                    % {"n": MAX_HEADING}
                }
    return {}


@dataclass
class PlannedColumn:
    index: int
    column: Column
    header: str


@dataclass
class LeftOutColumn:
    """A column with a heading that fills no field, and why: said, never silent."""

    index: int
    header: str
    reason: str

    @property
    def letter(self) -> str:
        return column_letter(self.index)


@dataclass
class HeadingPlan:
    """What each column of a file fills, as far as its headings and the mapping tell."""

    columns: list[PlannedColumn]
    left_out: list[LeftOutColumn]
    # Neither recognised nor mapped: an import needs a decision for those holding data.
    unknown: list[tuple[int, str]]
    problems: dict[str, str]

    def proposed(self) -> dict[int, str]:
        """Column index -> field, for the portal's preview."""
        return {p.index: p.column.field for p in self.columns}


def read_headings(
    headers: list[str], mapping: Mapping[str, str | None] | None = None
) -> HeadingPlan:
    """Which column fills which field: the mapping first, then our own headings and field
    names, then the synonyms (HEADING_SYNONYMS). Two columns naming one field by our own
    headings or the mapping are a problem; a synonym for a field another column already
    fills is left out with the reason, as are the headings of other systems' exports that
    no field of stammgast holds."""
    folded_mapping = {_fold_header(k): v for k, v in (mapping or {}).items()}
    chosen: list[tuple[int, str, str, bool]] = []  # index, header, field, named exactly
    left_out: list[LeftOutColumn] = []
    unknown: list[tuple[int, str]] = []
    problems: dict[str, str] = {}
    seen_headers: dict[str, int] = {}
    for index, raw in enumerate(headers):
        header = str(raw).replace("\ufeff", "").strip() if raw is not None else ""
        if not header:
            continue
        key = _fold_header(header)
        if key in seen_headers:
            problems[f"{column_letter(index)}1"] = _(
                "Columns %(a)s and %(b)s both have the heading %(h)s."
            ) % {"a": column_letter(seen_headers[key]), "b": column_letter(index), "h": header}
            continue
        seen_headers[key] = index
        if key in folded_mapping:
            target = folded_mapping[key]
            if not target:
                left_out.append(LeftOutColumn(index, header, _("left out as chosen")))
                continue
            target_field = field_for_header(str(target))
            if target_field is None:
                problems[f"{column_letter(index)}1"] = _(
                    "The mapping names an unknown field %(f)s."
                ) % {"f": target}
                continue
            chosen.append((index, header, target_field, True))
        elif key in NO_FIELD:
            # Before the field names: Shopify's "Tags" are labels, not our preferences.
            left_out.append(LeftOutColumn(index, header, _("stammgast has no field for it")))
        elif key in KNOWN_HEADERS:
            chosen.append((index, header, KNOWN_HEADERS[key], True))
        elif key in SYNONYMS:
            chosen.append((index, header, SYNONYMS[key], False))
        else:
            unknown.append((index, header))
    # A field named exactly wins over a synonym; among equals the first column wins.
    columns: list[PlannedColumn] = []
    filled: dict[str, tuple[int, bool]] = {}
    for index, header, fld, exact in sorted(chosen, key=lambda c: (not c[3], c[0])):
        if fld in filled:
            first, first_exact = filled[fld]
            if exact and first_exact:
                problems[f"{column_letter(index)}1"] = _(
                    "Columns %(a)s and %(b)s would both fill %(f)s."
                ) % {
                    "a": column_letter(first),
                    "b": column_letter(index),
                    "f": IMPORT_COLUMNS[fld].header("en"),
                }
            else:
                left_out.append(
                    LeftOutColumn(
                        index,
                        header,
                        _("%(f)s is filled from column %(c)s")
                        % {"f": IMPORT_COLUMNS[fld].header(_language()), "c": column_letter(first)},
                    )
                )
            continue
        filled[fld] = (index, exact)
        columns.append(PlannedColumn(index, IMPORT_COLUMNS[fld], header))
    columns.sort(key=lambda p: p.index)
    left_out.sort(key=lambda c: c.index)
    return HeadingPlan(columns, left_out, unknown, problems)


def _language() -> str:
    return "en" if (get_language() or "de").startswith("en") else "de"


def plan_columns(
    headers: list[str],
    mapping: Mapping[str, str | None] | None,
    *,
    match: str,
    with_data: set[int] | None = None,
) -> HeadingPlan:
    """The heading plan of an import; refuses doubled headings, columns with data that
    fill no known field (`with_data`: the columns that hold data; None: assume all do)
    and a file without a name column."""
    plan = read_headings(headers, mapping)
    if plan.problems:
        raise DomainError(
            "bad_headings",
            _("The headings of the file are not usable."),
            fields=plan.problems,
            status=422,
        )
    unknown = [(i, h) for i, h in plan.unknown if with_data is None or i in with_data]
    if unknown:
        raise DomainError(
            "mapping_needed",
            _(
                "These columns hold data but are not known: %(cols)s. Say which field each "
                "one fills, or that it is left out."
            )
            % {"cols": ", ".join(f"{column_letter(i)} ({h})" for i, h in unknown)},
            fields={"mapping": _("Give a column mapping.")},
            status=422,
        )
    fields_present = {p.column.field for p in plan.columns}
    if not fields_present & set(_NAME_FIELDS) and not (
        match == "number" and "number" in fields_present
    ):
        message = _("The file has no column Name or First name (Vorname).")
        raise DomainError("missing_columns", message, fields={"file": message}, status=422)
    return plan
