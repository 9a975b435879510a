"""The portal as a head office and a till use it: rights, search hints, German data, lists."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def reload(shop, number):
    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers.models import Customer

    with tenant_scope(shop["tenant"]):
        return Customer.objects.get(number=number)


def block_as_head_office(shop, number, lock_text):

    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers import services
    from stammgast.tenants.actor import Actor

    with tenant_scope(shop["tenant"]):
        services.block_customer(
            actor=Actor.system(shop["tenant"]), number=number, lock_text=lock_text
        )


def test_a_cashier_cannot_lift_a_block_of_head_office(live_server, shop, new_page):
    number = shop["mueller"].number
    block_as_head_office(shop, number, "Hausverbot, bitte Zentrale anrufen")
    page = new_page()
    log_in(page, live_server.url, "kasse")
    page.goto(f"{live_server.url}/customers/{number}/settings/")
    expect(page.locator("#lock-banner")).to_contain_text("Hausverbot, bitte Zentrale anrufen")
    expect(page.locator("#lock-banner")).to_contain_text("Tenant administrator")

    page.get_by_role("link", name="Edit", exact=True).click()
    blocked = page.get_by_label("Locked customer")
    expect(blocked).to_be_checked()
    expect(blocked).to_be_disabled()
    expect(page.get_by_label("Lock text")).to_be_disabled()
    expect(page.locator("#register-panel")).to_contain_text(
        "only that role or a higher one may lift or change it"
    )
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#lock-banner")).to_be_visible()
    assert reload(shop, number).blocked is True


def test_a_short_search_shows_a_quiet_hint(live_server, shop, new_page):
    page = new_page(locale="de-DE")
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/")
    search = page.get_by_role("searchbox", name="Suche")
    search.press_sequentially("mü", delay=50)
    expect(page.locator("#search-hint")).to_have_text(
        "Die Suche beginnt ab 3 Zeichen (oder mit einer Kundennummer)."
    )
    expect(page.get_by_role("alert")).to_have_count(0)
    # Still typing: the list stays whole until the search can look for something.
    expect(page.locator("table.customers tbody tr")).to_have_count(3)
    search.press_sequentially("l", delay=50)
    expect(page.locator("table.customers tbody tr")).to_have_count(1)
    expect(page.locator("#search-hint")).to_have_count(0)


def test_german_business_data_in_german(live_server, shop, new_page):
    page = new_page(locale="de-DE")
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/new/?kind=business")
    # The tenant's country is preselected, by its German name, from a list to search.
    country = page.locator("#id_country")
    expect(country).to_have_value("Deutschland")
    expect(country).to_have_attribute("list", "country-names")
    expect(page.locator("#country-names option[value='Österreich']")).to_have_count(1)

    page.locator("#id_company_name").fill("Gasthof Alpenblick")
    page.locator("#id_vat_id").fill("DE12345678")
    page.locator("#id_postcode").fill("50667")
    page.get_by_role("button", name="Kunde anlegen").click()
    expect(page.locator("#id_vat_id_error")).to_have_text(
        "Keine USt-IdNr. aus Deutschland; diese besteht aus DE und 9 Ziffern."
    )
    expect(page.locator("#id_vat_id")).to_have_value("DE12345678")

    page.locator("#id_vat_id").fill("ATU13585627")
    country.fill("Österreich")
    page.locator("#id_postcode").fill("6020")
    page.get_by_role("button", name="Kunde anlegen").click()
    expect(page.locator("h1")).to_contain_text("Gasthof Alpenblick")

    page.get_by_role("link", name="Kontakt & Zahlung").click()
    page.get_by_role("link", name="Zahlungsinformationen").click()
    expect(page.locator(".subtabs [aria-current=page]")).to_have_text("Zahlungsinformationen")
    page.get_by_role("link", name="Bearbeiten", exact=True).click()
    iban = page.get_by_label("IBAN")
    iban.fill("DE89 3704 0044 0532 0130 01")
    page.get_by_role("button", name="Speichern").click()
    expect(page.locator("#id_iban_error")).to_have_text(
        "Die Prüfziffern dieser IBAN stimmen nicht: bitte auf Tippfehler prüfen."
    )

    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers.models import Customer

    with tenant_scope(shop["tenant"]):
        made = Customer.objects.get(company_name="Gasthof Alpenblick")
    assert (made.country, made.vat_id, made.iban) == ("AT", "ATU13585627", "")


def add_customers(shop, names):
    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers import services
    from stammgast.tenants.actor import Actor

    with tenant_scope(shop["tenant"]):
        actor = Actor.system(shop["tenant"])
        for name in names:
            services.create_customer(actor=actor, data={"last_name": name})


def names_on_page(page) -> list[str]:
    return page.locator("table.customers tbody tr td:nth-child(2)").all_inner_texts()


def test_german_sort_order_with_businesses_by_company(live_server, shop, new_page):
    add_customers(shop, ["Özdemir", "Zander", "ärger", "Strauß", "Strausberg", "Mustermann"])
    page = new_page(locale="de-DE")
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/")
    page.get_by_role("link", name="Name / Firma").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Name / Firma")
    expect(page.locator("table.customers tbody tr")).to_have_count(9)
    assert names_on_page(page) == [
        "ärger",
        "Bäckerei Kühn (Ole Kühn)",
        "Jürgen Müller",
        "Mustermann",
        "Özdemir",
        "Anna Schmidt",
        "Strausberg",
        "Strauß",
        "Zander",
    ]


def test_paging_with_position_previous_next_and_back_to_top(live_server, shop, new_page):
    add_customers(shop, [f"Gast {i:02d}" for i in range(57)])  # 60 customers: two pages
    page = new_page(locale="de-DE", height=700)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/?sort=number")
    expect(page.locator("#page-position")).to_have_text("1–50 von 60")
    expect(page.locator("#page-number")).to_have_text("Seite 1 von 2")
    expect(page.get_by_role("link", name="Vorherige Seite")).to_have_count(0)

    next_link = page.get_by_role("link", name="Nächste Seite")
    next_link.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 0
    next_link.click()
    expect(page.locator("#page-position")).to_have_text("51–60 von 60")
    expect(page.locator("#page-number")).to_have_text("Seite 2 von 2")
    expect(page.locator("table.customers tbody tr").first).to_have_attribute("data-number", "51")
    # The new page is read from its top.
    page.wait_for_function("() => window.scrollY === 0")
    expect(page.get_by_role("link", name="Nächste Seite")).to_have_count(0)

    page.get_by_role("link", name="Vorherige Seite").click()
    expect(page.locator("#page-position")).to_have_text("1–50 von 60")
    expect(page.locator("table.customers tbody tr").first).to_have_attribute("data-number", "1")


def test_the_record_header_on_every_register_and_the_register_in_the_url(
    live_server, shop, new_page
):
    number = shop["mueller"].number
    block_as_head_office(shop, number, "Offene Rechnung")
    page = new_page(locale="de-DE")
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/{number}/")
    header = page.locator("#record-header")
    for group in ("Stammdaten", "Kontakt & Zahlung", "Guthaben, Karten & Bons", "Verlauf"):
        page.locator(".tabs").get_by_role("link", name=group).click()
        expect(page.locator(".tabs [aria-current=page]")).to_have_text(group)
        expect(header.locator("h1")).to_contain_text(f"{number} · Jürgen Müller")
        expect(header.locator(".badge").first).to_have_text("Privat")
        expect(header.locator("#lock-banner")).to_contain_text("Offene Rechnung")
        expect(header.locator("[data-fact=groups] dd")).to_have_text("Stammgäste")
        expect(header.locator("[data-fact=price_level] dd")).to_have_text("1")
        expect(header.locator("[data-fact=discount] dd")).to_have_text("0 %")
        expect(header.locator("[data-fact=phone] dd")).to_have_text("+49 171 2345678")
        expect(header.locator("[data-fact=email] dd")).to_have_text("juergen.mueller@example.de")
        expect(header.locator("[data-fact=credit] dd")).to_have_text("0,00\u00a0€")

    # The URL names the register: opened again, the record shows that register in its group.
    page.goto(f"{live_server.url}/customers/{number}/payment/")
    expect(page.locator(".tabs [aria-current=page]")).to_have_text("Kontakt & Zahlung")
    expect(page.locator(".subtabs [aria-current=page]")).to_have_text("Zahlungsinformationen")


def test_a_dashboard_card_leads_to_its_list(live_server, shop, new_page):
    block_as_head_office(shop, shop["mueller"].number, "Offene Rechnung")
    page = new_page(locale="de-DE")
    log_in(page, live_server.url)
    card = page.locator("#card-blocked")
    expect(card.locator(".value")).to_have_text("1")
    card.click()
    expect(page).to_have_url(f"{live_server.url}/customers/?blocked=true")
    expect(page.get_by_label("Gesperrt", exact=True)).to_have_value("true")
    expect(page.locator("table.customers tbody tr")).to_have_count(1)
    expect(page.locator("table.customers tbody")).to_contain_text("Jürgen Müller")


def test_import_now_after_a_dry_run(live_server, shop, new_page, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    page = new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/exchange/import/")
    expect(page.locator(".mainnav [aria-current=page]")).to_have_text("Import")
    page.locator("input[name=file]").set_input_files(
        files=[
            {
                "name": "gaeste.csv",
                "mimeType": "text/csv",
                "buffer": "Name;PLZ;Ort\nHuber;80331;München\n".encode(),
            }
        ]
    )
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_label("Only check (dry run), change nothing")).to_be_checked()
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#job-status")).to_contain_text("Dry run: nothing was changed.")
    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers.models import Customer

    with tenant_scope(shop["tenant"]):
        assert not Customer.objects.filter(last_name="Huber").exists()

    page.get_by_role("button", name="Import now").click()
    expect(page.locator("#job-status")).to_contain_text("The import is done.")
    expect(page.get_by_role("button", name="Import now")).to_have_count(0)
    with tenant_scope(shop["tenant"]):
        assert Customer.objects.get(last_name="Huber").city == "München"
