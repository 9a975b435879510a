"""The customer record: registers, editing with validation, stale saves, blocking, creating."""

from __future__ import annotations

import re

import pytest

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.tenants.actor import Actor

from .conftest import reload

REGISTERS = [
    "master",
    "address",
    "payment",
    "settings",
    "memos",
    "consents",
    "tags",
    "comments",
    "history",
]


def field_errors(html: str, field: str) -> str:
    match = re.search(rf'id="id_{field}_error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


@pytest.mark.parametrize("register", REGISTERS)
def test_every_register_opens(tenant, staff_client, make_customer, register):
    customer = make_customer(tenant, first_name="Jörg", memo="Mag Fensterplatz")
    page = staff_client("tenant_admin").get(f"/customers/{customer.number}/{register}/")
    assert page.status_code == 200
    assert "Jörg Müller" in page.content.decode()


def test_the_consents_register_says_none_are_recorded(tenant, staff_client, make_customer):
    customer = make_customer(tenant)
    page = staff_client("tenant_admin").get(f"/customers/{customer.number}/consents/")
    html = page.content.decode()
    assert "No consent was given or revoked yet." in html
    assert html.count("not asked") == 4  # newsletter, marketing, data processing, terms


def test_the_third_party_memo_is_shown_but_not_editable(tenant, staff_client, make_customer):
    customer = make_customer(tenant)
    with tenant_scope(tenant):
        api_like = Actor(
            tenant=tenant, permissions=frozenset({"customers.change", "customers.third_party_memo"})
        )
        customer_services.update_customer(
            actor=api_like, number=customer.number, data={"third_party_memo": "Allergie: Nüsse"}
        )
    admin = staff_client("tenant_admin")
    assert "Allergie: Nüsse" in admin.get(f"/customers/{customer.number}/memos/").content.decode()
    form = admin.get(f"/customers/{customer.number}/memos/edit/").content.decode()
    assert 'name="third_party_memo"' not in form
    admin.post(
        f"/customers/{customer.number}/memos/edit/",
        {"version": 2, "memo": "Stammtisch", "third_party_memo": "überschrieben"},
    )
    after = reload(tenant, customer.number)
    assert after.memo == "Stammtisch"
    assert after.third_party_memo == "Allergie: Nüsse"


def test_a_validation_error_is_shown_next_to_the_field_and_the_input_kept(
    tenant, staff_client, make_customer
):
    customer = make_customer(tenant)
    admin = staff_client("tenant_admin")
    answer = admin.post(
        f"/customers/{customer.number}/payment/edit/",
        {
            "version": customer.version,
            "discount": "12,5",
            "price_level": "2",
            "payment_method": "invoice",
            "payment_term_days": "14",
            "iban": "",
        },
    )
    html = answer.content.decode()
    assert answer.status_code == 422
    assert "whole number" in field_errors(html, "discount")
    assert 'value="12,5"' in html
    assert 'value="14"' in html
    assert reload(tenant, customer.number).discount == 0

    fixed = admin.post(
        f"/customers/{customer.number}/payment/edit/",
        {
            "version": customer.version,
            "discount": "12",
            "price_level": "2",
            "payment_method": "invoice",
            "payment_term_days": "14",
            "iban": "",
        },
    )
    assert fixed.status_code == 302
    after = reload(tenant, customer.number)
    assert (after.discount, after.price_level, after.payment_term_days) == (12, 2, 14)


def test_a_business_customer_needs_a_company_name(tenant, staff_client, make_customer):
    customer = make_customer(tenant)
    answer = staff_client("tenant_admin").post(
        f"/customers/{customer.number}/master/edit/",
        {"version": customer.version, "kind": "business", "last_name": "Müller"},
    )
    assert answer.status_code == 422
    assert "needs a company name" in field_errors(answer.content.decode(), "company_name")


def test_a_stale_save_is_refused_and_nothing_is_lost(tenant, staff_client, make_customer):
    customer = make_customer(tenant, city="Bonn")
    admin = staff_client("tenant_admin")
    form = admin.get(f"/customers/{customer.number}/address/edit/").content.decode()
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    with tenant_scope(tenant):
        customer_services.update_customer(
            actor=Actor.system(tenant), number=customer.number, data={"city": "Köln"}
        )
    answer = admin.post(
        f"/customers/{customer.number}/address/edit/",
        {"version": version, "city": "Berlin", "street": "Hauptstraße 1"},
    )
    html = answer.content.decode()
    assert answer.status_code == 409
    assert "Someone else changed this customer in the meantime" in html
    assert 'value="Berlin"' in html and 'value="Hauptstraße 1"' in html
    assert re.search(r'id="id_city_saved">Currently saved: <strong>Köln</strong>', html)
    assert reload(tenant, customer.number).city == "Köln"

    # Saving again after seeing the other change overwrites it deliberately.
    new_version = re.search(r'name="version" value="(\d+)"', html).group(1)
    again = admin.post(
        f"/customers/{customer.number}/address/edit/",
        {"version": new_version, "city": "Berlin", "street": "Hauptstraße 1"},
    )
    assert again.status_code == 302
    assert reload(tenant, customer.number).city == "Berlin"


def test_a_blocked_customer_is_unmistakable(tenant, staff_client, make_customer):
    customer = make_customer(tenant)
    admin = staff_client("tenant_admin")
    answer = admin.post(
        f"/customers/{customer.number}/settings/edit/",
        {"version": customer.version, "blocked": "on", "lock_text": "Hausverbot seit Mai"},
    )
    assert answer.status_code == 302
    record = admin.get(f"/customers/{customer.number}/").content.decode()
    assert 'id="lock-banner"' in record and "Hausverbot seit Mai" in record
    listing = admin.get("/customers/").content.decode()
    row = re.search(
        rf'<tr class="is-blocked" data-number="{customer.number}">(.*?)</tr>', listing, re.S
    )
    assert row and "Hausverbot seit Mai" in row.group(1)
    history = admin.get(f"/customers/{customer.number}/history/").content.decode()
    assert "blocked" in history and "Hausverbot seit Mai" in history


def test_the_history_says_who_changed_what(tenant, staff_client, make_customer):
    customer = make_customer(tenant, city="Bonn")
    admin = staff_client("tenant_admin", username="chefin")
    admin.post(
        f"/customers/{customer.number}/address/edit/", {"version": customer.version, "city": "Köln"}
    )
    html = admin.get(f"/customers/{customer.number}/history/").content.decode()
    assert "chefin" in html
    assert re.search(r"Place</strong>: Bonn → Köln", html)


def test_create_a_private_and_a_business_customer(tenant, staff_client):
    cashier = staff_client("cashier")
    form = cashier.get("/customers/new/?kind=private").content.decode()
    assert 'name="company_name"' not in form
    made = cashier.post(
        "/customers/new/",
        {"kind": "private", "first_name": "Käthe", "last_name": "Schäfer", "postcode": "50667"},
    )
    assert made.status_code == 302
    number = int(made["Location"].rstrip("/").rsplit("/", 1)[1])
    assert reload(tenant, number).last_name == "Schäfer"

    missing = cashier.post("/customers/new/", {"kind": "business", "last_name": "Meier"})
    assert missing.status_code == 422
    assert "needs a company name" in field_errors(missing.content.decode(), "company_name")
    made = cashier.post(
        "/customers/new/", {"kind": "business", "company_name": "Bäckerei Kühn", "postcode": "1234"}
    )
    assert made.status_code == 422
    assert "Not a postcode of Germany (DE)" in field_errors(made.content.decode(), "postcode")
    made = cashier.post("/customers/new/", {"kind": "business", "company_name": "Bäckerei Kühn"})
    assert made.status_code == 302
    number = int(made["Location"].rstrip("/").rsplit("/", 1)[1])
    assert reload(tenant, number).kind == "business"


def test_tags_and_features(tenant, staff_client, make_customer):
    from stammgast.customers.models import FeatureDefinition

    with tenant_scope(tenant):
        FeatureDefinition.objects.create(
            tenant=tenant, key="seats", label="Lieblingstisch", type="number"
        )
    customer = make_customer(tenant)
    admin = staff_client("tenant_admin")
    bad = admin.post(
        f"/customers/{customer.number}/tags/edit/",
        {"version": customer.version, "tags": "vegan, espresso", "feature__seats": "drei"},
    )
    assert bad.status_code == 422
    assert "Not a valid value" in field_errors(bad.content.decode(), "feature__seats")
    good = admin.post(
        f"/customers/{customer.number}/tags/edit/",
        {"version": customer.version, "tags": "vegan, espresso", "feature__seats": "7"},
    )
    assert good.status_code == 302
    after = reload(tenant, customer.number)
    assert after.features == {"seats": 7}
    with tenant_scope(tenant):
        assert sorted(t.name for t in after.tags.all()) == ["espresso", "vegan"]


def test_a_huge_third_party_memo_is_shown_in_part(tenant, staff_client, make_customer):
    customer = make_customer(tenant)
    with tenant_scope(tenant):
        api_like = Actor(
            tenant=tenant, permissions=frozenset({"customers.change", "customers.third_party_memo"})
        )
        customer_services.update_customer(
            actor=api_like, number=customer.number, data={"third_party_memo": "x" * 1_000_000}
        )
    page = staff_client("tenant_admin").get(f"/customers/{customer.number}/memos/")
    assert page.status_code == 200
    assert len(page.content) < 100_000
    assert "The first 20000 of 1000000 characters are shown." in page.content.decode()


def test_the_newsletter_box_of_a_new_customer_starts_with_the_tenant_default(tenant, staff_client):
    tenant.default_newsletter = True
    tenant.save()
    form = staff_client("cashier").get("/customers/new/").content.decode()
    assert re.search(r'<input type="checkbox" name="newsletter"[^>]*checked', form)


def test_sending_the_new_customer_form_twice_creates_one_customer(tenant, staff_client):
    cashier = staff_client("cashier")
    form = cashier.get("/customers/new/?kind=private").content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form)[1]
    data = {"kind": "private", "last_name": "Schäfer", "idempotency_key": key}
    first = cashier.post("/customers/new/", data)
    again = cashier.post("/customers/new/", data)
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    with tenant_scope(tenant):
        from stammgast.customers.models import Customer

        assert Customer.objects.filter(last_name="Schäfer").count() == 1
    # A new form is a new key, and a new customer.
    other = cashier.get("/customers/new/?kind=private").content.decode()
    assert re.search(r'name="idempotency_key" value="([^"]+)"', other)[1] != key


def test_the_country_is_a_list_in_the_users_language_with_the_tenants_country_set(
    tenant, staff_client
):
    tenant.default_country = "AT"
    tenant.save()
    client = staff_client("tenant_admin")
    html = client.get("/customers/new/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert re.search(r'<input[^>]*name="country"[^>]*value="Österreich"', html)
    options = re.findall(r'<option value="([^"]+)"></option>', html)
    assert {"Deutschland", "Österreich", "Schweiz"} <= set(options)
    # In German order: Ägypten with A, before Albanien.
    assert options.index("Ägypten") < options.index("Albanien")

    made = client.post(
        "/customers/new/",
        {"kind": "private", "last_name": "Huber", "country": "Schweiz", "postcode": "8001"},
    )
    assert made.status_code == 302
    number = int(made["Location"].rstrip("/").rsplit("/", 1)[1])
    assert reload(tenant, number).country == "CH"
    record = client.get(f"/customers/{number}/address/", HTTP_ACCEPT_LANGUAGE="de")
    assert "Schweiz" in record.content.decode()
