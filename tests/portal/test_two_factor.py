"""Staff two-factor log-in: setting it up, logging in with a code, recovery codes, the
tenant's rule that makes it mandatory."""

from __future__ import annotations

import datetime as dt
import html
import re
import time
from base64 import b32decode

import pytest
from django.test import Client, override_settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from stammgast.tenants import services as tenant_services
from stammgast.tenants import two_factor
from tests.portal.conftest import PASSWORD


def code_from(secret: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for `secret` now (or a few 30-second steps later)."""
    totp = TOTP(b32decode(secret.replace(" ", "")))
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def wrong_code_for(secret: str) -> str:
    accepted = {code_from(secret, steps_ahead=s) for s in (-1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in accepted)


def secret_on(page: str) -> str:
    return html.unescape(re.search(r'id="totp-secret">([^<]+)<', page).group(1))


def recovery_codes_on(page: str) -> list[str]:
    listed = re.search(r'id="recovery-codes">(.*?)</ol>', page, re.S).group(1)
    return re.findall(r"<code>([^<]+)</code>", listed)


def enrol(user) -> tuple[str, list[str]]:
    """Two-factor login turned on for `user` as the set-up page does; (secret, codes)."""
    enrolment = two_factor.start_enrolment(user=user)
    _device, codes = two_factor.confirm_enrolment(
        user=user, code=code_from(enrolment.secret), actor=None
    )
    return enrolment.secret, codes


def password_step(username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/login/code/"
    return client


def logged_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def test_setting_up_needs_a_code_from_the_app_and_then_shows_ten_recovery_codes(staff_client):
    client = staff_client("cashier")
    page = client.get("/two-factor/").content.decode()
    assert "Two-factor login is off." in page

    setup = client.post("/two-factor/setup/")
    page = setup.content.decode()
    assert setup.status_code == 200
    assert "<svg" in page and "<title>QR code for your authenticator app</title>" in page
    secret = secret_on(page)
    assert len(secret.replace(" ", "")) == 32
    # Not on yet: the app has not shown that it works.
    assert "Two-factor login is off." in client.get("/two-factor/").content.decode()
    # Reloading the set-up shows the same secret, so the app already set up still fits.
    assert secret_on(client.get("/two-factor/setup/").content.decode()) == secret

    confirmed = client.post("/two-factor/setup/", {"code": code_from(secret)})
    assert confirmed.status_code == 200
    assert "no-store" in confirmed["Cache-Control"]
    codes = recovery_codes_on(confirmed.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", code) for code in codes)

    page = client.get("/two-factor/").content.decode()
    assert "Two-factor login is on." in page and "10 recovery codes are left." in page
    # The session that set it up showed a code: it stays logged in.
    assert logged_in(client)
    # Only fingerprints of the recovery codes are kept.
    from django_otp.plugins.otp_static.models import StaticToken

    kept = set(StaticToken.objects.values_list("token", flat=True))
    assert not kept & {c.replace("-", "") for c in codes} and len(kept) == 10


def test_a_wrong_code_does_not_turn_two_factor_on(staff_client):
    client = staff_client("cashier")
    secret = secret_on(client.post("/two-factor/setup/").content.decode())
    refused = client.post("/two-factor/setup/", {"code": wrong_code_for(secret)})
    assert refused.status_code == 422
    assert "The code is not right." in refused.content.decode()
    assert "Two-factor login is off." in client.get("/two-factor/").content.decode()


def test_the_log_in_asks_for_the_code_and_the_half_logged_in_session_reaches_nothing(
    staff_client,
):
    user = staff_client("cashier", username="kellner").user
    secret, _codes = enrol(user)

    client = password_step("kellner")
    # Password alone: every page and the API's docs stay closed.
    for path in ("/", "/customers/", "/two-factor/", "/settings/", "/password/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path
    assert client.get("/api/v1/openapi.json").status_code == 401
    assert client.get("/api/v1/docs")["Location"].startswith("/login/")
    page = client.get("/login/code/").content.decode()
    assert "Now enter the code your authenticator app shows" in page

    # The code of the next 30 seconds: the one the set-up used cannot be used twice.
    done = client.post("/login/code/", {"code": code_from(secret, steps_ahead=1)})
    assert done.status_code == 302 and done["Location"] == "/"
    assert logged_in(client)
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_a_wrong_code_is_refused_and_the_next_attempts_wait(staff_client):
    user = staff_client("cashier", username="kellner").user
    secret, _codes = enrol(user)
    client = password_step("kellner")

    refused = client.post("/login/code/", {"code": wrong_code_for(secret)})
    assert refused.status_code == 403
    assert "The code is not right." in refused.content.decode()
    # Right away even the right code waits: wrong codes slow down guessing.
    waited = client.post("/login/code/", {"code": code_from(secret, steps_ahead=1)})
    assert waited.status_code == 429
    assert "Too many wrong codes. Wait" in waited.content.decode()
    assert not logged_in(client)

    # After the wait the right code logs in.
    TOTPDevice.objects.filter(user=user).update(
        throttling_failure_timestamp=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    )
    done = client.post("/login/code/", {"code": code_from(secret, steps_ahead=1)})
    assert done.status_code == 302
    assert logged_in(client)


@override_settings(OTP_TOTP_THROTTLE_FACTOR=0)
def test_wrong_codes_count_in_the_log_in_throttle(staff_client):
    user = staff_client("cashier", username="kellner").user
    secret, _codes = enrol(user)
    client = password_step("kellner")
    wrong = wrong_code_for(secret)
    for _attempt in range(9):
        assert client.post("/login/code/", {"code": wrong}).status_code == 403
    locked = client.post("/login/code/", {"code": wrong})
    assert locked.status_code == 429
    assert "Too many failed log-in attempts" in locked.content.decode()
    # Neither the code nor the password gets in until the wait is over.
    assert client.post("/login/code/", {"code": code_from(secret, steps_ahead=1)}).status_code in (
        302,
        429,
    )
    assert not logged_in(client)
    again = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/login/", {"username": "kellner", "password": PASSWORD}
    )
    assert again.status_code == 429


def test_a_recovery_code_logs_in_once(staff_client):
    user = staff_client("cashier", username="kellner").user
    _secret, codes = enrol(user)

    client = password_step("kellner")
    done = client.post("/login/code/", {"code": codes[3].upper().replace("-", " ")}, follow=True)
    assert done.status_code == 200
    assert "You logged in with a recovery code, which is now used up; 9 are left." in (
        done.content.decode()
    )
    assert "9 recovery codes are left." in client.get("/two-factor/").content.decode()

    again = password_step("kellner")
    refused = again.post("/login/code/", {"code": codes[3]})
    assert refused.status_code == 403
    assert not logged_in(again)


def test_a_session_logged_in_by_password_alone_ends_once_two_factor_is_on(staff_client):
    client = staff_client("cashier")  # logged in before two-factor login was set up
    assert logged_in(client)
    enrol(client.user)
    response = client.get("/customers/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get("/").status_code == 302


def test_renewing_recovery_codes_needs_the_password_and_replaces_the_old_ones(staff_client):
    user = staff_client("cashier", username="kellner").user
    secret, old_codes = enrol(user)
    client = password_step("kellner")
    client.post("/login/code/", {"code": code_from(secret, steps_ahead=1)})

    refused = client.post("/two-factor/recovery-codes/", {"password": "falsch"})
    assert refused.status_code == 422
    assert "The password is not right." in refused.content.decode()
    renewed = client.post("/two-factor/recovery-codes/", {"password": PASSWORD})
    new_codes = recovery_codes_on(renewed.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)

    old = password_step("kellner")
    assert old.post("/login/code/", {"code": old_codes[0]}).status_code == 403
    StaticDevice.objects.filter(user=user).update(throttling_failure_count=0)
    fresh = password_step("kellner")
    assert fresh.post("/login/code/", {"code": new_codes[0]}).status_code == 302


def test_turning_off_needs_the_password_and_a_code(staff_client):
    user = staff_client("cashier", username="kellner").user
    secret, codes = enrol(user)
    client = password_step("kellner")
    client.post("/login/code/", {"code": code_from(secret, steps_ahead=1)})

    refused = client.post("/two-factor/disable/", {"password": "falsch", "code": codes[0]})
    assert refused.status_code == 403 and "The password is not right." in refused.content.decode()
    refused = client.post("/two-factor/disable/", {"password": PASSWORD, "code": "abcd-efgh"})
    assert refused.status_code == 403 and "The code is not right." in refused.content.decode()
    assert "Two-factor login is on." in client.get("/two-factor/").content.decode()

    StaticDevice.objects.filter(user=user).update(throttling_failure_count=0)
    done = client.post("/two-factor/disable/", {"password": PASSWORD, "code": codes[1]})
    assert done.status_code == 302
    assert "Two-factor login is off." in client.get("/two-factor/").content.decode()
    # The next log-in needs the password only.
    plain = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = plain.post("/login/", {"username": "kellner", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_tenant_admin_makes_two_factor_mandatory_and_staff_must_set_it_up_first(
    tenant, staff_client
):
    admin = staff_client("tenant_admin", username="chefin")
    tenant_services.create_staff_user(
        tenant=tenant, username="kellner", password=PASSWORD, role="cashier"
    )
    page = admin.get("/settings/").content.decode()
    assert "Two-factor login mandatory for all staff" in page
    assert admin.post("/settings/", {"two_factor_required": "on"}).status_code == 302

    # The change is in the tenant's history: who, what from what to what.
    history = admin.get("/two-factor/", follow=True)
    assert history.redirect_chain == []  # the status page is open to a session that owes it
    # Everything else sends the admin to set up two-factor login first.
    for path in ("/", "/customers/", "/settings/", "/pricing/"):
        response = admin.get(path)
        assert response.status_code == 302 and response["Location"] == "/two-factor/", path

    # A cashier logging in with the password is sent straight to the set-up.
    cashier = Client(HTTP_ACCEPT_LANGUAGE="en")
    cashier.post("/login/", {"username": "kellner", "password": PASSWORD})
    landing = cashier.get("/", follow=True)
    assert landing.redirect_chain[-1][0] == "/two-factor/"
    assert "Your tenant requires two-factor login. Set it up to continue." in (
        landing.content.decode()
    )
    api = cashier.get("/api/v1/openapi.json")
    assert api.status_code == 403 and api.json()["code"] == "two_factor_required"

    secret = secret_on(cashier.post("/two-factor/setup/").content.decode())
    cashier.post("/two-factor/setup/", {"code": code_from(secret)})
    assert logged_in(cashier)
    # Mandatory: it cannot be turned off.
    page = cashier.get("/two-factor/").content.decode()
    assert "it cannot be turned off" in page
    refused = cashier.post("/two-factor/disable/", {"password": PASSWORD, "code": "123456"})
    assert refused.status_code == 403
    assert "Two-factor login is on." in cashier.get("/two-factor/").content.decode()

    # The admin sets it up too, then sees the history.
    secret = secret_on(admin.post("/two-factor/setup/").content.decode())
    admin.post("/two-factor/setup/", {"code": code_from(secret)})
    settings_page = admin.get("/settings/").content.decode()
    history = re.search(r'id="tenant-history">(.*?)</table>', settings_page, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", history, re.S)
    texts = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]
    changed = "tenant setting changed Two-factor login mandatory for all staff chefin"
    assert any(changed in t for t in texts), texts
    assert any("no → yes" in t for t in texts), texts
    assert any("two-factor login set up kellner kellner" in t for t in texts), texts


def test_only_a_tenant_admin_may_make_two_factor_mandatory(tenant, staff_client):
    manager_location = tenant_services.create_location(tenant=tenant, code="mitte", name="Mitte")
    manager = staff_client("location_manager", location=manager_location)
    assert manager.get("/settings/").status_code == 403
    assert manager.post("/settings/", {"two_factor_required": "on"}).status_code == 403
    tenant.refresh_from_db()
    assert tenant.two_factor_required is False
    assert 'href="/settings/"' not in manager.get("/").content.decode()
    assert 'href="/settings/"' in staff_client("tenant_admin").get("/").content.decode()


def test_the_second_step_expires(staff_client, settings):
    user = staff_client("cashier", username="kellner").user
    secret, _codes = enrol(user)
    settings.STAMMGAST_SECOND_STEP_SECONDS = 0
    client = password_step("kellner")
    time.sleep(0.01)
    response = client.post("/login/code/", {"code": code_from(secret, steps_ahead=1)})
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert not logged_in(client)


@pytest.mark.parametrize("language", ["de"])
def test_the_pages_speak_german(staff_client, language):
    client = staff_client("cashier")
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    page = client.get("/two-factor/").content.decode()
    assert "Zwei-Faktor-Anmeldung" in page


def test_the_admin_sites_log_in_is_no_way_around_the_code(db):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.de", PASSWORD)
    secret, _codes = enrol(root)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get("/admin/").status_code == 302  # logged out, not just sent away

    client = password_step("root")
    client.post("/login/code/", {"code": code_from(secret, steps_ahead=1)})
    index = client.get("/admin/")
    assert index.status_code == 200
    # The staff's TOTP secrets are not shown there either.
    assert "otp_totp" not in index.content.decode()
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404


def staff_rows(page: str) -> dict[str, str]:
    table = re.search(r'id="staff-logins">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(
        r'<tr data-user="([^"]+)">\s*<td>.*?</td><td>.*?</td><td>.*?</td>\s*<td>(\w+)</td>',
        table,
        re.S,
    )
    return dict(rows)


def test_a_tenant_admin_sees_who_has_two_factor_and_turns_off_a_lost_one(tenant, staff_client):
    admin = staff_client("tenant_admin", username="chefin")
    kellner = tenant_services.create_staff_user(
        tenant=tenant, username="kellner", password=PASSWORD, role="cashier"
    )
    enrol(kellner)
    assert staff_rows(admin.get("/settings/").content.decode()) == {
        "chefin": "off",
        "kellner": "on",
    }

    refused = admin.post(
        "/settings/reset-two-factor/", {"username": "kellner", "password": "falsch"}
    )
    assert refused.status_code == 403
    assert "The password is not right." in refused.content.decode()
    assert staff_rows(refused.content.decode())["kellner"] == "on"

    done = admin.post("/settings/reset-two-factor/", {"username": "kellner", "password": PASSWORD})
    assert done.status_code == 302
    page = admin.get("/settings/").content.decode()
    assert staff_rows(page)["kellner"] == "off"
    assert "two-factor login turned off" in page
    # The next log-in needs the password only.
    plain = Client().post("/login/", {"username": "kellner", "password": PASSWORD})
    assert plain["Location"] == "/"

    # Not for a user of another tenant.
    other = tenant_services.create_tenant(slug="konkurrenz", name="Konkurrenz GmbH")
    stranger = tenant_services.create_staff_user(
        tenant=other, username="fremd", password=PASSWORD, role="cashier"
    )
    enrol(stranger)
    foreign = admin.post("/settings/reset-two-factor/", {"username": "fremd", "password": PASSWORD})
    assert foreign.status_code == 404
    assert two_factor.has_second_factor(stranger)
    # And a cashier cannot do it at all.
    cashier = staff_client("cashier", username="kasse")
    forged = cashier.post(
        "/settings/reset-two-factor/", {"username": "chefin", "password": PASSWORD}
    )
    assert forged.status_code == 403
