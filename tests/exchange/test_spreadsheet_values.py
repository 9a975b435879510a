"""Values as spreadsheets leave them: apostrophes, numbers that were postcodes or phones,
salutations, dates in every usual spelling, discounts written with a percent sign."""

from __future__ import annotations

import datetime as dt

import pytest
import xlsxwriter

from stammgast.core.tenancy import tenant_scope
from stammgast.customers.models import Customer
from stammgast.exchange import services
from stammgast.exchange.columns import full_year


def write(tmp_path, text, name="in.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(tmp_path, rows, name="in.xlsx"):
    """A workbook as Excel writes it: numbers as numbers, dates as date cells."""
    path = tmp_path / name
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Tabelle1")
    date_format = book.add_format({"num_format": "dd.mm.yyyy"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_format)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return path


def run(actor, path, **kw):
    with tenant_scope(actor.tenant):
        return services.import_customers(actor=actor, path=path, **kw)


def customers(tenant):
    with tenant_scope(tenant):
        return list(Customer.objects.order_by("number"))


def problems(result):
    return [(p.row, p.column, p.value, p.message) for p in result.errors]


def test_one_leading_apostrophe_is_dropped_and_a_doubled_one_kept(
    tmp_path, empty_actor, empty_tenant
):
    path = write(
        tmp_path,
        "Vorname;Name;PLZ;Telefon privat;Ort\n"
        "'Anna;'Meier;'01067;'+49 351 1234567;''s-Hertogenbosch\n"
        "Bert;''t Hooft;'8001;'0351 7654321;'@Zürich\n",
    )
    result = run(empty_actor, path, match="new")
    assert problems(result) == []
    a, b = customers(empty_tenant)
    assert (a.first_name, a.last_name, a.postcode, a.city) == (
        "Anna",
        "Meier",
        "01067",
        "'s-Hertogenbosch",
    )
    assert a.phone_private == "+49 351 1234567"
    assert (b.last_name, b.postcode, b.city) == ("'t Hooft", "08001", "@Zürich")


def test_apostrophes_in_xlsx_text_cells_too(tmp_path, empty_actor, empty_tenant):
    path = write_xlsx(
        tmp_path, [["Name", "PLZ", "Mobiltelefon"], ["'@x", "'01067", "'+4915112345678"]]
    )
    assert problems(run(empty_actor, path)) == []
    (c,) = customers(empty_tenant)
    assert (c.last_name, c.postcode, c.mobile) == ("@x", "01067", "+49 1511 2345678")


@pytest.mark.parametrize(
    ("country", "written", "stored"),
    [
        ("DE", "1067", "01067"),
        ("Deutschland", "1067", "01067"),
        ("Schweiz", "8001", "8001"),
        ("Absurdistan", "1067", None),  # an unknown country is refused, not guessed
        ("", "1067", "01067"),  # the tenant's default country (DE)
        ("CH", "8001", "8001"),
        ("AT", "1010", "1010"),
        ("FR", "6000", "06000"),
        ("IT", "118", "00118"),
        ("Germany", "1067", "01067"),
    ],
)
def test_numeric_postcodes_get_their_countrys_length(
    tmp_path, empty_actor, empty_tenant, country, written, stored
):
    result = run(empty_actor, write(tmp_path, f"Name;PLZ;Land\nA;{written};{country}\n"))
    if stored is None:
        assert [(r, c) for r, c, _v, _m in problems(result)][0] == (2, "Land")
        return
    assert problems(result) == []
    assert customers(empty_tenant)[0].postcode == stored


def test_numbers_in_xlsx_cells_are_postcodes_and_phones_again(tmp_path, empty_actor, empty_tenant):
    path = write_xlsx(
        tmp_path,
        [
            ["Name", "PLZ", "Land", "Mobiltelefon", "Telefon privat"],
            ["A", 1067, "DE", 15112345678, 4935112345678],
            ["B", 8001, "CH", 791234567, None],
        ],
    )
    assert problems(run(empty_actor, path, match="new")) == []
    a, b = customers(empty_tenant)
    assert (a.postcode, a.mobile, a.phone_private) == (
        "01067",
        "+49 1511 2345678",
        "+49 351 12345678",
    )
    assert (b.postcode, b.mobile) == ("8001", "+41 79 123 45 67")


def test_a_number_that_is_no_phone_number_is_reported(tmp_path, empty_actor):
    result = run(empty_actor, write(tmp_path, "Name;Mobiltelefon\nA;12\n"))
    assert [(r, c, v) for r, c, v, _m in problems(result)] == [(2, "Mobiltelefon", "12")]


@pytest.mark.parametrize(
    ("salutation", "gender", "title", "kind"),
    [
        ("Herr", "male", "", "private"),
        ("Frau", "female", "", "private"),
        ("Divers", "diverse", "", "private"),
        ("Herr Dr.", "male", "Dr.", "private"),
        ("Frau Prof. Dr.", "female", "Prof. Dr.", "private"),
        ("Mr", "male", "", "private"),
        ("Mrs.", "female", "", "private"),
        ("Ms", "female", "", "private"),
        ("Mx", "diverse", "", "private"),
        ("'Herr", "male", "", "private"),
    ],
)
def test_salutations_fill_gender_and_title(
    tmp_path, empty_actor, empty_tenant, salutation, gender, title, kind
):
    result = run(empty_actor, write(tmp_path, f"Anrede;Vorname;Name\n{salutation};A;B\n"))
    assert problems(result) == []
    (c,) = customers(empty_tenant)
    assert (c.gender, c.title, c.kind) == (gender, title, kind)


def test_salutation_firma_makes_a_business_customer(tmp_path, empty_actor, empty_tenant):
    result = run(empty_actor, write(tmp_path, "Anrede;Firma;Name\nFirma;Adler GmbH;\n"))
    assert problems(result) == []
    (c,) = customers(empty_tenant)
    assert (c.kind, c.company_name) == ("business", "Adler GmbH")


def test_a_gender_column_wins_over_the_salutation(tmp_path, empty_actor, empty_tenant):
    path = write(tmp_path, "Anrede;Geschlecht;Titel;Name\nHerr Dr.;divers;Prof.;B\n")
    assert problems(run(empty_actor, path)) == []
    (c,) = customers(empty_tenant)
    assert (c.gender, c.title) == ("diverse", "Prof.")


def test_unknown_salutation_and_gender_name_what_is_accepted(tmp_path, empty_actor):
    result = run(empty_actor, write(tmp_path, "Anrede;Geschlecht;Name\nKönig;w;B\nHerr;q;C\n"))
    found = problems(result)
    assert [(r, c, v) for r, c, v, _m in found] == [(2, "Anrede", "König"), (3, "Geschlecht", "q")]
    assert "Herr, Frau" in found[0][3] and "männlich" in found[1][3] and "Mr" in found[1][3]


def test_the_century_of_a_two_digit_year():
    today = dt.date(2026, 12, 4)
    assert full_year(26, today) == 2026
    assert full_year(5, today) == 2005
    assert full_year(27, today) == 1927
    assert full_year(80, today) == 1980


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("29.02.1980", dt.date(1980, 2, 29)),
        ("1.2.1980", dt.date(1980, 2, 1)),
        ("1.2.80", dt.date(1980, 2, 1)),
        ("03.04.05", dt.date(2005, 4, 3)),
        ("1980-02-29", dt.date(1980, 2, 29)),
        ("'01.02.1980", dt.date(1980, 2, 1)),
    ],
)
def test_dates_in_the_usual_spellings(tmp_path, empty_actor, empty_tenant, written, stored):
    result = run(empty_actor, write(tmp_path, f"Name;Geburtsdatum\nA;{written}\n"))
    assert problems(result) == []
    assert customers(empty_tenant)[0].date_of_birth == stored


def test_date_cells_and_dates_as_text_in_one_sheet(tmp_path, empty_actor, empty_tenant):
    path = write_xlsx(
        tmp_path,
        [["Name", "Geburtsdatum"], ["A", dt.date(1980, 2, 29)], ["B", "3.4.05"], ["C", None]],
    )
    assert problems(run(empty_actor, path, match="new")) == []
    assert [c.date_of_birth for c in customers(empty_tenant)] == [
        dt.date(1980, 2, 29),
        dt.date(2005, 4, 3),
        None,
    ]


def test_impossible_date_is_refused_naming_the_value(tmp_path, empty_actor):
    result = run(empty_actor, write(tmp_path, "Name;Geburtsdatum\nA;31.2.80\n"))
    ((row, column, value, message),) = problems(result)
    assert (row, column, value) == (2, "Geburtsdatum", "31.2.80") and "31.2.80" in message


@pytest.mark.parametrize("written", ["15", "15 %", "15%", "15,0", "15.0", "'15"])
def test_discounts_as_people_write_them(tmp_path, empty_actor, empty_tenant, written):
    result = run(empty_actor, write(tmp_path, f"Name;Rabatt\nA;{written}\n"))
    assert problems(result) == []
    assert customers(empty_tenant)[0].discount == 15


def test_a_fraction_of_a_percent_is_refused_naming_row_and_heading(tmp_path, empty_actor):
    rows = "".join(f"R{i};10\n" for i in range(4)) + "Z;2,5\n"
    result = run(empty_actor, write(tmp_path, "Name;Rabatt\n" + rows), language="en")
    (found,) = problems(result)
    assert found[:3] == (6, "Rabatt", "2,5")
    assert "Whole percent only" in found[3]
    assert result.applied is False


def test_discount_cells_of_a_sheet(tmp_path, empty_actor, empty_tenant):
    path = write_xlsx(tmp_path, [["Name", "Rabatt"], ["A", 15], ["B", 15.0], ["C", 2.5]])
    result = run(empty_actor, path, match="new", mode="valid-rows")
    assert [(r, v) for r, _c, v, _m in problems(result)] == [(4, "2.5")]
    assert [c.discount for c in customers(empty_tenant)] == [15, 15]


def test_a_customer_with_only_an_e_mail_is_refused_naming_the_rule(tmp_path, empty_actor):
    # The rule of every other way in (API, portal): a private customer needs a name.
    path = write(tmp_path, "Vorname;Name;E-Mail\n;;nur@example.de\nA;B;a@example.de\n")
    result = run(empty_actor, path, mode="valid-rows")
    ((row, column, _value, message),) = problems(result)
    assert (row, column) == (2, "Name")
    assert "needs a first name or a name" in message or "Vornamen oder einen Namen" in message
    assert result.created == 1
