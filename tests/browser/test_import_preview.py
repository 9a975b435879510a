"""The import's preview in a real browser: German office headings, every column mapped or
marked, nothing left out without a word."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

OFFICE_CSV = (
    "Anrede;Vorname;Nachname;Straße;PLZ;Ort;Telefon;Handy;Geburtstag;Firma;Bemerkung;"
    "Lieblingsgericht;Tags\n"
    "Herr;Hans;Meier;Hauptstr. 1;1067;Dresden;0351 1234567;15112345678;1.2.80;;;Schnitzel;VIP\n"
    "Frau;Eva;Schulz;Ringstr. 2;4109;Leipzig;;;03.04.1975;;mag Fensterplatz;;\n"
)


def test_preview_with_german_headings_shows_every_column_mapped_or_marked(
    live_server, shop, new_page, tmp_path
):
    path = tmp_path / "kunden.csv"
    path.write_bytes(OFFICE_CSV.encode("cp1252"))
    page = new_page(locale="de-DE")
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/exchange/import/")
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Hochladen und Vorschau anzeigen").click()
    expect(page.locator("h1")).to_contain_text("kunden.csv")

    # One row per column of the file: its heading, the field it fills, the first values.
    expect(page.locator("table.preview tbody tr")).to_have_count(13)
    for i in range(13):
        chosen = page.locator(f"#col{i}").input_value()
        marked = page.locator(f"#mark{i}").count() + page.locator(f"#note{i}").count()
        # A column fills a field, or says why it does not: never a silent "weglassen".
        assert chosen not in ("", "?") or marked == 1, (i, chosen)
    expect(page.locator("#col2")).to_have_value("last_name")
    expect(page.locator("#col3")).to_have_value("street")
    expect(page.locator("#col7")).to_have_value("mobile")
    expect(page.locator("#col8")).to_have_value("date_of_birth")
    expect(page.locator("#mark11")).to_have_text("nicht erkannt")
    expect(page.locator("#note12")).to_contain_text("kein Feld")
    # On a tablet the mapping table scrolls in its frame; the page itself never sideways.
    page.set_viewport_size({"width": 768, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Starting without a decision for the unknown column is refused, naming it.
    page.get_by_role("button", name="Starten").click()
    expect(page.get_by_role("alert")).to_contain_text("L (Lieblingsgericht)")
    page.locator("#col11").select_option("")
    page.locator("input[name=dry_run]").uncheck()
    page.get_by_role("button", name="Starten").click()
    expect(page.locator("#created")).to_have_text("2")
