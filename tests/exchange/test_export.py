"""Export: the DESIGN columns in order, typed cells, XLSX below the threshold, ZIP from it."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
import python_calamine
from django.core.management import call_command

from stammgast.core.errors import DomainError
from stammgast.customers.selectors import CustomerFilter
from stammgast.exchange import services
from stammgast.exchange.columns import EXPORT_COLUMNS
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import Role


def read_xlsx(path):
    return python_calamine.load_workbook(str(path)).get_sheet_by_index(0).to_python()


def read_zip(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_xlsx_has_the_design_columns_in_order_and_typed_cells(
    admin_actor, some_customers, tmp_path
):
    some_customers()
    path = tmp_path / "out.xlsx"
    result = services.export_customers(actor=admin_actor, f=CustomerFilter(), path=path)
    assert (result.format, result.rows) == ("xlsx", 3)
    rows = read_xlsx(path)
    assert rows[0] == [c.de for c in EXPORT_COLUMNS]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Kundennummer"] == "1"  # text, not a number
    assert first["PLZ"] == "01067"  # leading zero kept
    assert first["Geburtsdatum"] == dt.date(1980, 2, 29)
    assert isinstance(first["Kunde angelegt"], dt.datetime)
    assert first["Rabatt"] == 10 and first["Preisebene"] == 2 and first["Zahlungsziel"] == 14
    assert first["Geschlecht"] == "männlich"
    assert first["Zahlungsart"] == "Rechnung"
    assert first["Favorit"] == "Ja" and first["Kunde gesperrt"] == "Nein"
    assert first["Telefon privat"] == "+49 351 1234567"
    # A formula-like name is stored as text, not run as a formula.
    assert rows[2][3] == '=HYPERLINK("http://x")'
    sheet_xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml


def test_headers_in_english(admin_actor, some_customers, tmp_path):
    some_customers()
    path = tmp_path / "out.xlsx"
    services.export_customers(actor=admin_actor, f=CustomerFilter(), path=path, language="en")
    rows = read_xlsx(path)
    assert rows[0] == [c.en for c in EXPORT_COLUMNS]
    assert rows[1][5] == "male" and rows[1][-2] == "Yes"


def test_from_the_threshold_on_a_zip_with_customers_and_filter(
    admin_actor, some_customers, tmp_path
):
    some_customers()
    path = tmp_path / "out.zip"
    f = CustomerFilter(blocked=False)
    result = services.export_customers(actor=admin_actor, f=f, path=path, zip_threshold=2)
    assert (result.format, result.rows) == ("zip", 2)
    files = read_zip(path)
    assert set(files) == {"kunden.csv", "filter.csv"}
    data = files["kunden.csv"]
    assert data.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].split(";") == [c.de for c in EXPORT_COLUMNS]
    first = lines[1].split(";")
    assert first[6] == "29.02.1980" and first[8] == "01067"
    # Cells starting with = + - @ cannot run as formulas.
    assert "'+49 351 1234567" in first
    assert '\'=HYPERLINK(""http://x"")' in lines[2] and ";'+1;" in lines[2]
    # The settings as the list's URL spells them, and the filter in words.
    assert files["filter.csv"].decode("utf-8-sig").splitlines() == [
        "Einstellung;Wert",
        "blocked;false",
        "In Worten;Gesperrt: nur nicht gesperrte Kunden",
    ]


def test_separator_is_configurable(admin_actor, some_customers, tmp_path):
    some_customers()
    path = tmp_path / "out.zip"
    services.export_customers(
        actor=admin_actor, f=CustomerFilter(), path=path, zip_threshold=1, separator=","
    )
    assert read_zip(path)["kunden.csv"].decode("utf-8-sig").startswith("Kundennummer,Titel,")


def test_export_follows_the_filter_and_its_sort(admin_actor, some_customers, tmp_path):
    some_customers()
    path = tmp_path / "out.xlsx"
    services.export_customers(actor=admin_actor, f=CustomerFilter(sort="-number"), path=path)
    assert [r[0] for r in read_xlsx(path)[1:]] == ["3", "2", "1"]
    services.export_customers(actor=admin_actor, f=CustomerFilter(blocked=True), path=path)
    assert [r[0] for r in read_xlsx(path)[1:]] == ["3"]


def test_export_needs_the_permission(tenant, admin_actor, tmp_path):
    cashier = Actor.for_staff(tenant=tenant, user=None, role=Role.CASHIER, location=None)
    with pytest.raises(DomainError) as exc:
        services.export_customers(actor=cashier, f=CustomerFilter(), path=tmp_path / "x.xlsx")
    assert exc.value.status == 403
    assert not (tmp_path / "x.xlsx").exists()


def test_unknown_sort_is_refused(admin_actor, tmp_path):
    with pytest.raises(DomainError) as exc:
        services.export_customers(
            actor=admin_actor, f=CustomerFilter(sort="nonsense"), path=tmp_path / "x.xlsx"
        )
    assert "sort" in exc.value.fields


def test_cli_export_writes_the_file_and_fixes_the_suffix(
    tenant, admin_actor, some_customers, tmp_path
):
    some_customers()
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "export",
        "gasthaus",
        "-o",
        str(tmp_path / "k.xlsx"),
        "--q",
        "Weiß",
        "--no-progress",
        stdout=out,
        stderr=err,
    )
    assert "1 " in out.getvalue()
    assert len(read_xlsx(tmp_path / "k.xlsx")) == 2
    call_command(
        "export",
        "gasthaus",
        "-o",
        str(tmp_path / "k.xlsx"),
        "--zip-threshold",
        "1",
        stdout=out,
        stderr=err,
    )
    assert (tmp_path / "k.zip").exists()
    assert "#" in err.getvalue()  # the progress bar


@pytest.mark.parametrize("threshold", [1, 100])
def test_cancelled_export_leaves_no_file(admin_actor, tmp_path, threshold):
    from stammgast.customers import services as customer_services

    for i in range(1001):
        customer_services.create_customer(actor=admin_actor, data={"last_name": f"K{i}"})
    path = tmp_path / "out.bin"
    with pytest.raises(services.Cancelled):
        services.export_customers(
            actor=admin_actor,
            f=CustomerFilter(),
            path=path,
            zip_threshold=threshold,
            should_cancel=lambda: True,
        )
    assert not path.exists()
