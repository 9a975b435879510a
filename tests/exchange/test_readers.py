"""Readers: the sheet with the customers, the heading row under a title, the encoding of
the whole file, Excel's Unicode Text, and a file's problems found at the upload."""

from __future__ import annotations

import codecs
import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from stammgast.core.errors import DomainError
from stammgast.core.tenancy import tenant_scope
from stammgast.customers.models import Customer
from stammgast.exchange import services
from stammgast.exchange.models import Job

FILES = Path(__file__).parent / "files"


def run(actor, path, **kw):
    with tenant_scope(actor.tenant):
        return services.import_customers(actor=actor, path=path, **kw)


def customers(tenant):
    with tenant_scope(tenant):
        return list(Customer.objects.order_by("number"))


def test_workbook_with_an_info_sheet_first_and_a_title_row(empty_actor, empty_tenant):
    result = run(empty_actor, FILES / "office_info_sheet_title_row.xlsx", match="new")
    assert result.errors_total == 0, result.errors
    assert (result.sheet, result.header_row, result.created) == ("Kunden", 3, 40)
    first, *_rest, last = customers(empty_tenant)
    assert (first.gender, first.first_name, first.last_name) == ("male", "Anna", "Meier")
    assert (first.street, first.postcode, first.city) == ("Hauptstr. 1", "01067", "Dresden")
    assert first.mobile == "+49 1511 0000000" and first.phone_private == "+49 351 1000000"
    assert first.date_of_birth == dt.date(1950, 1, 1) and first.discount == 15
    assert first.comments == "mag Fensterplatz"
    assert (last.title, last.gender, last.last_name, last.city) == (
        "Dr.",
        "male",
        "Weiß",
        "Görlitz",
    )


def test_rows_are_numbered_as_the_spreadsheet_numbers_them(tmp_path, empty_actor):
    path = tmp_path / "titel.csv"
    path.write_text("Kundenliste\n\nName;Geburtsdatum\nA;1.1.1980\nB;31.2.1980\n", "utf-8")
    result = run(empty_actor, path)
    assert [(p.row, p.column) for p in result.errors] == [(5, "Geburtsdatum")]
    assert result.header_row == 3


@pytest.mark.parametrize("sheet", ["Kunden", "kunden", "2"])
def test_a_sheet_chosen_by_name_or_number(empty_actor, empty_tenant, sheet):
    result = run(empty_actor, FILES / "office_info_sheet_title_row.xlsx", sheet=sheet)
    assert (result.sheet, result.created) == ("Kunden", 40)


def test_a_sheet_that_is_not_there_is_refused_naming_the_sheets(empty_actor):
    with pytest.raises(DomainError) as exc:
        run(empty_actor, FILES / "office_info_sheet_title_row.xlsx", sheet="Preise")
    assert exc.value.code == "no_such_sheet" and exc.value.status == 422
    assert "Info, Kunden" in exc.value.message


def test_the_info_sheet_asked_for_has_no_customer_headings(empty_actor, empty_tenant):
    with pytest.raises(DomainError) as exc:
        run(empty_actor, FILES / "office_info_sheet_title_row.xlsx", sheet="1")
    assert exc.value.code in ("mapping_needed", "missing_columns")
    assert customers(empty_tenant) == []


def test_header_row_given(empty_actor, empty_tenant):
    path = FILES / "office_info_sheet_title_row.xlsx"
    assert run(empty_actor, path, header_row=3, match="new").created == 40
    with pytest.raises(DomainError) as exc:
        run(empty_actor, path, header_row=1)  # the title: no field known
    assert exc.value.code in ("mapping_needed", "missing_columns")
    with pytest.raises(DomainError) as exc:
        run(empty_actor, path, header_row=500)
    assert exc.value.code == "no_heading_row"


def test_excel_csv_in_windows_1252_whose_first_umlaut_comes_late(empty_actor, empty_tenant):
    path = FILES / "excel_cp1252.csv"
    assert path.stat().st_size > 64 * 1024 and path.read_bytes()[: 80 * 1024].isascii()
    result = run(empty_actor, path, match="new")
    assert (result.created, result.errors_total) == (900, 0), result.errors[:3]
    last = customers(empty_tenant)[-1]
    assert (last.first_name, last.last_name, last.street, last.city) == (
        "Jürgen",
        "Weiß",
        "Königstraße 3",
        "Görlitz",
    )
    assert customers(empty_tenant)[0].postcode == "01067"


def test_unicode_text_utf16_with_tabs(empty_actor, empty_tenant):
    path = FILES / "unicode_text.txt"
    assert path.read_bytes()[:2] == codecs.BOM_UTF16_LE
    result = run(empty_actor, path, match="new")
    assert (result.created, result.errors_total) == (900, 0), result.errors[:3]
    assert customers(empty_tenant)[-1].last_name == "Weiß"


def test_utf16_big_endian_with_its_mark(tmp_path, empty_actor, empty_tenant):
    text = (FILES / "unicode_text.txt").read_bytes().decode("utf-16")
    path = tmp_path / "be.txt"
    path.write_bytes(codecs.BOM_UTF16_BE + text[:2000].rsplit("\n", 1)[0].encode("utf-16-be"))
    result = run(empty_actor, path, match="new")
    assert result.errors_total == 0 and result.created > 5


@pytest.mark.parametrize("separator", [";", ",", "\t"])
def test_separators(tmp_path, empty_actor, empty_tenant, separator):
    path = tmp_path / "s.csv"
    path.write_text(f"Nachname{separator}Ort\nMeier{separator}Köln\n", encoding="utf-8")
    assert run(empty_actor, path).created == 1
    assert customers(empty_tenant)[0].city == "Köln"


def test_utf8_that_turns_into_something_else_is_refused_naming_the_line(tmp_path, empty_actor):
    path = tmp_path / "gemischt.csv"
    path.write_bytes("Name\nMüller\n".encode() + b"A\n" * 100_000 + b"M\xfcller\n")
    with pytest.raises(DomainError) as exc:
        run(empty_actor, path)
    assert exc.value.code == "bad_encoding" and "100003" in exc.value.message.replace(".", "")


def test_api_upload_of_a_late_umlaut_file_is_done_not_a_failed_job(tenant, make_api):
    api = make_api(tenant, ("exchange",), name="Import")
    upload = SimpleUploadedFile("kunden.csv", (FILES / "excel_cp1252.csv").read_bytes())
    answer = api.post("/api/v1/imports", {"file": upload, "match": "new"})
    assert answer.status_code == 201, answer.content
    assert answer.json()["state"] == "done"
    with tenant_scope(tenant):
        assert Customer.objects.filter(last_name="Weiß").count() == 1


def test_api_upload_of_an_unreadable_file_is_refused_at_once(tenant, make_api):
    api = make_api(tenant, ("exchange",), name="Import")
    data = "Name\nMüller\n".encode() + b"A\n" * 100_000 + b"M\xfcller\n"
    answer = api.post("/api/v1/imports", {"file": SimpleUploadedFile("k.csv", data)})
    assert answer.status_code == 422
    assert "100003" in answer.content.decode().replace(".", "")
    assert not Job.all_tenants.exists()


def test_api_sheet_and_header_row(tenant, make_api):
    api = make_api(tenant, ("exchange",), name="Import")
    content = (FILES / "office_info_sheet_title_row.xlsx").read_bytes()
    answer = api.post(
        "/api/v1/imports",
        {"file": SimpleUploadedFile("k.xlsx", content), "sheet": "Kunden", "header_row": 3},
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["summary"]["created"] == 40
    wrong = api.post(
        "/api/v1/imports", {"file": SimpleUploadedFile("k.xlsx", content), "sheet": "Preise"}
    )
    assert wrong.status_code == 422 and "Kunden" in wrong.content.decode()


def test_cli_sheet_and_header_row(empty_tenant):
    out = io.StringIO()
    call_command(
        "import", empty_tenant.slug, str(FILES / "office_info_sheet_title_row.xlsx"),
        "--sheet", "Kunden", "--header-row", "3", "--match", "new", "--no-progress",
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    assert "40" in out.getvalue()
    with pytest.raises(CommandError):
        call_command(
            "import", empty_tenant.slug, str(FILES / "office_info_sheet_title_row.xlsx"),
            "--sheet", "Preise", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip


def test_portal_preview_shows_the_sheets_and_the_heading_row(admin_client, tenant):
    content = (FILES / "office_info_sheet_title_row.xlsx").read_bytes()
    upload = io.BytesIO(content)
    upload.name = "kunden.xlsx"
    preview_url = admin_client.post("/exchange/import/", {"file": upload})["Location"]
    page = admin_client.get(preview_url).content.decode()
    assert '<option value="Info" >Info</option>' in page
    assert '<option value="Kunden" selected>Kunden</option>' in page
    assert 'name="header_row" type="number" min="1" max="1000" value="3"' in page
    assert "Anna" in page and "Kundenliste Gasthaus Adler" not in page
    # Another sheet, another row: shown as asked; a row that is not there can be chosen again.
    info = admin_client.get(preview_url, {"sheet": "Info", "header_row": "1"}).content.decode()
    assert "Kundenliste Gasthaus Adler" in info
    missing = admin_client.get(preview_url, {"sheet": "Kunden", "header_row": "900"})
    assert missing.status_code == 422 and preview_url in missing.content.decode()
    assert admin_client.get(preview_url).status_code == 200  # the upload is still there
    form = {f"col{i}": "" for i in range(12)}
    form.update(
        col0="salutation", col1="first_name", col2="last_name", col3="street", col4="postcode",
        col5="city", col6="phone_private", col7="mobile", col8="date_of_birth",
        col9="company_name", col10="comments", col11="discount",
        sheet="Kunden", header_row="3", mode="all-or-nothing", match="new",
    )  # fmt: skip
    done = admin_client.post(preview_url, form)
    assert done.status_code == 302, done.content.decode()[:2000]
    assert Customer.all_tenants.count() == 40


def test_a_data_row_of_known_words_does_not_become_the_heading_row(tmp_path, empty_actor):
    path = tmp_path / "fremd.csv"
    path.write_text("Kunde;Wo;Was\nMeier;Bank;Web\n", encoding="utf-8")
    mapping = {"Kunde": "last_name", "Wo": "city", "Was": "comments"}
    result = run(empty_actor, path, mapping=mapping)
    assert (result.header_row, result.created) == (1, 1)
