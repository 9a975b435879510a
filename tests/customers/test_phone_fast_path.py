"""The short way for common phone spellings gives exactly what phonenumbers gives."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stammgast.customers.validation import (
    Invalid,
    _fast_phone,
    _full_e164,
    _full_phone,
    clean_phone,
    phone_to_e164,
)

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
TYPES = [
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
]


def example_numbers():
    """Real example numbers of every region and type, as phonenumbers' metadata has them."""
    for region in REGIONS:
        for kind in TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                yield region, number


EXAMPLES = list(example_numbers())


def spellings(region, number, rng):
    """Ways a person writes the number: international, national, with other digits."""
    national = phonenumbers.national_significant_number(number)
    out = [
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
        f"+{number.country_code} 0{national}",
        f"0{national}",
        f"00{number.country_code}{national}",
    ]
    for _ in range(4):
        # Same length and start, other digits: many valid, some not.
        keep = rng.randint(1, max(1, len(national) - 1))
        tail = "".join(rng.choice("0123456789") for _ in national[keep:])
        changed = national[:keep] + tail
        out += [
            f"+{number.country_code} {changed}",
            f"0{changed}",
            f"+{number.country_code}{changed}",
        ]
        cut = rng.randint(1, len(changed))
        out.append(f"0{changed[:cut]}/{changed[cut:]}".rstrip("/"))
        out.append(f"0{changed[:cut]}-{changed[cut:]}".rstrip("-"))
        out.append(f"+{number.country_code} {changed[:cut]} {changed[cut:]}".rstrip())
    return out


def assert_same(value, region):
    fast = _fast_phone(value, region)
    full = _full_phone(value, region)
    if fast is not None:
        assert fast == full, (value, region)
    try:
        got = clean_phone(value, region)
    except Invalid:
        got = None
    expected = None
    if isinstance(full, tuple) and len(full[0]) <= 40:
        expected = full
    assert got == expected, (value, region)
    # The caller-ID lookup takes the short way too and must find the same number.
    assert phone_to_e164(value, region) == _full_e164(value, region), (value, region)


def test_example_numbers_of_every_country_in_every_spelling():
    rng = random.Random(20240611)
    fast_hits = 0
    for region, number in EXAMPLES:
        for home in (region, "DE", "AT"):
            for value in spellings(region, number, rng):
                assert_same(value, home)
                fast_hits += _fast_phone(value, home) is not None
    # The short way is taken for most of them (otherwise this test proves little).
    assert fast_hits > len(EXAMPLES) * 5


@pytest.mark.parametrize(
    "value",
    [
        "+49 30 1234567",
        "+49 171 2345678",
        "+49 1521 0006626",
        "030 1234567",
        "030/1234567",
        "0171-2345678",
        "0351 1234567",
        "+49 030 1234567",
        "+43 1 234567",
        "+41 44 668 18 00",
        "+1 650 253 0000",
        "+44 20 7946 0018",
        "+39 06 698 81",
        "0049 30 1234567",
        "+49 800 1234567",
        "+800 1234 5678",
        "+4",
        "+49",
        "+0 123 456",
        "0",
        "00",
        "01",
    ],
)
@pytest.mark.parametrize("region", ["DE", "AT", "CH", "GB", "IT", "US"])
def test_usual_and_unusual_spellings(value, region):
    assert_same(value, region)


digits = st.text("0123456789", min_size=1, max_size=18)
separators = st.sampled_from(["", " ", "/", "-"])


@settings(max_examples=3000, deadline=None)
@given(
    st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
    st.lists(st.tuples(separators, digits), min_size=1, max_size=4),
    st.sampled_from(REGIONS),
)
def test_any_international_spelling(country_code, parts, region):
    value = f"+{country_code}" + "".join(sep + part for sep, part in parts)
    assert_same(value, region)


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(st.tuples(separators, digits), min_size=1, max_size=4),
    st.sampled_from(["DE", "AT", "CH", "NL", "FR", "IT", "PL", "GB", "US", *REGIONS]),
)
def test_any_national_spelling(parts, region):
    value = "0" + "".join(sep + part for sep, part in parts)
    assert_same(value, region)
