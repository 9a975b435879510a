"""The registers (tabs) of a customer's record and the facts in its header, each added by
the app that owns it.

An app calls `add_register` (and `add_header_fact`) from its AppConfig.ready, as NetBox's
apps register their model views: the customer record shows what is registered, in
`order`, and knows none of the apps behind it. The customers app adds its own registers
the same way. Registers are shown in a few named groups (GROUPS), each register naming
its group; one without a group is shown under "More".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class Register:
    """One tab of the customer record.

    `template` shows it with the record's context plus what `context(request, customer)`
    adds; `form` (if any) edits it through update_customer, and `permission` is what the
    actor needs to open the form.
    """

    slug: str
    label: Any
    template: str
    order: int
    permission: str | None = None
    form: type[forms.Form] | None = None
    context: Callable[[HttpRequest, Any], dict] | None = None
    # The slug of its group in GROUPS.
    group: str = "more"

    @property
    def has_form(self) -> bool:
        return self.form is not None


@dataclass(frozen=True)
class Group:
    """A named group of registers: one tab of the record, named by what a clerk looks for."""

    slug: str
    label: Any


# In this order; a group without registers is not shown.
GROUPS = [
    Group("master", gettext_lazy("Master data")),
    Group("contact", gettext_lazy("Contact & payment")),
    Group("money", gettext_lazy("Credit, cards & bills")),
    Group("features", gettext_lazy("Features & notes")),
    Group("more", gettext_lazy("More")),
    Group("history", gettext_lazy("History")),
]


@dataclass(frozen=True)
class HeaderFact:
    """One fact in the record's header, shown on every register: `value(request,
    customer)` gives it as text (None: not shown)."""

    key: str
    label: Any
    order: int
    value: Callable[[HttpRequest, Any], str | None]


_registers: dict[str, Register] = {}
_header_facts: dict[str, HeaderFact] = {}


def add_register(register: Register) -> None:
    if register.slug in _registers and _registers[register.slug] != register:
        raise ValueError(f"A register {register.slug!r} exists already.")
    _registers[register.slug] = register


def registers() -> list[Register]:
    return sorted(_registers.values(), key=lambda r: (r.order, r.slug))


def register_named(slug: str) -> Register | None:
    return _registers.get(slug)


def grouped_registers() -> list[tuple[Group, list[Register]]]:
    """The groups that have registers, each with its registers in order."""
    known = {g.slug for g in GROUPS}
    out = []
    for group in GROUPS:
        members = [
            r
            for r in registers()
            if r.group == group.slug or (group.slug == "more" and r.group not in known)
        ]
        if members:
            out.append((group, members))
    return out


def add_header_fact(fact: HeaderFact) -> None:
    if fact.key in _header_facts and _header_facts[fact.key] != fact:
        raise ValueError(f"A header fact {fact.key!r} exists already.")
    _header_facts[fact.key] = fact


def header_facts() -> list[HeaderFact]:
    return sorted(_header_facts.values(), key=lambda f: (f.order, f.key))
