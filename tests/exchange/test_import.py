"""Import: formats, headings, validation with the API's rules, modes, matching, duplicates."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
import python_calamine
from django.core.management import CommandError, call_command

from stammgast.core.errors import DomainError
from stammgast.core.tenancy import tenant_scope
from stammgast.customers.models import Customer, CustomerEvent
from stammgast.customers.selectors import CustomerFilter
from stammgast.exchange import services
from stammgast.tenants.models import Tenant

HEAD_DE = "Kundennummer;Vorname;Name;PLZ;Ort;Geburtsdatum;E-Mail;Telefon privat;Kunde gesperrt"


def write(tmp_path, text, name="in.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(actor, path, **kw):
    with tenant_scope(actor.tenant):
        return services.import_customers(actor=actor, path=path, **kw)


def customers(tenant):
    with tenant_scope(tenant):
        return {c.number: c for c in Customer.objects.all()}


def test_german_csv_with_our_headings(tmp_path, empty_actor, empty_tenant):
    path = write(
        tmp_path,
        HEAD_DE + "\n0042;Jürgen;Weiß;01067;Dresden;29.02.1980;J@Example.de;0351 1234567;Ja\n",
    )
    result = run(empty_actor, path)
    assert (result.created, result.errors_total, result.applied) == (1, 0, True)
    c = customers(empty_tenant)[42]
    assert (c.first_name, c.last_name, c.postcode, c.city) == ("Jürgen", "Weiß", "01067", "Dresden")
    assert c.date_of_birth.isoformat() == "1980-02-29"
    assert c.email == "j@example.de"  # cleaned like the API does
    assert c.phone_private == "+49 351 1234567" and c.phone_private_e164 == "+493511234567"
    assert c.blocked is True
    with tenant_scope(empty_tenant):
        event = CustomerEvent.objects.get(customer=c)
    # The history of an imported customer is that of one created by hand, by the same actor.
    assert event.action == "created" and event.actor_label == empty_actor.label
    assert event.changes["last_name"] == [None, "Weiß"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_encodings_and_separators_are_detected(tmp_path, empty_actor, empty_tenant, encoding, sep):
    text = f"First name{sep}Name{sep}Place\nJürgen{sep}Weiß{sep}Köln\n"
    result = run(empty_actor, write(tmp_path, text, encoding=encoding))
    assert result.errors_total == 0, result.errors
    c = next(iter(customers(empty_tenant).values()))
    assert (c.first_name, c.last_name, c.city) == ("Jürgen", "Weiß", "Köln")


def test_new_numbers_are_handed_out_from_the_counter(tmp_path, empty_actor, empty_tenant):
    path = write(tmp_path, "Kundennummer;Name\n7;A\n8;B\n")
    run(empty_actor, path, match="new")
    assert sorted(customers(empty_tenant)) == [1, 2]
    assert Tenant.objects.get(pk=empty_tenant.pk).number_counter == 2
    run(empty_actor, path, match="number")
    assert sorted(customers(empty_tenant)) == [1, 2, 7, 8]


def test_match_by_number_updates_and_records_history(tmp_path, empty_actor, empty_tenant):
    run(empty_actor, write(tmp_path, "Kundennummer;Name;Ort\n5;Alt;Bonn\n"))
    result = run(empty_actor, write(tmp_path, "Kundennummer;Ort\n5;Köln\n", name="b.csv"))
    assert (result.created, result.updated) == (0, 1)
    c = customers(empty_tenant)[5]
    assert (c.last_name, c.city, c.version) == ("Alt", "Köln", 2)
    with tenant_scope(empty_tenant):
        change = CustomerEvent.objects.filter(customer=c, action="updated").get()
    assert change.changes == {"city": ["Bonn", "Köln"]}


def test_all_or_nothing_keeps_nothing_when_a_row_is_bad(tmp_path, empty_actor, empty_tenant):
    path = write(
        tmp_path, "Name;Geburtsdatum;Rabatt\nGut;01.01.1980;5\nSchlecht;31.02.1980;5\nAuch;;150\n"
    )
    result = run(empty_actor, path)
    assert not result.applied and customers(empty_tenant) == {}
    problems = {(p.row, p.column): p for p in result.errors}
    assert set(problems) == {(3, "Geburtsdatum"), (4, "Rabatt")}
    assert problems[(3, "Geburtsdatum")].value == "31.02.1980"
    assert "31.02.1980" in problems[(3, "Geburtsdatum")].message
    assert "100" in problems[(4, "Rabatt")].message
    assert Tenant.objects.get(pk=empty_tenant.pk).number_counter == 0


def test_valid_rows_mode_keeps_the_good_rows(tmp_path, empty_actor, empty_tenant):
    path = write(tmp_path, "Name;E-Mail\nGut;a@b.de\nSchlecht;kein-mail\n")
    result = run(empty_actor, path, mode="valid-rows")
    assert result.applied and result.created == 1 and result.failed_rows == 1
    assert [c.last_name for c in customers(empty_tenant).values()] == ["Gut"]


def test_dry_run_changes_nothing_but_reports(tmp_path, empty_actor, empty_tenant):
    result = run(empty_actor, write(tmp_path, "Name\nA\nB\n"), dry_run=True)
    assert (result.created, result.applied) == (2, False)
    assert customers(empty_tenant) == {}


def test_same_rules_as_the_api(tmp_path, empty_actor):
    # A private customer needs a name; a German postcode has five digits.
    result = run(empty_actor, write(tmp_path, "Vorname;Name;PLZ;Land\n;;01067;DE\nA;B;123456;DE\n"))
    messages = {(p.row, p.column) for p in result.errors}
    assert (2, "Name") in messages and (3, "PLZ") in messages


def test_duplicates_in_file_and_base_are_reported(tmp_path, empty_actor):
    run(empty_actor, write(tmp_path, "Name;E-Mail\nAlt;x@y.de\n"))
    path = write(
        tmp_path,
        "Name;E-Mail;Mobiltelefon\nA;x@y.de;0171 2345678\nB;;+491712345678\n",
        name="b.csv",
    )
    result = run(empty_actor, path)
    assert result.applied
    dups = {(p.row, p.column) for p in result.duplicates}
    assert dups == {(2, "E-Mail"), (3, "Mobiltelefon")}


def test_doubled_number_in_the_file(tmp_path, empty_actor):
    result = run(empty_actor, write(tmp_path, "Kundennummer;Name\n9;A\n9;B\n"))
    assert [(p.row, p.column) for p in result.errors] == [(3, "Kundennummer")]
    assert "row 2" in result.errors[0].message or "Zeile 2" in result.errors[0].message


def test_foreign_headings_need_a_mapping(tmp_path, empty_actor, empty_tenant):
    path = write(tmp_path, "Zuname,Heimat,Egal,Leer\nMeier,Bonn,x,\n")
    with pytest.raises(DomainError) as exc:
        run(empty_actor, path)
    # Columns without data are no loss; those with data are named.
    assert exc.value.code == "mapping_needed"
    assert "B (Heimat)" in exc.value.message and "C (Egal)" in exc.value.message
    assert "Leer" not in exc.value.message
    # A mapping names a field by its name or by any heading of it.
    result = run(empty_actor, path, mapping={"Heimat": "Wohnort", "Egal": None})
    assert result.created == 1
    assert next(iter(customers(empty_tenant).values())).city == "Bonn"
    assert any("C (Egal)" in line for line in result.left_out)


def test_xlsx_import_and_report_files(tmp_path, admin_actor, some_customers, empty_actor):
    some_customers()
    path = tmp_path / "k.xlsx"
    services.export_customers(actor=admin_actor, f=CustomerFilter(), path=path, language="en")
    result = run(empty_actor, path)
    assert result.created == 3
    bad = write(tmp_path, "Name;Rabatt\n=1+1;x\n")
    result = run(empty_actor, bad)
    for fmt in ("csv", "xlsx"):
        report = tmp_path / f"report.{fmt}"
        services.write_import_report(result=result, path=report, fmt=fmt, language="de")
    rows = python_calamine.load_workbook(str(tmp_path / "report.xlsx")).get_sheet_by_index(0)
    rows = rows.to_python()
    assert rows[0] == ["Zeile", "Spalte", "Wert", "Meldung", "Art"]
    assert rows[1][:3] == [2, "Rabatt", "x"]
    text = (tmp_path / "report.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines()[1].startswith("2;Rabatt;x;")


def test_our_zip_imports(tmp_path, admin_actor, some_customers, empty_actor, empty_tenant):
    some_customers()
    path = tmp_path / "k.zip"
    services.export_customers(actor=admin_actor, f=CustomerFilter(), path=path, zip_threshold=1)
    assert run(empty_actor, path).created == 3
    assert customers(empty_tenant)[2].last_name == '=HYPERLINK("http://x")'


def test_cli_import_dry_run_report_and_exit_status(tmp_path, empty_tenant):
    good = write(tmp_path, "Name\nA\n")
    out = io.StringIO()
    call_command("import", "neu", str(good), "--dry-run", "--no-progress", stdout=out)
    assert "1 created" in out.getvalue() or "1 angelegt" in out.getvalue()
    assert customers(empty_tenant) == {}
    bad = write(tmp_path, "Name;Rabatt\nA;x\n", name="bad.csv")
    report = tmp_path / "r.csv"
    with pytest.raises(CommandError) as exc:
        call_command(
            "import",
            "neu",
            str(bad),
            "--report",
            str(report),
            "--no-progress",
            stdout=out,
            stderr=io.StringIO(),
        )
    assert exc.value.returncode == 2
    assert "Rabatt" in report.read_text(encoding="utf-8-sig")
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"Familienname": "last_name"}))
    other = write(tmp_path, "Familienname\nZ\n", name="o.csv")
    call_command(
        "import", "neu", str(other), "--mapping", str(mapping), "--no-progress", stdout=out
    )
    assert [c.last_name for c in customers(empty_tenant).values()] == ["Z"]


def test_import_needs_the_permission(tmp_path, tenant):
    from stammgast.tenants.actor import Actor
    from stammgast.tenants.models import Role

    manager = Actor.for_staff(tenant=tenant, user=None, role=Role.LOCATION_MANAGER, location=None)
    with pytest.raises(DomainError) as exc:
        run(manager, write(tmp_path, "Name\nA\n"))
    assert exc.value.status == 403


def test_zip_member_listing(tmp_path, empty_actor):
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("filter.csv", "q;x\n")
    with pytest.raises(DomainError) as exc:
        run(empty_actor, path)
    assert "CSV" in exc.value.message


# --- what holds however the rows fall into batches ---------------------------------------


def test_duplicates_are_found_across_batches_and_in_the_base(tmp_path, empty_actor):
    run(empty_actor, write(tmp_path, "Name;E-Mail\nAlt;alt@y.de\n"))
    rows = "".join(f"K{i};k{i}@y.de;\n" for i in range(7))
    path = write(
        tmp_path,
        "Name;E-Mail;Mobiltelefon\n"
        + rows
        + "Spaet;k1@y.de;\nBasis;ALT@y.de;0171 2345678\nNochmal;;+49 171 2345678\n",
        name="b.csv",
    )
    result = run(empty_actor, path, batch_size=3)
    assert result.applied and result.created == 10
    dups = {(p.row, p.column) for p in result.duplicates}
    # row 9 repeats row 3 (an earlier batch), row 10 the customer already there (e-mail
    # compared as the API stores it), row 11 the mobile number of row 10.
    assert dups == {(9, "E-Mail"), (10, "E-Mail"), (11, "Mobiltelefon")}


def test_doubled_number_in_a_later_batch(tmp_path, empty_actor, empty_tenant):
    text = "Kundennummer;Name\n" + "".join(f"{n};K{n}\n" for n in range(1, 6)) + "2;Wieder\n"
    result = run(empty_actor, write(tmp_path, text), batch_size=2, mode="valid-rows")
    assert [(p.row, p.column) for p in result.errors] == [(7, "Kundennummer")]
    assert result.created == 5 and customers(empty_tenant)[2].last_name == "K2"


def test_numbers_in_use_are_skipped_when_handing_out(tmp_path, empty_actor, empty_tenant):
    run(empty_actor, write(tmp_path, "Kundennummer;Name\n1;A\n3;B\n"))
    run(empty_actor, write(tmp_path, "Name\nC\nD\nE\n", name="b.csv"), batch_size=2)
    assert {n: c.last_name for n, c in customers(empty_tenant).items()} == {
        1: "A",
        3: "B",
        2: "C",
        4: "D",
        5: "E",
    }


def test_an_empty_cell_clears_the_field_of_an_existing_customer(
    tmp_path, empty_actor, empty_tenant
):
    run(empty_actor, write(tmp_path, "Kundennummer;Name;Ort;Alias\n5;Alt;Bonn;Al\n"))
    result = run(
        empty_actor, write(tmp_path, "Kundennummer;Name;Ort;Alias\n5;Alt;;Al\n6;Neu;;\n", "b.csv")
    )
    assert (result.created, result.updated, result.errors_total) == (1, 1, 0)
    got = customers(empty_tenant)
    assert (got[5].city, got[5].alias, got[6].city, got[6].alias) == ("", "Al", "", "")
    with tenant_scope(empty_tenant):
        change = CustomerEvent.objects.get(customer=got[5], action="updated")
        created = CustomerEvent.objects.get(customer=got[6], action="created")
    assert change.changes == {"city": ["Bonn", ""]}
    assert created.changes["last_name"] == [None, "Neu"] and "city" not in created.changes


def test_every_new_customer_has_its_history_and_default_group(tmp_path, empty_actor, empty_tenant):
    from stammgast.customers.models import CustomerGroup

    with tenant_scope(empty_tenant):
        CustomerGroup.objects.create(tenant=empty_tenant, name="Stammgäste", is_default=True)
    text = "Name;Telefon privat;Kunde angelegt\n" + "".join(
        f"K{i};030 1234{i:03d};01.02.2020 10:11:12\n" for i in range(25)
    )
    result = run(empty_actor, write(tmp_path, text), batch_size=10)
    assert result.created == 25 and result.errors_total == 0
    with tenant_scope(empty_tenant):
        for c in Customer.objects.prefetch_related("groups"):
            assert [g.name for g in c.groups.all()] == ["Stammgäste"]
            event = CustomerEvent.objects.get(customer=c)
            assert event.changes["groups"] == [None, ["Stammgäste"]]
            assert event.changes["last_name"] == [None, c.last_name]
            assert c.phone_private_e164.startswith("+49301234")
            assert c.created_at == dt.datetime(2020, 2, 1, 9, 11, 12, tzinfo=dt.UTC)  # 10:11 CET
            assert c.number in (int(t) for t in c.search_text.split() if t.isdigit())


def test_payment_and_block_columns_need_their_permissions(tmp_path, empty_actor, empty_tenant):
    from stammgast.tenants.actor import Actor

    run(empty_actor, write(tmp_path, "Kundennummer;Name;Sperrtext\n5;Alt;alt\n"))
    clerk = Actor(
        tenant=empty_tenant,
        permissions=frozenset({"customers.import", "customers.create", "customers.change"}),
    )
    text = (
        "Kundennummer;Name;Rabatt;Preisebene;Sperrtext\n"
        "5;Alt;;;neu\n"  # changes the lock text of customer 5
        "6;Neu;10;1;\n"  # a discount for a new customer
        "7;Auch;;1;\n"  # the tenant's default price level: no change of payment terms
    )
    result = run(clerk, write(tmp_path, text, name="b.csv"), mode="valid-rows")
    problems = {(p.row, p.column) for p in result.errors}
    assert problems == {(2, "Sperrtext"), (3, "Rabatt")}
    assert sorted(customers(empty_tenant)) == [5, 7]
