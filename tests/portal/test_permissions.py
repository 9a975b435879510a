"""Who may see and change what in the portal."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client

from .conftest import reload


def test_a_cashier_cannot_change_payment_information(tenant, staff_client, make_customer):
    customer = make_customer(tenant, iban="DE89370400440532013000")
    cashier = staff_client("cashier")

    page = cashier.get(f"/customers/{customer.number}/payment/")
    assert page.status_code == 200
    assert 'id="edit-register"' not in page.content.decode()
    assert "Your role may not change this register." in page.content.decode()

    assert cashier.get(f"/customers/{customer.number}/payment/edit/").status_code == 403
    posted = cashier.post(
        f"/customers/{customer.number}/payment/edit/",
        {
            "version": customer.version,
            "iban": "",
            "discount": "50",
            "price_level": "1",
            "payment_method": "cash",
            "payment_term_days": "0",
        },
    )
    assert posted.status_code == 403
    after = reload(tenant, customer.number)
    assert after.iban == "DE89370400440532013000"
    assert after.discount == 0


def test_a_cashier_may_change_the_address(tenant, staff_client, make_customer):
    customer = make_customer(tenant)
    cashier = staff_client("cashier")
    posted = cashier.post(
        f"/customers/{customer.number}/address/edit/",
        {"version": customer.version, "city": "Köln", "postcode": "50667"},
    )
    assert posted.status_code == 302
    assert reload(tenant, customer.number).city == "Köln"


def test_a_read_only_user_cannot_edit_or_create(tenant, staff_client, make_customer):
    customer = make_customer(tenant)
    reader = staff_client("read_only")

    record = reader.get(f"/customers/{customer.number}/")
    assert record.status_code == 200
    assert "Müller" in record.content.decode()
    assert 'id="edit-register"' not in record.content.decode()

    assert reader.get(f"/customers/{customer.number}/master/edit/").status_code == 403
    posted = reader.post(
        f"/customers/{customer.number}/master/edit/",
        {"version": customer.version, "kind": "private", "last_name": "Schmidt"},
    )
    assert posted.status_code == 403
    assert reload(tenant, customer.number).last_name == "Müller"

    assert reader.get("/customers/new/").status_code == 403
    assert reader.post("/customers/new/", {"kind": "private", "last_name": "X"}).status_code == 403
    assert "New private customer" not in reader.get("/customers/").content.decode()


def test_another_tenants_customer_is_not_found(tenant, other_tenant, staff_client, make_customer):
    theirs = make_customer(other_tenant, last_name="Geheim")
    admin = staff_client("tenant_admin")
    assert admin.get(f"/customers/{theirs.number}/").status_code == 404
    assert admin.get(f"/customers/{theirs.number}/history/").status_code == 404
    assert admin.get(f"/customers/{theirs.number}/master/edit/").status_code == 404
    posted = admin.post(
        f"/customers/{theirs.number}/master/edit/",
        {"version": 1, "kind": "private", "last_name": "Übernommen"},
    )
    assert posted.status_code == 404
    assert reload(other_tenant, theirs.number).last_name == "Geheim"
    assert "No customers match this filter." in admin.get("/customers/?q=Geheim").content.decode()


def test_a_location_bound_user_does_not_see_customers_restricted_elsewhere(
    tenant, location, location_b, staff_client, make_customer
):
    restricted = make_customer(tenant, last_name="Hafengast", allowed_locations=["hafen"])
    manager = staff_client("location_manager", location=location)
    assert manager.get(f"/customers/{restricted.number}/").status_code == 404
    assert "Hafengast" not in manager.get("/customers/").content.decode()


def test_posts_need_the_csrf_token(tenant, staff_client, make_customer):
    customer = make_customer(tenant)
    logged_in = staff_client("tenant_admin")
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = logged_in.cookies
    refused = strict.post(
        f"/customers/{customer.number}/master/edit/",
        {"version": customer.version, "kind": "private", "last_name": "Schmidt"},
    )
    assert refused.status_code == 403
    assert reload(tenant, customer.number).last_name == "Müller"


def test_a_user_without_membership_is_told_so(db):
    user = get_user_model().objects.create_user("waise", password="Irgendwas-123")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    for url in ("/", "/customers/"):
        page = client.get(url)
        assert page.status_code == 403
        assert "not a staff member of any tenant" in page.content.decode()


def test_pages_need_a_login(db):
    page = Client().get("/customers/")
    assert page.status_code == 302
    assert page["Location"].startswith("/login/")


def test_django_admin_is_for_superusers_only(tenant, staff_client):
    admin = staff_client("tenant_admin")
    assert admin.user.is_staff is False
    assert admin.get("/admin/").status_code == 302
    superuser = get_user_model().objects.create_superuser("root", password="Wurzel-Passwort-1")
    client = Client()
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 200


def test_a_cashier_cannot_lift_a_block_of_head_office(tenant, staff_client, make_customer):
    customer = make_customer(tenant, blocked=True, lock_text="Bitte Zentrale anrufen")
    cashier = staff_client("cashier")

    page = cashier.get(f"/customers/{customer.number}/settings/edit/").content.decode()
    assert 'name="blocked" disabled' in page or 'disabled id="id_blocked"' in page
    assert "only that role or a higher one may lift or change it" in page

    # A forged form changes nothing and says why.
    posted = cashier.post(
        f"/customers/{customer.number}/settings/edit/",
        {"version": customer.version, "lock_text": "", "loss_reason": ""},
    )
    assert posted.status_code in (200, 302)
    after = reload(tenant, customer.number)
    assert (after.blocked, after.lock_text) == (True, "Bitte Zentrale anrufen")


def test_a_location_manager_lifts_a_cashiers_block(tenant, location, staff_client, make_customer):
    customer = make_customer(tenant)
    cashier = staff_client("cashier")
    blocked = cashier.post(
        f"/customers/{customer.number}/settings/edit/",
        {"version": customer.version, "blocked": "on", "lock_text": "Karte verloren"},
    )
    assert blocked.status_code == 302
    assert reload(tenant, customer.number).blocked_by_role == "cashier"
    page = cashier.get(f"/customers/{customer.number}/settings/edit/").content.decode()
    assert "You may not lift blocks." in page

    manager = staff_client("location_manager", location=location)
    lifted = manager.post(
        f"/customers/{customer.number}/settings/edit/",
        {"version": customer.version + 1, "lock_text": "Karte verloren"},
    )
    assert lifted.status_code == 302
    assert reload(tenant, customer.number).blocked is False
