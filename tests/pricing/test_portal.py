"""Portal pages of pricing: subsidy rules and group levels for those who may change them,
read-only for the others; the customer record's "Prices and subsidies" register."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from stammgast.pricing import services as pricing_services
from stammgast.pricing.models import GroupPricing, SubsidyRule
from stammgast.tenants import services as tenant_services


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def login(tenant):
    def make(role: str, language: str = "en") -> Client:
        user = tenant_services.create_staff_user(
            tenant=tenant, username=f"{role}-user", password="Kellner-Passwort-42", role=role
        )
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(user)
        return client

    return make


FORM = {
    "name": "Mittagszuschuss",
    "group": "Belegschaft",
    "categories": "meal, soup",
    "kind": "fixed",
    "value": "2,50",
    "times_per_day": "1",
    "weekdays": ["0", "1", "2", "3", "4"],
    "valid_from": "",
    "valid_to": "",
    "monthly_cap": "40",
    "idempotency_key": "form-1",
}


def test_an_admin_creates_edits_and_stops_a_rule(login, canteen):
    admin = login("tenant_admin")
    page = admin.get("/pricing/")
    assert page.status_code == 200 and b'id="new-rule"' in page.content
    form = admin.get("/pricing/rules/new/")
    assert form.status_code == 200 and b"Belegschaft" in form.content
    made = admin.post("/pricing/rules/new/", FORM)
    assert made.status_code == 302, made.content.decode()[:2000]
    again = admin.post("/pricing/rules/new/", FORM)  # the same form sent twice
    assert again.status_code == 302 and SubsidyRule.objects.count() == 1
    rule = SubsidyRule.objects.get()
    assert (rule.categories, rule.value, rule.monthly_cap, rule.weekdays) == (
        ["meal", "soup"],
        250,
        4000,
        [0, 1, 2, 3, 4],
    )
    listed = admin.get("/pricing/").content.decode()
    assert "Mittagszuschuss" in listed and "meal, soup" in listed
    edit = admin.get(f"/pricing/rules/{rule.pk}/")
    assert edit.status_code == 200 and 'value="2,50"' in edit.content.decode()
    wrong = admin.post(f"/pricing/rules/{rule.pk}/", {**FORM, "value": "2,505"})
    assert wrong.status_code == 422 and b'id="id_value_error"' in wrong.content
    saved = admin.post(f"/pricing/rules/{rule.pk}/", {**FORM, "kind": "percent", "value": "50"})
    assert saved.status_code == 302
    rule.refresh_from_db()
    assert (rule.kind, rule.value) == ("percent", 50)
    stopped = admin.post(f"/pricing/rules/{rule.pk}/stop/")
    assert stopped.status_code == 302
    rule.refresh_from_db()
    assert rule.active is False
    history = admin.get("/pricing/").content.decode()
    assert "subsidy rule stopped" in history and "tenant_admin-user" in history


def test_an_admin_sets_the_price_level_of_each_group(login, canteen):
    admin = login("tenant_admin")
    groups = {g.group.name: g.group.pk for g in pricing_services.selectors.group_levels()}
    page = admin.get("/pricing/levels/")
    assert page.status_code == 200
    fields = {f"group_{pk}": "" for pk in groups.values()}
    fields[f"group_{groups['Belegschaft']}"] = "2"
    fields[f"group_{groups['Azubis']}"] = "5"
    assert admin.post("/pricing/levels/", fields).status_code == 302
    assert dict(GroupPricing.objects.values_list("group__name", "price_level")) == {
        "Belegschaft": 2,
        "Azubis": 5,
    }
    fields[f"group_{groups['Azubis']}"] = "100"
    refused = admin.post("/pricing/levels/", fields)
    assert refused.status_code == 422
    assert GroupPricing.objects.get(group_id=groups["Azubis"]).price_level == 5


def test_a_cashier_sees_the_rules_but_cannot_change_them(login, admin_actor, canteen):
    rule = pricing_services.create_subsidy_rule(
        actor=admin_actor,
        data={"name": "Mittag", "group": "Belegschaft", "kind": "fixed", "value": "2.50"},
    )
    cashier = login("cashier")
    page = cashier.get("/pricing/")
    assert page.status_code == 200 and b"Mittag" in page.content
    assert b'id="new-rule"' not in page.content and b"/stop/" not in page.content
    assert cashier.get("/pricing/rules/new/").status_code == 403
    assert cashier.post("/pricing/rules/new/", {**FORM, "name": "Mehr"}).status_code == 403
    assert cashier.get(f"/pricing/rules/{rule.pk}/").status_code == 403
    assert cashier.post(f"/pricing/rules/{rule.pk}/stop/").status_code == 403
    assert cashier.post("/pricing/levels/", {}).status_code == 403
    rule.refresh_from_db()
    assert rule.active and SubsidyRule.objects.count() == 1


def test_the_customer_record_shows_the_price_level_and_the_subsidies_left(
    login, worker, every_day_rule
):
    page = login("cashier").get("/customers/1/pricing/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "the customer&#x27;s groups" in text and "Essen" in text
    assert 'id="subsidies-today"' in text


def test_the_pages_speak_german(login, canteen):
    page = login("tenant_admin", language="de").get("/pricing/")
    text = page.content.decode()
    assert "Preisebenen der Kundengruppen" in text and "Subventionsregeln" in text


@pytest.fixture
def every_day_rule(admin_actor, canteen):
    return pricing_services.create_subsidy_rule(
        actor=admin_actor,
        data={"name": "Essen", "group": "Belegschaft", "kind": "fixed", "value": "2.50"},
    )
