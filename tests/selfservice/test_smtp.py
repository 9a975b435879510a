"""The confirmation mail travels through a real SMTP server, and its link works."""

from __future__ import annotations

import re

import pytest

from stammgast.core.tenancy import tenant_scope
from stammgast.selfservice.models import GuestAccount

from .conftest import AREA, PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_confirmation_link_arrives_by_smtp_and_opens_the_account(
    tenant, policy, browser, smtp_server
):
    browser.post(
        f"{AREA}/register/",
        {
            "email": "smtp.gast@example.org",
            "password": PASSWORD,
            "accepted_texts": "on",
            "shown_privacy": "1",
        },
    )
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "smtp.gast@example.org"
    assert message["Subject"] == "Confirm your registration at Gasthaus Adler"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = re.search(r"http://testserver(/me/gasthaus/confirm/[\w-]+/)", text).group(1)
    assert link in html
    answer = browser.post(link, {"password": PASSWORD})
    assert answer.status_code == 302
    with tenant_scope(tenant):
        assert GuestAccount.objects.get().is_active


def test_mails_are_written_in_the_guests_language(tenant, policy, smtp_server):
    from django.test import Client

    german = Client(HTTP_ACCEPT_LANGUAGE="de")
    german.post(
        f"{AREA}/register/",
        {
            "email": "de.gast@example.org",
            "password": PASSWORD,
            "accepted_texts": "on",
            "shown_privacy": "1",
        },
    )
    (message,) = smtp_server.wait_for(1)
    assert "Gasthaus Adler" in message["Subject"]
    assert message["Subject"] != "Confirm your registration at Gasthaus Adler"
