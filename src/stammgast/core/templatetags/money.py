"""{{ cents|money }}: an amount kept in cents, written as 12.50 (in the active language's
decimal separator)."""

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def money(cents):
    if cents in (None, ""):
        return ""
    return number_format(_units(int(cents)), 2, use_l10n=True)


def _units(cents: int):
    from decimal import Decimal

    # Decimal, not float: the amount is shown exactly as kept.
    return Decimal(cents).scaleb(-2)


_SYMBOLS = {"EUR": "€", "CHF": "CHF", "GBP": "£", "USD": "$"}


def money_text(cents: int, currency: str) -> str:
    """An amount with thousands separators and its currency, in the active language's
    spelling: German "1.234,50 €"."""
    amount = number_format(_units(int(cents)), 2, use_l10n=True, force_grouping=True)
    return f"{amount}\u00a0{_SYMBOLS.get(currency, currency)}"
