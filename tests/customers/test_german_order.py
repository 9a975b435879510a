"""Names sort in German order, the same on SQLite and PostgreSQL: Ä with A, ß as ss, case
not counting, businesses by their company; keyset pages follow the same order."""

import pytest

from stammgast.customers import selectors, services
from stammgast.customers.filters import CustomerFilter
from stammgast.customers.models import Customer

GERMAN_ORDER = [
    "Abel",
    "Ährenfeld",
    "albers",
    "Bäckerei Kühn",  # a business: sorted by its company, not by its contact Zahn
    "müller",
    "Mustermann",
    "Ott",
    "Özdemir",
    "Strausberg",
    "Strauß",
    "Zander",
]


@pytest.fixture
def customers(admin_actor):
    shuffled = GERMAN_ORDER[::2] + GERMAN_ORDER[1::2]
    for name in shuffled:
        data = {"last_name": name}
        if name == "Bäckerei Kühn":
            data = {"kind": "business", "company_name": name, "last_name": "Zahn"}
        services.create_customer(actor=admin_actor, data=data)


def sort_names(page) -> list[str]:
    return [c.company_name or c.last_name for c in page.items]


def test_the_list_sorted_by_name_is_in_german_order(admin_actor, customers):
    page = selectors.list_customers(actor=admin_actor, f=CustomerFilter(sort="name"), limit=50)
    assert sort_names(page) == GERMAN_ORDER
    page = selectors.list_customers(actor=admin_actor, f=CustomerFilter(sort="-name"), limit=50)
    assert sort_names(page) == GERMAN_ORDER[::-1]


def test_keyset_pages_follow_the_german_order(admin_actor, customers):
    seen, cursor = [], None
    while True:
        page = selectors.list_customers(
            actor=admin_actor, f=CustomerFilter(sort="name"), cursor=cursor, limit=3
        )
        seen += sort_names(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == GERMAN_ORDER


def test_the_name_columns_themselves_sort_in_german_order(admin_actor, customers):
    people = [n for n in GERMAN_ORDER if n != "Bäckerei Kühn"]
    by_column = Customer.objects.filter(kind="private").order_by("last_name")
    assert list(by_column.values_list("last_name", flat=True)) == people
