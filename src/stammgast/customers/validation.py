"""The rules for customer fields: one cleaner per field, shared by API, portal, import and CLI."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

import phonenumbers
import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from stammgast.core.errors import FieldErrors
from stammgast.tenants.models import MAX_CUSTOMER_NUMBER, PaymentMethod

from .models import MEMO_MAX, THIRD_PARTY_MEMO_MAX, CustomerKind, Gender


class Invalid(ValueError):
    """A field's value breaks its rule; the message says how."""


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f]")
# Lone surrogates come from broken "\\ud800" escapes in JSON; no database stores them.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def is_plain_text(value: str) -> bool:
    """True if `value` holds no control characters (beyond tab/newline) and no surrogates."""
    return not (_CONTROL.search(value) or _SURROGATE.search(value))


def text(max_len: int, *, multiline: bool = False) -> Callable[[Any], str]:
    def clean(value: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise Invalid(_("Enter text."))
        value = value.strip() if not multiline else value.strip("\x00")
        if (_CONTROL if multiline else _CONTROL_OR_NEWLINE).search(value) or _SURROGATE.search(
            value
        ):
            raise Invalid(_("Contains control characters."))
        if len(value) > max_len:
            raise Invalid(
                _("At most %(max)d characters (this has %(len)d).")
                % {"max": max_len, "len": len(value)}
            )
        return value

    return clean


def whole_number(low: int, high: int, what: str) -> Callable[[Any], int]:
    def clean(value: Any) -> int:
        if isinstance(value, bool):
            raise Invalid(_("Enter %(what)s as a whole number.") % {"what": what})
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
            number = int(value)
        else:
            raise Invalid(
                _(
                    "Enter %(what)s as a whole number from %(low)d to %(high)d, "
                    "without point or comma."
                )
                % {"what": what, "low": low, "high": high}
            )
        if not low <= number <= high:
            raise Invalid(
                _("%(what)s must be from %(low)d to %(high)d.")
                % {"what": what.capitalize(), "low": low, "high": high}
            )
        return number

    return clean


def choice(choices: type, *, blank: bool = False) -> Callable[[Any], str]:
    def clean(value: Any) -> str:
        if value in (None, "") and blank:
            return ""
        if value not in choices.values:
            raise Invalid(_("Choose one of: %(values)s.") % {"values": ", ".join(choices.values)})
        return value

    return clean


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(_("Enter true or false."))
    return value


def date_of_birth(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise Invalid(_("Enter a real date as YYYY-MM-DD.")) from None
    if not isinstance(value, dt.date):
        raise Invalid(_("Enter a real date as YYYY-MM-DD."))
    if value > timezone.localdate():
        raise Invalid(_("The date of birth cannot be in the future."))
    if value.year < 1900:
        raise Invalid(_("The date of birth cannot be before 1900."))
    return value


def country(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise Invalid(_("Enter an ISO country code such as DE."))
    try:
        return pycountry.countries.lookup(value.strip()).alpha_2
    except LookupError:
        raise Invalid(
            _("Unknown country %(value)s; use an ISO code such as DE.") % {"value": value}
        ) from None


def email(value: Any) -> str:
    value = text(254)(value)
    if not value:
        return ""
    try:
        EmailValidator()(value)
    except ValidationError:
        raise Invalid(_("Enter a valid e-mail address.")) from None
    return value.lower()


def homepage(value: Any) -> str:
    value = text(200)(value)
    if not value:
        return ""
    if "://" not in value:
        value = f"https://{value}"
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        raise Invalid(_("Enter a valid web address.")) from None
    # Checked again: the added scheme may make it longer than the column.
    return text(200)(value)


def iban(value: Any) -> str:
    value = text(50)(value)
    if not value:
        return ""
    try:
        return IBAN(value).compact
    except SchwiftyException as exc:
        raise Invalid(_("Not a valid IBAN: %(reason)s") % {"reason": exc}) from None


def bic(value: Any) -> str:
    value = text(20)(value)
    if not value:
        return ""
    try:
        return str(BIC(value).compact)
    except SchwiftyException as exc:
        raise Invalid(_("Not a valid BIC: %(reason)s") % {"reason": exc}) from None


def vat_id(value: Any) -> str:
    value = text(20)(value).replace(" ", "").upper()
    if value and not re.fullmatch(r"[A-Z]{2}[0-9A-Z+*.]{2,12}", value):
        raise Invalid(_("Enter a VAT ID starting with the country code, e.g. DE123456789."))
    return value


def string_list(max_len: int) -> Callable[[Any], list[str]]:
    def clean(value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise Invalid(_("Enter a list of names."))
        names = []
        for v in value:
            v = v.strip()
            if not v or len(v) > max_len:
                raise Invalid(_("Each name has 1 to %(max)d characters.") % {"max": max_len})
            text(max_len)(v)
            if v not in names:
                names.append(v)
        return names

    return clean


def features(value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(_("Enter the features as an object of key and value."))
    # What a feature may hold is the tenant's definition (services); here only what no
    # database can store.
    for key, item in value.items():
        if not is_plain_text(key) or (isinstance(item, str) and not is_plain_text(item)):
            raise Invalid(_("Contains control characters."))
    return dict(value)


PHONE_FIELDS = {
    "phone_private": "phone_private_e164",
    "phone_business": "phone_business_e164",
    "mobile": "mobile_e164",
    "fax": None,
}

# Built at import time: names inside messages are lazy so they follow the request's language.
CLEANERS: dict[str, Callable[[Any], Any]] = {
    "kind": choice(CustomerKind),
    "title": text(50),
    "first_name": text(100),
    "last_name": text(100),
    "company_name": text(200),
    "vat_id": vat_id,
    "alias": text(100),
    "gender": choice(Gender, blank=True),
    "date_of_birth": date_of_birth,
    "street": text(200),
    "postcode": text(20),
    "city": text(100),
    "care_of": text(100),
    "po_box": text(50),
    "country": country,
    "phone_private": text(40),
    "phone_business": text(40),
    "mobile": text(40),
    "fax": text(40),
    "email": email,
    "homepage": homepage,
    "iban": iban,
    "bic": bic,
    "institute": text(100),
    "discount": whole_number(0, 100, gettext_lazy("the discount in percent")),
    "price_level": whole_number(1, 99, gettext_lazy("the price level")),
    "loss_reason": text(200),
    "payment_method": choice(PaymentMethod),
    "payment_term_days": whole_number(0, 365, gettext_lazy("the term of payment in days")),
    "favourite": boolean,
    "blocked": boolean,
    "lock_text": text(200),
    "newsletter": boolean,
    "invoices_by_email": boolean,
    "memo": text(MEMO_MAX, multiline=True),
    "third_party_memo": text(THIRD_PARTY_MEMO_MAX, multiline=True),
    "comments": text(10_000, multiline=True),
    "groups": string_list(100),
    "tags": string_list(100),
    "features": features,
    "allowed_locations": string_list(30),
}
# Fields whose change needs the permission to edit payment information.
PAYMENT_FIELDS = {
    "iban",
    "bic",
    "institute",
    "discount",
    "price_level",
    "payment_method",
    "payment_term_days",
    "groups",
}
BLOCK_FIELDS = {"blocked", "lock_text"}
RELATION_FIELDS = {"groups", "tags", "allowed_locations"}
# Fields the cleaners read from the stored record when they check a change (a postcode
# against the country, a name against the kind, a new IBAN against the old BIC).
CONTEXT_FIELDS = (
    "kind",
    "first_name",
    "last_name",
    "company_name",
    "country",
    "postcode",
    "blocked",
    "bic",
    "institute",
)
FIELDS = ("number", *CLEANERS)

_POSTCODE_PATTERNS = {
    "DE": r"\d{5}",
    "AT": r"\d{4}",
    "CH": r"\d{4}",
    "LI": r"\d{4}",
    "NL": r"\d{4} ?[A-Z]{2}",
    "FR": r"\d{5}",
    "IT": r"\d{5}",
    "DK": r"\d{4}",
    "BE": r"\d{4}",
    "LU": r"\d{4}",
    "PL": r"\d{2}-\d{3}",
}


def clean_phone(value: str, region: str) -> tuple[str, str]:
    """Any spelling of a phone number -> (display form, E.164)."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise Invalid(_("Not a phone number.")) from None
    if not phonenumbers.is_valid_number(parsed):
        raise Invalid(
            _(
                "Not a valid phone number for %(region)s; write it with +country code "
                "if it is foreign."
            )
            % {"region": region}
        )
    display = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    # Formatting adds spaces and " ext. ": the result must still fit the column.
    return (
        text(40)(display),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
    )


def phone_to_e164(value: str, region: str | None = None) -> str | None:
    """Normalise a number typed or sent by a phone system, or None if it is none."""
    try:
        parsed = phonenumbers.parse(value, region or settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def clean_customer_data(
    data: Mapping[str, Any],
    *,
    current: Mapping[str, Any] | None = None,
    default_region: str = "DE",
) -> dict[str, Any]:
    """Validate `data` (all fields on create, some on update against `current`).

    Returns the cleaned values, with the E.164 forms of phone numbers added. Raises a
    DomainError (422) naming every bad field; nothing has been written then.
    """
    errors = FieldErrors()
    cleaned: dict[str, Any] = {}
    for field, value in data.items():
        if field == "number":
            try:
                cleaned["number"] = whole_number(1, MAX_CUSTOMER_NUMBER, _("the customer number"))(
                    value
                )
            except Invalid as exc:
                errors.add(field, str(exc))
            continue
        cleaner = CLEANERS.get(field)
        if cleaner is None:
            errors.add(field, _("Unknown field."))
            continue
        try:
            cleaned[field] = cleaner(value)
        except Invalid as exc:
            errors.add(field, str(exc))

    merged = {**(current or {}), **cleaned}

    region = merged.get("country") or default_region
    for field, e164_field in PHONE_FIELDS.items():
        if field in cleaned and cleaned[field] and field not in errors.errors:
            try:
                display, e164 = clean_phone(cleaned[field], region)
            except Invalid as exc:
                errors.add(field, str(exc))
                continue
            cleaned[field] = display
            if e164_field:
                cleaned[e164_field] = e164
        elif field in cleaned and e164_field:
            cleaned[e164_field] = ""

    if "postcode" in cleaned or "country" in cleaned:
        postcode, ctry = merged.get("postcode", ""), merged.get("country") or default_region
        pattern = _POSTCODE_PATTERNS.get(ctry)
        if postcode and pattern and not re.fullmatch(pattern, postcode, re.ASCII):
            errors.add("postcode", _("Not a postcode of %(country)s.") % {"country": ctry})

    old_iban = (current or {}).get("iban", "")
    if "iban" in cleaned and cleaned["iban"] != old_iban and "iban" not in errors.errors:
        # The IBAN names the bank: a new account brings its own BIC and institute unless
        # they were given with it; the old account's must not stay behind.
        bank_bic, bank_name = "", ""
        if cleaned["iban"]:
            try:
                bank = IBAN(cleaned["iban"])
                bank_bic = str(bank.bic.compact) if bank.bic else ""
                bank_name = (bank.bank_name or "")[:100]
            except SchwiftyException:
                pass
        if "bic" not in data:
            cleaned["bic"] = bank_bic
        if "institute" not in data:
            cleaned["institute"] = bank_name

    merged = {**(current or {}), **cleaned}
    kind = merged.get("kind") or CustomerKind.PRIVATE
    if kind == CustomerKind.BUSINESS and not merged.get("company_name"):
        errors.add("company_name", _("A business customer needs a company name."))
    if kind == CustomerKind.PRIVATE and not (merged.get("last_name") or merged.get("first_name")):
        errors.add("last_name", _("A private customer needs a first name or a name."))

    errors.raise_if_any("invalid", _("Some fields are not valid."))
    return cleaned
