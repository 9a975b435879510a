"""Screenshots for the README: run with STAMMGAST_SCREENSHOTS=1 to (re)write docs/screenshots/."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from .conftest import SCREENSHOTS, log_in

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("STAMMGAST_SCREENSHOTS"), reason="set STAMMGAST_SCREENSHOTS=1"
    ),
]


def test_write_screenshots_of_the_list_and_a_record(live_server, shop, new_page):
    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers import services
    from stammgast.tenants.actor import Actor

    tenant = shop["tenant"]
    with tenant_scope(tenant):
        actor = Actor.system(tenant)
        for first, last, city, postcode in [
            ("Käthe", "Schäfer", "München", "80331"),
            ("Sören", "Weber", "Hamburg", "20095"),
            ("Zoë", "Becker", "Leipzig", "04109"),
            ("Günther", "Hoffmann", "Dresden", "01067"),
        ]:
            services.create_customer(
                actor=actor,
                data={
                    "first_name": first,
                    "last_name": last,
                    "city": city,
                    "postcode": postcode,
                    "email": f"gast{postcode}@example.de",
                },
            )
        number = shop["mueller"].number
        services.update_customer(
            actor=actor,
            number=number,
            data={
                "street": "Hohe Straße 12",
                "iban": "DE89370400440532013000",
                "discount": 10,
                "payment_method": "invoice",
                "payment_term_days": 14,
            },
        )
        services.block_customer(
            actor=actor, number=number, lock_text="Offene Rechnung – bitte an die Chefin verweisen"
        )

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = new_page(locale="de-DE", width=1280, height=800)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/")
    expect(page.locator("table.customers tbody tr")).to_have_count(7)
    page.screenshot(path=str(SCREENSHOTS / "customer-list.png"), full_page=True)
    page.goto(f"{live_server.url}/customers/{number}/payment/")
    expect(page.locator("#lock-banner")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "customer-record.png"), full_page=True)
    page.goto(f"{live_server.url}/")
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)


IMPORT_CSV = (
    "Anrede;Vorname;Nachname;Straße;PLZ;Ort;Telefon;Geburtstag;Rabatt;Lieblingsgericht\n"
    "Herr;Hans;Meier;Hauptstr. 1;01067;Dresden;0351 1234567;1.2.80;10;Schnitzel\n"
    "Frau;Eva;Schulz;Ringstr. 2;04109;Leipzig;;03.04.1975;2,5;\n"
    "Frau;Lena;Vogt;Am Markt 3;80331;München;089 123456;31.2.1990;;Käsespätzle\n"
)


def test_write_screenshots_of_import_and_export(live_server, shop, new_page, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    path = tmp_path / "gaeste.csv"
    path.write_bytes(IMPORT_CSV.encode("cp1252"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = new_page(locale="de-DE", width=1280, height=800)
    log_in(page, live_server.url)

    page.goto(f"{live_server.url}/exchange/import/")
    page.screenshot(path=str(SCREENSHOTS / "import-upload.png"), full_page=True)
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Hochladen und Vorschau anzeigen").click()
    expect(page.locator("#col9")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "import-preview.png"), full_page=True)
    page.locator("#col9").select_option("")
    page.get_by_role("button", name="Starten").click()
    expect(page.locator("#failed")).to_have_text("2")
    page.screenshot(path=str(SCREENSHOTS / "import-job.png"), full_page=True)

    page.goto(f"{live_server.url}/exchange/export/?group=Stammgäste")
    page.screenshot(path=str(SCREENSHOTS / "export.png"), full_page=True)
    page.get_by_role("button", name="Export starten").click()
    expect(page.locator("#download")).to_be_visible()
    page.goto(f"{live_server.url}/exchange/")
    page.screenshot(path=str(SCREENSHOTS / "import-export-jobs.png"), full_page=True)
