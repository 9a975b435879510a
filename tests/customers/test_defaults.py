"""Tenant defaults for new customers, on every creation path, and applied to existing ones."""

import pytest

from stammgast.core.errors import DomainError
from stammgast.customers import selectors, services
from stammgast.customers.models import Customer, CustomerEvent, CustomerGroup

from .helpers import post_json


@pytest.fixture
def defaults(admin_actor):
    CustomerGroup.objects.create(name="Stammgäste")
    CustomerGroup.objects.create(name="Personal")
    return services.update_tenant_defaults(
        actor=admin_actor,
        data={
            "group": "Stammgäste",
            "price_level": 2,
            "payment_method": "invoice",
            "payment_term_days": 14,
            "newsletter": False,
        },
    )


EXPECTED = {
    "groups": ["Stammgäste"],
    "price_level": 2,
    "payment_method": "invoice",
    "payment_term_days": 14,
    "newsletter": False,
}


def test_api_created_customers_get_the_defaults(defaults, pos_api):
    body = post_json(pos_api, "/api/v1/customers", {"last_name": "Neu"}).json()
    assert {k: body[k] for k in EXPECTED} == EXPECTED


def test_webshop_created_customers_get_the_defaults(defaults, tenant, make_api):
    shop = make_api(tenant, ("webshop",), name="Webshop")
    response = post_json(shop, "/api/v1/customers", {"last_name": "Neu"})
    assert response.status_code == 201, response.content
    assert {k: response.json()[k] for k in EXPECTED} == EXPECTED


def test_service_created_customers_get_the_defaults(defaults, admin_actor):
    customer = services.create_customer(actor=admin_actor, data={"last_name": "Neu"})
    assert [g.name for g in customer.groups.all()] == ["Stammgäste"]
    assert (customer.price_level, customer.payment_method, customer.payment_term_days) == (
        2,
        "invoice",
        14,
    )
    assert customer.newsletter is False


def test_given_values_win_over_the_defaults(defaults, admin_actor):
    customer = services.create_customer(
        actor=admin_actor,
        data={"last_name": "Neu", "groups": ["Personal"], "price_level": 3, "newsletter": True},
    )
    assert [g.name for g in customer.groups.all()] == ["Personal"]
    assert customer.price_level == 3
    assert customer.newsletter is True
    assert customer.payment_term_days == 14


def test_newsletter_is_off_by_default(admin_actor, pos_api):
    assert (
        post_json(pos_api, "/api/v1/customers", {"last_name": "Neu"}).json()["newsletter"] is False
    )


def test_the_default_group_shows_in_the_creation_history(defaults, admin_actor):
    customer = services.create_customer(actor=admin_actor, data={"last_name": "Neu"})
    [created] = selectors.customer_history(actor=admin_actor, number=customer.number).items
    assert created.changes["groups"] == [None, ["Stammgäste"]]
    assert created.changes["price_level"] == [None, 2]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price_level", 0),
        ("payment_method", "bitcoin"),
        ("group", "Niemand"),
        ("colour", "red"),
        ("newsletter", "yes"),
        ("payment_term_days", "14 Tage"),
    ],
)
def test_bad_defaults_are_refused_and_change_nothing(defaults, admin_actor, field, value):
    with pytest.raises(DomainError) as err:
        services.update_tenant_defaults(actor=admin_actor, data={"newsletter": True, field: value})
    assert field in err.value.fields
    defaults.refresh_from_db()
    assert defaults.default_newsletter is False
    assert defaults.default_price_level == 2
    assert selectors.default_group().name == "Stammgäste"


def test_changing_a_default_leaves_existing_customers_until_applied(admin_actor, make_customer):
    for _ in range(3):
        make_customer()
    make_customer(price_level=4)
    services.update_tenant_defaults(actor=admin_actor, data={"price_level": 4})
    assert list(Customer.objects.values_list("price_level", flat=True).order_by("number")) == [
        1,
        1,
        1,
        4,
    ]
    assert services.preview_tenant_default(actor=admin_actor, field="price_level") == 3
    assert services.apply_tenant_default(actor=admin_actor, field="price_level") == 3
    assert set(Customer.objects.values_list("price_level", flat=True)) == {4}
    assert services.preview_tenant_default(actor=admin_actor, field="price_level") == 0
    assert services.apply_tenant_default(actor=admin_actor, field="price_level") == 0


def test_applying_a_default_records_history_and_changes_the_etag(
    admin_actor, make_customer, pos_api
):
    make_customer(newsletter=True)
    make_customer()
    etag = pos_api.get("/api/v1/customers/1")["ETag"]
    assert services.preview_tenant_default(actor=admin_actor, field="newsletter") == 1
    assert services.apply_tenant_default(actor=admin_actor, field="newsletter") == 1
    assert pos_api.get("/api/v1/customers/1")["ETag"] != etag
    assert pos_api.get("/api/v1/customers/2")["ETag"] == '"2-1"'
    newest = pos_api.get("/api/v1/customers/1/history").json()["items"][0]
    assert newest["action"] == "default_applied"
    assert newest["changes"] == {"newsletter": [True, False]}
    assert newest["actor"] == "system"
    assert CustomerEvent.objects.filter(action="default_applied").count() == 1


def test_applying_the_default_group(defaults, admin_actor):
    Customer.objects.all().delete()
    services.update_tenant_defaults(actor=admin_actor, data={"group": None})
    a = services.create_customer(actor=admin_actor, data={"last_name": "A"})
    b = services.create_customer(actor=admin_actor, data={"last_name": "B", "groups": ["Personal"]})
    services.update_tenant_defaults(actor=admin_actor, data={"group": "Stammgäste"})
    assert services.preview_tenant_default(actor=admin_actor, field="group") == 2
    assert services.apply_tenant_default(actor=admin_actor, field="group") == 2
    assert [g.name for g in a.groups.all()] == ["Stammgäste"]
    assert sorted(g.name for g in b.groups.all()) == ["Personal", "Stammgäste"]
    assert services.preview_tenant_default(actor=admin_actor, field="group") == 0
    newest = selectors.customer_history(actor=admin_actor, number=b.number).items[0]
    assert newest.action == "default_applied"
    assert newest.changes == {"groups": [["Personal"], ["Personal", "Stammgäste"]]}


def test_preview_of_an_unknown_field_is_refused(admin_actor):
    with pytest.raises(DomainError) as err:
        services.preview_tenant_default(actor=admin_actor, field="colour")
    assert "field" in err.value.fields
