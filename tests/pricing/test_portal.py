"""The pricing page: group price levels and subsidy rules, changed by admins only."""

from __future__ import annotations

from django.test import Client

from stammgast.customers.models import CustomerGroup
from stammgast.pricing.models import GroupPricing, SubsidyRule
from stammgast.tenants import services as tenant_services


def staff(tenant, role, username):
    user = tenant_services.create_staff_user(
        tenant=tenant, username=username, password="Kellner-Passwort-42", role=role
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_an_admin_sets_a_group_level_and_creates_and_stops_a_rule(tenant, admin_actor):
    CustomerGroup.objects.create(name="Belegschaft")
    admin = staff(tenant, "tenant_admin", "chefin")
    assert (
        admin.post("/pricing/levels/", {"group": "Belegschaft", "price_level": "2"}).status_code
        == 302
    )
    assert GroupPricing.objects.get().price_level == 2
    made = admin.post(
        "/pricing/rules/",
        {
            "name": "Mittag",
            "group": "Belegschaft",
            "categories": "meal, soup",
            "kind": "fixed",
            "value": "2,50",
            "times_per_day": "1",
            "weekdays": ["0", "1", "2", "3", "4"],
            "monthly_cap": "40",
        },
        follow=True,
    )
    rule = SubsidyRule.objects.get()
    assert (rule.value, rule.categories, rule.monthly_cap) == (250, ["meal", "soup"], 4000)
    assert "Mittag" in made.content.decode()
    admin.post(f"/pricing/rules/{rule.pk}/deactivate/")
    rule.refresh_from_db()
    assert rule.active is False
    refused = admin.post(
        "/pricing/rules/", {"name": "", "group": "Niemand", "kind": "x"}, follow=True
    )
    assert "The rule is not valid." in refused.content.decode()


def test_a_cashier_sees_the_page_but_changes_nothing(tenant, admin_actor):
    CustomerGroup.objects.create(name="Belegschaft")
    cashier = staff(tenant, "cashier", "kasse")
    page = cashier.get("/pricing/").content.decode()
    assert "Belegschaft" in page and 'id="new-rule"' not in page
    cashier.post("/pricing/levels/", {"group": "Belegschaft", "price_level": "2"})
    assert not GroupPricing.objects.exists()
