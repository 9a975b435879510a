"""The portal pages and the API endpoints of export and import."""

from __future__ import annotations

import io
import json

import python_calamine

from stammgast.customers.models import Customer
from stammgast.exchange.models import Job
from stammgast.tenants import services as tenant_services
from stammgast.tenants.models import Role

from .conftest import PASSWORD, staff


def test_export_from_the_customer_list_filter(admin_client, some_customers):
    some_customers()
    page = admin_client.get("/exchange/export/?blocked=true")
    assert page.status_code == 200
    assert "1 Kunde" in page.content.decode() or "1 customer" in page.content.decode()
    started = admin_client.post("/exchange/export/", {"blocked": "true"})
    assert started.status_code == 302
    job_page = admin_client.get(started["Location"])
    assert 'id="download"' in job_page.content.decode()
    job = Job.all_tenants.get()
    download = admin_client.get(f"/exchange/jobs/{job.uid}/result")
    assert download.status_code == 200
    workbook = python_calamine.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert [r[0] for r in workbook.get_sheet_by_index(0).to_python()] == ["Kundennummer", "3"]
    assert "attachment" in download["Content-Disposition"]


def test_bad_filter_is_a_clear_page_not_a_500(admin_client):
    page = admin_client.get("/exchange/export/?created_from=gestern")
    assert page.status_code == 400
    assert "created_from" in page.content.decode()


def test_cashier_may_not_export_or_import(tenant):
    client = staff(tenant, "kasse", Role.CASHIER)
    assert client.get("/exchange/export/").status_code == 403
    assert client.get("/exchange/import/").status_code == 403


def test_import_upload_preview_mapping_and_result(admin_client, tenant):
    csv = "Nachname;Ort;PLZ\nMeier;Bonn;53111\nSchulz;Köln;506789\n".encode("cp1252")
    upload = io.BytesIO(csv)
    upload.name = "fremd.csv"
    sent = admin_client.post("/exchange/import/", {"file": upload})
    assert sent.status_code == 302
    preview_url = sent["Location"]
    preview = admin_client.get(preview_url).content.decode()
    assert "Nachname" in preview and "Meier" in preview and "Köln" in preview
    # "Ort" and "PLZ" are recognised; "Nachname" needs choosing.
    refused = admin_client.post(
        preview_url,
        {
            "col0": "",
            "col1": "city",
            "col2": "postcode",
            "mode": "all-or-nothing",
            "match": "number",
        },
    )
    assert refused.status_code == 422
    done = admin_client.post(
        preview_url,
        {
            "col0": "last_name",
            "col1": "city",
            "col2": "postcode",
            "mode": "valid-rows",
            "match": "number",
        },
    )
    assert done.status_code == 302
    job_page = admin_client.get(done["Location"]).content.decode()
    assert 'id="created">1<' in job_page and 'id="failed">1<' in job_page
    assert "PLZ" in job_page  # the refused row's column
    job = Job.all_tenants.get()
    report = admin_client.get(f"/exchange/jobs/{job.uid}/report.xlsx")
    assert report.status_code == 200
    with_rows = python_calamine.load_workbook(io.BytesIO(b"".join(report.streaming_content)))
    assert with_rows.get_sheet_by_index(0).to_python()[1][0] == 3
    assert [c.last_name for c in Customer.all_tenants.all()] == ["Meier"]


def test_upload_of_a_pdf_gets_a_message(admin_client):
    upload = io.BytesIO(b"%PDF-1.5 ...")
    upload.name = "kunden.xlsx"
    sent = admin_client.post("/exchange/import/", {"file": upload})
    page = admin_client.get(sent["Location"])
    assert page.status_code == 422 and "PDF" in page.content.decode()


def test_upload_limit(admin_client, settings):
    settings.EXCHANGE_MAX_UPLOAD_BYTES = 10
    upload = io.BytesIO(b"Name\n" + b"x\n" * 100)
    upload.name = "k.csv"
    page = admin_client.post("/exchange/import/", {"file": upload})
    assert page.status_code == 422 and "MB" in page.content.decode()


def test_api_clients_need_an_export_permission(pos_api):
    answer = pos_api.post("/api/v1/exports", "{}", content_type="application/json")
    assert answer.status_code == 403
    assert answer.json()["code"] == "permission_denied"
    upload = io.BytesIO(b"Name\nA\n")
    upload.name = "a.csv"
    assert pos_api.post("/api/v1/imports", {"file": upload}).status_code == 403


def test_api_job_of_another_tenant_is_not_found(tenant, other_api, admin_actor, some_customers):
    from stammgast.customers.selectors import CustomerFilter
    from stammgast.exchange import services

    some_customers()
    job = services.start_export(actor=admin_actor, f=CustomerFilter())
    assert other_api.get(f"/api/v1/exports/{job.uid}").status_code in (403, 404)
    assert other_api.get(f"/api/v1/exports/{job.uid}/download").status_code in (403, 404)


def test_openapi_lists_the_endpoints(pos_api):
    paths = json.loads(pos_api.get("/api/v1/openapi.json").content)["paths"]
    assert "/api/v1/exports" in paths and "/api/v1/imports/{job_id}/report.{fmt}" in paths


def test_running_job_page_polls_and_shows_progress_and_eta(admin_client, tenant):
    from django.utils import timezone

    from stammgast.core.tenancy import tenant_scope
    from stammgast.exchange import services

    with tenant_scope(tenant):
        job = Job.objects.create(
            tenant=tenant,
            kind=Job.Kind.EXPORT,
            state=Job.State.RUNNING,
            started_at=timezone.now() - timezone.timedelta(seconds=30),
            rows_total=1000,
        )
        (services.job_dir(job) / "progress.json").write_text('{"done": 250, "total": 1000}')
    page = admin_client.get(
        f"/exchange/jobs/{job.uid}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="job-status"
    )
    body = page.content.decode()
    assert body.startswith('<div id="job-status"') and 'hx-trigger="every 1s"' in body
    assert 'value="25"' in body and "250" in body and "1:30" in body  # 30 s per quarter


def test_location_bound_export_holds_only_what_the_location_may_see(tenant, location, admin_actor):
    from stammgast.customers import services as customer_services
    from stammgast.customers.selectors import CustomerFilter
    from stammgast.exchange import services

    other = tenant_services.create_location(tenant=tenant, code="nord", name="Nord")
    customer_services.create_customer(actor=admin_actor, data={"last_name": "Alle"})
    customer_services.create_customer(
        actor=admin_actor, data={"last_name": "Nur Nord", "allowed_locations": [other.code]}
    )
    user = tenant_services.create_staff_user(
        tenant=tenant,
        username="leiter",
        password=PASSWORD,
        role=Role.LOCATION_MANAGER,
        location=location,
    )
    from stammgast.tenants.actor import Actor

    manager = Actor.for_staff(
        tenant=tenant, user=user, role=Role.LOCATION_MANAGER, location=location
    )
    job = services.start_export(actor=manager, f=CustomerFilter())
    path, _name = services.job_file(actor=manager, job_id=job.uid)
    names = [
        r[3] for r in python_calamine.load_workbook(str(path)).get_sheet_by_index(0).to_python()[1:]
    ]
    assert names == ["Alle"]
