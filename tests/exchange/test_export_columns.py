"""Export: optional columns after the 31 standard ones, chosen per export; CRLF line ends
in the ZIP's CSV on both databases."""

from __future__ import annotations

import io
import zipfile

import pytest
import python_calamine
from django.core.management import call_command

from stammgast.core.errors import DomainError
from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.customers.models import Customer, CustomerGroup
from stammgast.customers.selectors import CustomerFilter
from stammgast.exchange import services
from stammgast.exchange.columns import EXPORT_COLUMNS

EXTRAS = ["kind", "company_name", "vat_id", "groups", "tags", "lock_text"]


@pytest.fixture
def with_groups(admin_actor, some_customers):
    CustomerGroup.objects.create(name="Stammgäste")
    CustomerGroup.objects.create(name="Personal")
    customers = some_customers()
    create = customer_services.create_customer
    customers.append(
        create(
            actor=admin_actor,
            data={
                "kind": "business",
                "company_name": "Bäckerei Kühn GmbH",
                "vat_id": "DE136695976",
                "groups": ["Stammgäste", "Personal"],
                "tags": ["vegan", "Fensterplatz"],
                "blocked": True,
                "lock_text": "Rechnung offen",
            },
        )
    )
    return customers


def sheet(path):
    return python_calamine.load_workbook(str(path)).get_sheet_by_index(0).to_python()


def zip_csv(path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(next(n for n in archive.namelist() if "filter" not in n))


def test_standard_columns_first_and_unchanged_then_the_chosen_ones(
    tmp_path, admin_actor, with_groups
):
    path = tmp_path / "k.xlsx"
    services.export_customers(
        actor=admin_actor,
        f=CustomerFilter(),
        path=path,
        language="de",
        extra_columns=["tags", "kind", "groups"],
    )
    rows = sheet(path)
    assert rows[0][:31] == [c.de for c in EXPORT_COLUMNS]
    assert rows[0][31:] == ["Art", "Kundengruppen", "Tags / Vorlieben"]
    business = rows[-1]
    assert business[31:] == ["Geschäftlich", "Personal, Stammgäste", "Fensterplatz, vegan"]
    plain = tmp_path / "plain.xlsx"
    services.export_customers(actor=admin_actor, f=CustomerFilter(), path=plain, language="de")
    assert [r[:31] for r in rows] == sheet(plain)


def test_every_optional_column_in_english_and_in_the_zip(tmp_path, admin_actor, with_groups):
    path = tmp_path / "k.zip"
    services.export_customers(
        actor=admin_actor,
        f=CustomerFilter(),
        path=path,
        language="en",
        zip_threshold=1,
        extra_columns=EXTRAS,
    )
    lines = zip_csv(path).decode("utf-8-sig").split("\r\n")
    heading = lines[0].split(";")
    assert heading[31:] == [
        "Type",
        "Company",
        "VAT ID",
        "Customer groups",
        "Tags / preferences",
        "Lock text",
    ]
    last = lines[-2].split(";")
    assert last[31:] == [
        "Business",
        "Bäckerei Kühn GmbH",
        "DE136695976",
        "Personal, Stammgäste",
        "Fensterplatz, vegan",
        "Rechnung offen",
    ]


def test_a_business_customer_travels_with_its_extra_columns(
    tmp_path, admin_actor, with_groups, empty_actor, empty_tenant
):
    path = tmp_path / "k.xlsx"
    services.export_customers(
        actor=admin_actor, f=CustomerFilter(), path=path, language="de", extra_columns=EXTRAS
    )
    with tenant_scope(empty_tenant):
        CustomerGroup.objects.create(name="Stammgäste")
        CustomerGroup.objects.create(name="Personal")
        result = services.import_customers(actor=empty_actor, path=path)
        assert result.errors_total == 0, result.errors
        moved = Customer.objects.get(company_name="Bäckerei Kühn GmbH")
        assert (moved.kind, moved.vat_id, moved.lock_text) == (
            "business",
            "DE136695976",
            "Rechnung offen",
        )
        assert sorted(g.name for g in moved.groups.all()) == ["Personal", "Stammgäste"]
        assert sorted(t.name for t in moved.tags.all()) == ["Fensterplatz", "vegan"]


def test_an_unknown_extra_column_is_refused_naming_the_ones_there_are(admin_actor):
    with pytest.raises(DomainError) as exc:
        services.start_export(actor=admin_actor, f=CustomerFilter(), extra_columns=["iban2"])
    assert exc.value.status == 422 and "lock_text" in exc.value.fields["extra_columns"][0]


def test_api_and_command_line_choose_extra_columns(
    tmp_path, tenant, admin_actor, with_groups, make_api
):
    api = make_api(tenant, ("exchange",), name="Export")
    started = api.post(
        "/api/v1/exports",
        '{"language": "en", "extra_columns": ["company_name"]}',
        content_type="application/json",
    )
    assert started.status_code == 201, started.content
    content = b"".join(api.get(started.json()["download_url"]).streaming_content)
    heading = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
    assert heading.get_sheet_by_index(0).to_python()[0][31:] == ["Company"]
    bad = api.post(
        "/api/v1/exports", '{"extra_columns": ["nope"]}', content_type="application/json"
    )
    assert bad.status_code == 422
    out = tmp_path / "cli.xlsx"
    call_command(
        "export", tenant.slug, "-o", str(out), "--extra-columns", "vat_id,lock_text",
        "--no-progress", stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    assert sheet(out)[0][31:] == ["USt-IdNr.", "Sperrtext"]


def test_portal_export_offers_the_extra_columns(admin_client, with_groups):
    page = admin_client.get("/exchange/export/").content.decode()
    assert 'name="extra_columns" value="groups"' in page
    started = admin_client.post("/exchange/export/", {"extra_columns": ["kind", "tags"]})
    assert started.status_code == 302
    job_page = admin_client.get(started["Location"])
    assert job_page.status_code == 200


def test_zip_csv_has_crlf_line_ends_only(tmp_path, admin_actor, with_groups):
    # On PostgreSQL the rows come from COPY, which ends them with LF.
    path = tmp_path / "k.zip"
    services.export_customers(
        actor=admin_actor,
        f=CustomerFilter(),
        path=path,
        language="de",
        zip_threshold=1,
        extra_columns=EXTRAS,
    )
    data = zip_csv(path)
    assert data.count(b"\n") == data.count(b"\r\n") == 1 + len(with_groups)
    assert data.endswith(b"\r\n")
