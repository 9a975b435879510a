"""Erasure (Art. 17) and the data download (Art. 15/20): what a person and the business
notice, down to the database's own files."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from PIL import Image

from stammgast.bills import services as bill_services
from stammgast.bills.models import Bill
from stammgast.core.errors import Conflict, DomainError
from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.customers.filters import CustomerFilter
from stammgast.customers.models import Customer, CustomerEvent
from stammgast.exchange import services as exchange_services
from stammgast.exchange.models import Job
from stammgast.ledger import selectors as ledger_selectors
from stammgast.ledger import services as ledger_services
from stammgast.privacy import services
from stammgast.privacy.models import AccessLogEntry, ConsentEvent, ErasureRequest
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor

PERSON = {
    "first_name": "Erika",
    "last_name": "Mustermann-Zweig",
    "email": "erika.zweig@example.org",
    "mobile": "+49 151 23456789",
    "phone_private": "030 98765432",
    "iban": "DE89370400440532013000",
    "street": "Lindenallee 77",
    "postcode": "01067",
    "city": "Dresden",
    "date_of_birth": "1981-07-23",
    "memo": "mag Fensterplatz",
}
# What must not be found anywhere after the erasure, in the forms it is stored in.
TRACES = [
    "Mustermann-Zweig",
    "erika.zweig@example.org",
    "+4915123456789",
    "151 23456789",
    "98765432",
    "DE89370400440532013000",
    "Lindenallee",
    "1981-07-23",
    "Fensterplatz",
]


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    return SimpleUploadedFile("me.png", buffer.getvalue(), content_type="image/png")


@pytest.fixture
def places(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    return tmp_path


@pytest.fixture
def erika(tenant, places):
    """A guest with everything: record, picture, consent, credit, a bill, an export."""
    location = tenant_services.create_location(tenant=tenant, code="mitte", name="Mitte")
    with tenant_scope(tenant):
        actor = Actor.system(tenant)
        services.publish_legal_text(actor=actor, kind="privacy", title="DS", body="Text")
        customer = customer_services.create_customer(actor=actor, data=PERSON)
        customer_services.set_customer_picture(actor=actor, number=customer.number, upload=png())
        services.record_consent(
            actor=actor,
            number=customer.number,
            purpose="marketing",
            granted=True,
            note="Formular von Erika Mustermann-Zweig",
        )
        ledger_services.top_up_credit(
            actor=actor, customer_number=customer.number, amount=2000, idempotency_key="t1"
        )
        bill_services.post_bill(
            actor=actor,
            data={
                "number": "B-1",
                "terminal": "T1",
                "location": location.code,
                "customer": customer.number,
                "lines": [{"item": "Kaffee", "unit_price": "3.50"}],
                "payments": [{"method": "credit", "amount": "3.50"}],
            },
        )
        exchange_services.start_export(actor=actor, f=CustomerFilter())
        customer.refresh_from_db()
    return customer


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def readable(path: Path) -> bytes:
    """A file's bytes, with the members of an XLSX or ZIP unpacked."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return b"".join(archive.read(name) for name in archive.namelist())
    return path.read_bytes()


def found_in(blob: bytes) -> list[str]:
    lower = blob.lower()
    return [t for t in TRACES if t.lower().encode() in lower]


def database_dump() -> bytes:
    """Every byte the database keeps: the SQLite file and its log, or pg_dump's output."""
    connection.close()
    if connection.vendor == "sqlite":
        name = Path(connection.settings_dict["NAME"])
        # Read by another process: closing a file this process opened drops every POSIX
        # lock it holds on that file, also those of SQLite connections still open in other
        # threads (a live server's), and SQLite's locking would be broken for the run.
        files = [str(p) for p in (name, Path(f"{name}-wal")) if p.exists()]
        read = "import sys\nfor f in sys.argv[1:]: sys.stdout.buffer.write(open(f, 'rb').read())"
        return subprocess.run(
            [sys.executable, "-c", read, *files], check=True, capture_output=True
        ).stdout
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    params = connection.get_connection_params()
    command = [
        "pg_dump",
        "--data-only",
        "-h",
        params.get("host") or "127.0.0.1",
        "-p",
        str(params.get("port") or 5432),
        "-U",
        params.get("user") or "postgres",
        connection.settings_dict["NAME"],
    ]
    return subprocess.run(command, check=True, capture_output=True).stdout


@pytest.mark.django_db(transaction=True)
def test_after_an_erasure_no_trace_of_the_person_is_left_but_the_money_is(tenant, erika, places):
    number = erika.number
    with tenant_scope(tenant):
        export = Job.objects.get()
        assert found_in(b"".join(readable(p) for p in files_under(settings.VAR_DIR)))
        assert files_under(Path(settings.MEDIA_ROOT))
        admin = Actor.system(tenant)
        services.update_privacy_settings(
            actor=admin, credit_at_erasure="forfeit", bill_retention_years=10
        )
        request = services.receive_erasure_request(actor=admin, number=number, received_how="Brief")
        preview = services.erasure_preview(actor=admin, number=number)
        assert preview.balance == 1650  # 20.00 topped up, 3.50 paid
        services.complete_erasure(actor=admin, request_id=request.pk)
        export.refresh_from_db()
        assert export.files_deleted
    dump = database_dump()
    assert found_in(dump) == []
    for path in files_under(Path(settings.MEDIA_ROOT)) + files_under(settings.VAR_DIR):
        assert found_in(readable(path)) == [], path
    with tenant_scope(tenant):
        bill = Bill.objects.get()
        assert bill.total == 350 and bill.customer_snapshot == {"number": number, "erased": True}
        assert ErasureRequest.objects.get().credit_booked_out == 1650
        # The number is the customer's for good: never handed out again, not even by hand.
        with pytest.raises(Conflict):
            customer_services.create_customer(
                actor=Actor.system(tenant), data={"last_name": "Neu", "number": number}
            )
        assert (
            customer_services.create_customer(
                actor=Actor.system(tenant), data={"last_name": "Neu"}
            ).number
            != number
        )
    assert str(number).encode() in dump


@pytest.mark.django_db(transaction=True)
def test_an_erasure_is_done_once_and_the_record_is_gone_from_every_read(tenant, erika, make_api):
    api = make_api(tenant, ("pos",))
    with tenant_scope(tenant):
        admin = Actor.system(tenant)
        ledger_services.pay_out_credit(
            actor=admin, customer_number=erika.number, amount=1650, idempotency_key="p"
        )
        request = services.receive_erasure_request(actor=admin, number=erika.number)
        services.complete_erasure(actor=admin, request_id=request.pk)
        with pytest.raises(DomainError) as again:
            services.complete_erasure(actor=admin, request_id=request.pk)
        assert again.value.code == "already_erased"
        customer = Customer.all_tenants.get(pk=erika.pk)
        assert customer.erased_at is not None and customer.last_name == ""
        assert not customer.picture
        # The history keeps who changed which field when; the values are gone. (Money
        # entries keep their amounts, as the ledger does.)
        changes = [
            e.changes
            for e in CustomerEvent.objects.filter(
                customer=customer, action__in=["created", "updated"]
            )
        ]
        pairs = [pair for c in changes for pair in c.values()]
        assert pairs and all(pair == [None, None] for pair in pairs)
        assert ConsentEvent.objects.filter(customer=customer).exclude(note="").count() == 0
        # The fact of the consent stays, with its date and text version; what was granted
        # is revoked with the erasure.
        marketing = ConsentEvent.objects.filter(customer=customer, purpose="marketing")
        assert list(marketing.order_by("id").values_list("granted", flat=True)) == [True, False]
    assert api.get(f"/api/v1/customers/{erika.number}").status_code == 404
    assert api.get("/api/v1/customers?q=Mustermann").json()["items"] == []
    bill = {
        "number": "B-2",
        "terminal": "T1",
        "location": "mitte",
        "customer": erika.number,
        "lines": [{"item": "Tee", "unit_price": "2.00"}],
        "payments": [{"method": "cash", "amount": "2.00"}],
    }
    answer = api.post(
        "/api/v1/bills", bill, content_type="application/json", HTTP_IDEMPOTENCY_KEY="b-2"
    )
    assert answer.status_code == 404, answer.content


def test_erasure_waits_for_open_items_to_be_settled(tenant, admin_actor, places):
    customer = customer_services.create_customer(actor=admin_actor, data={"last_name": "Schuld"})
    ledger_services.charge_account(actor=admin_actor, customer=customer, amount=500, reference="R1")
    request = services.receive_erasure_request(actor=admin_actor, number=customer.number)
    with pytest.raises(DomainError) as refused:
        services.complete_erasure(actor=admin_actor, request_id=request.pk)
    assert refused.value.code == "open_items"
    assert Customer.objects.get(pk=customer.pk).last_name == "Schuld"


def test_credit_is_forfeited_when_the_tenant_says_so(tenant, admin_actor, places):
    services.update_privacy_settings(
        actor=admin_actor, credit_at_erasure="forfeit", bill_retention_years=10
    )
    customer = customer_services.create_customer(actor=admin_actor, data={"last_name": "Rest"})
    ledger_services.top_up_credit(
        actor=admin_actor, customer_number=customer.number, amount=700, idempotency_key="r"
    )
    request = services.receive_erasure_request(actor=admin_actor, number=customer.number)
    services.complete_erasure(actor=admin_actor, request_id=request.pk)
    done = ErasureRequest.objects.get()
    assert (done.credit_booked_out, done.credit_disposition) == (700, "forfeit")
    assert ledger_selectors.CreditAccount.objects.get(customer_id=customer.pk).balance == 0


def test_staff_without_the_right_may_not_erase(tenant, admin_actor, places):
    customer = customer_services.create_customer(actor=admin_actor, data={"last_name": "Bleib"})
    manager = Actor.for_staff(tenant=tenant, user=None, role="location_manager", location=None)
    with pytest.raises(DomainError):
        services.receive_erasure_request(actor=manager, number=customer.number)


def test_staff_download_a_persons_data_and_it_is_logged(tenant, erika):
    user = tenant_services.create_staff_user(
        tenant=tenant, username="chefin", password="Kellner-Passwort-42", role="tenant_admin"
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    answer = client.get(f"/privacy/customers/{erika.number}/download/")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    names = archive.namelist()
    assert "data.json" in names and "data.html" in names
    assert any(n.startswith("pictures/") for n in names)
    data = json.loads(archive.read("data.json"))
    assert data["customer"]["last_name"] == "Mustermann-Zweig"
    assert data["memo"] == "mag Fensterplatz"
    assert [c["amount_cents"] for c in data["credit_entries"]] == [2000, -350]
    assert data["bills"][0]["total_cents"] == 350
    assert {c["purpose"] for c in data["consent_log"]} >= {"marketing"}
    assert "Mustermann-Zweig" in archive.read("data.html").decode()
    with tenant_scope(tenant):
        entry = AccessLogEntry.objects.get(kind="data_download")
    assert (entry.kind, entry.customer_number, entry.actor_label) == (
        "data_download",
        erika.number,
        "chefin",
    )


def test_staff_run_the_erasure_from_the_record(tenant, erika):
    user = tenant_services.create_staff_user(
        tenant=tenant, username="chefin", password="Kellner-Passwort-42", role="tenant_admin"
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    client.post(f"/privacy/customers/{erika.number}/erasure/", {"received_how": "in person"})
    page = client.get(f"/customers/{erika.number}/privacy/").content.decode()
    # Credit is paid out before the data goes: afterwards nobody could be paid.
    assert "Pay out the credit of 16.50 EUR first" in page and "complete-erasure" not in page
    with tenant_scope(tenant):
        pending = ErasureRequest.objects.get()
    refused = client.post(f"/privacy/erasures/{pending.pk}/complete/", follow=True)
    assert "pay them out first" in refused.content.decode()
    with tenant_scope(tenant):
        ledger_services.pay_out_credit(
            actor=Actor.system(tenant),
            customer_number=erika.number,
            amount=1650,
            idempotency_key="till-1",
        )
    assert "complete-erasure" in client.get(f"/customers/{erika.number}/privacy/").content.decode()
    answer = client.post(f"/privacy/erasures/{pending.pk}/complete/")
    assert answer.status_code == 302
    log = client.get("/privacy/erasures/").content.decode()
    assert "completed" in log and "in person" in log
    answer = client.post(f"/privacy/erasures/{pending.pk}/complete/", follow=True)
    assert "was done already" in answer.content.decode()


def test_an_overdraft_is_a_debt_that_holds_the_erasure(tenant, admin_actor, places):
    from stammgast.ledger.models import CreditAccount

    customer = customer_services.create_customer(actor=admin_actor, data={"last_name": "Minus"})
    ledger_services.top_up_credit(
        actor=admin_actor, customer_number=customer.number, amount=100, idempotency_key="a"
    )
    CreditAccount.objects.filter(customer=customer).update(balance=-250)
    request = services.receive_erasure_request(actor=admin_actor, number=customer.number)
    with pytest.raises(DomainError) as refused:
        services.complete_erasure(actor=admin_actor, request_id=request.pk)
    assert refused.value.code == "open_items" and "2.50" in refused.value.message


def test_a_pending_online_top_up_holds_the_erasure(tenant, admin_actor, places, settings):
    from stammgast.payments import services as payment_services

    settings.STAMMGAST_PAYMENT_PROVIDERS = ["sandbox"]
    customer = customer_services.create_customer(actor=admin_actor, data={"last_name": "Zahlt"})
    guest = Actor.for_guest(tenant=tenant, customer_number=customer.number)
    payment_services.start_top_up(
        actor=guest, customer_number=customer.number, amount=1000, return_url="/me/gasthaus/"
    )
    request = services.receive_erasure_request(actor=admin_actor, number=customer.number)
    with pytest.raises(DomainError) as refused:
        services.complete_erasure(actor=admin_actor, request_id=request.pk)
    assert refused.value.code == "top_up_pending"


def test_a_guests_request_waits_for_their_confirmation(tenant, admin_actor, places):
    customer = customer_services.create_customer(actor=admin_actor, data={"last_name": "Wartet"})
    guest = Actor.for_guest(tenant=tenant, customer_number=customer.number)
    request = services.receive_erasure_request(actor=guest, number=customer.number)
    # Staff asking at the same moment find the same request, not a second one.
    assert services.receive_erasure_request(actor=admin_actor, number=customer.number) == request
    with pytest.raises(DomainError) as refused:
        services.complete_erasure(actor=admin_actor, request_id=request.pk)
    assert refused.value.code == "not_confirmed"
