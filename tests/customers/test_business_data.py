"""German business data: VAT IDs by country, IBAN and BIC in the user's language, countries
by name, postcodes per country. The same rules on every path (see test_parity.py)."""

import pytest

from stammgast.customers.models import Customer

from .test_validation import create_via_api, refused


@pytest.fixture(autouse=True)
def _in_tenant(admin_actor):
    """The test body reads the tenant's tables directly."""


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("DE136695976", "DE136695976"),
        ("de 136 695 976", "DE136695976"),
        ("ATU13585627", "ATU13585627"),
        ("CHE-116.281.710 MWST", "CHE116281710MWST"),
        ("NL004495445B01", "NL004495445B01"),
    ],
)
def test_vat_ids_of_their_countries_are_kept_compact(pos_api, value, stored):
    response = create_via_api(pos_api, kind="business", company_name="Adler GmbH", vat_id=value)
    assert response.status_code == 201, response.content
    assert Customer.objects.get().vat_id == stored


def test_a_german_vat_id_needs_nine_digits(pos_api):
    [message] = refused(
        create_via_api(
            pos_api, "de", kind="business", company_name="Adler GmbH", vat_id="DE12345678"
        ),
        "vat_id",
    )
    assert message == "Keine USt-IdNr. aus Deutschland; diese besteht aus DE und 9 Ziffern."


def test_a_vat_id_with_a_wrong_check_digit_is_refused(pos_api):
    [message] = refused(
        create_via_api(pos_api, kind="business", company_name="Adler GmbH", vat_id="ATU12345678"),
        "vat_id",
    )
    assert "check digit" in message


@pytest.mark.parametrize(
    ("value", "german"),
    [
        (
            "DE89 3704 0044 0532 0130 01",
            "Die Prüfziffern dieser IBAN stimmen nicht: bitte auf Tippfehler prüfen.",
        ),
        (
            "DE89 3704 0044 0532 0130 0",
            "Eine IBAN aus Deutschland hat 22 Zeichen (diese hat 21).",
        ),
        (
            "XX89 3704 0044 0532 0130 00",
            "Eine IBAN beginnt mit dem Code eines Landes mit IBANs, z. B. DE.",
        ),
    ],
)
def test_iban_errors_are_german_through_and_through(pos_api, value, german):
    [message] = refused(create_via_api(pos_api, "de", iban=value), "iban")
    assert message == german


def test_bic_errors_are_german(pos_api):
    [message] = refused(create_via_api(pos_api, "de", bic="DEU"), "bic")
    assert message == "Eine BIC hat 8 oder 11 Buchstaben und Ziffern."


@pytest.mark.parametrize(
    ("value", "code"),
    [("Deutschland", "DE"), ("österreich", "AT"), ("Schweiz", "CH"), ("Austria", "AT")],
)
def test_a_country_is_found_by_its_german_or_english_name(pos_api, value, code):
    postcode = "50667" if code == "DE" else "1010"
    response = create_via_api(pos_api, country=value, postcode=postcode)
    assert response.status_code == 201, response.content
    assert Customer.objects.get().country == code


def test_an_unknown_country_is_refused_by_name(pos_api):
    [message] = refused(create_via_api(pos_api, "de", country="Atlantis"), "country")
    assert "Atlantis" in message


@pytest.mark.parametrize(
    ("country", "postcode"), [("NL", "1012 AB"), ("PL", "00-950"), ("PT", "1000-001")]
)
def test_postcodes_follow_their_country(pos_api, country, postcode):
    assert create_via_api(pos_api, country=country, postcode=postcode).status_code == 201


def test_a_wrong_postcode_names_the_country_and_an_example(pos_api):
    [message] = refused(create_via_api(pos_api, "de", country="AT", postcode="50667"), "postcode")
    assert message == "Keine Postleitzahl von Österreich (AT), z. B. 1010."
