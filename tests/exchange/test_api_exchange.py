"""An integration key with the exchange scope moves a customer base through the API."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from python_calamine import CalamineWorkbook

from stammgast.core.tenancy import tenant_scope
from stammgast.customers.models import Customer


def test_export_and_import_through_the_api(tenant, other_tenant, make_api, some_customers):
    exported = some_customers()
    source = make_api(tenant, ("exchange",), name="Zentrale Export")
    started = source.post("/api/v1/exports", '{"language": "en"}', content_type="application/json")
    assert started.status_code == 201, started.content
    job = started.json()
    assert job["state"] == "done"
    download = source.get(job["download_url"])
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    rows = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    assert rows[0][:3] == ["Customer number", "Title", "First name"]
    assert len(rows) == len(exported) + 1

    target = make_api(other_tenant, ("exchange",), name="Neuer Standort Import")
    upload = SimpleUploadedFile("customers.xlsx", content)
    imported = target.post("/api/v1/imports", {"file": upload, "match": "number"})
    assert imported.status_code == 201, imported.content
    assert imported.json()["state"] == "done"
    with tenant_scope(other_tenant):
        assert sorted(Customer.objects.values_list("last_name", flat=True)) == sorted(
            c.last_name for c in exported
        )
    # The other tenant's key still cannot fetch the first tenant's file.
    assert target.get(job["download_url"]).status_code in (403, 404)
