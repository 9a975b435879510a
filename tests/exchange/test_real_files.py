"""Files made by the tools people use (see files/README.md), imported as a user would."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from stammgast.core.tenancy import tenant_scope
from stammgast.customers.models import Customer
from stammgast.exchange import services

FILES = Path(__file__).parent / "files"


def run(actor, name, **kw):
    with tenant_scope(actor.tenant):
        return services.import_customers(actor=actor, path=FILES / name, **kw)


def customers(tenant):
    with tenant_scope(tenant):
        return list(Customer.objects.order_by("number"))


def test_shopify_customer_export(empty_actor, empty_tenant):
    result = run(empty_actor, "shopify_customers_export.csv", mode="valid-rows")
    # Every customer with a name comes in; the ten with nothing but an e-mail address are
    # refused by the rule every other way in applies, each on its own line.
    assert (result.rows, result.created, result.failed_rows) == (80, 70, 10)
    assert {(p.column, p.value) for p in result.errors} == {("Last Name", "")}
    assert [p.row for p in result.errors] == list(range(9, 82, 8))
    assert len(result.left_out) == 7 and any("Total Spent" in x for x in result.left_out)
    first = customers(empty_tenant)[0]
    assert (first.first_name, first.last_name, first.postcode, first.country) == (
        "Anna",
        "Meier",
        "01067",
        "DE",
    )
    assert first.phone_private == "+49 351 1000000"
    assert first.email == "gast0@example.de" and first.newsletter is False
    second = customers(empty_tenant)[1]
    assert second.mobile == "+49 1511 0007919" and second.newsletter is True
    assert second.care_of == "2. OG"
    company = next(c for c in customers(empty_tenant) if c.company_name)
    assert company.company_name == "Adler GmbH"


def test_shopify_export_all_or_nothing_says_which_rows_and_keeps_nothing(empty_actor, empty_tenant):
    result = run(empty_actor, "shopify_customers_export.csv")
    assert result.applied is False and result.failed_rows == 10
    assert customers(empty_tenant) == []


def exported_fields(c: Customer) -> tuple:
    return (
        c.number,
        c.first_name,
        c.last_name,
        c.alias,
        c.gender,
        c.date_of_birth,
        c.street,
        c.postcode,
        c.city,
        c.country,
        c.phone_private,
        c.mobile,
        c.email,
        c.discount,
        c.price_level,
        c.favourite,
        c.blocked,
    )


EXPECTED = [
    (
        1,
        "Jürgen",
        "Weiß",
        "",
        "male",
        dt.date(1980, 2, 29),
        "Hauptstraße 1",
        "01067",
        "Dresden",
        "DE",
        "",
        "+49 171 2345678",
        "juergen@example.de",
        10,
        2,
        True,
        False,
    ),
    (
        2,
        "",
        "'t Hooft",
        "@home",
        "",
        dt.date(2005, 4, 3),
        "",
        "8001",
        "Zürich",
        "CH",
        "+41 44 123 45 67",
        "",
        "",
        0,
        1,
        False,
        False,
    ),
    (3, "Ana", "=HYPERLINK(1)", "", "", None, "", "09111", "", "DE", "", "", "", 0, 1, False, True),
]


def test_export_saved_again_by_libreoffice_as_csv(empty_actor, empty_tenant):
    # Postcodes became numbers, dates DD.MM.YY, the export's apostrophes are in the cells.
    result = run(empty_actor, "export_libreoffice.csv")
    assert result.errors_total == 0, result.errors
    assert [exported_fields(c) for c in customers(empty_tenant)] == EXPECTED
    # LibreOffice shows and so saves times without seconds: what is left is kept.
    first = customers(empty_tenant)[0]
    assert first.updated_at.astimezone().replace(tzinfo=None) == dt.datetime(2025, 1, 2, 17, 0)


def test_export_saved_again_by_libreoffice_as_xlsx(empty_actor, empty_tenant):
    # Number cells for postcodes, date cells, the apostrophes kept as part of the text.
    result = run(empty_actor, "export_libreoffice.xlsx")
    assert result.errors_total == 0, result.errors
    assert [exported_fields(c) for c in customers(empty_tenant)] == EXPECTED
