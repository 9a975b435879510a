"""Registration with double opt-in, log-in, reset and address change, as guests use them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.customers.models import Customer
from stammgast.privacy.models import ConsentEvent
from stammgast.selfservice import services
from stammgast.selfservice.models import GuestAccount, GuestLink
from stammgast.tenants.actor import Actor

from .conftest import AREA, PASSWORD, complete, confirm, link_in, register

pytestmark = pytest.mark.django_db(transaction=True)


def test_register_confirm_complete_and_see_the_own_record(tenant, policy, browser, mailoutbox):
    answer = register(browser, newsletter=True)
    assert answer.status_code == 302 and answer["Location"].endswith("/register/sent/")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["erika@example.org"] and "Confirm your registration" in mail.subject
    assert mail.alternatives and mail.alternatives[0][1] == "text/html"
    with tenant_scope(tenant):
        assert GuestAccount.objects.get().is_active is False
    # The link alone does not confirm: whoever opens it must know the password too.
    assert browser.get(link_in(mail, "confirm")).status_code == 200
    assert confirm(browser, mail, "falsch-falsch").status_code == 200
    answer = confirm(browser, mail)
    assert answer.status_code == 302 and answer["Location"].endswith("/data/")
    # Until the data form is done, every page leads back to it.
    assert browser.get(f"{AREA}/")["Location"].endswith("/data/")
    answer = complete(browser, city="Dresden")
    assert answer.status_code == 302
    page = browser.get(f"{AREA}/").content.decode()
    assert "Hello Erika Muster" in page and "Dresden" in page
    with tenant_scope(tenant):
        customer = Customer.objects.get()
        assert customer.email == "erika@example.org" and customer.newsletter is True
        assert [e.actor_label for e in customer.events.all()] == ["guest (self-service)"]
        given = set(ConsentEvent.objects.values_list("purpose", "channel", "legal_text__version"))
    assert given == {("data_processing", "selfservice", 1), ("newsletter", "selfservice", 1)}


def test_a_confirmation_link_works_once(tenant, policy, browser, mailoutbox):
    register(browser)
    confirm(browser, mailoutbox[0])
    again = Client(HTTP_ACCEPT_LANGUAGE="en")
    answer = again.get(link_in(mailoutbox[0], "confirm"))
    assert answer.status_code == 410 and "used already" in answer.content.decode()


def test_a_forged_or_expired_link_is_refused(tenant, policy, browser, mailoutbox):
    assert browser.get(f"{AREA}/confirm/not-a-token-at-all/").status_code == 410
    register(browser)
    with tenant_scope(tenant):
        GuestLink.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    answer = browser.get(link_in(mailoutbox[0], "confirm"))
    assert answer.status_code == 410 and "expired" in answer.content.decode()
    with tenant_scope(tenant):
        assert services.expire_registrations() == 0  # the account is younger than the link
        GuestAccount.objects.update(created_at=timezone.now() - dt.timedelta(days=3))
        assert services.expire_registrations() == 1
        assert not GuestAccount.objects.exists()


def test_registering_a_known_address_answers_the_same_and_the_mail_says_so(
    tenant, policy, browser, mailoutbox
):
    register(browser)
    confirm(browser, mailoutbox[0])
    stranger = Client(HTTP_ACCEPT_LANGUAGE="en")
    answer = register(stranger, password="Ein-anderes-Passwort-9")
    assert answer.status_code == 302 and answer["Location"].endswith("/register/sent/")
    assert "Your registration" in mailoutbox[-1].subject
    assert "You have an account there already" in mailoutbox[-1].body
    # The password of the account is not changed by the second registration.
    assert (
        stranger.post(
            f"{AREA}/login/", {"email": "erika@example.org", "password": "Ein-anderes-Passwort-9"}
        ).status_code
        == 403
    )


def test_a_customer_record_with_the_address_is_linked_only_after_confirming(
    tenant, policy, browser, mailoutbox
):
    with tenant_scope(tenant):
        known = customer_services.create_customer(
            actor=Actor.system(tenant),
            data={"first_name": "Erika", "last_name": "Muster", "email": "Erika@Example.org"},
        )
    register(browser)
    with tenant_scope(tenant):
        assert GuestAccount.objects.get().customer is None
    answer = confirm(browser, mailoutbox[0])
    assert answer["Location"].endswith(f"{AREA}/")
    with tenant_scope(tenant):
        assert GuestAccount.objects.get().customer_id == known.pk
    assert str(known.number) in browser.get(f"{AREA}/").content.decode()


def test_weak_passwords_and_missing_consent_are_refused(tenant, policy, browser, mailoutbox):
    answer = register(browser, password="12345678")
    assert answer.status_code == 200 and "too common" in answer.content.decode()
    answer = browser.post(f"{AREA}/register/", {"email": "erika@example.org", "password": PASSWORD})
    assert answer.status_code == 200
    assert mailoutbox == []
    with tenant_scope(tenant):
        assert not GuestAccount.objects.exists()


def test_no_registration_before_a_privacy_policy(tenant, browser, mailoutbox):
    page = browser.get(f"{AREA}/register/").content.decode()
    assert "once a privacy policy is published" in page
    assert register(browser).status_code == 200
    assert mailoutbox == []


def test_the_data_form_keeps_to_the_rules_of_every_path(tenant, policy, browser, mailoutbox):
    register(browser)
    confirm(browser, mailoutbox[0])
    answer = complete(browser, last_name="", postcode="x" * 201)
    html = answer.content.decode()
    assert answer.status_code == 200 and "This field is required." in html
    answer = complete(browser, date_of_birth="1850-01-01")
    assert answer.status_code == 200
    # A field the tenant does not ask for cannot be sent in.
    answer = complete(browser, discount="50")
    assert answer.status_code == 302
    with tenant_scope(tenant):
        assert Customer.objects.get().discount == 0


def login(client, email="erika@example.org", password=PASSWORD):
    return client.post(f"{AREA}/login/", {"email": email, "password": password})


@pytest.fixture
def member(tenant, policy, browser, mailoutbox):
    register(browser)
    confirm(browser, mailoutbox[0])
    complete(browser)
    browser.post(f"{AREA}/logout/")
    mailoutbox.clear()
    return browser


def test_log_in_and_out(member):
    assert login(member).status_code == 302
    assert member.get(f"{AREA}/").status_code == 200
    member.post(f"{AREA}/logout/")
    assert member.get(f"{AREA}/")["Location"].endswith("/login/")


def test_guessing_locks_the_account_and_says_when_to_try_again(member):
    for _ in range(services.ACCOUNT_FAILURES - 1):
        assert login(member, password="falsch").status_code == 403
    answer = login(member, password="falsch")
    assert answer.status_code == 429
    assert "Please try again after" in answer.content.decode()
    # Locked: even the right password waits.
    assert login(member).status_code == 429
    # From another address the account is locked all the same.
    other = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="10.0.0.9")
    assert login(other).status_code == 429


def test_guessing_from_one_address_locks_that_address(member):
    for n in range(services.ADDRESS_FAILURES):
        login(member, email=f"nobody{n}@example.org", password="falsch")
    assert login(member).status_code == 429


def test_an_unknown_address_gets_the_same_answer_as_a_wrong_password(member):
    wrong = login(member, password="falsch")
    unknown = login(member, email="niemand@example.org")
    assert wrong.status_code == unknown.status_code == 403
    assert "The e-mail address or the password is wrong." in wrong.content.decode()
    assert "The e-mail address or the password is wrong." in unknown.content.decode()


def test_reset_by_a_link_that_works_once(member, mailoutbox):
    answer = member.post(f"{AREA}/reset/", {"email": "erika@example.org"})
    assert "If an account has this address" in answer.content.decode()
    path = link_in(mailoutbox[-1], "reset")
    assert member.post(path, {"password": "Neues-Passwort-fuer-Erika-3"}).status_code == 302
    assert member.post(path, {"password": "Noch-ein-Passwort-55"}).status_code == 410
    assert login(member).status_code == 403
    assert login(member, password="Neues-Passwort-fuer-Erika-3").status_code == 302


def test_a_reset_for_an_unknown_address_sends_nothing_and_answers_the_same(member, mailoutbox):
    answer = member.post(f"{AREA}/reset/", {"email": "niemand@example.org"})
    assert "If an account has this address" in answer.content.decode()
    assert mailoutbox == []


def test_reset_mails_are_limited(member, mailoutbox):
    for _ in range(services.RESETS_PER_EMAIL):
        member.post(f"{AREA}/reset/", {"email": "erika@example.org"})
    answer = member.post(f"{AREA}/reset/", {"email": "erika@example.org"})
    assert answer.status_code == 429
    assert len(mailoutbox) == services.RESETS_PER_EMAIL
    # Only the newest link works.
    paths = [link_in(m, "reset") for m in mailoutbox]
    assert member.get(paths[0]).status_code == 410
    assert member.get(paths[-1]).status_code == 200


def test_a_new_password_ends_the_other_sessions(member, mailoutbox):
    phone = Client(HTTP_ACCEPT_LANGUAGE="en")
    login(phone)
    assert phone.get(f"{AREA}/").status_code == 200
    member.post(f"{AREA}/reset/", {"email": "erika@example.org"})
    member.post(link_in(mailoutbox[-1], "reset"), {"password": "Neues-Passwort-fuer-Erika-3"})
    assert phone.get(f"{AREA}/")["Location"].endswith("/login/")


def test_changing_the_address_needs_the_new_one_confirmed_and_tells_the_old(
    tenant, member, mailoutbox
):
    login(member)
    answer = member.post(
        f"{AREA}/email/", {"new_email": "erika.neu@example.org", "password": PASSWORD}
    )
    assert answer.status_code == 302
    to = sorted(m.to[0] for m in mailoutbox)
    assert to == ["erika.neu@example.org", "erika@example.org"]
    notice = next(m for m in mailoutbox if m.to == ["erika@example.org"])
    assert "erika.neu@example.org" in notice.body
    with tenant_scope(tenant):
        assert Customer.objects.get().email == "erika@example.org"
    confirmation = next(m for m in mailoutbox if m.to == ["erika.neu@example.org"])
    path = link_in(confirmation, "email")
    assert member.post(path).status_code == 302
    with tenant_scope(tenant):
        customer = Customer.objects.get()
        assert customer.email == "erika.neu@example.org"
        assert GuestAccount.objects.get().email == "erika.neu@example.org"
    assert member.post(path).status_code == 410


def test_the_guest_gives_and_revokes_the_newsletter(tenant, member):
    login(member)
    member.post(f"{AREA}/consents/", {"purpose": "newsletter", "granted": "1"})
    member.post(f"{AREA}/consents/", {"purpose": "newsletter", "granted": "0"})
    with tenant_scope(tenant):
        assert Customer.objects.get().newsletter is False
        log = list(
            ConsentEvent.objects.filter(purpose="newsletter")
            .order_by("id")
            .values_list("granted", "channel")
        )
    assert log == [(True, "selfservice"), (False, "selfservice")]


def test_a_new_privacy_policy_is_accepted_at_the_next_login(tenant, member):
    from stammgast.privacy import services as privacy_services

    with tenant_scope(tenant):
        privacy_services.publish_legal_text(
            actor=Actor.system(tenant), kind="privacy", title="Datenschutz", body="Neu ..."
        )
    login(member)
    assert member.get(f"{AREA}/")["Location"].endswith("/accept/")
    assert "Neu" in member.get(f"{AREA}/accept/").content.decode()
    # An answer to the page of version 1 is no consent to version 2.
    member.post(f"{AREA}/accept/", {"shown_privacy": "1"})
    assert member.get(f"{AREA}/")["Location"].endswith("/accept/")
    member.post(f"{AREA}/accept/", {"shown_privacy": "2"})
    assert member.get(f"{AREA}/").status_code == 200
    with tenant_scope(tenant):
        versions = list(
            ConsentEvent.objects.filter(purpose="data_processing")
            .order_by("id")
            .values_list("legal_text__version", flat=True)
        )
    assert versions == [1, 2]
    # The old version stays readable, and rights need no new "yes": a guest may download
    # or delete their data without accepting a new text.
    assert "Wir ..." in member.get(f"{AREA}/texts/privacy/1/").content.decode()


def test_guests_of_one_tenant_are_strangers_to_another(tenant, other_tenant, member):
    login(member)
    answer = member.get("/me/konkurrenz/")
    assert answer.status_code == 302 and answer["Location"].endswith("/me/konkurrenz/login/")
    assert member.get("/me/unbekannt/").status_code == 404


def test_logging_in_to_ones_own_account_does_not_reset_the_count_of_guesses(member):
    for n in range(services.ADDRESS_FAILURES - 1):
        login(member, email=f"opfer{n}@example.org", password="falsch")
    assert login(member).status_code == 302
    member.post(f"{AREA}/logout/")
    assert login(member, email="opfer-x@example.org", password="falsch").status_code == 429


def test_a_registration_under_an_old_text_version_is_sent_back(tenant, policy, browser, mailoutbox):
    from stammgast.privacy import services as privacy_services

    with tenant_scope(tenant):
        privacy_services.publish_legal_text(
            actor=Actor.system(tenant), kind="privacy", title="Datenschutz", body="Neu"
        )
    answer = register(browser)  # the page it filled showed version 1
    assert answer.status_code == 200 and "just published" in answer.content.decode()
    assert mailoutbox == []


def test_registration_mails_are_limited(tenant, policy, mailoutbox):
    for _ in range(services.REGISTRATIONS_PER_EMAIL + 1):
        register(Client(HTTP_ACCEPT_LANGUAGE="en"))
    assert len(mailoutbox) == services.REGISTRATIONS_PER_EMAIL


def test_an_address_change_to_a_taken_address_answers_the_same(tenant, member, mailoutbox):
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    register(other, email="belegt@example.org")
    confirm(other, mailoutbox[-1])
    mailoutbox.clear()
    login(member)
    answer = member.post(
        f"{AREA}/email/", {"new_email": "belegt@example.org", "password": PASSWORD}
    )
    assert answer.status_code == 302
    assert [m.to for m in mailoutbox] == [["belegt@example.org"]]
    assert "belongs to an account there already" in mailoutbox[0].body


def test_a_new_password_ends_an_address_change_asked_for_with_the_old_one(
    tenant, member, mailoutbox
):
    login(member)
    member.post(f"{AREA}/email/", {"new_email": "dieb@example.org", "password": PASSWORD})
    path = link_in(next(m for m in mailoutbox if m.to == ["dieb@example.org"]), "email")
    member.post(f"{AREA}/reset/", {"email": "erika@example.org"})
    member.post(link_in(mailoutbox[-1], "reset"), {"password": "Neues-Passwort-fuer-Erika-3"})
    assert Client(HTTP_ACCEPT_LANGUAGE="en").post(path).status_code == 410
    with tenant_scope(tenant):
        assert GuestAccount.objects.get().email == "erika@example.org"


def test_a_wrong_password_in_the_account_pages_counts_as_a_guess(member):
    login(member)
    for _ in range(services.ACCOUNT_FAILURES):
        member.post(f"{AREA}/email/", {"new_email": "x@example.org", "password": "falsch"})
    member.post(f"{AREA}/logout/")
    assert login(member).status_code == 429


def test_rights_need_no_new_yes(tenant, member):
    from stammgast.privacy import services as privacy_services

    with tenant_scope(tenant):
        privacy_services.publish_legal_text(
            actor=Actor.system(tenant), kind="privacy", title="Datenschutz", body="Neu ..."
        )
    login(member)
    assert member.get(f"{AREA}/")["Location"].endswith("/accept/")
    assert member.get(f"{AREA}/download/").status_code == 200
    assert member.get(f"{AREA}/delete/").status_code == 200
    member.post(f"{AREA}/consents/", {"purpose": "newsletter", "granted": "0"})
    with tenant_scope(tenant):
        assert ConsentEvent.objects.filter(purpose="newsletter", granted=False).exists()


# The cleanup visits every cluster.
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_the_cleanup_removes_expired_registrations_and_old_throttles(tenant, policy, browser):
    from django.core.management import call_command

    from stammgast.selfservice.models import GuestThrottle

    register(browser)
    login(browser, email="niemand@example.org", password="falsch")
    with tenant_scope(tenant):
        GuestAccount.objects.update(created_at=timezone.now() - dt.timedelta(days=3))
        GuestThrottle.objects.update(window_start=timezone.now() - dt.timedelta(hours=2))
    call_command("selfservice_cleanup")
    with tenant_scope(tenant):
        assert not GuestAccount.objects.exists() and not GuestThrottle.objects.exists()
