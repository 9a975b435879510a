"""Search: number, name, company, e-mail, phone, postcode/city; umlauts; filters; cursor pages.

Runs on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm) alike.
"""

import dataclasses
import importlib
import types

import pytest

from stammgast.core.errors import DomainError
from stammgast.customers import selectors, services
from stammgast.customers.models import CustomerGroup


@pytest.fixture
def guests(admin_actor, location, location_b, make_customer):
    CustomerGroup.objects.create(name="Stammgäste")
    CustomerGroup.objects.create(name="Personal")
    make_customer(
        first_name="Anna",
        last_name="Müller",
        postcode="50667",
        city="Köln",
        email="anna.mueller@example.de",
        mobile="0151 23456789",
        groups=["Stammgäste"],
    )
    make_customer(
        first_name="Jürgen",
        last_name="Weiß",
        postcode="80331",
        city="München",
        phone_private="089 1234567",
        groups=["Personal"],
    )
    make_customer(
        kind="business",
        company_name="Bäckerei Schröder GmbH",
        last_name="Schröder",
        postcode="10115",
        city="Berlin",
        email="info@baeckerei-schroeder.de",
        allowed_locations=["hafen"],
    )
    make_customer(
        first_name="Zoë",
        last_name="Lefèvre",
        city="Düsseldorf",
        blocked=True,
        lock_text="Offene Rechnung",
    )


def numbers(client, **params):
    response = client.get("/api/v1/customers", params)
    assert response.status_code == 200, response.content
    return [c["number"] for c in response.json()["items"]]


@pytest.mark.parametrize(
    "q",
    [
        "muller",
        "mül",
        "MÜLLER",
        "mueller",
        "Müller",
        "ülle",
        "üll",
        "MUELL",
        "anna müller",
        "Anna Mueller",
    ],
)
def test_umlauts_and_case_do_not_matter(pos_api, guests, q):
    assert numbers(pos_api, q=q) == [1]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("koln", [1]),
        ("Köln", [1]),
        ("koeln", [1]),
        ("50667", [1]),
        ("506", [1]),
        ("anna.mueller@example.de", [1]),
        ("example.de", [1]),
        ("015123456789", [1]),
        ("23456789", [1]),
        ("+49 151 23456789", [1]),
        ("0151 23456789", [1]),
        ("weiß", [2]),
        ("weiss", [2]),
        ("jurgen", [2]),
        ("juergen", [2]),
        ("münchen", [2]),
        ("0891234567", [2]),
        ("bäckerei", [3]),
        ("backerei", [3]),
        ("baeckerei", [3]),
        ("schröder gmbh", [3]),
        ("GmbH", [3]),
        ("berlin", [3]),
        ("10115", [3]),
        ("lefevre", [4]),
        ("zoe", [4]),
        ("dusseldorf", [4]),
        ("düss", [4]),
        ("nobody", []),
        ("anna berlin", []),
    ],
)
def test_search_by_every_field(pos_api, guests, q, expected):
    assert numbers(pos_api, q=q) == expected


def test_every_spelling_of_an_umlaut_finds_every_other(pos_api, admin_actor, make_customer):
    make_customer(last_name="Mueller")
    make_customer(last_name="Müller")
    make_customer(last_name="Muller")
    make_customer(last_name="Möller", first_name="Bärbel")
    for q in ["müller", "mueller", "muller", "MUELLER", "Müll", "üller", "uell"]:
        assert numbers(pos_api, q=q) == [1, 2, 3], q
    for q in ["möller", "moeller", "moller", "baerbel möller", "barbel", "Bärb"]:
        assert numbers(pos_api, q=q) == [4], q


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        # Typed so far while typing "Mueller" / "Zoë": the start of a word.
        ("mue", [1, 2]),
        ("Mü", None),
        ("zoe", [3]),
        ("Zoë", [3]),
        ("zoe mue", []),
        ("mue gra", [2]),
        # "ue" spelled in the name itself: "Manuel" is found as typed.
        ("manuel", [4]),
        ("Manu", [4]),
        ("anuel", [4]),
    ],
)
def test_words_that_their_spelling_shortens(pos_api, admin_actor, make_customer, q, expected):
    make_customer(last_name="Mueller", first_name="Anna")
    make_customer(last_name="Müller", city="Graz")
    make_customer(last_name="Lefèvre", first_name="Zoë")
    make_customer(last_name="Kamue", first_name="Manuel")
    response = pos_api.get("/api/v1/customers", {"q": q})
    if expected is None:
        assert response.status_code == 400
    else:
        assert numbers(pos_api, q=q) == expected


def test_search_text_holds_one_spelling(admin_actor, make_customer):
    customer = make_customer(
        first_name="Jürgen",
        last_name="Weiß-Mueller",
        city="Köln",
        email="j.mueller@example.de",
        postcode="50667",
        mobile="0151 23456789",
    )
    assert customer.search_text == (
        "1 jurgen weiss-muller koln j.muller@example.de 50667 4915123456789 015123456789"
    )


def test_a_pure_customer_number_may_be_short(pos_api, guests):
    assert numbers(pos_api, q="3") == [3]
    assert numbers(pos_api, q="12") == []


def test_a_long_number_finds_the_customer_by_number(pos_api, admin_actor, make_customer):
    make_customer(number=100042, last_name="Zahl")
    assert numbers(pos_api, q="100042") == [100042]


@pytest.mark.parametrize("q", ["ab", "ü", "a b", "xy 1", "  a "])
def test_fewer_than_three_characters_is_400(pos_api, guests, q):
    response = pos_api.get("/api/v1/customers", {"q": q})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "search_too_short"
    assert "q" in body["fields"]


def test_search_characters_that_mean_something_to_the_engine(pos_api, guests):
    for q in ['"müller"', "mül*", "müller OR weiß", "(köln)", "50%", "a_b_c", "NEAR(x y)"]:
        response = pos_api.get("/api/v1/customers", {"q": q})
        assert response.status_code in (200, 400), (q, response.content)


def test_filters(pos_api, guests):
    assert numbers(pos_api, group="Stammgäste") == [1]
    assert numbers(pos_api, group="Personal") == [2]
    assert numbers(pos_api, group="Niemand") == []
    assert numbers(pos_api, blocked="true") == [4]
    assert numbers(pos_api, blocked="false") == [1, 2, 3]
    assert numbers(pos_api, location="mitte") == [1, 2, 4]
    assert numbers(pos_api, location="hafen") == [1, 2, 3, 4]
    assert numbers(pos_api, q="müller", group="Personal") == []
    assert numbers(pos_api, q="köln", blocked="false") == [1]


def test_a_changed_customer_is_found_by_the_new_name_only(pos_api, guests, admin_actor):
    services.update_customer(
        actor=admin_actor,
        number=1,
        data={"last_name": "Schäfer", "email": "anna.schaefer@example.de"},
    )
    assert numbers(pos_api, q="muller") == []
    assert numbers(pos_api, q="mueller") == []
    assert numbers(pos_api, q="schafer") == [1]
    assert numbers(pos_api, q="anna") == [1]


# --- cursor pages ----------------------------------------------------------------------


@pytest.fixture
def many(admin_actor, make_customer):
    # Duplicate names, so sorting by name needs the number to break ties.
    for i in range(23):
        make_customer(
            first_name=f"Gast{i:02d}",
            last_name=["Müller", "Mueller", "Möller"][i % 3],
            city="Köln" if i % 2 else "Bonn",
        )


def walk(client, **params):
    seen, cursor, pages = [], None, 0
    while True:
        query = dict(params)
        if cursor:
            query["cursor"] = cursor
        body = client.get("/api/v1/customers", query).json()
        pages += 1
        seen += [c["number"] for c in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return seen, pages


def test_cursor_pages_walk_all_results_without_duplicates_or_gaps(pos_api, many):
    seen, pages = walk(pos_api, limit=5)
    assert seen == list(range(1, 24))
    assert pages == 5
    seen, _ = walk(pos_api, q="müller", limit=3)
    assert seen == [n for n in range(1, 24) if n % 3 in (1, 2)]
    seen, _ = walk(pos_api, q="köln", limit=4)
    assert seen == [n for n in range(1, 24) if n % 2 == 0]


@pytest.mark.parametrize("sort", list(selectors.SORTS))
def test_every_sort_order_pages_without_duplicates_or_gaps(admin_actor, many, sort):
    services.update_customer(actor=admin_actor, number=7, data={"postcode": "50667"})
    everything = selectors.list_customers(
        actor=admin_actor, f=selectors.CustomerFilter(sort=sort), limit=200
    ).items
    seen, cursor = [], None
    while True:
        page = selectors.list_customers(
            actor=admin_actor, f=selectors.CustomerFilter(sort=sort), cursor=cursor, limit=4
        )
        seen += [c.number for c in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == [c.number for c in everything]
    assert sorted(seen) == list(range(1, 24))


def test_a_page_that_ends_exactly_has_no_next_cursor(pos_api, many):
    body = pos_api.get("/api/v1/customers", {"limit": 23}).json()
    assert len(body["items"]) == 23
    assert body["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "!!!", "W10=", "eyJ4IjogMX0=", "eyJudW1iZXIiOiAiYSJ9", "eyJudW1iZXIiOiBudWxsfQ=="],
)
def test_an_invalid_cursor_is_400(pos_api, many, cursor):
    response = pos_api.get("/api/v1/customers", {"cursor": cursor})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_cursor"


def test_unknown_sort_is_refused(admin_actor):
    with pytest.raises(DomainError) as err:
        selectors.list_customers(actor=admin_actor, f=selectors.CustomerFilter(sort="shoe"))
    assert "sort" in err.value.fields


@pytest.mark.parametrize("limit", [0, -5, 10_000])
def test_limits_are_kept_in_bounds(pos_api, many, limit):
    response = pos_api.get("/api/v1/customers", {"limit": limit})
    assert response.status_code == 200
    assert 1 <= len(response.json()["items"]) <= selectors.MAX_PAGE


# --- pages of a search -----------------------------------------------------------------


@pytest.fixture
def crowd(admin_actor, location, location_b, make_customer):
    """Customers with matches dense in places and sparse in others, and gaps in numbers."""
    CustomerGroup.objects.create(name="Stammgäste")
    for i in range(60):
        make_customer(
            first_name=f"Gast{i:02d}",
            last_name="Mueller" if i % 9 == 0 or 30 <= i < 40 else "Schmitz",
            city="Köln" if i % 2 else "Bonn",
            groups=["Stammgäste"] if i % 3 == 0 else [],
            allowed_locations=["hafen"] if i % 5 == 0 else [],
        )
    for number in (5000, 5003, 9000):
        make_customer(number=number, last_name="Müller", city="Köln")


@pytest.mark.parametrize("sort", ["number", "-number", "name"])
def test_search_pages_walk_every_match_once(admin_actor, location, crowd, sort):
    at_mitte = dataclasses.replace(admin_actor, location=location, location_bound=True)
    for actor in (admin_actor, at_mitte):
        for f in (
            selectors.CustomerFilter(q="müller", sort=sort),
            selectors.CustomerFilter(q="Mue", sort=sort),
            selectors.CustomerFilter(q="köln gast", sort=sort),
            selectors.CustomerFilter(q="mueller köln", sort=sort, group="Stammgäste"),
            selectors.CustomerFilter(q="gast3", sort=sort, blocked=False),
            selectors.CustomerFilter(q="nobody", sort=sort),
        ):
            expected = list(
                selectors.filter_customers(actor, f)
                .order_by(*selectors.SORTS[sort])
                .values_list("number", flat=True)
            )
            for limit in (1, 4, 50):
                seen, cursor = [], None
                while True:
                    page = selectors.list_customers(actor=actor, f=f, cursor=cursor, limit=limit)
                    seen += [c.number for c in page.items]
                    cursor = page.next_cursor
                    if not cursor:
                        break
                assert seen == expected, (f, limit)
            assert len(set(seen)) == len(seen)
    assert expected == []  # "nobody"
    everyone = selectors.CustomerFilter(q="Mue", sort=sort)
    assert len(selectors.filter_customers(admin_actor, everyone)) == 19
    assert len(selectors.filter_customers(at_mitte, everyone)) == 15


def test_rewriting_search_text_of_earlier_versions(admin_actor, make_customer):
    from django.apps import apps
    from django.db import connection

    from stammgast.customers.models import Customer

    rewrite = importlib.import_module(
        "stammgast.customers.migrations.0005_search_form"
    ).rewrite_search_text
    make_customer(first_name="Jürgen", last_name="Müller", city="Köln")
    make_customer(first_name="Anna", last_name="Schmitz", city="Bonn")
    # How search_text was written before: every spelling of each name.
    Customer.objects.filter(number=1).update(
        search_text="1 jurgen juergen muller mueller koln koeln"
    )
    rewrite(apps, types.SimpleNamespace(connection=connection))
    texts = dict(Customer.objects.values_list("number", "search_text"))
    assert texts == {1: "1 jurgen muller koln", 2: "2 anna schmitz bonn"}
    assert [
        c.number
        for c in selectors.list_customers(
            actor=admin_actor, f=selectors.CustomerFilter(q="Juergen Mueller")
        ).items
    ] == [1]
