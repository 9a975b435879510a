"""The rules for customer fields: one cleaner per field, shared by API, portal, import and CLI."""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import phonenumbers
import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from phonenumbers import PhoneMetadata
from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors
from schwifty import registry as schwifty_registry
from schwifty.exceptions import SchwiftyException
from stdnum import exceptions as stdnum_exceptions
from stdnum.eu import vat as stdnum_eu_vat
from stdnum.util import get_cc_module

from stammgast.core import collation
from stammgast.core.errors import FieldErrors
from stammgast.core.text import (
    CONTROL_CHARACTERS,
    SURROGATES,
    fold,
    is_plain_text,
    without_invisible,
)
from stammgast.tenants.models import MAX_CUSTOMER_NUMBER, PaymentMethod

from .models import MEMO_MAX, THIRD_PARTY_MEMO_MAX, CustomerKind, Gender


class Invalid(ValueError):
    """A field's value breaks its rule; the message says how."""


_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f]")


def text(max_len: int, *, multiline: bool = False) -> Callable[[Any], str]:
    control = CONTROL_CHARACTERS if multiline else _CONTROL_OR_NEWLINE

    def clean(value: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise Invalid(_("Enter text."))
        # Printable text holds neither control characters, surrogates nor invisible
        # characters: the common case needs no pattern at all.
        if not value.isprintable():
            value = without_invisible(value)
        value = value.strip() if not multiline else value.strip("\x00")
        if not value.isprintable() and (control.search(value) or SURROGATES.search(value)):
            raise Invalid(_("Contains control characters."))
        if len(value) > max_len:
            raise Invalid(
                _("At most %(max)d characters (this has %(len)d).")
                % {"max": max_len, "len": len(value)}
            )
        return value

    return clean


_WHOLE_NUMBER = re.compile(r"\s*[0-9]+\s*")


def whole_number(low: int, high: int, what: str) -> Callable[[Any], int]:
    def clean(value: Any) -> int:
        if isinstance(value, bool):
            raise Invalid(_("Enter %(what)s as a whole number.") % {"what": what})
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and (
            (value.isascii() and value.isdigit()) or _WHOLE_NUMBER.fullmatch(value)
        ):
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
    allowed = frozenset(choices.values)

    def clean(value: Any) -> str:
        if value in (None, "") and blank:
            return ""
        try:
            known = value in allowed
        except TypeError:  # a list or an object from JSON: never a choice
            known = False
        if not known:
            raise Invalid(_("Choose one of: %(values)s.") % {"values": ", ".join(choices.values)})
        return value

    return clean


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(_("Enter true or false."))
    return value


# Two days before the day this module was loaded (in UTC): no time zone is that far behind.
_SURELY_PAST = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)


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
    # Asking for today's date in the active time zone costs more than the rest of the
    # rule; a date before _SURELY_PAST is in the past wherever and whenever we are.
    if value > _SURELY_PAST and value > timezone.localdate():
        raise Invalid(_("The date of birth cannot be in the future."))
    if value.year < 1900:
        raise Invalid(_("The date of birth cannot be before 1900."))
    return value


@functools.lru_cache(maxsize=4096)
def _country_code(name: str) -> str | None:
    # pycountry's lookup compares with every country; its list does not change while we run.
    code = _codes_by_name().get(fold(name))
    if code is not None:
        return code
    try:
        return pycountry.countries.lookup(name).alpha_2
    except LookupError:
        return None


# The languages of the portal: a country is found by its name in any of them.
COUNTRY_LANGUAGES = ("de", "en")


@functools.cache
def _iso3166_names(language: str):
    """pycountry's translations of country names into `language` (English: none)."""
    return gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


def country_name(code: str, language: str | None = None) -> str:
    """The name of the ISO 3166 country `code` in `language` (default: the active one)."""
    found = pycountry.countries.get(alpha_2=code) if code else None
    if found is None:
        return code
    language = (language or get_language() or "en").split("-")[0]
    name = getattr(found, "common_name", None) or found.name
    translated = _iso3166_names(language).gettext(name)
    if translated == name and name != found.name:
        translated = _iso3166_names(language).gettext(found.name)
    return translated


@functools.cache
def _codes_by_name() -> dict[str, str]:
    """Folded country names in the portal's languages (and official names) -> code."""
    codes: dict[str, str] = {}
    for c in pycountry.countries:
        names = {c.name, getattr(c, "common_name", c.name), getattr(c, "official_name", c.name)}
        for language in COUNTRY_LANGUAGES:
            names |= {_iso3166_names(language).gettext(n) for n in list(names)}
        for n in names:
            codes.setdefault(fold(n), c.alpha_2)
    return codes


def country_choices(language: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of every ISO 3166 country, by name in `language`'s order."""
    language = (language or get_language() or "en").split("-")[0]
    return _country_choices(language)


@functools.cache
def _country_choices(language: str) -> list[tuple[str, str]]:
    key = collation.sort_key_for(language)
    return sorted(
        ((c.alpha_2, country_name(c.alpha_2, language)) for c in pycountry.countries),
        key=lambda pair: key(pair[1]),
    )


def country(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise Invalid(_("Enter an ISO country code such as DE."))
    if not value.strip():
        return ""
    code = _country_code(value.strip())
    if code is None:
        raise Invalid(
            _("Unknown country “%(value)s”; choose one from the list or enter its ISO code.")
            % {"value": value.strip()[:60]}
        )
    return code


_text20 = text(20)
_text40 = text(40)
_text50 = text(50)
_text200 = text(200)
_text254 = text(254)


class _EmailValidator(EmailValidator):
    """Django's e-mail rule, remembering its verdict on each domain.

    A file of a million addresses holds a few thousand domains; the domain pattern is the
    costly part of the rule and its verdict depends on the domain alone.
    """

    def __init__(self) -> None:
        super().__init__()
        self.domains: dict[str, bool] = {}

    def validate_domain_part(self, domain_part: str) -> bool:
        verdict = self.domains.get(domain_part)
        if verdict is None:
            verdict = super().validate_domain_part(domain_part)
            if len(self.domains) >= 10_000:
                self.domains.clear()
            self.domains[domain_part] = verdict
        return verdict


_email_validator = _EmailValidator()
_url_validator = URLValidator(schemes=["http", "https"])
_VAT_ID = re.compile(r"[A-Z]{2}[0-9A-Z+*]{2,16}")


def email(value: Any) -> str:
    value = _text254(value)
    if not value:
        return ""
    try:
        _email_validator(value)
    except ValidationError:
        raise Invalid(_("Enter a valid e-mail address.")) from None
    return value.lower()


def homepage(value: Any) -> str:
    value = _text200(value)
    if not value:
        return ""
    if "://" not in value:
        value = f"https://{value}"
    try:
        _url_validator(value)
    except ValidationError:
        raise Invalid(_("Enter a valid web address.")) from None
    # Checked again: the added scheme may make it longer than the column.
    return _text200(value)


def _iban_refusal(exc: SchwiftyException, value: str) -> str:
    """Why an IBAN is refused, in the user's language (schwifty's own text is English)."""
    country = country_name(value[:2].upper()) if value[:2].isalpha() else ""
    if isinstance(exc, schwifty_errors.InvalidCountryCode):
        return _("An IBAN starts with the code of a country that has IBANs, such as DE.")
    if isinstance(exc, schwifty_errors.InvalidLength):
        return _("An IBAN of %(country)s has %(n)d characters (this one has %(len)d).") % {
            "country": country,
            "n": _iban_length(value[:2].upper()),
            "len": len(value.replace(" ", "")),
        }
    if isinstance(exc, schwifty_errors.InvalidChecksumDigits | schwifty_errors.InvalidBBANChecksum):
        return _("The check digits of this IBAN do not match: please check it for typos.")
    if isinstance(exc, schwifty_errors.InvalidStructure):
        return _("This IBAN has letters or digits where an IBAN of %(country)s has none.") % {
            "country": country
        }
    if isinstance(exc, schwifty_errors.InvalidBankCode | schwifty_errors.InvalidBranchCode):
        return _("The bank code in this IBAN belongs to no bank.")
    return _("Not a valid IBAN.")


def _iban_length(code: str) -> int:
    try:
        return int(schwifty_registry.get_iban_spec(code).iban_length)
    except (KeyError, SchwiftyException):  # no IBANs known for the country
        return 0


def iban(value: Any) -> str:
    value = _text50(value)
    if not value:
        return ""
    try:
        return IBAN(value).compact
    except SchwiftyException as exc:
        raise Invalid(_iban_refusal(exc, value)) from None


def bic(value: Any) -> str:
    value = _text20(value)
    if not value:
        return ""
    try:
        return str(BIC(value).compact)
    except schwifty_errors.InvalidLength:
        raise Invalid(_("A BIC has 8 or 11 letters and digits.")) from None
    except schwifty_errors.InvalidCountryCode:
        raise Invalid(_("Letters 5 and 6 of a BIC are a country code, such as DE.")) from None
    except SchwiftyException:
        raise Invalid(
            _(
                "Not a valid BIC: 4 letters for the bank, 2 for the country, 2 letters or "
                "digits for the place and optionally 3 for the branch."
            )
        ) from None


# How a VAT ID of the countries customers most often come from is written (the message
# for a refused one says it).
_VAT_FORMATS = {
    "DE": gettext_lazy("DE and 9 digits"),
    "AT": gettext_lazy("ATU and 8 digits"),
    "CH": gettext_lazy("CHE, 9 digits and MWST, TVA or IVA"),
    "NL": gettext_lazy("NL, 9 digits, B and 2 digits"),
    "BE": gettext_lazy("BE and 10 digits"),
    "LU": gettext_lazy("LU and 8 digits"),
    "FR": gettext_lazy("FR, 2 letters or digits and 9 digits"),
    "IT": gettext_lazy("IT and 11 digits"),
    "DK": gettext_lazy("DK and 8 digits"),
    "PL": gettext_lazy("PL and 10 digits"),
}
_VAT_SEPARATORS = re.compile(r"[\s.\-/]")


@functools.cache
def _vat_module(prefix: str):
    """python-stdnum's VAT module for a VAT ID's two-letter prefix, or None."""
    if prefix in ("EL", "XI") or prefix in stdnum_eu_vat.MEMBER_STATES:
        return stdnum_eu_vat
    return get_cc_module(prefix.lower(), "vat")


def vat_id(value: Any) -> str:
    value = _VAT_SEPARATORS.sub("", _text20(value)).upper()
    if not value:
        return ""
    if not _VAT_ID.fullmatch(value):
        raise Invalid(_("Enter a VAT ID starting with the country code, e.g. DE123456789."))
    module = _vat_module(value[:2])
    if module is None:
        return value  # a country whose VAT IDs python-stdnum does not know: its code will do
    try:
        module.validate(value)
    except stdnum_exceptions.InvalidChecksum:
        raise Invalid(
            _("The check digit of this VAT ID does not match: please check it for typos.")
        ) from None
    except stdnum_exceptions.ValidationError:
        country = value[:2] if value[:2] != "EL" else "GR"
        written = _VAT_FORMATS.get(country)
        if written is not None:
            raise Invalid(
                _("Not a VAT ID of %(country)s: it is written %(format)s.")
                % {"country": country_name(country), "format": written}
            ) from None
        raise Invalid(
            _("Not a VAT ID of %(country)s.") % {"country": country_name(country)}
        ) from None
    return value


# How much one customer may carry (a request's size is bounded by what it may carry).
MAX_GROUPS = 50
MAX_TAGS = 100
MAX_LOCATIONS = 200
MAX_FEATURES = 100
MAX_FEATURE_KEY = 50


def string_list(max_len: int, max_items: int, *, lower: bool = False) -> Callable[[Any], list[str]]:
    def clean(value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise Invalid(_("Enter a list of names."))
        if len(value) > max_items:
            raise Invalid(_("At most %(max)d entries.") % {"max": max_items})
        names = []
        for v in value:
            v = v.strip().lower() if lower else v.strip()
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
    if len(value) > MAX_FEATURES:
        raise Invalid(_("At most %(max)d entries.") % {"max": MAX_FEATURES})
    if any(len(key) > MAX_FEATURE_KEY for key in value):
        raise Invalid(
            _("A feature's key has at most %(max)d characters.") % {"max": MAX_FEATURE_KEY}
        )
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
    "groups": string_list(100, MAX_GROUPS),
    "tags": string_list(100, MAX_TAGS),
    "features": features,
    # Location codes are stored in lower case; any case names the same location.
    "allowed_locations": string_list(30, MAX_LOCATIONS, lower=True),
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
_customer_number = whole_number(1, MAX_CUSTOMER_NUMBER, gettext_lazy("the customer number"))

# Postcodes of the countries customers come from most, with an example for the message.
_POSTCODE_PATTERNS = {
    "DE": (r"\d{5}", "50667"),
    "AT": (r"\d{4}", "1010"),
    "CH": (r"\d{4}", "8001"),
    "LI": (r"\d{4}", "9490"),
    "NL": (r"\d{4} ?[A-Z]{2}", "1012 AB"),
    "FR": (r"\d{5}", "75001"),
    "IT": (r"\d{5}", "00184"),
    "DK": (r"\d{4}", "1050"),
    "BE": (r"\d{4}", "1000"),
    "LU": (r"\d{4}", "1009"),
    "PL": (r"\d{2}-\d{3}", "00-950"),
    "CZ": (r"\d{3} ?\d{2}", "110 00"),
    "ES": (r"\d{5}", "28001"),
    "PT": (r"\d{4}-\d{3}", "1000-001"),
    "SE": (r"\d{3} ?\d{2}", "111 22"),
    "NO": (r"\d{4}", "0150"),
    "FI": (r"\d{5}", "00100"),
    "HU": (r"\d{4}", "1051"),
}


_POSTCODE_RULES = {
    code: re.compile(rule, re.ASCII) for code, (rule, _example) in _POSTCODE_PATTERNS.items()
}


# --- phone numbers ---------------------------------------------------------------------
# phonenumbers parses any spelling, checks the number against the plan of its country and
# formats it. What it cannot do is do so quickly: parse, is_valid_number and two
# format_number calls take about 55 microseconds a number, against 9 for the short way
# below (measured on 20,000 German numbers in the usual spellings). An import of a
# million customers has some 1.4 million numbers: the full way alone would add a minute of
# CPU to an import of about two and a half. So the two spellings nearly every file and
# form holds, "+49 30 1234567" and (in the customer's country) "030 1234567", are handled
# here with phonenumbers' own metadata and rules, in the order parse, is_valid_number and
# format_number apply them. Whatever falls outside those spellings, and every number these
# rules do not find valid, goes the full way through phonenumbers, so messages and corner
# cases stay its. tests/customers/test_phone_fast_path.py compares both ways on many
# numbers.

_INTERNATIONAL_SPELLING = re.compile(r"\+([1-9][0-9]*(?: [0-9]+)*)", re.ASCII)
_NATIONAL_SPELLING = re.compile(r"0[0-9]*(?:[ /-][0-9]+)*", re.ASCII)
_NOT_DIGITS = re.compile(r"[^0-9]")


class _PhonePlan(NamedTuple):
    """What phonenumbers' metadata says about one country with a calling code of its own."""

    country_code: int
    prefix: str  # "+49"
    general_lengths: frozenset[int]
    general: re.Pattern
    # Per length: one pattern matching the numbers of any type (fixed line, mobile, ...).
    typed: dict[int, re.Pattern]
    # (leading digits, pattern, replacement, whether the pattern needs at least one digit)
    # of each international format, in order.
    formats: tuple[tuple[re.Pattern | None, re.Pattern, str, bool], ...]
    national_prefix: re.Pattern | None  # the prefix parse strips, if it is a plain one
    national_prefix_any: re.Pattern | None  # any prefix parse would try to strip
    idd: re.Pattern | None
    local_lengths: frozenset[int]


def _desc_lengths(desc) -> tuple[int, ...]:
    return tuple(desc.possible_length or ())


@functools.cache
def _phone_plan(country_code: int) -> _PhonePlan | None:
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    # Calling codes shared by several regions (+1, +7, +44, ...) choose the region by the
    # number itself; non-geographic ones (+800, ...) have no region. Both go the full way.
    if not regions or len(regions) != 1 or regions[0] == "001":
        return None
    metadata = PhoneMetadata.metadata_for_region(regions[0])
    if metadata is None or metadata.general_desc is None:
        return None
    general = metadata.general_desc
    if not general.national_number_pattern:
        return None
    descs = [
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
    ]
    # phonenumbers looks at the mobile pattern separately only when it differs from the
    # fixed-line one (if it is the same, a fixed-line match already decided).
    if not metadata.same_mobile_and_fixed_line_pattern:
        descs.append(metadata.mobile)
    descs = [d for d in descs if d is not None and d.national_number_pattern]
    typed = {}
    for length in range(1, 18):
        patterns = [
            d.national_number_pattern
            for d in descs
            if not _desc_lengths(d) or length in _desc_lengths(d)
        ]
        if patterns:
            typed[length] = re.compile("|".join(f"(?:{p})" for p in patterns))
    formats = tuple(
        (
            re.compile(f.leading_digits_pattern[-1]) if f.leading_digits_pattern else None,
            re.compile(f.pattern),
            f.format,
            re.compile(f.pattern).match("") is None,
        )
        for f in (metadata.intl_number_format or metadata.number_format)
    )
    npp = metadata.national_prefix_for_parsing
    national_prefix = None
    if npp and not metadata.national_prefix_transform_rule and re.compile(npp).groups == 0:
        national_prefix = re.compile(npp)
    return _PhonePlan(
        country_code=country_code,
        prefix=f"+{country_code}",
        general_lengths=frozenset(_desc_lengths(general)),
        general=re.compile(general.national_number_pattern),
        typed=typed,
        formats=formats,
        national_prefix=national_prefix,
        national_prefix_any=re.compile(npp) if npp else None,
        idd=re.compile(metadata.international_prefix) if metadata.international_prefix else None,
        local_lengths=frozenset(general.possible_length_local_only or ()),
    )


@functools.cache
def _region_plan(region: str) -> _PhonePlan | None:
    metadata = PhoneMetadata.metadata_for_region(region) if region else None
    if metadata is None or region not in phonenumbers.SUPPORTED_REGIONS:
        return None
    plan = _phone_plan(metadata.country_code)
    if plan is None or phonenumbers.COUNTRY_CODE_TO_REGION_CODE[plan.country_code][0] != region:
        return None
    return plan


@functools.cache
def _calling_code_size(first_digits: str) -> int:
    # Calling codes are prefix-free: the first known one of 1 to 3 digits is it.
    for size in (1, 2, 3):
        if int(first_digits[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return size
    return 0


def _country_of(digits: str) -> tuple[_PhonePlan | None, str]:
    if len(digits) <= 3:
        return None, ""
    size = _calling_code_size(digits[:3])
    return (_phone_plan(int(digits[:size])), digits[size:]) if size else (None, "")


_BACKREF = re.compile(r"\\(\d)")


@functools.cache
def _replacement_parts(replacement: str) -> tuple[list[str], list[int]] | None:
    """A format's text and group numbers ("\\1 \\2" -> ["", " ", ""], [1, 2]), or None if
    it holds any other escape. Match.expand parses its template anew on every call."""
    if "\\" in _BACKREF.sub("", replacement):
        return None
    parts = _BACKREF.split(replacement)
    return parts[0::2], [int(g) for g in parts[1::2]]


def _expand(match: re.Match, replacement: str) -> str:
    """What match.expand(replacement) gives."""
    parts = _replacement_parts(replacement)
    if parts is None:
        return match.expand(replacement)
    texts, groups = parts
    out = [texts[0]]
    for group, text in zip(groups, texts[1:], strict=True):
        out.append(match.group(group) or "")
        out.append(text)
    return "".join(out)


def _valid_and_formatted(plan: _PhonePlan, national: str) -> tuple[str, str] | None:
    """(display, E.164) if `national` is a valid number of the plan's country, else None."""
    length = len(national)
    if length < 2 or length > 17 or national[0] == "0":
        return None  # too short/long for parse, or a leading zero ("Italian") to keep
    if length not in plan.general_lengths or not plan.general.fullmatch(national):
        return None
    typed = plan.typed.get(length)
    if typed is None or not typed.fullmatch(national):
        return None
    formatted = national
    for leading, pattern, replacement, needs_digits in plan.formats:
        if leading is not None and not leading.match(national):
            continue
        # phonenumbers replaces with pattern.sub(); when the first match is the whole
        # number (and the pattern cannot match nothing) that is the match expanded.
        m = pattern.match(national)
        if m is not None and m.end() == length and needs_digits:
            formatted = _expand(m, replacement)
            break
        if pattern.fullmatch(national):
            formatted = pattern.sub(replacement, national)
            break
    return f"{plan.prefix} {formatted}", plan.prefix + national


def _fast_phone(value: str, region: str) -> tuple[str, str] | None:
    match = _INTERNATIONAL_SPELLING.fullmatch(value)
    if match is not None:
        digits = match.group(1).replace(" ", "")
        if len(digits) <= 3:
            return None
        plan, national = _country_of(digits)
        if plan is None:
            return None
        # parse strips a national prefix after the country code when what is left is
        # still a number ("+49 030 ..."); leave that to it.
        if plan.national_prefix_any is not None and plan.national_prefix_any.match(national):
            return None
        return _valid_and_formatted(plan, national)
    if _NATIONAL_SPELLING.fullmatch(value) is None:
        return None
    plan = _region_plan(region)
    if plan is None or plan.national_prefix is None:
        return None
    digits = _NOT_DIGITS.sub("", value)
    if plan.idd is not None and plan.idd.match(digits):
        return None  # "00..." is dialled abroad: parse reads a country code from it
    prefix = plan.national_prefix.match(digits)
    if prefix is None:
        return None
    national = digits[prefix.end() :]
    # parse keeps the prefix if the number is one with it and not without it, or if what
    # is left is no possible length for the country.
    if plan.general.fullmatch(digits) and not plan.general.fullmatch(national):
        return None
    if len(national) not in plan.general_lengths or len(national) in plan.local_lengths:
        return None
    return _valid_and_formatted(plan, national)


# Outcomes of the full way, by (spelling, region): numbers recur (a company's switchboard,
# a family's landline). Cleared when full; only what the rules say, not the language.
_PHONE_CACHE: dict[tuple[str, str], tuple[str, str] | str] = {}
_PHONE_CACHE_SIZE = 10_000


def _full_phone(value: str, region: str) -> tuple[str, str] | str:
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return "not_a_number"
    if not phonenumbers.is_valid_number(parsed):
        return "invalid"
    display = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return display, phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def clean_phone(value: str, region: str) -> tuple[str, str]:
    """Any spelling of a phone number -> (display form, E.164)."""
    outcome = _fast_phone(value, region)
    if outcome is not None:
        display, e164 = outcome
        return _text40(display), e164
    key = (value, region)
    outcome = _PHONE_CACHE.get(key)
    if outcome is None:
        outcome = _full_phone(value, region)
        if len(_PHONE_CACHE) >= _PHONE_CACHE_SIZE:
            _PHONE_CACHE.clear()
        _PHONE_CACHE[key] = outcome
    if outcome == "not_a_number":
        raise Invalid(_("Not a phone number."))
    if outcome == "invalid":
        raise Invalid(
            _(
                "Not a valid phone number for %(region)s; write it with +country code "
                "if it is foreign."
            )
            % {"region": region}
        )
    display, e164 = outcome
    # Formatting adds spaces and " ext. ": the result must still fit the column.
    return _text40(display), e164


def phone_to_e164(value: str, region: str | None = None) -> str | None:
    """Normalise a number typed or sent by a phone system, or None if it is none."""
    region = region or settings.DEFAULT_PHONE_REGION
    # A valid number in a usual spelling (what phone systems send): the short way, which
    # gives what the full parse gives (tests/customers/test_phone_fast_path.py).
    outcome = _fast_phone(value, region)
    if outcome is not None:
        return outcome[1]
    return _full_e164(value, region)


def _full_e164(value: str, region: str) -> str | None:
    """The E.164 form of any possible number, the full way."""
    try:
        parsed = phonenumbers.parse(value, region)
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
                cleaned["number"] = _customer_number(value)
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

    # Without a stored record the merged view is the cleaned values themselves.
    merged = {**current, **cleaned} if current else cleaned

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
            cleaned[e164_field] = None  # no number (see Customer.phone_private_e164)

    if "postcode" in cleaned or "country" in cleaned:
        postcode, ctry = merged.get("postcode", ""), merged.get("country") or default_region
        pattern = _POSTCODE_RULES.get(ctry)
        if postcode and pattern and not pattern.fullmatch(postcode):
            errors.add(
                "postcode",
                _("Not a postcode of %(country)s (%(code)s), such as %(example)s.")
                % {
                    "country": country_name(ctry),
                    "code": ctry,
                    "example": _POSTCODE_PATTERNS[ctry][1],
                },
            )

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

    merged = {**current, **cleaned} if current else cleaned
    kind = merged.get("kind") or CustomerKind.PRIVATE
    if kind == CustomerKind.BUSINESS and not merged.get("company_name"):
        errors.add("company_name", _("A business customer needs a company name."))
    if kind == CustomerKind.PRIVATE and not (merged.get("last_name") or merged.get("first_name")):
        errors.add("last_name", _("A private customer needs a first name or a name."))

    if errors:
        errors.raise_if_any("invalid", _("Some fields are not valid."))
    return cleaned
