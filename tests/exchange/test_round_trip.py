"""Round trip: export a tenant, import into an empty one, and every exported field is equal."""

from __future__ import annotations

import datetime as dt
import itertools
import zipfile

import python_calamine
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from stammgast.core.errors import DomainError
from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.customers.models import Customer
from stammgast.customers.selectors import CustomerFilter
from stammgast.exchange import services
from stammgast.exchange.columns import EXPORT_FIELDS
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor

_slugs = itertools.count()
TRICKY = "äöüÄÖÜßéç😀🍺\"';,.=+-@ \u00a0/&<>#%*()[]{}|\\0123456789"
letters = st.characters(
    codec="utf-8",
    exclude_categories=("Cc", "Cs", "Zl", "Zp"),
    exclude_characters="\ufeff",
)


def words(max_size: int) -> st.SearchStrategy[str]:
    alphabet = st.one_of(st.sampled_from(TRICKY), letters)
    return st.text(alphabet, max_size=max_size).map(lambda s: s.strip())


PHONES = ["0351 1234567", "+49 171 2345678", "030 12345678", "+43 1 5877777", ""]
IBANS = ["DE89370400440532013000", "AT611904300234573201", ""]

customer_data = st.fixed_dictionaries(
    {
        "first_name": words(30),
        "last_name": words(30).filter(bool),
        "title": words(10),
        "alias": words(20),
        "street": words(40),
        "city": words(30),
        "care_of": words(20),
        "po_box": st.from_regex(r"0?[0-9]{0,6}", fullmatch=True),
        "postcode": st.from_regex(r"0[0-9]{4}", fullmatch=True) | st.just(""),
        "loss_reason": words(40),
        "gender": st.sampled_from(["", "female", "male", "diverse"]),
        "date_of_birth": st.none() | st.dates(dt.date(1900, 1, 1), dt.date(2020, 12, 31)),
        "phone_private": st.sampled_from(PHONES),
        "mobile": st.sampled_from(PHONES),
        "fax": st.sampled_from(PHONES),
        "email": st.from_regex(r"[a-z0-9][a-z0-9_%+-]{0,9}@example\.de", fullmatch=True)
        | st.just(""),
        "homepage": st.sampled_from(["", "https://example.de/ä?x=1;y=2", "http://www.example.com"]),
        "iban": st.sampled_from(IBANS),
        "discount": st.integers(0, 100),
        "price_level": st.integers(1, 99),
        "payment_method": st.sampled_from(
            ["cash", "invoice", "direct_debit", "customer_account", "card"]
        ),
        "payment_term_days": st.integers(0, 365),
        "favourite": st.booleans(),
        "blocked": st.booleans(),
    }
)


def exported_cells(path):
    if path.suffix == ".xlsx":
        return python_calamine.load_workbook(str(path)).get_sheet_by_index(0).to_python()
    with zipfile.ZipFile(path) as archive:
        return archive.read(next(n for n in archive.namelist() if "filter" not in n))


def field_values(tenant):
    with tenant_scope(tenant):
        rows = Customer.objects.order_by("number").values_list(*EXPORT_FIELDS)
        return [
            tuple(v.replace(microsecond=0) if isinstance(v, dt.datetime) else v for v in row)
            for row in rows
        ]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(customer_data, min_size=1, max_size=4),
    fmt=st.sampled_from(["xlsx", "zip"]),
    language=st.sampled_from(["de", "en"]),
)
def test_export_then_import_reproduces_every_exported_field(
    db, tmp_path_factory, people, fmt, language
):
    n = next(_slugs)
    source = tenant_services.create_tenant(slug=f"quelle-{n}", name="Quelle")
    target = tenant_services.create_tenant(slug=f"ziel-{n}", name="Ziel")
    tmp = tmp_path_factory.mktemp("rt")
    with tenant_scope(source):
        actor = Actor.system(source)
        for data in people:
            try:
                customer_services.create_customer(actor=actor, data=data)
            except DomainError:
                # Data the API refuses cannot be exported in the first place.
                assume(False)
        first = tmp / f"a.{fmt}"
        services.export_customers(
            actor=actor,
            f=CustomerFilter(),
            path=first,
            language=language,
            zip_threshold=1 if fmt == "zip" else 100,
        )
    with tenant_scope(target):
        actor = Actor.system(target)
        result = services.import_customers(actor=actor, path=first)
        assert result.errors_total == 0, result.errors
        assert result.created == len(people)
        second = tmp / f"b.{fmt}"
        services.export_customers(
            actor=actor,
            f=CustomerFilter(),
            path=second,
            language=language,
            zip_threshold=1 if fmt == "zip" else 100,
        )
    assert exported_cells(first) == exported_cells(second)
    assert field_values(source) == field_values(target)


any_text = st.text(
    st.one_of(st.sampled_from(TRICKY + "\n\r\t"), st.characters(codec="utf-8")), max_size=40
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(any_text, min_size=3, max_size=3), min_size=1, max_size=5))
def test_csv_cells_read_back_exactly_with_line_breaks_and_formula_text(tmp_path_factory, rows):
    from stammgast.exchange.columns import TEXT, Column, read_cell
    from stammgast.exchange.readers import open_table
    from stammgast.exchange.writers import write_zip

    columns = [Column(f"c{i}", f"C{i}", f"C{i}", TEXT) for i in range(3)]
    path = tmp_path_factory.mktemp("csv") / "t.zip"
    write_zip(
        path,
        columns,
        rows,
        language="de",
        data_name="d.csv",
        settings_name="filter.csv",
        settings_rows=[],
    )
    with open_table(path) as table:
        assert table.headers == ["C0", "C1", "C2"]
        back = [[read_cell(TEXT, v, from_csv=True) for v in cells] for _n, cells in table.rows]
    assert back == rows


# --- through a spreadsheet -----------------------------------------------------------------
# What LibreOffice or Excel does to the export's CSV when it is opened and saved again:
# postcodes become numbers (01067 -> 1067), dates are shown and saved as D.M.YY (or become
# date cells in XLSX), the apostrophes the export put in front of formula-like texts and
# texts with an apostrophe of their own stay in the cells.

_TODAY = dt.date.today()
spreadsheet_customer = customer_data.map(dict).flatmap(
    lambda data: st.fixed_dictionaries(
        {
            # Two-digit years reach back 99 years (see the century rule in exchange.md).
            "date_of_birth": st.none()
            | st.dates(_TODAY.replace(year=_TODAY.year - 98), _TODAY - dt.timedelta(days=2)),
            "last_name": st.sampled_from(["'t Hooft", "''Zitat", "=1+2", "@home", "Meier"]),
            "postcode": st.from_regex(r"0[1-9][0-9]{3}", fullmatch=True) | st.just("01067"),
        }
    ).map(lambda extra: {**data, **extra})
)


def _through_a_spreadsheet(csv_bytes: bytes, path, fmt: str) -> None:
    import csv
    import io

    import xlsxwriter

    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig")), delimiter=";"))
    heading = rows[0]
    postcode, born = heading.index("PLZ"), heading.index("Geburtsdatum")
    stamps = [heading.index("Kunde angelegt"), heading.index("Kunde zuletzt geändert")]
    numbers = [heading.index(h) for h in ("Kundennummer", "Rabatt", "Preisebene", "Zahlungsziel")]
    if fmt == "csv":
        for row in rows[1:]:
            if row[postcode]:
                row[postcode] = str(int(row[postcode]))
            if row[born]:
                day, month, year = map(int, row[born].split("."))
                row[born] = f"{day}.{month}.{year % 100:02d}"
        out = io.StringIO()
        csv.writer(out, delimiter=";", lineterminator="\n").writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8")
        return
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Tabelle1")
    date_cell = book.add_format({"num_format": "dd.mm.yy"})
    time_cell = book.add_format({"num_format": "dd.mm.yy hh:mm:ss"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if r and value and (c == postcode or c in numbers):
                sheet.write_number(r, c, int(value))
            elif r and value and c == born:
                sheet.write_datetime(r, c, dt.datetime.strptime(value, "%d.%m.%Y"), date_cell)
            elif r and value and c in stamps:
                stamp = dt.datetime.strptime(value, "%d.%m.%Y %H:%M:%S")
                sheet.write_datetime(r, c, stamp, time_cell)
            else:
                sheet.write_string(r, c, value)
    book.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(spreadsheet_customer, min_size=1, max_size=4),
    fmt=st.sampled_from(["csv", "xlsx"]),
)
def test_a_customer_comes_back_the_same_after_a_spreadsheet_round_trip(
    db, tmp_path_factory, people, fmt
):
    n = next(_slugs)
    source = tenant_services.create_tenant(slug=f"tabelle-{n}", name="Quelle")
    target = tenant_services.create_tenant(slug=f"zurueck-{n}", name="Ziel")
    tmp = tmp_path_factory.mktemp("sheet")
    with tenant_scope(source):
        actor = Actor.system(source)
        for data in people:
            try:
                customer_services.create_customer(actor=actor, data=data)
            except DomainError:
                assume(False)
        services.export_customers(
            actor=actor, f=CustomerFilter(), path=tmp / "a.zip", language="de", zip_threshold=1
        )
    edited = tmp / f"edited.{fmt}"
    _through_a_spreadsheet(exported_cells(tmp / "a.zip"), edited, fmt)
    with tenant_scope(target):
        result = services.import_customers(actor=Actor.system(target), path=edited)
    assert result.errors_total == 0, result.errors
    assert field_values(source) == field_values(target)
