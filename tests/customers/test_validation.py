"""Each field rule: bad values are refused with a message naming the field; nothing is created."""

import datetime as dt

import pytest

from stammgast.core.errors import DomainError, PermissionDenied
from stammgast.customers import services
from stammgast.customers.models import Customer

from .helpers import patch_json, post_json

# A real German test IBAN (Commerzbank example) and a variant with a broken check sum.
GOOD_IBAN = "DE89 3704 0044 0532 0130 00"
BAD_IBAN = "DE89 3704 0044 0532 0130 01"


def create_via_api(client, language="en", **data):
    data.setdefault("last_name", "Müller")
    return post_json(client, "/api/v1/customers", data, HTTP_ACCEPT_LANGUAGE=language)


def refused(response, field):
    """The answer is a clear 4xx JSON naming `field`, and no customer was created."""
    assert 400 <= response.status_code < 500, response.content
    body = response.json()
    assert body["code"]
    assert body["message"]
    assert field in body["fields"], body
    assert all(m.strip() for m in body["fields"][field])
    assert Customer.objects.count() == 0
    return body["fields"][field]


# --- discount --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "10.5",
        "10,5",
        "101",
        "-1",
        "ten",
        "１０",
        "٥",
        10.5,
        True,
        -1,
        101,
        "",
        None,
        [10],
        {"v": 10},
        1e300,
        10**30,
    ],
)
def test_discount_other_than_whole_percent_is_refused(pos_api, admin_actor, value):
    messages = refused(create_via_api(pos_api, discount=value), "discount")
    assert any("discount" in m.lower() for m in messages), messages


@pytest.mark.parametrize(
    ("language", "word"), [("en", "discount"), ("de", "Rabatt"), ("en", "discount")]
)
def test_discount_message_speaks_the_clients_language(pos_api, admin_actor, language, word):
    for value in ("10,5", "101"):
        messages = refused(create_via_api(pos_api, language, discount=value), "discount")
        assert word in messages[0], messages


@pytest.mark.parametrize(
    ("value", "stored"), [(0, 0), ("100", 100), (100, 100), ("15", 15), (" 7 ", 7)]
)
def test_discount_as_whole_percent_is_accepted(pos_api, admin_actor, value, stored):
    response = create_via_api(pos_api, discount=value)
    assert response.status_code == 201, response.content
    assert response.json()["discount"] == stored


@pytest.mark.parametrize("value", ["10.5", "10,5", "101", "-1", "ten"])
def test_discount_rule_holds_for_the_service_too(admin_actor, value):
    with pytest.raises(DomainError) as err:
        services.create_customer(actor=admin_actor, data={"last_name": "Müller", "discount": value})
    assert "discount" in err.value.fields
    assert Customer.objects.count() == 0


def test_discount_rule_holds_on_change(pos_api, admin_actor, make_customer):
    make_customer(discount=5)
    response = patch_json(pos_api, "/api/v1/customers/1", {"discount": "10,5"}, etag='"1-1"')
    assert response.status_code == 422
    assert "discount" in response.json()["fields"]
    assert Customer.objects.get(number=1).discount == 5


# --- memos -----------------------------------------------------------------------------


def test_memo_of_200_characters_is_accepted_201_refused(pos_api, admin_actor):
    assert create_via_api(pos_api, memo="m" * 200).status_code == 201
    Customer.objects.all().delete()
    messages = refused(create_via_api(pos_api, memo="m" * 201), "memo")
    assert "200" in messages[0]


def test_third_party_memo_of_a_million_characters_with_thirdparty_scope(
    tenant, make_api, admin_actor
):
    reservations = make_api(tenant, ("thirdparty",), name="Reservierung")
    memo = "r" * 1_000_000
    response = create_via_api(reservations, third_party_memo=memo)
    assert response.status_code == 201, response.content[:300]
    assert Customer.objects.get().third_party_memo == memo
    # One more character is too many.
    too_long = create_via_api(reservations, last_name="Zwei", third_party_memo=memo + "r")
    assert too_long.status_code == 422
    assert "third_party_memo" in too_long.json()["fields"]
    assert Customer.objects.count() == 1


@pytest.mark.parametrize("scopes", [("pos",), ("webshop",), ("pos", "webshop")])
def test_pos_and_webshop_may_not_write_the_third_party_memo(
    tenant, make_api, admin_actor, make_customer, scopes
):
    client = make_api(tenant, scopes)
    response = create_via_api(client, third_party_memo="Tisch 4 reserviert")
    assert response.status_code == 403
    assert "third_party_memo" in response.json()["fields"]
    assert Customer.objects.count() == 0
    make_customer()
    changed = patch_json(client, "/api/v1/customers/1", {"third_party_memo": "x"}, etag='"1-1"')
    assert changed.status_code == 403
    assert "third_party_memo" in changed.json()["fields"]
    assert Customer.objects.get().third_party_memo == ""


def test_staff_may_not_write_the_third_party_memo(admin_actor):
    with pytest.raises(PermissionDenied) as err:
        services.create_customer(
            actor=admin_actor, data={"last_name": "Müller", "third_party_memo": "x"}
        )
    assert "third_party_memo" in err.value.fields


def test_pos_may_echo_the_third_party_memo_unchanged(tenant, make_api, admin_actor, pos_api):
    reservations = make_api(tenant, ("thirdparty",), name="Reservierung")
    create_via_api(reservations, third_party_memo="Fensterplatz")
    record = pos_api.get("/api/v1/customers/1")
    body = {"city": "Köln", "third_party_memo": record.json()["third_party_memo"]}
    response = patch_json(pos_api, "/api/v1/customers/1", body, etag=record["ETag"])
    assert response.status_code == 200, response.content
    assert response.json()["third_party_memo"] == "Fensterplatz"


# --- bank details ----------------------------------------------------------------------


def test_iban_with_a_bad_check_sum_is_refused(pos_api, admin_actor):
    messages = refused(create_via_api(pos_api, iban=BAD_IBAN), "iban")
    assert "IBAN" in messages[0]


def test_good_iban_is_stored_compact_and_fills_bic_and_institute(pos_api, admin_actor):
    response = create_via_api(pos_api, iban=GOOD_IBAN)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["iban"] == "DE89370400440532013000"
    assert body["bic"] == "COBADEFFXXX"
    assert "Commerzbank" in body["institute"]


def test_a_new_iban_brings_its_own_bic_and_institute(pos_api, admin_actor):
    create_via_api(pos_api, iban=GOOD_IBAN)
    record = pos_api.get("/api/v1/customers/1")
    response = patch_json(
        pos_api, "/api/v1/customers/1", {"iban": "DE65 1007 0000 0123 4567 89"}, etag=record["ETag"]
    )
    body = response.json()
    assert (body["iban"], body["bic"]) == ("DE65100700000123456789", "DEUTDEBBXXX")
    assert "Deutsche Bank" in body["institute"]
    # Clearing the IBAN clears the bank that came with it.
    cleared = patch_json(pos_api, "/api/v1/customers/1", {"iban": ""}, etag=response["ETag"])
    assert (cleared.json()["bic"], cleared.json()["institute"]) == ("", "")


def test_echoing_the_same_iban_keeps_a_bic_typed_by_hand(pos_api, admin_actor):
    create_via_api(pos_api, iban=GOOD_IBAN, bic="COBADEFF", institute="Meine Bank")
    record = pos_api.get("/api/v1/customers/1")
    response = patch_json(
        pos_api, "/api/v1/customers/1", {"iban": GOOD_IBAN, "city": "Köln"}, etag=record["ETag"]
    )
    assert (response.json()["bic"], response.json()["institute"]) == ("COBADEFF", "Meine Bank")


def test_given_bic_is_kept(pos_api, admin_actor):
    body = create_via_api(pos_api, iban=GOOD_IBAN, bic="COBADEFF").json()
    assert body["bic"] == "COBADEFF"


@pytest.mark.parametrize("value", ["NOTABIC", "COBAXXFF", "12345678"])
def test_bad_bic_is_refused(pos_api, admin_actor, value):
    refused(create_via_api(pos_api, bic=value), "bic")


# --- phone numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    ["+49 151 23456789", "0151/23456789", "0049 15123456789", "0151-234 567 89", "(0151) 23456789"],
)
def test_phone_numbers_are_stored_as_e164_and_found_in_any_spelling(pos_api, admin_actor, spelling):
    response = create_via_api(pos_api, mobile=spelling)
    assert response.status_code == 201, response.content
    assert response.json()["mobile"].replace(" ", "") == "+4915123456789"
    assert Customer.objects.get().mobile_e164 == "+4915123456789"
    for typed in ("+49 151 23456789", "0151/23456789", "0049 15123456789", "015123456789"):
        found = pos_api.get("/api/v1/customers/lookup", {"phone": typed})
        assert found.status_code == 200, found.content
        assert [c["number"] for c in found.json()] == [1], typed


def test_lookup_searches_private_business_and_mobile_numbers(pos_api, make_customer):
    make_customer(phone_private="030 1234567")
    make_customer(phone_business="+49 30 1234567", last_name="Schulz")
    make_customer(mobile="0151 23456789", last_name="Klein")
    found = pos_api.get("/api/v1/customers/lookup", {"phone": "0301234567"}).json()
    assert [c["number"] for c in found] == [1, 2]


def test_foreign_numbers_use_the_customers_country(pos_api, admin_actor):
    response = create_via_api(pos_api, country="AT", phone_private="01 5880000", postcode="1010")
    assert response.status_code == 201, response.content
    assert Customer.objects.get().phone_private_e164 == "+4315880000"


@pytest.mark.parametrize(
    "value",
    ["12", "hello", "0151 2345678901234", "+99 123", "+4915123456789;ext=1234567890123456789"],
)
def test_a_wrong_phone_number_is_refused(pos_api, admin_actor, value):
    refused(create_via_api(pos_api, phone_private=value), "phone_private")


def test_lookup_with_no_phone_number_is_400(pos_api):
    response = pos_api.get("/api/v1/customers/lookup", {"phone": "abc"})
    assert response.status_code == 400
    assert "phone" in response.json()["fields"]
    assert pos_api.get("/api/v1/customers/lookup").status_code == 400
    both = pos_api.get("/api/v1/customers/lookup", {"phone": "0301234567", "email": "a@b.de"})
    assert both.status_code == 400


# --- e-mail, country, date of birth, postcode, business, unknown fields ----------------


@pytest.mark.parametrize("value", ["anna", "anna@", "@example.de", "anna@example", "a b@c.de"])
def test_bad_email_is_refused(pos_api, admin_actor, value):
    refused(create_via_api(pos_api, email=value), "email")


def test_email_is_stored_lower_case_and_found(pos_api, admin_actor):
    response = create_via_api(pos_api, email="Anna.Mueller@Example.DE")
    assert response.json()["email"] == "anna.mueller@example.de"
    found = pos_api.get("/api/v1/customers/lookup", {"email": "ANNA.mueller@example.de"})
    assert [c["number"] for c in found.json()] == [1]


@pytest.mark.parametrize(("value", "stored"), [("DE", "DE"), ("at", "AT"), ("Germany", "DE")])
def test_country_is_stored_as_iso_code(pos_api, admin_actor, value, stored):
    response = create_via_api(pos_api, country=value)
    assert response.status_code == 201, response.content
    assert response.json()["country"] == stored


@pytest.mark.parametrize("value", ["XX", "Narnia", 49])
def test_unknown_country_is_refused(pos_api, admin_actor, value):
    refused(create_via_api(pos_api, country=value), "country")


def test_date_of_birth_in_the_future_is_refused(pos_api, admin_actor):
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    messages = refused(create_via_api(pos_api, date_of_birth=tomorrow), "date_of_birth")
    assert "future" in messages[0]


@pytest.mark.parametrize("value", ["1990-02-30", "30.02.1990", "yesterday", "1850-01-01"])
def test_date_of_birth_that_is_not_a_real_date_is_refused(pos_api, admin_actor, value):
    refused(create_via_api(pos_api, date_of_birth=value), "date_of_birth")


def test_date_of_birth_today_or_past_is_accepted(pos_api, admin_actor):
    response = create_via_api(pos_api, date_of_birth="1980-05-17")
    assert response.json()["date_of_birth"] == "1980-05-17"


@pytest.mark.parametrize("value", ["1234", "123456", "5O667", "ABCDE", "５０６６７"])
def test_german_postcode_needs_five_digits(pos_api, admin_actor, value):
    refused(create_via_api(pos_api, postcode=value), "postcode")


def test_postcode_follows_the_country(pos_api, admin_actor):
    assert create_via_api(pos_api, postcode="1010", country="AT").status_code == 201
    assert create_via_api(pos_api, postcode="50667").status_code == 201


def test_postcode_rule_is_checked_when_only_the_country_changes(pos_api, make_customer):
    make_customer(postcode="50667")
    response = patch_json(pos_api, "/api/v1/customers/1", {"country": "AT"}, etag='"1-1"')
    assert response.status_code == 422
    assert "postcode" in response.json()["fields"]


def test_business_customer_needs_a_company(pos_api, admin_actor):
    refused(create_via_api(pos_api, kind="business"), "company_name")
    response = create_via_api(
        pos_api, kind="business", company_name="Adler GmbH", vat_id="DE136695976"
    )
    assert response.status_code == 201, response.content


def test_private_customer_needs_a_name(pos_api, admin_actor):
    refused(post_json(pos_api, "/api/v1/customers", {"city": "Köln"}), "last_name")


def test_unknown_field_is_refused(pos_api, admin_actor):
    refused(create_via_api(pos_api, shoe_size=43), "shoe_size")


def test_unknown_field_is_named_in_the_clients_language(pos_api, admin_actor):
    english = create_via_api(pos_api, shoe_size=43)
    assert english.json()["fields"]["shoe_size"] == ["Unknown field."]
    german = create_via_api(pos_api, language="de", shoe_size=43)
    assert german.status_code == 422
    assert german.json()["fields"]["shoe_size"] == ["Unbekanntes Feld."]


def test_unknown_field_is_refused_by_the_service(admin_actor):
    with pytest.raises(DomainError) as err:
        services.create_customer(actor=admin_actor, data={"last_name": "X", "shoe_size": 43})
    assert "shoe_size" in err.value.fields


def test_all_bad_fields_are_named_at_once(pos_api, admin_actor):
    response = create_via_api(pos_api, discount="ten", email="x", memo="m" * 201)
    assert set(response.json()["fields"]) >= {"discount", "email", "memo"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", 42),
        ("favourite", "yes"),
        ("newsletter", 1),
        ("gender", "robot"),
        ("payment_method", "bitcoin"),
        ("price_level", 0),
        ("last_name", "x" * 101),
        ("last_name", "Müller\x00"),
        ("groups", "Stammgäste"),
    ],
)
def test_wrong_types_and_choices_are_refused(pos_api, admin_actor, field, value):
    refused(create_via_api(pos_api, **{field: value}), field)


def test_a_bad_change_changes_nothing(pos_api, make_customer):
    make_customer(city="Bonn", email="a@example.de")
    response = patch_json(
        pos_api, "/api/v1/customers/1", {"city": "Köln", "email": "nope"}, etag='"1-1"'
    )
    assert response.status_code == 422
    customer = Customer.objects.get()
    assert (customer.city, customer.email, customer.version) == ("Bonn", "a@example.de", 1)
