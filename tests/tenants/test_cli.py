"""The command line: tenant, location, user and API key; bad input exits 2 and creates nothing."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from stammgast.core.tenancy import tenant_scope
from stammgast.tenants.models import ApiClient, Location, Membership, Tenant
from tests.conftest import ApiClientFor

PASSWORD = "Kaffee-und-Kuchen-42"


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def refused(*args) -> CommandError:
    with pytest.raises(CommandError) as err:
        run(*args)
    assert err.value.returncode == 2, err.value
    assert str(err.value).strip()
    return err.value


@pytest.fixture
def group(db):
    run("tenant", "create", "adler", "--name", "Gasthaus Adler")
    return Tenant.objects.get(slug="adler")


def test_tenant_create(db):
    out = run("tenant", "create", "adler", "--name", "Gasthaus Adler")
    assert "adler" in out
    assert Tenant.objects.get(slug="adler").name == "Gasthaus Adler"
    assert "adler" in run("tenant", "list")


@pytest.mark.parametrize(
    "slug", ["Adler", "ad ler", "-adler", "adler!", "a" * 51, "ädler", "adler\n", ""]
)
def test_tenant_with_a_bad_slug_is_refused(db, slug):
    refused("tenant", "create", slug, "--name", "X")
    assert not Tenant.objects.exists()


def test_tenant_with_a_taken_slug_or_no_name_is_refused(group):
    refused("tenant", "create", "adler", "--name", "Zweiter")
    refused("tenant", "create", "krone", "--name", "   ")
    assert list(Tenant.objects.values_list("name", flat=True)) == ["Gasthaus Adler"]


def test_location_create_with_and_without_range(group):
    out = run("location", "create", "adler", "mitte", "--name", "Mitte", "--numbers", "1000-1999")
    assert "1000-1999" in out
    run("location", "create", "adler", "hafen", "--name", "Hafen")
    with tenant_scope(group):
        mitte = Location.objects.get(code="mitte")
        assert (mitte.number_from, mitte.number_to) == (1000, 1999)
        assert not Location.objects.get(code="hafen").has_number_range
    assert "mitte" in run("location", "list", "adler")


@pytest.mark.parametrize(
    "args",
    [
        ("neu", "--name", "Neu", "--numbers", "1500-2500"),  # overlaps mitte
        ("neu", "--name", "Neu", "--numbers", "2000-1000"),
        ("neu", "--name", "Neu", "--numbers", "zwei-drei"),
        ("neu", "--name", "Neu", "--numbers", "0-10"),
        ("Neu Standort", "--name", "Neu"),
        ("n" * 31, "--name", "Neu"),
        ("neu\n", "--name", "Neu"),
        ("mitte", "--name", "Nochmal"),
    ],
)
def test_bad_location_is_refused(group, args):
    run("location", "create", "adler", "mitte", "--name", "Mitte", "--numbers", "1000-1999")
    refused("location", "create", "adler", *args)
    with tenant_scope(group):
        assert list(Location.objects.values_list("code", flat=True)) == ["mitte"]


def test_location_of_an_unknown_tenant_is_refused(db):
    refused("location", "create", "niemand", "mitte", "--name", "Mitte")
    assert not Location.all_tenants.exists()


def test_user_create(group):
    run("location", "create", "adler", "mitte", "--name", "Mitte")
    out = run(
        "user",
        "create",
        "adler",
        "petra",
        "--role",
        "cashier",
        "--location",
        "mitte",
        "--password",
        PASSWORD,
    )
    assert "petra" in out
    user = get_user_model().objects.get(username="petra")
    assert user.check_password(PASSWORD)
    assert user.password.startswith("argon2")
    with tenant_scope(group):
        membership = Membership.objects.get(user=user)
        assert (membership.role, membership.location.code) == ("cashier", "mitte")


def test_user_password_from_the_environment(group, monkeypatch):
    monkeypatch.setenv("STAMMGAST_PASSWORD", PASSWORD)
    run("user", "create", "adler", "chef", "--role", "tenant_admin")
    assert get_user_model().objects.get(username="chef").check_password(PASSWORD)


@pytest.mark.parametrize(
    "args",
    [
        ("petra", "--role", "king", "--password", PASSWORD),
        ("petra", "--role", "cashier", "--password", "123"),
        ("petra", "--role", "cashier", "--password", "password"),
        ("petra", "--role", "cashier", "--password", "12345678901"),
        ("petra", "--role", "cashier", "--location", "nirgendwo", "--password", PASSWORD),
        ("petra", "--role", "location_manager", "--password", PASSWORD),
        ("petra", "--role", "tenant_admin", "--location", "mitte", "--password", PASSWORD),
        ("pe tra!", "--role", "cashier", "--password", PASSWORD),
        ("p" * 151, "--role", "cashier", "--password", PASSWORD),
        ("petra", "--role", "cashier", "--password", "petra1234"),
        ("petra", "--role", "cashier", "--password", PASSWORD, "--email", "petra@"),
    ],
)
def test_bad_user_is_refused(group, args):
    run("location", "create", "adler", "mitte", "--name", "Mitte")
    err = refused("user", "create", "adler", *args)
    if args[0] != "petra":
        assert "username" in str(err)
    assert not get_user_model().objects.exists()
    assert not Membership.all_tenants.exists()


def test_taken_username_is_refused(group):
    run("user", "create", "adler", "petra", "--role", "read_only", "--password", PASSWORD)
    refused("user", "create", "adler", "petra", "--role", "cashier", "--password", PASSWORD)
    assert Membership.all_tenants.count() == 1


def test_apikey_prints_the_key_last_and_it_works(group):
    run("location", "create", "adler", "mitte", "--name", "Mitte", "--numbers", "1000-1999")
    out = run(
        "apikey",
        "create",
        "adler",
        "--name",
        "Kasse 1",
        "--scopes",
        "pos,thirdparty",
        "--location",
        "mitte",
    )
    key = out.strip().splitlines()[-1]
    assert key.startswith("sg_")
    api = ApiClientFor(key)
    created = api.post(
        "/api/v1/customers",
        {"last_name": "Müller", "third_party_memo": "x"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["number"] == 1000
    assert api.get("/api/v1/customers/1000").json()["last_name"] == "Müller"
    # Only the hash is kept.
    client = ApiClient.all_tenants.get()
    assert key not in (client.key_hash, client.key_prefix)
    assert client.key_prefix in run("apikey", "list", "adler")


def test_revoked_key_stops_working_at_once(group, django_capture_on_commit_callbacks):
    key = run("apikey", "create", "adler", "--name", "Kasse", "--scopes", "pos").split()[-1]
    api = ApiClientFor(key)
    assert api.get("/api/v1/customers").status_code == 200
    prefix = ApiClient.all_tenants.get().key_prefix
    with django_capture_on_commit_callbacks(execute=True):
        run("apikey", "revoke", "adler", prefix)
    assert api.get("/api/v1/customers").status_code == 401


@pytest.mark.parametrize(
    "args",
    [
        ("--name", "Kasse", "--scopes", "pos,admin"),
        ("--name", "Kasse", "--scopes", ","),
        ("--name", "", "--scopes", "pos"),
        ("--name", "Kasse", "--scopes", "pos", "--location", "nirgendwo"),
    ],
)
def test_bad_apikey_is_refused(group, args):
    refused("apikey", "create", "adler", *args)
    assert not ApiClient.all_tenants.exists()


def test_detach_location_on_the_command_line(group):
    run("location", "create", "adler", "mitte", "--name", "Mitte")
    out = run(
        "tenant",
        "detach-location",
        "adler",
        "mitte",
        "--new-slug",
        "mitte-gmbh",
        "--new-name",
        "Mitte GmbH",
    )
    assert "mitte-gmbh" in out
    new = Tenant.objects.get(slug="mitte-gmbh")
    with tenant_scope(new):
        assert list(Location.objects.values_list("code", flat=True)) == ["mitte"]
    refused("tenant", "detach-location", "adler", "mitte", "--new-slug", "x", "--new-name", "X")


def test_user_without_a_password_and_no_terminal_is_refused(group, monkeypatch):
    monkeypatch.delenv("STAMMGAST_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    refused("user", "create", "adler", "petra", "--role", "cashier")
    assert not get_user_model().objects.exists()


def test_an_operator_resets_a_lost_two_factor_log_in(group):
    from django.test import Client

    from stammgast.tenants.models import TenantEvent
    from tests.portal.test_two_factor import enrol

    run("user", "create", "adler", "kellner", "--role", "cashier", "--password", PASSWORD)
    user = get_user_model().objects.get(username="kellner")
    enrol(user)
    browser = Client()
    first = browser.post("/login/", {"username": "kellner", "password": PASSWORD})
    assert first["Location"] == "/login/code/"

    out = run("user", "reset-two-factor", "adler", "kellner")
    assert "kellner" in out
    first = Client().post("/login/", {"username": "kellner", "password": PASSWORD})
    assert first["Location"] == "/"
    with tenant_scope(group):
        (event,) = TenantEvent.objects.all()
    assert (event.action, event.subject, event.actor_label) == (
        "two_factor_disabled",
        "kellner",
        "system",
    )
    assert "niemand" in str(refused("user", "reset-two-factor", "adler", "niemand"))
