"""Which column of an import file fills which customer field: headings and the mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

from stammgast.core.errors import DomainError
from stammgast.core.text import is_plain_text

from .columns import IMPORT_COLUMNS, Column, _fold_header, column_letter, field_for_header

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


def plan_columns(
    headers: list[str], mapping: Mapping[str, str | None] | None, *, match: str
) -> list[PlannedColumn]:
    """Which column of the file fills which field; refuses unknown and doubled headings."""
    folded_mapping = {_fold_header(k): v for k, v in (mapping or {}).items()}
    plan: list[PlannedColumn] = []
    problems: dict[str, str] = {}
    unknown: list[str] = []
    seen_headers: dict[str, int] = {}
    seen_fields: dict[str, int] = {}
    for index, raw in enumerate(headers):
        header = str(raw).replace("\ufeff", "").strip()
        if not header:
            continue
        key = _fold_header(header)
        cell = f"{column_letter(index)}1"
        if key in seen_headers:
            problems[cell] = _("Columns %(a)s and %(b)s both have the heading %(h)s.") % {
                "a": column_letter(seen_headers[key]),
                "b": column_letter(index),
                "h": header,
            }
            continue
        seen_headers[key] = index
        if key in folded_mapping:
            target = folded_mapping[key]
            if not target:
                continue  # mapped to nothing: the column is left out on purpose
            target_field = field_for_header(str(target))
            if target_field is None:
                problems[cell] = _("The mapping names an unknown field %(f)s.") % {"f": target}
                continue
        else:
            target_field = field_for_header(header)
            if target_field is None:
                unknown.append(f"{column_letter(index)} ({header})")
                continue
        if target_field in seen_fields:
            problems[cell] = _("Columns %(a)s and %(b)s would both fill %(f)s.") % {
                "a": column_letter(seen_fields[target_field]),
                "b": column_letter(index),
                "f": IMPORT_COLUMNS[target_field].header("en"),
            }
            continue
        seen_fields[target_field] = index
        plan.append(PlannedColumn(index, IMPORT_COLUMNS[target_field], header))
    if problems:
        raise DomainError(
            "bad_headings",
            _("The headings of the file are not usable."),
            fields=problems,
            status=422,
        )
    if unknown:
        raise DomainError(
            "mapping_needed",
            _("These columns are not known: %(cols)s. Say which field each one fills.")
            % {"cols": ", ".join(unknown)},
            fields={"mapping": _("Give a column mapping.")},
            status=422,
        )
    fields_present = {p.column.field for p in plan}
    if not fields_present & set(_NAME_FIELDS) and not (
        match == "number" and "number" in fields_present
    ):
        raise DomainError(
            "missing_columns",
            _("The file has no column Name or First name (Vorname)."),
            fields={"file": _("Required column missing: Name or First name.")},
            status=422,
        )
    return plan
