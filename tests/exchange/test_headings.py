"""Headings: the synonym table, columns left out with a reason, the preview's proposal,
the command line's field list and mappings by field name or heading."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from stammgast.core.errors import DomainError
from stammgast.core.tenancy import tenant_scope
from stammgast.customers.models import Customer
from stammgast.exchange import services
from stammgast.exchange.headings import read_headings


def fields_of(headers):
    plan = read_headings(headers)
    return {p.header: p.column.field for p in plan.columns}


def test_office_headings_in_german():
    headers = [
        "Anrede",
        "Vorname",
        "Nachname",
        "Straße",
        "PLZ",
        "Ort",
        "Telefon",
        "Handy",
        "Geburtstag",
        "Firma",
        "Bemerkung",
        "E-Mail-Adresse",
        "Rabatt %",
    ]
    assert fields_of(headers) == {
        "Anrede": "salutation",
        "Vorname": "first_name",
        "Nachname": "last_name",
        "Straße": "street",
        "PLZ": "postcode",
        "Ort": "city",
        "Telefon": "phone_private",
        "Handy": "mobile",
        "Geburtstag": "date_of_birth",
        "Firma": "company_name",
        "Bemerkung": "comments",
        "E-Mail-Adresse": "email",
        "Rabatt %": "discount",
    }


def test_spelling_case_and_punctuation_do_not_count():
    assert set(fields_of(["STRASSE", "e_mail", "Tel", "geb.-datum", "Zip Code"]).values()) == {
        "street",
        "email",
        "phone_private",
        "date_of_birth",
        "postcode",
    }


def test_shopify_headings_are_recognised_or_left_out_with_the_reason():
    headers = [
        "Customer ID",
        "First Name",
        "Last Name",
        "Email",
        "Accepts Email Marketing",
        "Default Address Company",
        "Default Address Address1",
        "Default Address Address2",
        "Default Address City",
        "Default Address Province Code",
        "Default Address Country Code",
        "Default Address Zip",
        "Default Address Phone",
        "Phone",
        "Accepts SMS Marketing",
        "Total Spent",
        "Total Orders",
        "Note",
        "Tax Exempt",
        "Tags",
    ]
    plan = read_headings(headers)
    assert plan.unknown == [] and plan.problems == {}
    assert {p.column.field for p in plan.columns} == {
        "first_name",
        "last_name",
        "email",
        "newsletter",
        "company_name",
        "street",
        "care_of",
        "city",
        "country",
        "postcode",
        "phone_private",
        "mobile",
        "comments",
    }
    assert [c.header for c in plan.left_out] == [
        "Customer ID",
        "Default Address Province Code",
        "Accepts SMS Marketing",
        "Total Spent",
        "Total Orders",
        "Tax Exempt",
        "Tags",
    ]


def test_our_own_heading_wins_over_a_synonym_and_two_synonyms_leave_the_second_out():
    plan = read_headings(["Telefon", "Telefon privat", "Tel.", "Name"])
    assert [(p.header, p.column.field) for p in plan.columns] == [
        ("Telefon privat", "phone_private"),
        ("Name", "last_name"),
    ]
    assert [(c.letter, c.header) for c in plan.left_out] == [("A", "Telefon"), ("C", "Tel.")]
    assert all("B" in c.reason for c in plan.left_out)


def test_two_of_our_own_headings_for_one_field_are_refused(tmp_path, empty_actor):
    path = tmp_path / "in.csv"
    path.write_text("Name;last_name\nA;B\n", encoding="utf-8")
    with pytest.raises(DomainError) as exc, tenant_scope(empty_actor.tenant):
        services.import_customers(actor=empty_actor, path=path)
    assert exc.value.code == "bad_headings"


def test_list_fields_names_every_field_with_its_headings():
    out = io.StringIO()
    call_command("import", "--list-fields", stdout=out)
    lines = dict(line.split(": ", 1) for line in out.getvalue().splitlines())
    assert (
        "Nachname" in lines["last_name"] and "Last Name".casefold() in lines["last_name"].casefold()
    )
    assert lines["postcode"].startswith("PLZ, Postcode")
    assert "Default Address Zip" in lines["postcode"]
    assert "Anrede" in lines["salutation"]


def test_cli_mapping_by_heading_or_field_name_and_left_out_columns_named(tmp_path, empty_tenant):
    path = tmp_path / "in.csv"
    path.write_text("Kunde;Heimat;Intern;Total Spent\nMeier;Bonn;x;12.50\n", encoding="utf-8")
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"Kunde": "Nachname", "Heimat": "city", "Intern": None}))
    err = io.StringIO()
    call_command(
        "import", empty_tenant.slug, str(path), "--mapping", str(mapping), "--no-progress",
        stdout=io.StringIO(), stderr=err,
    )  # fmt: skip
    with tenant_scope(empty_tenant):
        c = Customer.objects.get()
    assert (c.last_name, c.city) == ("Meier", "Bonn")
    assert "C (Intern)" in err.getvalue() and "D (Total Spent)" in err.getvalue()


def test_cli_unknown_column_with_data_is_refused_naming_it(tmp_path, empty_tenant):
    path = tmp_path / "in.csv"
    path.write_text("Nachname;Lieblingsessen\nMeier;Pizza\n", encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        call_command(
            "import", empty_tenant.slug, str(path), "--no-progress",
            stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip
    assert "B (Lieblingsessen)" in str(exc.value)


def test_preview_proposes_every_recognised_column_and_marks_unknown_ones_with_data(
    admin_client,
    tenant,
):
    text = "Anrede;Vorname;Nachname;Straße;PLZ;Ort;Handy;Geburtstag;Lieblingsessen;Leer;Tags\n"
    text += "Herr;Hans;Meier;Hauptstr. 1;1067;Dresden;15112345678;1.2.80;Pizza;;VIP\n"
    upload = io.BytesIO(text.encode("cp1252"))
    upload.name = "buero.csv"
    preview_url = admin_client.post("/exchange/import/", {"file": upload})["Location"]
    page = admin_client.get(preview_url).content.decode()
    for i, fld in enumerate(
        ["salutation", "first_name", "last_name", "street", "postcode", "city", "mobile"]
    ):
        assert (
            f'<option value="{fld}" selected>'
            in page.split(f'id="col{i}"')[1].split("</select>")[0]
        )
    lunch = page.split('id="col8"')[1].split("</select>")[0]
    assert '<option value="?" selected>' in lunch and 'id="mark8"' in page
    assert 'id="mark9"' not in page  # no data: nothing lost by leaving it out
    assert 'id="note10"' in page  # Tags: left out, with the reason
    form = {f"col{i}": "" for i in range(11)}
    form.update(
        {"col0": "salutation", "col1": "first_name", "col2": "last_name", "col3": "street"},
        col4="postcode", col5="city", col6="mobile", col7="date_of_birth", col8="?",
        mode="all-or-nothing", match="number",
    )  # fmt: skip
    refused = admin_client.post(preview_url, form)
    assert refused.status_code == 422 and "I (Lieblingsessen)" in refused.content.decode()
    form["col8"] = ""
    done = admin_client.post(preview_url, form)
    assert done.status_code == 302
    c = Customer.all_tenants.get()
    assert (c.gender, c.last_name, c.postcode, c.mobile) == (
        "male",
        "Meier",
        "01067",
        "+49 1511 2345678",
    )
