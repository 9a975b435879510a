"""Consents: every grant and revocation logged with channel and text version; the
newsletter flag is the newsletter consent on every path."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from stammgast.core.errors import DomainError
from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.customers.models import Customer
from stammgast.privacy import services
from stammgast.privacy.models import Consent, ConsentEvent
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor


@pytest.fixture
def guest(admin_actor):
    return customer_services.create_customer(
        actor=admin_actor, data={"first_name": "Erika", "last_name": "Muster"}
    )


@pytest.fixture
def policy(admin_actor):
    return services.publish_legal_text(
        actor=admin_actor, kind="privacy", title="Datenschutz", body="Wir speichern ..."
    )


def staff(tenant, role="tenant_admin", username="chefin"):
    user = tenant_services.create_staff_user(
        tenant=tenant, username=username, password="Kellner-Passwort-42", role=role
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def log(customer, purpose="newsletter"):
    return list(
        ConsentEvent.objects.filter(customer=customer, purpose=purpose)
        .order_by("id")
        .values_list("granted", "channel")
    )


def test_a_consent_and_its_revocation_are_both_kept_with_the_text_version(
    admin_actor, guest, policy
):
    services.record_consent(
        actor=admin_actor, number=guest.number, purpose="marketing", granted=True
    )
    services.record_consent(
        actor=admin_actor, number=guest.number, purpose="marketing", granted=False
    )
    events = list(ConsentEvent.objects.filter(purpose="marketing").order_by("id"))
    assert [(e.granted, e.legal_text.version) for e in events] == [(True, 1), (False, 1)]
    state = Consent.objects.get(customer=guest, purpose="marketing")
    assert state.granted is False


def test_recording_the_same_state_again_changes_nothing(admin_actor, guest, policy):
    for _ in range(3):
        services.record_consent(
            actor=admin_actor, number=guest.number, purpose="marketing", granted=True
        )
    assert ConsentEvent.objects.filter(purpose="marketing").count() == 1


def test_a_new_text_version_is_a_new_consent(admin_actor, guest, policy):
    services.record_consent(
        actor=admin_actor, number=guest.number, purpose="marketing", granted=True
    )
    services.publish_legal_text(
        actor=admin_actor, kind="privacy", title="Datenschutz", body="Neu: wir speichern ..."
    )
    services.record_consent(
        actor=admin_actor, number=guest.number, purpose="marketing", granted=True
    )
    versions = ConsentEvent.objects.filter(purpose="marketing").order_by("id")
    assert [e.legal_text.version for e in versions] == [1, 2]


def test_unknown_purposes_and_versions_are_refused_and_change_nothing(admin_actor, guest, policy):
    with pytest.raises(DomainError) as refused:
        services.record_consent(
            actor=admin_actor, number=guest.number, purpose="telepathy", granted=True
        )
    assert refused.value.code == "unknown_purpose"
    with pytest.raises(DomainError) as refused:
        services.record_consent(
            actor=admin_actor,
            number=guest.number,
            purpose="marketing",
            granted=True,
            text_version=7,
        )
    assert refused.value.code == "unknown_text_version"
    assert not ConsentEvent.objects.exists()


def test_the_newsletter_flag_follows_the_consent_and_the_consent_the_flag(
    admin_actor, guest, policy
):
    services.record_consent(
        actor=admin_actor, number=guest.number, purpose="newsletter", granted=True
    )
    guest.refresh_from_db()
    assert guest.newsletter is True
    customer_services.update_customer(
        actor=admin_actor.via("portal"), number=guest.number, data={"newsletter": False}
    )
    assert log(guest) == [(True, "system"), (False, "portal")]
    assert Consent.objects.get(customer=guest, purpose="newsletter").granted is False


def test_a_new_customer_with_the_newsletter_has_given_the_consent(admin_actor):
    created = customer_services.create_customer(
        actor=admin_actor.via("portal"), data={"last_name": "Neu", "newsletter": True}
    )
    without = customer_services.create_customer(actor=admin_actor, data={"last_name": "Ohne"})
    assert log(created) == [(True, "portal")]
    assert log(without) == []


def test_the_api_reads_and_writes_consents_with_channel_and_version(
    tenant, make_api, guest, policy
):
    api = make_api(tenant, ("pos",))
    sent = api.post(
        f"/api/v1/customers/{guest.number}/consents",
        {"purpose": "newsletter", "granted": True, "channel": "paper", "note": "Formular 12"},
        content_type="application/json",
    )
    assert sent.status_code == 200, sent.content
    state = {c["purpose"]: c for c in sent.json()["consents"]}
    assert state["newsletter"]["granted"] is True
    assert state["newsletter"]["channel"] == "paper"
    assert state["newsletter"]["text_version"] == 1
    assert state["marketing"]["granted"] is None
    entries = api.get(f"/api/v1/customers/{guest.number}/consents/log").json()["items"]
    assert [(e["purpose"], e["granted"], e["note"], e["actor"]) for e in entries] == [
        ("newsletter", True, "Formular 12", "API: Kasse 1")
    ]
    listed = api.get("/api/v1/customers?consent=newsletter").json()["items"]
    assert [c["number"] for c in listed] == [guest.number]
    with tenant_scope(tenant):
        assert Customer.objects.get(pk=guest.pk).newsletter is True


def test_the_api_refuses_bad_consents(tenant, make_api, guest):
    api = make_api(tenant, ("pos",))
    for body in (
        {"purpose": "newsletter", "granted": True, "channel": "import"},
        {"purpose": "nope", "granted": True},
        {"purpose": "newsletter", "granted": True, "text_version": 3},
        {"purpose": "newsletter", "granted": True, "extra": 1},
        {"purpose": "newsletter", "granted": "vielleicht"},
    ):
        answer = api.post(
            f"/api/v1/customers/{guest.number}/consents", body, content_type="application/json"
        )
        assert 400 <= answer.status_code < 500, (body, answer.content)
        assert json.loads(answer.content)["message"]
    assert not ConsentEvent.objects.exists()


def test_a_read_only_client_may_read_but_not_record(tenant, make_api, guest):
    api = make_api(tenant, ("readonly",))
    assert api.get(f"/api/v1/customers/{guest.number}/consents").status_code == 200
    answer = api.post(
        f"/api/v1/customers/{guest.number}/consents",
        {"purpose": "marketing", "granted": True},
        content_type="application/json",
    )
    assert answer.status_code == 403


def test_another_tenants_client_sees_no_consents(tenant, other_api, guest):
    assert other_api.get(f"/api/v1/customers/{guest.number}/consents").status_code == 404
    answer = other_api.post(
        f"/api/v1/customers/{guest.number}/consents",
        {"purpose": "marketing", "granted": True},
        content_type="application/json",
    )
    assert answer.status_code == 404
    assert not ConsentEvent.objects.exists()


def test_staff_record_a_paper_consent_in_the_register_and_see_the_log(tenant, guest, policy):
    admin = staff(tenant)
    sent = admin.post(
        f"/privacy/customers/{guest.number}/consents/",
        {
            "purpose": "marketing",
            "granted": "1",
            "channel": "paper",
            "text_version": "privacy:1",
            "note": "Ordner 2026",
        },
    )
    assert sent.status_code == 302
    page = admin.get(f"/customers/{guest.number}/consents/").content.decode()
    assert "Ordner 2026" in page and "on paper (recorded by staff)" in page
    assert "Privacy policy v1" in page


def test_the_list_filters_by_consent(tenant, admin_actor, guest, policy):
    other = customer_services.create_customer(actor=admin_actor, data={"last_name": "Andere"})
    services.record_consent(
        actor=admin_actor, number=other.number, purpose="marketing", granted=True
    )
    page = staff(tenant).get("/customers/?consent=marketing").content.decode()
    assert "Andere" in page and "Muster" not in page


def test_a_guest_changes_only_their_own_record_and_only_their_fields(tenant, admin_actor, guest):
    other = customer_services.create_customer(actor=admin_actor, data={"last_name": "Andere"})
    with tenant_scope(tenant):
        me = Actor.for_guest(tenant=tenant, customer_number=guest.number)
        customer_services.update_customer(actor=me, number=guest.number, data={"city": "Dresden"})
        with pytest.raises(DomainError):
            customer_services.update_customer(actor=me, number=other.number, data={"city": "X"})
        with pytest.raises(DomainError) as refused:
            customer_services.update_customer(actor=me, number=guest.number, data={"discount": 50})
        assert "discount" in refused.value.fields
        event = guest.events.order_by("-id").first()
        assert event.actor_label == "guest (self-service)"


def test_a_paper_consent_to_the_terms_names_a_version_of_the_terms(tenant, guest, policy):
    admin = staff(tenant)
    admin.post(
        f"/privacy/customers/{guest.number}/consents/",
        {"purpose": "terms", "granted": "1", "channel": "paper", "text_version": "privacy:1"},
    )
    assert not ConsentEvent.objects.filter(purpose="terms").exists()


def test_a_newsletter_by_the_tenants_default_is_no_consent(tenant, admin_actor):
    customer_services.update_tenant_defaults(actor=admin_actor, data={"newsletter": True})
    created = customer_services.create_customer(actor=admin_actor, data={"last_name": "Neu"})
    assert created.newsletter is True
    assert log(created) == []
