"""Whatever a client sends, the field rules answer with cleaned values or a DomainError."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from stammgast.core.errors import DomainError
from stammgast.customers.validation import CLEANERS, clean_customer_data

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=8,
)
field_names = st.sampled_from(["number", *CLEANERS, "shoe_size"])


@settings(max_examples=250, deadline=None)
@given(st.dictionaries(field_names, json_values, max_size=6))
def test_any_input_is_cleaned_or_refused_by_field(data):
    try:
        cleaned = clean_customer_data(data)
    except DomainError as err:
        assert err.status == 422
        assert err.fields
        assert all(messages for messages in err.fields.values())
        return
    for field, value in cleaned.items():
        assert isinstance(value, str | int | bool | list | dict | dt.date | None), field
        if isinstance(value, str):
            value.encode("utf-8")  # storable
            assert "\x00" not in value
    if "discount" in cleaned:
        assert type(cleaned["discount"]) is int
        assert 0 <= cleaned["discount"] <= 100


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_any_text_as_a_phone_number(value):
    try:
        cleaned = clean_customer_data({"last_name": "A", "mobile": value})
    except DomainError as err:
        assert "mobile" in err.fields
        return
    if cleaned["mobile"]:
        assert cleaned["mobile_e164"].startswith("+")


def test_the_longest_homepage_without_scheme_still_fits():
    value = "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + ".example"  # 199 characters
    try:
        cleaned = clean_customer_data({"last_name": "A", "homepage": value[:200]})
    except DomainError as err:
        assert "homepage" in err.fields
        return
    assert len(cleaned["homepage"]) <= 200
