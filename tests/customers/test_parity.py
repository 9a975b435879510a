"""Parity of the three ways a customer comes in: `POST /api/v1/customers`, the portal's
new-customer form and the import of a file. The same data, each in the spelling its way
carries it (JSON, a form, a CSV cell with German or English headings and labels), is
stored as the same row with the same history; the same bad value is refused by all three
with the same code, naming the same field, and nothing is stored.

Each example gets a tenant of its own (the test's transaction is rolled back at the end),
with tenant defaults and a default group drawn by hypothesis.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import string
from dataclasses import dataclass
from typing import Any

import phonenumbers
import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stammgast.core.tenancy import tenant_scope
from stammgast.customers.models import Customer, CustomerEvent, CustomerGroup
from stammgast.exchange import services as exchange_services
from stammgast.exchange.columns import (
    GENDER_LABELS,
    IMPORT_COLUMNS,
    KIND_LABELS,
    PAYMENT_LABELS,
    YES_NO,
    field_for_header,
    neutralise,
)
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import PaymentMethod, Role, Tenant
from tests.conftest import ApiClientFor
from tests.customers.helpers import post_json

pytestmark = pytest.mark.django_db

PASSWORD = "Kellner-Passwort-42"
_runs = itertools.count(1)

# What all three ways can carry: the portal's NewCustomerForm (kind comes with the form;
# company_name and vat_id only on the business form) and the import's columns.
TEXT_FIELDS = (
    "title", "first_name", "last_name", "company_name", "vat_id", "alias", "street",
    "postcode", "city", "care_of", "po_box", "country", "phone_private", "phone_business",
    "mobile", "fax", "email", "homepage",
)  # fmt: skip
SHARED_FIELDS = ("kind", *TEXT_FIELDS, "gender", "date_of_birth", "newsletter")
# Columns two customers made of the same data have of their own.
OWN_COLUMNS = {"id", "number", "created_at", "updated_at", "search_text"}


def test_the_shared_fields_are_what_the_form_and_the_import_carry():
    """The list above is the intersection, not a guess: if the form or the import learns
    a field, this test says so and the field should join the parity test."""
    from stammgast.customers.forms import NewCustomerForm

    form_fields = {*NewCustomerForm.base_fields, "kind"}
    assert set(SHARED_FIELDS) == form_fields & set(IMPORT_COLUMNS)


# --- values ----------------------------------------------------------------------------

# Printable text of any script, with the characters a CSV file, a formula guard or a form
# might trip over (; , " ' = + - @), spaces of every kind and invisible characters the
# rules remove.
_char = st.one_of(
    st.characters(categories=("L", "M", "N", "P", "S", "Zs")),
    st.sampled_from(list(";,\"'=+-@ ") + ["\u200b", "\u00ad", "\ufeff", "\u00a0"]),
)
_text = st.text(_char, max_size=25)
_letter = st.characters(categories=("Lu", "Ll", "Lo"))


@st.composite
def _name(draw) -> str:
    """A text whose cleaned form is not empty (it holds a letter)."""
    return draw(_text) + draw(_letter) + draw(_text)


def _phone(region: str, national: str) -> phonenumbers.PhoneNumber:
    number = phonenumbers.parse(national, region)
    assert phonenumbers.is_valid_number(number), (region, national)
    return number


PHONES = {
    "DE": [_phone("DE", n) for n in ("030 12345678", "0351 1234567", "0221 9876543",
                                     "089 123456", "01512 3456789", "0171 2345678")],
    "AT": [_phone("AT", n) for n in ("01 234567890", "0664 123456", "0316 123456")],
    "CH": [_phone("CH", n) for n in ("021 234 56 78", "078 123 45 67", "044 668 18 00")],
}  # fmt: skip
F = phonenumbers.PhoneNumberFormat


def _spellings(number: phonenumbers.PhoneNumber, region: str) -> list[str]:
    """Ways people write `number` for a customer in `region` (national only at home)."""
    intl = phonenumbers.format_number(number, F.INTERNATIONAL)
    e164 = phonenumbers.format_number(number, F.E164)
    out = [intl, e164, "00" + e164[1:], intl.replace(" ", "-"), f" {intl} "]
    out.append(phonenumbers.format_number(number, F.RFC3966))
    if phonenumbers.region_code_for_number(number) == region:
        national = phonenumbers.format_number(number, F.NATIONAL)
        area, _sep, rest = national.partition(" ")
        out += [national, national.replace(" ", ""), f"{area}/{rest}", f"({area}) {rest}"]
        out.append(f"{area}-{rest.replace(' ', '')}")
    # Only spellings phonenumbers itself reads as this number (the test is about the
    # three ways agreeing, not about phonenumbers).
    return [
        s
        for s in out
        if phonenumbers.is_valid_number(p := phonenumbers.parse(s, region))
        and p.national_number == number.national_number
        and p.country_code == number.country_code
    ]


_COUNTRY_SPELLINGS = {
    "DE": ["DE", "de", " DE ", "DEU", "Germany", "germany", "Deutschland"],
    "AT": ["AT", "at", "AUT", "Austria", "Österreich"],
    "CH": ["CH", "CHE", "Switzerland", "Schweiz"],
}
_POSTCODE_DIGITS = {"DE": 5, "AT": 4, "CH": 4}


@st.composite
def _phone_for(draw, region: str) -> str:
    home = draw(st.sampled_from(sorted(PHONES)))
    number = draw(st.sampled_from(PHONES[home]))
    return draw(st.sampled_from(_spellings(number, region)))


_email = st.builds(
    lambda local, domain, tld, pad: f"{pad}{local}@{domain}.{tld}{pad}",
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_+-]{0,10}(\.[A-Za-z0-9_+-]{1,6})?", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True),
    st.sampled_from(["de", "com", "at", "CH", "example", "gmbh"]),
    st.sampled_from(["", " "]),
)
_homepage = st.builds(
    lambda scheme, host, tld, path: f"{scheme}{host}.{tld}{path}",
    st.sampled_from(["", "http://", "https://", "HTTPS://"]),
    st.from_regex(r"(www\.)?[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["de", "com", "at"]),
    st.sampled_from(["", "/", "/speisekarte", "/?tisch=4"]),
)
# Today, minus the two days validation.py allows for time zones.
_LATEST_BIRTH = dt.date.today() - dt.timedelta(days=3)
_VAT_IDS = ["DE136695976", "de 136 695 976", "ATU13585627", "CHE-116.281.710 MWST"]


@st.composite
def valid_customers(draw) -> dict[str, Any]:
    """A customer every way must accept: field -> value as a client means it (text,
    a bool, a date, a gender code)."""
    kind = draw(st.sampled_from(["private", "business"]))
    data: dict[str, Any] = {"kind": kind}
    country = draw(st.sampled_from([None, "DE", "AT", "CH"]))
    region = country or "DE"
    optional = {
        "title": _text,
        "first_name": _name(),
        "alias": _text,
        "street": _text,
        "city": _text,
        "care_of": _text,
        "po_box": _text,
        "phone_private": _phone_for(region),
        "phone_business": _phone_for(region),
        "mobile": _phone_for(region),
        "fax": _phone_for(region),
        "email": _email,
        "homepage": _homepage,
        "gender": st.sampled_from(["female", "male", "diverse"]),
        "date_of_birth": st.dates(dt.date(1900, 1, 1), _LATEST_BIRTH),
        "newsletter": st.booleans(),
        "postcode": st.text(string.digits, min_size=_POSTCODE_DIGITS[region],
                            max_size=_POSTCODE_DIGITS[region]),
    }  # fmt: skip
    if kind == "business":
        data["company_name"] = draw(_name())
        optional["vat_id"] = st.sampled_from(_VAT_IDS)
        optional["last_name"] = _name()
    else:
        # A private customer needs a name or a first name; usually both.
        data["last_name"] = draw(_name())
    for field, values in optional.items():
        if draw(st.booleans()):
            data[field] = draw(values)
    if kind == "private" and draw(st.booleans()) and "first_name" in data:
        del data["last_name"]
    if country is not None:
        data["country"] = draw(st.sampled_from(_COUNTRY_SPELLINGS[country]))
    return data


@dataclass(frozen=True)
class BadDate:
    """A date no calendar has (30 February), spelled by each way as it spells dates."""

    year: int
    month: int
    day: int


_too_long = {
    "title": 50, "first_name": 100, "last_name": 100, "alias": 100, "street": 200,
    "city": 100, "care_of": 100, "po_box": 50, "company_name": 200,
}  # fmt: skip
# Kinds of bad value, each with the field it is for: each makes the customer invalid
# whatever else is valid.
BAD_VALUES: dict[str, tuple[str, st.SearchStrategy]] = {
    **{
        f"{field} too long": (
            field,
            st.builds(lambda n, c: c * n, st.integers(limit + 1, limit + 30), _letter),
        )
        for field, limit in _too_long.items()
    },
    "control character": (
        "first_name",
        st.builds(
            lambda a, c, b: a + c + b, _name(), st.sampled_from(["\x07", "\n", "\x1b"]), _name()
        ),
    ),
    # Not "1234": a file's all-digit postcode shorter than its country's is one a
    # spreadsheet took for a number, and the import gives it its zeros back (exchange.md).
    "postcode": ("postcode", st.sampled_from(["1234567", "123456", "ABCDE", "0106 7", "D-01067"])),
    "email": ("email", st.sampled_from(["nicht-gültig", "a@b", "anna@@example.de", "a b@x.de"])),
    "homepage": ("homepage", st.sampled_from(["http://", "ftp://x.de", "https://exa mple.de"])),
    "phone": ("phone_private", st.sampled_from(["12", "abc", "+49 0000", "+999 123456"])),
    "business phone": ("phone_business", st.sampled_from(["0000", "+49 1"])),
    "mobile": ("mobile", st.sampled_from(["+49 0000", "0151"])),
    "fax": ("fax", st.sampled_from(["12", "Fax"])),
    # Not "Deutschland": the import reads a country's German name (exchange.md).
    "country": ("country", st.sampled_from(["Atlantis", "XX", "Germania", "D"])),
    "gender": ("gender", st.sampled_from(["x", "unbekannt", "1"])),
    "vat id": ("vat_id", st.sampled_from(["123456789", "D", "DE-123"])),
    "date of birth": (
        "date_of_birth",
        st.one_of(
            st.dates(dt.date(2090, 1, 1), dt.date(2199, 12, 31)),
            st.dates(dt.date(1000, 1, 1), dt.date(1899, 12, 31)),
            st.sampled_from([BadDate(1980, 2, 30), BadDate(2001, 2, 29), BadDate(1990, 4, 31)]),
        ),
    ),
    "no name": ("last_name", st.sampled_from(["", "   ", "\u200b"])),
    "no company": ("company_name", st.sampled_from(["", "  "])),
}


def with_bad_value(data: dict, bad: tuple[str, Any]) -> tuple[dict, str]:
    """`data` made invalid by `bad`; the field every way must name."""
    field, value = bad
    data = dict(data)
    if field in ("company_name", "vat_id"):
        data["kind"] = "business"
        data.setdefault("company_name", "Bäckerei Kühn")
    if field == "last_name":
        data["kind"] = "private"
        data.pop("first_name", None)
    if field == "postcode":
        data.pop("country", None)  # checked against Germany, the tenant's country
    data[field] = value
    return data, field


# --- the three ways --------------------------------------------------------------------


@dataclass
class Outcome:
    number: int | None
    code: str | None = None
    fields: frozenset[str] = frozenset()
    status: int | None = None


def _iso(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, BadDate):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return value


@dataclass
class Ways:
    """A tenant, its staff user and API client, and the three ways in."""

    tenant: Tenant
    staff: Actor
    user: Any
    api_client_id: int
    api_label: str
    api: Client
    portal: Client
    tmp_path: Any
    spelling: dict  # how this example writes JSON, forms and files

    def numbers(self) -> set[int]:
        with tenant_scope(self.tenant):
            return set(Customer.objects.values_list("number", flat=True))

    def through_api(self, data: dict) -> Outcome:
        body = {f: _iso(v) for f, v in data.items()}
        if body.get("kind") == "private" and self.spelling["api_omits_kind"]:
            del body["kind"]
        for field in TEXT_FIELDS:
            if field not in body and field in self.spelling["api_blank"]:
                body[field] = self.spelling["api_blank"][field]
        response = post_json(self.api, "/api/v1/customers", body)
        if response.status_code == 201:
            return Outcome(response.json()["number"], status=201)
        found = response.json()
        return Outcome(
            None, found["code"], frozenset(found.get("fields", {})), response.status_code
        )

    def through_portal(self, data: dict) -> Outcome:
        form = {"kind": data.get("kind", "private"), "idempotency_key": f"k{next(_runs)}"}
        for field, value in data.items():
            if field == "newsletter":
                if value:
                    form[field] = "on"
            elif field != "kind":
                form[field] = _iso(value)
        if "newsletter" not in data and self.tenant.default_newsletter:
            form["newsletter"] = "on"  # the box starts ticked and is left alone
        for field in self.spelling["portal_blank"]:
            form.setdefault(field, "")
        if form["kind"] == "private":
            form.pop("company_name", None)
            form.pop("vat_id", None)
        response = self.portal.post("/customers/new/", form)
        if response.status_code == 302:
            number = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
            return Outcome(number, status=302)
        html = response.content.decode()
        code = re.search(r'id="form-errors" data-code="([^"]*)"', html)[1]
        errors = response.context["form"].errors
        return Outcome(None, code, frozenset(errors), response.status_code)

    def import_cell(self, field: str, value: Any) -> str:
        lang = self.spelling["lang"]
        if field == "date_of_birth":
            if isinstance(value, dt.date):
                value = BadDate(value.year, value.month, value.day)
            if isinstance(value, BadDate):
                y, m, d = value.year, value.month, value.day
                if self.spelling["date_style"] == "iso":
                    return f"{y:04d}-{m:02d}-{d:02d}"
                if self.spelling["date_style"] == "short":
                    return f"{d}.{m}.{y}"
                return f"{d:02d}.{m:02d}.{y:04d}"
        if field == "gender" and value in GENDER_LABELS["en"]:
            return {
                "label": GENDER_LABELS[lang][value],
                "code": value,
                "letter": GENDER_LABELS["de"][value][0].upper(),
            }[self.spelling["gender_style"]]
        if field == "newsletter":
            yes, no = YES_NO[lang] if self.spelling["bool_style"] == "label" else ("x", "0")
            return yes if value else no
        if field == "kind":
            return KIND_LABELS[lang][value] if self.spelling["kind_label"] else value
        if field in ("payment_method",) and value in PAYMENT_LABELS["en"]:
            return PAYMENT_LABELS[lang][value]
        if isinstance(value, bool):
            return YES_NO[lang][0 if value else 1]
        # Text as the export writes it: a formula-like start is escaped.
        return neutralise(str(value))

    def through_import(self, data: dict) -> Outcome:
        lang = self.spelling["lang"]
        fields = [f for f in data if not (f == "kind" and self.spelling["file_omits_kind"])]
        if data.get("kind") == "business" and "kind" not in fields:
            fields.append("kind")
        # Empty text columns: "not given" for a new customer.
        fields += [f for f in self.spelling["file_blank"] if f not in data]
        if self.spelling["shuffle"]:
            fields.reverse()

        def header(field: str) -> str:
            if self.spelling["headers"] == "field":
                return field
            return IMPORT_COLUMNS[field].header(lang)

        # A file of one column shows no separator in its heading: it is read with ";".
        separator = self.spelling["separator"] if len(fields) > 1 else ";"
        buffer = io.StringIO()
        writer = csv.writer(
            buffer,
            delimiter=separator,
            quoting=csv.QUOTE_ALL if self.spelling["quote_all"] else csv.QUOTE_MINIMAL,
        )
        writer.writerow([header(f) for f in fields])
        writer.writerow([self.import_cell(f, data[f]) if f in data else "" for f in fields])
        path = self.tmp_path / f"kunden-{next(_runs)}.csv"
        path.write_text(buffer.getvalue(), encoding=self.spelling["encoding"], newline="")
        before = self.numbers()
        with tenant_scope(self.tenant):
            result = exchange_services.import_customers(actor=self.staff, path=path, language=lang)
        if result.applied:
            assert (result.created, result.errors_total) == (1, 0), result.as_dict()
            (number,) = self.numbers() - before
            return Outcome(number)
        assert result.failed_rows == 1 and result.errors_total >= 1, result.as_dict()
        codes = {p.code for p in result.errors}
        assert len(codes) == 1, result.as_dict()
        assert {p.row for p in result.errors} == {2}, result.as_dict()
        named = {field_for_header(p.column) for p in result.errors}
        return Outcome(None, codes.pop(), frozenset(named))

    def all(self, data: dict) -> dict[str, Outcome]:
        return {
            "api": self.through_api(data),
            "portal": self.through_portal(data),
            "import": self.through_import(data),
        }


_spelling = st.fixed_dictionaries(
    {
        "lang": st.sampled_from(["de", "en"]),
        "headers": st.sampled_from(["label", "label", "field"]),
        "date_style": st.sampled_from(["iso", "german", "short"]),
        "gender_style": st.sampled_from(["label", "code", "letter"]),
        "bool_style": st.sampled_from(["label", "mark"]),
        "kind_label": st.booleans(),
        "separator": st.sampled_from([";", ","]),
        "quote_all": st.booleans(),
        "encoding": st.sampled_from(["utf-8", "utf-8-sig"]),
        "shuffle": st.booleans(),
        "api_omits_kind": st.booleans(),
        "file_omits_kind": st.booleans(),
        # A field not given, said the other ways each client may say it.
        "api_blank": st.dictionaries(
            st.sampled_from(TEXT_FIELDS), st.sampled_from(["", None]), max_size=4
        ),
        "portal_blank": st.lists(st.sampled_from(TEXT_FIELDS), max_size=6, unique=True),
        "file_blank": st.lists(st.sampled_from(TEXT_FIELDS), max_size=4, unique=True),
    }
)
_tenant_defaults = st.fixed_dictionaries(
    {
        "default_newsletter": st.booleans(),
        "default_price_level": st.integers(1, 9),
        "default_payment_method": st.sampled_from(PaymentMethod.values),
        "default_payment_term_days": st.sampled_from([0, 14, 30]),
        "default_group": st.sampled_from([None, "Stammgäste", "Laufkundschaft"]),
    }
)


@pytest.fixture
def make_ways(settings, tmp_path):
    """A fresh tenant per hypothesis example (the test's transaction holds them all)."""
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    # Hashing a password with Argon2 for every example only costs time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    def make(defaults: dict, spelling: dict) -> Ways:
        run = next(_runs)
        tenant = tenant_services.create_tenant(slug=f"paritaet-{run}", name=f"Parität {run}")
        group = defaults.get("default_group")
        Tenant.objects.filter(pk=tenant.pk).update(
            **{k: v for k, v in defaults.items() if k != "default_group"}
        )
        tenant.refresh_from_db()
        with tenant_scope(tenant):
            CustomerGroup.objects.create(name="Andere")  # a group that is not the default
            if group:
                CustomerGroup.objects.create(name=group, is_default=True)
        user = tenant_services.create_staff_user(
            tenant=tenant, username=f"chefin-{run}", password=PASSWORD, role=Role.TENANT_ADMIN
        )
        staff = Actor.for_staff(tenant=tenant, user=user, role=Role.TENANT_ADMIN, location=None)
        client, key = tenant_services.create_api_key(tenant=tenant, name="Kasse", scopes=["pos"])
        portal = Client(HTTP_ACCEPT_LANGUAGE="en")
        portal.force_login(user)
        return Ways(
            tenant=tenant,
            staff=staff,
            user=user,
            api_client_id=client.pk,
            api_label="API: Kasse",
            api=ApiClientFor(key),
            portal=portal,
            tmp_path=tmp_path,
            spelling=spelling,
        )

    return make


# --- what is stored --------------------------------------------------------------------


def stored(ways: Ways, number: int) -> dict:
    """Every column of the customer but its own (number, id, times), and its links."""
    with tenant_scope(ways.tenant):
        customer = Customer.objects.get(number=number)
        row = {
            f.attname: getattr(customer, f.attname)
            for f in Customer._meta.concrete_fields
            if f.attname not in OWN_COLUMNS
        }
        # The search text starts with the number; the rest derives from the data.
        head, _sep, rest = customer.search_text.partition(" ")
        assert head == str(number), customer.search_text
        row["search_text"] = rest
        row["updated_is_created"] = customer.updated_at == customer.created_at
        for name in ("groups", "tags", "allowed_locations"):
            row[name] = sorted(getattr(customer, name).values_list("pk", flat=True))
    return row


def history(ways: Ways, number: int) -> tuple[list[tuple], list[tuple]]:
    """(what happened, who did it) of every history entry of the customer."""
    with tenant_scope(ways.tenant):
        customer = Customer.objects.get(number=number)
        events = list(CustomerEvent.objects.filter(customer=customer).order_by("id"))
    what, who = [], []
    for e in events:
        changes = dict(e.changes)
        assert changes.pop("number", None) == [None, number], e.changes
        what.append((e.action, changes, e.tenant_id, e.location_code, e.at == customer.created_at))
        who.append((e.actor_label, e.user_id, e.api_client_id))
    return what, who


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(data=valid_customers(), defaults=_tenant_defaults, spelling=_spelling)
def test_the_same_customer_is_stored_the_same_every_way(make_ways, data, defaults, spelling):
    ways = make_ways(defaults, spelling)
    made = ways.all(data)
    for way, outcome in made.items():
        assert outcome.number is not None, (way, outcome, data)
    numbers = {way: outcome.number for way, outcome in made.items()}
    assert len(set(numbers.values())) == 3

    rows = {way: stored(ways, number) for way, number in numbers.items()}
    assert rows["api"] == rows["portal"], data
    assert rows["api"] == rows["import"], data
    # The tenant's default group (if any) is the one link a new customer gets.
    with tenant_scope(ways.tenant):
        default = CustomerGroup.objects.filter(is_default=True).first()
    assert rows["api"]["groups"] == ([default.pk] if default else [])

    trails = {way: history(ways, number) for way, number in numbers.items()}
    what = {way: trail[0] for way, trail in trails.items()}
    assert what["api"] == what["portal"] == what["import"], data
    assert [w[0] for w in what["api"]] == [CustomerEvent.Action.CREATED]
    # Who: the portal and the import act as the same staff user; the API as its client.
    who = {way: trail[1] for way, trail in trails.items()}
    assert who["portal"] == who["import"] == [(ways.user.get_username(), ways.user.pk, None)]
    assert who["api"] == [(ways.api_label, None, ways.api_client_id)]


@pytest.mark.parametrize("kind", BAD_VALUES)
@settings(SETTINGS, max_examples=4)
@given(data=valid_customers(), value=st.data(), spelling=_spelling)
def test_the_same_bad_value_is_refused_the_same_way_everywhere(
    make_ways, kind, data, value, spelling
):
    field, values = BAD_VALUES[kind]
    ways = make_ways({"default_group": "Stammgäste"}, spelling)
    data, field = with_bad_value(data, (field, value.draw(values, label=field)))
    refused = ways.all(data)
    for way, outcome in refused.items():
        assert outcome.number is None, (way, data)
        assert outcome.code == "invalid", (way, outcome, data)
        assert field in outcome.fields, (way, outcome, data)
    assert refused["api"].fields == refused["portal"].fields == refused["import"].fields, (
        refused,
        data,
    )
    assert refused["api"].status == refused["portal"].status == 422
    assert ways.numbers() == set()
    with tenant_scope(ways.tenant):
        assert not CustomerEvent.objects.exists()
