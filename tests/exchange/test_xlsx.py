"""The XLSX file as a spreadsheet program shows it: typed cells, formats, headings, sheets.

Values are read back with python-calamine (an independent reader); formats, the frozen
heading and the filter range are read from the file's XML, as Excel would.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from xml.etree import ElementTree as ET

import pytest
import python_calamine
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stammgast.core.errors import DomainError
from stammgast.customers.models import Customer
from stammgast.customers.selectors import CustomerFilter
from stammgast.exchange import exporting, services, writers, xlsx
from stammgast.exchange.columns import EXPORT_COLUMNS, EXPORT_FIELDS, TEXT, Column

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
HEADINGS = [c.de for c in EXPORT_COLUMNS]


def sheets(path):
    book = python_calamine.load_workbook(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def xml(path, part):
    with zipfile.ZipFile(path) as archive:
        return ET.fromstring(archive.read(part))


def cell_formats(path):
    """For each cell style index: (number format code, bold, quote prefix)."""
    styles = xml(path, "xl/styles.xml")
    codes = {"0": "General", "1": "0", "49": "@"}
    for fmt in styles.iterfind("m:numFmts/m:numFmt", NS):
        codes[fmt.get("numFmtId")] = fmt.get("formatCode")
    fonts = [f.find("m:b", NS) is not None for f in styles.iterfind("m:fonts/m:font", NS)]
    return [
        (codes[xf.get("numFmtId")], fonts[int(xf.get("fontId"))], xf.get("quotePrefix") == "1")
        for xf in styles.iterfind("m:cellXfs/m:xf", NS)
    ]


def cell_format(path, ref, sheet=1):
    """The format Excel shows for cell `ref` ("B2"): its own, else its column's."""
    root = xml(path, f"xl/worksheets/sheet{sheet}.xml")
    cell = root.find(f".//m:c[@r='{ref}']", NS)
    style = cell.get("s") if cell is not None else None
    if style is None:
        column = _column_number(ref)
        for col in root.iterfind("m:cols/m:col", NS):
            if int(col.get("min")) <= column <= int(col.get("max")):
                style = col.get("style")
    return cell_formats(path)[int(style or 0)]


def _column_number(ref):
    number = 0
    for char in ref:
        if char.isalpha():
            number = number * 26 + ord(char) - 64
    return number


def customer_row(**values):
    row = {
        "number": "1",
        "gender": "",
        "date_of_birth": None,
        "discount": 0,
        "price_level": 1,
        "payment_method": "cash",
        "payment_term_days": 0,
        "created_at": dt.datetime(2024, 3, 31, 2, 30, 5),
        "updated_at": dt.datetime(2024, 12, 24, 18, 0, 0),
        "favourite": False,
        "blocked": False,
    }
    row.update(values)
    return [row.get(field, "") for field in EXPORT_FIELDS]


def write(path, rows, language="de", settings_rows=(("Einstellung", "Wert"), ("q", "Weiß"))):
    title = "Kunden" if language == "de" else "Customers"
    return writers.write_xlsx(
        path,
        EXPORT_COLUMNS,
        rows,
        language=language,
        settings_rows=settings_rows,
        sheet_title=title,
    )


def test_cells_have_the_type_and_format_a_user_expects(tmp_path):
    path = tmp_path / "k.xlsx"
    rows = [
        customer_row(
            number="007",
            postcode="01067",
            phone_private="0351 1234567",
            iban="DE89370400440532013000",
            date_of_birth=dt.date(1980, 2, 29),
            discount=10,
            gender="female",
            payment_method="invoice",
            favourite=True,
        )
    ]
    assert write(path, rows) == 1
    data = sheets(path)["Kunden"]
    assert data[0] == HEADINGS
    cells = dict(zip(data[0], data[1], strict=True))
    assert cells["Kundennummer"] == "007" and cells["PLZ"] == "01067"
    assert cells["Telefon privat"] == "0351 1234567"
    assert cells["Geburtsdatum"] == dt.date(1980, 2, 29)
    assert cells["Kunde angelegt"] == dt.datetime(2024, 3, 31, 2, 30, 5)
    assert cells["Kunde zuletzt geändert"] == dt.datetime(2024, 12, 24, 18, 0, 0)
    assert cells["Rabatt"] == 10 and cells["Preisebene"] == 1 and cells["Zahlungsziel"] == 0
    assert (cells["Geschlecht"], cells["Zahlungsart"]) == ("weiblich", "Rechnung")
    assert (cells["Favorit"], cells["Kunde gesperrt"]) == ("Ja", "Nein")
    assert cells["Titel"] == ""  # empty stays empty

    # What Excel shows: numbers formatted as numbers, German dates, codes as text.
    assert cell_format(path, "A2")[0] == "@"  # customer number
    assert cell_format(path, "I2")[0] == "@"  # postcode
    assert cell_format(path, "L2")[0] == "@"  # PO box: empty, typed in later it stays text
    assert cell_format(path, "G2")[0] == "dd.mm.yyyy"
    assert cell_format(path, "AB2")[0] == "dd.mm.yyyy hh:mm:ss"
    assert cell_format(path, "W2")[0] == "0"
    assert cell_format(path, "D2")[0] == "General"


def test_english_file_has_english_headings_labels_and_date_formats(tmp_path):
    path = tmp_path / "c.xlsx"
    rows = [customer_row(gender="male", date_of_birth=dt.date(1980, 2, 29), blocked=True)]
    write(path, rows, language="en", settings_rows=(("Setting", "Value"),))
    data = sheets(path)["Customers"]
    assert data[0] == [c.en for c in EXPORT_COLUMNS]
    assert data[1][5] == "male" and data[1][-1] == "Yes" and data[1][25] == "Cash"
    assert cell_format(path, "G2")[0] == "yyyy-mm-dd"
    assert cell_format(path, "AB2")[0] == "yyyy-mm-dd hh:mm:ss"


def test_heading_is_bold_frozen_filtered_and_columns_are_wide_enough(tmp_path):
    path = tmp_path / "k.xlsx"
    write(path, [customer_row(number=str(n)) for n in range(1, 4)])
    assert all(cell_format(path, f"{letter}1")[1] for letter in ("A", "O", "AE"))
    assert not cell_format(path, "A2")[1]
    sheet = xml(path, "xl/worksheets/sheet1.xml")
    pane = sheet.find("m:sheetViews/m:sheetView/m:pane", NS)
    assert (pane.get("ySplit"), pane.get("state"), pane.get("topLeftCell")) == (
        "1",
        "frozen",
        "A2",
    )
    assert sheet.find("m:autoFilter", NS).get("ref") == "A1:AE4"
    book = xml(path, "xl/workbook.xml")
    assert book.find("m:definedNames/m:definedName", NS).text == "'Kunden'!$A$1:$AE$4"
    widths = {int(c.get("min")): float(c.get("width")) for c in sheet.iterfind("m:cols/m:col", NS)}
    assert len(widths) == len(EXPORT_COLUMNS)
    # "Telefon geschäftlich" (20 characters) gets a wider column than the IBAN's 16.
    assert widths[15] > widths[20] >= 16


def test_second_sheet_holds_the_filter(tmp_path):
    path = tmp_path / "k.xlsx"
    settings_rows = [("Einstellung", "Wert"), ("q", "=Weiß"), ("blocked", "False")]
    write(path, [customer_row()], settings_rows=settings_rows)
    book = python_calamine.load_workbook(str(path))
    assert book.sheet_names == ["Kunden", "Filter"]
    assert sheets(path)["Filter"] == [list(r) for r in settings_rows]
    assert cell_format(path, "A1", sheet=2)[1]  # bold heading
    assert cell_format(path, "B2", sheet=2)[2]  # a search text like a formula stays text


def test_export_of_customers_writes_both_sheets(admin_actor, some_customers, tmp_path):
    some_customers()
    path = tmp_path / "out.xlsx"
    result = services.export_customers(
        actor=admin_actor, f=CustomerFilter(blocked=False), path=path
    )
    assert (result.format, result.rows) == ("xlsx", 2)
    data = sheets(path)
    assert list(data) == ["Kunden", "Filter"]
    assert data["Filter"] == [
        ["Einstellung", "Wert"],
        ["blocked", "false"],
        ["In Worten", "Gesperrt: nur nicht gesperrte Kunden"],
    ]
    assert [r[0] for r in data["Kunden"][1:]] == ["1", "2"]


@pytest.mark.parametrize(
    "text", ["=1+2", '=HYPERLINK("http://x")', "+49 171 2345678", "-5", "@SUM(A1)", "'=x", "\tx"]
)
def test_formula_like_text_is_kept_as_text_and_cannot_run(tmp_path, text):
    path = tmp_path / "k.xlsx"
    write(path, [customer_row(last_name=text, mobile=text)])
    row = sheets(path)["Kunden"][1]
    # The import drops one leading apostrophe, so a text with one of its own gets another.
    shown = "'" + text if text.startswith("'") else text
    assert row[3] == shown and row[15] == shown
    assert cell_format(path, "D2")[2] and cell_format(path, "P2")[2]  # quote prefix
    with zipfile.ZipFile(path) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")


def test_plain_text_has_no_quote_prefix(tmp_path):
    path = tmp_path / "k.xlsx"
    write(path, [customer_row(last_name="Müller-Lüdenscheidt", mobile="0171 2345678")])
    assert not cell_format(path, "D2")[2] and not cell_format(path, "P2")[2]


def every_part_is_xml(path):
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        for name in archive.namelist():
            ET.fromstring(archive.read(name))  # raises on anything a parser refuses


def test_control_characters_and_markup_keep_the_file_readable(tmp_path):
    path = tmp_path / "k.xlsx"
    texts = [
        "Zeile 1\r\nZeile 2\nZeile 3",
        "Glocke\x07 Tab\t Rückschritt\x08 Seitenvorschub\x0c Ende\x1f",
        "Null\x00Byte",
        "Müller & Söhne <GmbH> \"Adler\" 'Bräu'",
        "_x0041_ bleibt so",
        "]]> <![CDATA[",
    ]
    write(path, [customer_row(number=str(i), street=t) for i, t in enumerate(texts, 1)])
    every_part_is_xml(path)
    assert [r[7] for r in sheets(path)["Kunden"][1:]] == texts


def test_characters_a_file_cannot_hold_are_replaced_not_fatal(tmp_path):
    path = tmp_path / "k.xlsx"
    write(path, [customer_row(street="halb \ud83d Paar")])
    every_part_is_xml(path)
    assert sheets(path)["Kunden"][1][7] == "halb \ufffd Paar"


def test_emoji_longest_text_and_white_space_survive(tmp_path):
    path = tmp_path / "k.xlsx"
    longest = "x" * 32_767
    texts = ["😀🍺 Grüße aus Köln 👋🏽", longest, "  eingerückt", "am Ende  ", "\u00a0geschützt"]
    write(path, [customer_row(number=str(i), street=t) for i, t in enumerate(texts, 1)])
    every_part_is_xml(path)
    assert [r[7] for r in sheets(path)["Kunden"][1:]] == texts


def test_text_longer_than_a_cell_holds_is_cut_to_excels_limit(tmp_path):
    path = tmp_path / "k.xlsx"
    # Excel counts UTF-16 units: an emoji is two, and is never cut in half.
    texts = ["y" * 40_000, "😀" * 20_000]
    write(path, [customer_row(number=str(i), street=t) for i, t in enumerate(texts, 1)])
    assert [r[7] for r in sheets(path)["Kunden"][1:]] == ["y" * 32_767, "😀" * 16_383]


def test_many_rows_stream_in_chunks_with_the_right_row_numbers(tmp_path):
    path = tmp_path / "k.xlsx"
    ticks = []
    rows = (
        customer_row(
            number=f"{n:05d}",
            last_name="Müller & Co" if n == 1500 else f"Name {n}",
            mobile="+49 171 1" if n % 2 else "",
            discount=n % 100,
        )
        for n in range(1, 2502)
    )
    count = writers.write_xlsx(
        path, EXPORT_COLUMNS, rows, language="de", sheet_title="Kunden", tick=ticks.append
    )
    assert count == 2501 and ticks == [1000, 2000]
    data = sheets(path)["Kunden"]
    assert len(data) == 2502
    assert data[1500][:4] == ["01500", "", "", "Müller & Co"]
    assert data[2501][0] == "02501" and data[2501][3] == "Name 2501" and data[2501][22] == 1
    assert data[2501][15] == "+49 171 1" and data[2500][15] == ""
    assert xml(path, "xl/worksheets/sheet1.xml").find("m:autoFilter", NS).get("ref") == (
        "A1:AE2502"
    )


def test_dates_excel_cannot_show_are_written_as_text(tmp_path):
    path = tmp_path / "k.xlsx"
    days = [dt.date(1899, 12, 31), dt.date(1900, 1, 1), dt.date(1900, 2, 28), dt.date(1900, 3, 1)]
    write(path, [customer_row(number=str(i), date_of_birth=d) for i, d in enumerate(days, 1)])
    assert [r[6] for r in sheets(path)["Kunden"][1:]] == ["1899-12-31", *days[1:]]
    # Excel's serial numbers count a 29 February 1900 that never was.
    values = [
        c.find("m:v", NS).text
        for c in xml(path, "xl/worksheets/sheet1.xml").iterfind(".//m:c", NS)
        if c.get("r", "").startswith("G") and c.get("s") and c.find("m:v", NS) is not None
    ]
    assert values == ["1", "59", "61"]


def test_every_second_of_a_day_reads_back_exactly(tmp_path):
    path = tmp_path / "t.xlsx"
    day = dt.datetime(2024, 2, 29)
    times = [day + dt.timedelta(seconds=s) for s in range(1, 86_400, 7)]
    times += [dt.datetime(2024, 7, 1, 12, 0, 0, 500_000), dt.datetime(1900, 3, 1, 6)]
    with xlsx.Workbook(path, ["Zeiten"]) as book:
        book.write_sheet([xlsx.SheetColumn("Zeit", xlsx.DATETIME)], [[t] for t in times])
    assert [r[0] for r in sheets(path)["Zeiten"][1:]] == times


def test_empty_export_has_the_headings_only(tmp_path):
    path = tmp_path / "k.xlsx"
    assert write(path, []) == 0
    every_part_is_xml(path)
    assert sheets(path)["Kunden"] == [HEADINGS]
    assert xml(path, "xl/worksheets/sheet1.xml").find("m:autoFilter", NS) is None


def test_import_error_report_as_xlsx(tmp_path):
    path = tmp_path / "report.xlsx"
    writers.write_table_xlsx(
        path, ["Zeile", "Spalte", "Wert", "Meldung"], [(2, "E-Mail", "=a@b", "Ungültig")]
    )
    assert sheets(path) == {
        "Report": [["Zeile", "Spalte", "Wert", "Meldung"], [2, "E-Mail", "=a@b", "Ungültig"]]
    }


def test_sheet_titles_follow_excels_rules(tmp_path):
    assert xlsx.sheet_title("Kunden") == "Kunden"
    assert xlsx.sheet_title("a/b:c*d?e[f]g\\h") == "a_b_c_d_e_f_g_h"
    assert xlsx.sheet_title("'Zitat'") == "Zitat"
    assert xlsx.sheet_title("x" * 40) == "x" * 31
    assert xlsx.sheet_title("") == "Sheet"
    assert xlsx.sheet_title("History") == "History_"
    assert xlsx.sheet_title("kunden", taken=["Kunden"]) == "kunden (2)"
    path = tmp_path / "k.xlsx"
    writers.write_xlsx(
        path,
        [Column("a", "A", "A", TEXT)],
        [["1"]],
        language="de",
        sheet_title="Kunden: Köln & Bonn / 2024 — alle Filialen",
        settings_rows=[("Einstellung", "Wert")],
        settings_title="Kunden: Köln & Bonn / 2024 — alle Filialen",
    )
    every_part_is_xml(path)
    assert python_calamine.load_workbook(str(path)).sheet_names == [
        "Kunden_ Köln & Bonn _ 2024 — al",
        "Kunden_ Köln & Bonn _ 2024 (2)",
    ]


def test_more_rows_than_a_sheet_holds_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)
    with pytest.raises(DomainError) as exc:
        write(tmp_path / "k.xlsx", [customer_row(number=str(n)) for n in range(5)])
    assert "ZIP" in str(exc.value)


def test_rows_must_have_a_value_for_every_column(tmp_path):
    with pytest.raises(ValueError):
        write(tmp_path / "k.xlsx", [customer_row()[:-1]])


texts = st.text(st.characters(codec="utf-8", exclude_characters="\ufffe\uffff"), max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(column=st.lists(texts, min_size=1, max_size=25), as_text=st.booleans())
def test_any_text_reads_back_unchanged(tmp_path_factory, column, as_text):
    """Whatever mix of texts a column of a chunk holds, each cell reads back as written."""
    path = tmp_path_factory.mktemp("any") / "k.xlsx"
    with xlsx.Workbook(path, ["Kunden"]) as book:
        book.write_sheet([xlsx.SheetColumn("Text", as_text=as_text)], [[t] for t in column])
    every_part_is_xml(path)
    read = [r[0] for r in sheets(path)["Kunden"][1:]]
    assert read + [""] * (len(column) - len(read)) == column


def test_postgres_rows_are_the_values_the_orm_reads(admin_actor, some_customers):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL reader")
    customers = some_customers()
    # Microseconds are cut, and a time in summer and one in winter get their own offset.
    Customer.objects.filter(pk=customers[0].pk).update(
        created_at=dt.datetime(2024, 7, 1, 22, 30, 5, 999_999, tzinfo=dt.UTC),
        updated_at=dt.datetime(2024, 12, 31, 23, 0, 0, tzinfo=dt.UTC),
    )
    f = CustomerFilter(sort="-number")
    rows = [list(r) for r in exporting._export_rows(admin_actor, f, chunk_size=2)]
    assert [r[0] for r in rows] == ["3", "2", "1"]
    assert rows[2][27:29] == [dt.datetime(2024, 7, 2, 0, 30, 5), dt.datetime(2025, 1, 1, 0, 0)]
    from zoneinfo import ZoneInfo

    from django.conf import settings as django_settings

    tz = ZoneInfo(django_settings.TIME_ZONE)
    expected = []
    for row in Customer.objects.order_by("-number").values_list(*EXPORT_FIELDS):
        row = list(row)
        row[0] = str(row[0])
        for i in (27, 28):
            row[i] = row[i].astimezone(tz).replace(tzinfo=None, microsecond=0)
        expected.append(row)
    assert rows == expected
