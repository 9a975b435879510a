"""One write path: the same customer through the API, the portal's form and the import is
stored the same, with the same history; the same bad value is refused by all three with
the same code, naming the same field."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stammgast.customers.models import Customer, CustomerEvent, CustomerGroup
from stammgast.exchange import services as exchange_services
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor
from tests.customers.helpers import post_json

# What all three can carry: the portal's new-customer form and the import's columns.
FIELDS = (
    "title", "first_name", "last_name", "alias", "gender", "date_of_birth", "street",
    "postcode", "city", "care_of", "po_box", "country", "phone_private", "phone_business",
    "mobile", "fax", "email", "homepage", "newsletter",
)  # fmt: skip
# Columns that legitimately differ between two customers made of the same data.
OWN = {"id", "number", "created_at", "updated_at", "search_text", "created_location_id"}
_runs = itertools.count()

names = st.sampled_from(["Müller", "Schmidt", "Weiß", "Öztürk", "Dąbrowski", "Zoë", "O'Brien"])
valid = st.fixed_dictionaries(
    {"last_name": names},
    optional={
        "title": st.sampled_from(["Dr.", "Prof."]),
        "first_name": st.sampled_from(["Anna", "Jürgen", "Käthe", "Björn"]),
        "alias": st.sampled_from(["Stammgast", "Chef"]),
        "gender": st.sampled_from(["female", "male", "diverse"]),
        "date_of_birth": st.dates(dt.date(1900, 1, 1), dt.date(2005, 12, 31)).map(str),
        "street": st.sampled_from(["Hauptstraße 1", "Am Ring 12a", "  Weg 3  "]),
        "postcode": st.sampled_from(["01067", "50667", "80331"]),
        "city": st.sampled_from(["Köln", "Dresden", "München"]),
        "care_of": st.sampled_from(["Familie Weiß"]),
        "po_box": st.sampled_from(["12 34 56"]),
        "phone_private": st.sampled_from(["0351 1234567", "+49 30 1234567", "030/12345-67"]),
        "phone_business": st.sampled_from(["0221 9876543", "+49 89 123456"]),
        "mobile": st.sampled_from(["0151 23456789", "+49 171 2345678"]),
        "fax": st.sampled_from(["0221 9876544"]),
        "email": st.sampled_from(["Anna@Example.de", "jurgen@posteo.de"]),
        "homepage": st.sampled_from(["example.de", "https://baeckerei.example"]),
        "newsletter": st.booleans(),
    },
)
# One bad value each, and the field it must be refused for.
invalid = st.sampled_from(
    [
        ({"postcode": "123456"}, "postcode"),
        ({"email": "nicht-gültig"}, "email"),
        ({"phone_private": "12"}, "phone_private"),
        ({"mobile": "+49 0000"}, "mobile"),
        ({"date_of_birth": "2099-01-01"}, "date_of_birth"),
        ({"homepage": "http://"}, "homepage"),
        ({"country": "Atlantis"}, "country"),
        ({"first_name": "x" * 101}, "first_name"),
        ({"last_name": "y" * 101}, "last_name"),
    ]
)


@pytest.fixture
def paths(tenant, admin_actor, tmp_path, settings):
    """The three ways in: (name, create(data) -> (customer number | None, code, fields))."""
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    CustomerGroup.objects.create(name="Stammgäste", is_default=True)
    user = tenant_services.create_staff_user(
        tenant=tenant, username="chefin", password="Kellner-Passwort-42", role="tenant_admin"
    )
    staff = Actor.for_staff(tenant=tenant, user=user, role="tenant_admin", location=None)
    portal = Client(HTTP_ACCEPT_LANGUAGE="en")
    portal.force_login(user)
    _c, key = tenant_services.create_api_key(tenant=tenant, name="Kasse", scopes=["pos"])
    from tests.conftest import ApiClientFor

    api = ApiClientFor(key)

    def through_api(data):
        body = {k: v for k, v in data.items()}
        response = post_json(api, "/api/v1/customers", body)
        if response.status_code == 201:
            return response.json()["number"], None, set()
        found = response.json()
        return None, found["code"], set(found.get("fields", {}))

    def through_portal(data):
        form = {"kind": "private", "idempotency_key": f"p{next(_runs)}"}
        for name, value in data.items():
            if name == "newsletter":
                if value:
                    form[name] = "on"
            else:
                form[name] = value
        response = portal.post("/customers/new/", form)
        if response.status_code == 302:
            return int(response["Location"].rstrip("/").rsplit("/", 1)[1]), None, set()
        html = response.content.decode()
        code = re.search(r'id="form-errors" data-code="([^"]*)"', html)[1]
        return None, code, set(re.findall(r'id="id_(\w+)_error"', html))

    def through_import(data):
        columns = list(data)
        cells = []
        for name in columns:
            value = data[name]
            if name == "newsletter":
                value = "Ja" if value else "Nein"
            cells.append(str(value).replace(";", ","))
        path = tmp_path / f"import-{next(_runs)}.csv"
        path.write_text(";".join(columns or ["last_name"]) + "\n" + ";".join(cells) + "\n")
        before = set(Customer.objects.values_list("number", flat=True))
        result = exchange_services.import_customers(actor=staff, path=path)
        if result.applied:
            (number,) = set(Customer.objects.values_list("number", flat=True)) - before
            return number, None, set()
        codes = {p.code for p in result.errors}
        assert len(codes) == 1, result.as_dict()
        return None, codes.pop(), {p.column for p in result.errors}

    return staff, [("api", through_api), ("portal", through_portal), ("import", through_import)]


def _stored(number: int) -> dict:
    customer = Customer.objects.get(number=number)
    row = {
        f.attname: getattr(customer, f.attname)
        for f in Customer._meta.concrete_fields
        if f.attname not in OWN
    }
    row["search_text"] = customer.search_text.replace(str(number), "#", 1)
    row["groups"] = sorted(customer.groups.values_list("name", flat=True))
    return row


def _history(number: int) -> list[tuple]:
    events = CustomerEvent.objects.filter(customer__number=number).order_by("id")
    return [(e.action, {k: v for k, v in e.changes.items() if k != "number"}) for e in events]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=valid)
def test_the_same_customer_through_api_portal_and_import_is_stored_the_same(paths, data):
    _staff, ways = paths
    made = {name: create(data) for name, create in ways}
    for name, (number, code, fields) in made.items():
        assert number is not None, (name, code, fields, data)
    rows = {name: _stored(number) for name, (number, _c, _f) in made.items()}
    assert rows["api"] == rows["portal"] == rows["import"], data
    history = {name: _history(number) for name, (number, _c, _f) in made.items()}
    assert history["api"] == history["portal"] == history["import"], data


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=valid, bad=invalid)
def test_the_same_bad_value_is_refused_the_same_way_everywhere(paths, data, bad):
    _staff, ways = paths
    change, field = bad
    before = Customer.objects.count()
    refused = {name: create({**data, **change}) for name, create in ways}
    for name, (number, code, fields) in refused.items():
        assert number is None, (name, change)
        assert code == "invalid", (name, code, change)
        assert field in fields, (name, fields, change)
    assert Customer.objects.count() == before
