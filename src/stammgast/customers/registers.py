"""The registers (tabs) of a customer's record, each added by the app that owns it.

An app calls `add_register` from its AppConfig.ready, as NetBox's apps register their
model views: the customer record shows what is registered, in `order`, and knows none of
the apps behind it. The customers app adds its own registers the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import HttpRequest


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

    @property
    def has_form(self) -> bool:
        return self.form is not None


_registers: dict[str, Register] = {}


def add_register(register: Register) -> None:
    if register.slug in _registers and _registers[register.slug] != register:
        raise ValueError(f"A register {register.slug!r} exists already.")
    _registers[register.slug] = register


def registers() -> list[Register]:
    return sorted(_registers.values(), key=lambda r: (r.order, r.slug))


def register_named(slug: str) -> Register | None:
    return _registers.get(slug)
