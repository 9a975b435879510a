"""A tenant administrator sets up the guest area: open or closed, colour, logo, and which
fields the guests' data form asks."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from stammgast.selfservice.fields import FIELD_NAMES, field_uses
from stammgast.tenants import services as tenant_services

from .conftest import AREA, complete, confirm, register

pytestmark = pytest.mark.django_db(transaction=True)


def staff(tenant, role="tenant_admin"):
    user = tenant_services.create_staff_user(
        tenant=tenant, username=f"{role}-x", password="Kellner-Passwort-42", role=role
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def settings_form(**changes) -> dict:
    uses = field_uses({})
    data = {"enabled": "on", "colour": "#aa3300", **{f"use_{n}": uses[n] for n in FIELD_NAMES}}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_data_form_asks_what_the_tenant_set(
    tenant, policy, browser, mailoutbox, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    admin = staff(tenant)
    answer = admin.post(
        "/self-service/", settings_form(use_mobile="required", use_company_name="optional")
    )
    assert answer.status_code == 302
    assert "--brand: #aa3300" in browser.get(f"{AREA}/brand.css").content.decode()
    register(browser)
    confirm(browser, mailoutbox[0])
    form = browser.get(f"{AREA}/data/").content.decode()
    assert 'name="company_name"' in form and 'name="phone_business"' not in form
    answer = complete(browser)
    assert answer.status_code == 200 and "This field is required." in answer.content.decode()
    answer = complete(browser, mobile="0171 2345678")
    assert answer.status_code == 302, answer.content.decode()


def test_no_name_asked_for_is_refused(tenant):
    answer = staff(tenant).post(
        "/self-service/", settings_form(use_first_name="optional", use_last_name="hidden")
    )
    assert answer.status_code == 200
    assert "The first name or the name must be required." in answer.content.decode()


def test_a_logo_that_is_no_picture_is_refused(tenant, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    fake = SimpleUploadedFile("logo.png", b"not a picture", content_type="image/png")
    answer = staff(tenant).post("/self-service/", {**settings_form(), "logo": fake})
    assert answer.status_code == 200
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "blue").save(buffer, "PNG")
    logo = SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")
    admin = Client(HTTP_ACCEPT_LANGUAGE="en")
    admin.force_login(
        tenant_services.create_staff_user(
            tenant=tenant, username="zweite", password="Kellner-Passwort-42", role="tenant_admin"
        )
    )
    assert admin.post("/self-service/", {**settings_form(), "logo": logo}).status_code == 302


def test_a_closed_area_says_so(tenant, policy, browser):
    staff(tenant).post("/self-service/", settings_form(enabled=None))
    answer = browser.get(f"{AREA}/register/")
    assert answer.status_code == 403 and "closed" in answer.content.decode()


def test_only_tenant_admins_set_up_the_area(tenant):
    assert staff(tenant, "cashier").get("/self-service/").status_code == 403
