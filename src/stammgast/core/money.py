"""Money as integer minor units (cents) with a currency: reading amounts, writing them.

Amounts arrive as text ("12.50", "12,50", "12") or as JSON integers of whole units, never
as floats: 0.1 + 0.2 is not 0.3 in binary. They are kept as integer cents and written
back as text with two decimals ("12.50"), so no amount is ever rounded on the way.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from .errors import DomainError

# The largest amount one movement may have: 1,000,000.00.
MAX_CENTS = 100_000_000
CURRENCIES = ("EUR", "CHF", "GBP", "USD", "PLN", "CZK", "DKK", "SEK", "HUF")
_AMOUNT = re.compile(r"(-)?([0-9]{1,9})(?:[.,]([0-9]{1,2}))?")


def _refuse(field: str, message: str) -> DomainError:
    return DomainError("invalid_amount", message, fields={field: message}, status=422)


def parse_amount(
    value: Any,
    *,
    field: str = "amount",
    allow_zero: bool = False,
    allow_negative: bool = False,
) -> int:
    """An amount in cents; refuses fractions of a cent, floats, zero and negative amounts
    (unless allowed) and anything above 1,000,000.00, naming `field`."""
    if isinstance(value, bool) or value is None:
        raise _refuse(field, _('Enter an amount such as "12.50".'))
    if isinstance(value, int):
        cents = value * 100
    elif isinstance(value, str):
        match = _AMOUNT.fullmatch(value.strip())
        if match is None:
            raise _refuse(
                field,
                _('Enter an amount with at most two decimals, such as "12.50".'),
            )
        sign, units, decimals = match.groups()
        cents = int(units) * 100 + int((decimals or "0").ljust(2, "0"))
        if sign:
            cents = -cents
    else:
        # JSON numbers with a fraction arrive as floats: refused rather than rounded.
        raise _refuse(field, _('Send the amount as text, such as "12.50".'))
    if cents == 0 and not allow_zero:
        raise _refuse(field, _("The amount must not be zero."))
    if cents < 0 and not allow_negative:
        raise _refuse(field, _("The amount must be positive."))
    if abs(cents) > MAX_CENTS:
        raise _refuse(field, _("At most 1,000,000.00."))
    return cents


def format_amount(cents: int) -> str:
    """12.50 for 1250 cents; -0.05 for -5."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units}.{rest:02d}"


def check_currency(value: Any, expected: str, *, field: str = "currency") -> str:
    """The tenant's currency; another one (or none when one is required) is refused."""
    if value in (None, ""):
        return expected
    if not isinstance(value, str) or value.upper() != expected:
        message = _("This customer base keeps money in %(currency)s.") % {"currency": expected}
        raise DomainError("wrong_currency", message, fields={field: message}, status=422)
    return expected
