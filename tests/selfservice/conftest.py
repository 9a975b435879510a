"""A tenant with a published privacy policy and a guest's browser-like client."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from stammgast.core.tenancy import tenant_scope
from stammgast.privacy import services as privacy_services
from stammgast.tenants.actor import Actor

PASSWORD = "Sonnenblume-im-Garten-7"
AREA = "/me/gasthaus"


@pytest.fixture
def policy(tenant):
    with tenant_scope(tenant):
        return privacy_services.publish_legal_text(
            actor=Actor.system(tenant), kind="privacy", title="Datenschutz", body="Wir ..."
        )


@pytest.fixture
def browser():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def link_in(message, kind: str) -> str:
    """The path of the one-time link of `kind` (confirm, reset, email, erase) in a mail."""
    found = re.search(rf"http://testserver(/me/[a-z0-9-]+/{kind}/[A-Za-z0-9_-]+/)", message.body)
    assert found, message.body
    return found.group(1)


def register(browser, email="erika@example.org", password=PASSWORD, newsletter=False):
    # The versions of the texts the registration page showed (the policy's first).
    data = {
        "email": email,
        "password": password,
        "accepted_texts": "on",
        "shown_privacy": "1",
        "shown_terms": "",
    }
    if newsletter:
        data["newsletter"] = "on"
    return browser.post(f"{AREA}/register/", data)


def confirm(browser, mail, password=PASSWORD):
    return browser.post(link_in(mail, "confirm"), {"password": password})


def complete(browser, **data):
    values = {"first_name": "Erika", "last_name": "Muster", **data}
    return browser.post(f"{AREA}/data/", values)
