"""Managing subsidy rules and group price levels: who may, what is refused, the history."""

from __future__ import annotations

import datetime as dt

import pytest

from stammgast.core.errors import DomainError, PermissionDenied
from stammgast.pricing import selectors as pricing_selectors
from stammgast.pricing import services as pricing_services
from stammgast.pricing.models import PricingEvent, SubsidyRule
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import SCOPE_PERMISSIONS, Actor
from tests.customers.helpers import patch_json, post_json

RULE = {
    "name": "Mittagszuschuss",
    "group": "Belegschaft",
    "categories": ["meal"],
    "kind": "fixed",
    "value": "2.50",
}


def staff(tenant, role: str) -> Actor:
    location = None
    if role == "location_manager":
        location = tenant_services.create_location(tenant=tenant, code="mitte", name="Mitte")
    user = tenant_services.create_staff_user(
        tenant=tenant,
        username=f"{role}-1",
        password="Kellner-Passwort-42",
        role=role,
        location=location,
    )
    return Actor.for_staff(tenant=tenant, user=user, role=role, location=location)


@pytest.mark.parametrize("role", ["cashier", "location_manager", "read_only"])
def test_only_a_tenant_admin_may_change_rules_and_levels(tenant, admin_actor, canteen, role):
    rule = pricing_services.create_subsidy_rule(actor=admin_actor, data=RULE)
    other = staff(tenant, role)
    with pytest.raises(PermissionDenied):
        pricing_services.create_subsidy_rule(actor=other, data={**RULE, "name": "Mehr"})
    with pytest.raises(PermissionDenied):
        pricing_services.update_subsidy_rule(actor=other, rule_id=rule.pk, data={"value": "9"})
    with pytest.raises(PermissionDenied):
        pricing_services.deactivate_subsidy_rule(actor=other, rule_id=rule.pk)
    with pytest.raises(PermissionDenied):
        pricing_services.set_group_price_level(actor=other, group="Azubis", price_level=1)
    rule.refresh_from_db()
    assert (rule.value, rule.active, SubsidyRule.objects.count()) == (250, True, 1)
    admin = staff(tenant, "tenant_admin")
    pricing_services.update_subsidy_rule(actor=admin, rule_id=rule.pk, data={"value": "3"})
    rule.refresh_from_db()
    assert rule.value == 300


def test_every_change_is_in_the_pricing_history(tenant, admin_actor, canteen):
    admin = staff(tenant, "tenant_admin")
    rule = pricing_services.create_subsidy_rule(actor=admin, data=RULE)
    pricing_services.update_subsidy_rule(
        actor=admin, rule_id=rule.pk, data={"value": "3,00", "weekdays": [0, 1, 2, 3, 4]}
    )
    pricing_services.update_subsidy_rule(actor=admin, rule_id=rule.pk, data={"value": "3.00"})
    pricing_services.deactivate_subsidy_rule(actor=admin, rule_id=rule.pk)
    pricing_services.set_group_price_level(actor=admin, group="Belegschaft", price_level=4)
    pricing_services.set_group_price_level(actor=admin, group="Belegschaft", price_level=4)
    events = list(PricingEvent.objects.order_by("id"))
    assert [e.action for e in events] == [
        "group_level_set",  # the canteen fixture's
        "group_level_set",
        "rule_created",
        "rule_changed",
        "rule_deactivated",
        "group_level_set",
    ]
    created, changed, stopped, level = events[2:]
    assert created.changes["value"] == [None, "2.50"] and created.user_id == admin.user.pk
    assert changed.changes == {
        "value": ["2.50", "3.00"],
        "weekdays": [[0, 1, 2, 3, 4, 5, 6], [0, 1, 2, 3, 4]],
    }
    assert changed.actor_label == "tenant_admin-1" and changed.subject == "Mittagszuschuss"
    assert stopped.changes == {"active": [True, False]}
    assert (level.subject, level.changes) == ("Belegschaft", {"price_level": [2, 4]})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"group": "Niemand"}, "group"),
        ({"kind": "free"}, "kind"),
        ({"value": "1.005"}, "value"),
        ({"value": 2.5}, "value"),
        ({"value": "0"}, "value"),
        ({"kind": "percent", "value": 0}, "value"),
        ({"kind": "percent", "value": 101}, "value"),
        ({"kind": "percent", "value": "12.5"}, "value"),
        ({"times_per_day": 0}, "times_per_day"),
        ({"times_per_day": 11}, "times_per_day"),
        ({"weekdays": []}, "weekdays"),
        ({"weekdays": [7]}, "weekdays"),
        ({"valid_from": "2026-13-01"}, "valid_from"),
        ({"valid_from": "2026-06-02", "valid_to": "2026-06-01"}, "valid_to"),
        ({"monthly_cap": "-5"}, "monthly_cap"),
        ({"categories": ["x"] * 51}, "categories"),
        ({"categories": [""]}, "categories"),
        ({"active": "yes"}, "active"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(admin_actor, canteen, change, field):
    with pytest.raises(DomainError) as refused:
        pricing_services.create_subsidy_rule(actor=admin_actor, data={**RULE, **change})
    assert refused.value.status == 422 and field in refused.value.fields, refused.value.fields
    assert not SubsidyRule.objects.exists()


def test_two_active_rules_cannot_share_a_name_a_stopped_one_can(admin_actor, canteen):
    first = pricing_services.create_subsidy_rule(actor=admin_actor, data=RULE)
    with pytest.raises(DomainError) as refused:
        pricing_services.create_subsidy_rule(actor=admin_actor, data=RULE)
    assert (refused.value.status, refused.value.code) == (409, "rule_name_taken")
    pricing_services.deactivate_subsidy_rule(actor=admin_actor, rule_id=first.pk)
    pricing_services.create_subsidy_rule(actor=admin_actor, data=RULE)
    with pytest.raises(DomainError):
        pricing_services.update_subsidy_rule(
            actor=admin_actor, rule_id=first.pk, data={"active": True}
        )


def test_a_form_sent_twice_makes_one_rule(admin_actor, canteen):
    one = pricing_services.create_subsidy_rule(actor=admin_actor, data=RULE, idempotency_key="f1")
    two = pricing_services.create_subsidy_rule(actor=admin_actor, data=RULE, idempotency_key="f1")
    assert one.pk == two.pk and SubsidyRule.objects.count() == 1


def test_group_levels_are_set_and_removed(admin_actor, canteen):
    pricing_services.set_group_price_levels(
        actor=admin_actor, levels={"Gäste": None, "Azubis": "7"}
    )
    assert {g.group.name: g.price_level for g in pricing_selectors.group_levels()} == {
        "Azubis": 7,
        "Belegschaft": 2,
        "Gäste": None,
    }
    with pytest.raises(DomainError) as refused:
        pricing_services.set_group_price_levels(
            actor=admin_actor, levels={"Azubis": 100, "Niemand": 1}
        )
    assert set(refused.value.fields) == {"levels.Azubis", "levels.Niemand"}
    with pytest.raises(DomainError) as refused:
        pricing_services.set_group_price_levels(actor=admin_actor, levels={"Azu\x00bis": 1})
    assert refused.value.status == 422


# --- the API ---------------------------------------------------------------------------


def test_keys_read_rules_and_levels_and_need_pricing_manage_to_change_them(
    tenant, make_api, admin_actor, canteen, monkeypatch
):
    pricing_services.create_subsidy_rule(
        actor=admin_actor, data={**RULE, "valid_from": dt.date(2026, 1, 1)}
    )
    reader = make_api(tenant, ("readonly",), name="Anzeige")
    rules = reader.get("/api/v1/pricing/subsidy-rules")
    assert rules.status_code == 200, rules.content
    (rule,) = rules.json()["items"]
    assert (rule["amount"], rule["amount_cents"], rule["valid_from"]) == ("2.50", 250, "2026-01-01")
    levels = reader.get("/api/v1/pricing/group-levels").json()["items"]
    assert {"group": "Belegschaft", "price_level": 2} in levels
    till = make_api(tenant, ("pos",), name="Kasse")
    assert post_json(till, "/api/v1/pricing/subsidy-rules", RULE).status_code == 403
    monkeypatch.setitem(SCOPE_PERMISSIONS, "exchange", {"pricing.manage"})
    office = make_api(tenant, ("exchange",), name="Backoffice")
    made = post_json(
        office,
        "/api/v1/pricing/subsidy-rules",
        {**RULE, "name": "Frühstück", "kind": "percent", "value": 20},
        HTTP_IDEMPOTENCY_KEY="r1",
    )
    assert made.status_code == 201, made.content
    assert (made.json()["percent"], made.json()["amount"]) == (20, None)
    changed = patch_json(
        office, f"/api/v1/pricing/subsidy-rules/{made.json()['id']}", {"active": False}
    )
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert len(reader.get("/api/v1/pricing/subsidy-rules").json()["items"]) == 1
    everything = reader.get("/api/v1/pricing/subsidy-rules?include_stopped=true").json()
    assert len(everything["items"]) == 2
    put = office.put(
        "/api/v1/pricing/group-levels",
        {"levels": {"Azubis": 5}},
        content_type="application/json",
    )
    assert put.status_code == 200 and {"group": "Azubis", "price_level": 5} in put.json()["items"]
    bad = post_json(office, "/api/v1/pricing/subsidy-rules", {**RULE, "value": "1.005"})
    assert bad.status_code == 422 and "value" in bad.json()["fields"]
    assert reader.get("/api/v1/pricing/subsidy-rules/999").status_code == 404
