"""Cards: assigning a card to a customer and finding the customer by the card."""

import pytest

from stammgast.cards.models import Card
from stammgast.cards.services import assign_card
from stammgast.core.errors import DomainError
from stammgast.customers import services as customer_services
from tests.customers.helpers import post_json


@pytest.fixture
def two_guests(admin_actor):
    for name in ("Müller", "Schulz"):
        customer_services.create_customer(actor=admin_actor, data={"last_name": name})


def test_assign_and_look_up_a_card(pos_api, two_guests):
    response = post_json(pos_api, "/api/v1/customers/2/cards", {"card": " 04A1B2C3 "})
    assert response.status_code == 201, response.content
    assert response.json() == {"card": "04A1B2C3", "kind": "mifare", "customer": 2}
    found = pos_api.get("/api/v1/customers/lookup", {"card": "04A1B2C3"}).json()
    assert [c["number"] for c in found] == [2]
    assert pos_api.get("/api/v1/customers/lookup", {"card": "04A1B2"}).json() == []


def test_a_card_belongs_to_one_customer(pos_api, two_guests):
    post_json(pos_api, "/api/v1/customers/1/cards", {"card": "C-1"})
    response = post_json(pos_api, "/api/v1/customers/2/cards", {"card": "C-1"})
    assert response.status_code == 409
    assert "card" in response.json()["fields"]
    assert [c.customer.number for c in Card.objects.all()] == [1]


def test_a_customer_may_have_several_cards(pos_api, two_guests):
    post_json(pos_api, "/api/v1/customers/1/cards", {"card": "C-1"})
    assert (
        post_json(pos_api, "/api/v1/customers/1/cards", {"card": "QR-9", "kind": "qr"}).status_code
        == 201
    )
    assert Card.objects.filter(customer__number=1).count() == 2


def test_card_numbers_are_per_tenant(pos_api, other_api, two_guests, other_tenant):
    post_json(pos_api, "/api/v1/customers/1/cards", {"card": "C-1"})
    post_json(other_api, "/api/v1/customers", {"last_name": "Krone"})
    response = post_json(other_api, "/api/v1/customers/1/cards", {"card": "C-1"})
    assert response.status_code == 201, response.content
    assert (
        other_api.get("/api/v1/customers/lookup", {"card": "C-1"}).json()[0]["last_name"] == "Krone"
    )
    assert (
        pos_api.get("/api/v1/customers/lookup", {"card": "C-1"}).json()[0]["last_name"] == "Müller"
    )


def test_a_blocked_card_finds_nobody(pos_api, two_guests):
    post_json(pos_api, "/api/v1/customers/1/cards", {"card": "C-1"})
    Card.objects.filter(number="C-1").update(blocked=True)
    assert pos_api.get("/api/v1/customers/lookup", {"card": "C-1"}).json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"card": ""}, "card"),
        ({"card": "   "}, "card"),
        ({"card": "x" * 65}, "card"),
        ({"card": "C\x00"}, "card"),
        ({"card": "C-1", "kind": "magnet"}, "kind"),
        ({"kind": "qr"}, "card"),
        ({"card": 12345}, "card"),
    ],
)
def test_bad_cards_are_refused(pos_api, two_guests, body, field):
    response = post_json(pos_api, "/api/v1/customers/1/cards", body)
    assert 400 <= response.status_code < 500, response.content
    assert field in response.json()["fields"]
    assert not Card.objects.exists()


def test_a_card_for_an_unknown_customer_is_404(pos_api, two_guests):
    assert post_json(pos_api, "/api/v1/customers/99/cards", {"card": "C-1"}).status_code == 404
    assert not Card.objects.exists()


def test_the_service_refuses_without_permission(tenant, two_guests):
    from stammgast.tenants.actor import Actor

    reader = Actor(tenant=tenant)
    with pytest.raises(DomainError):
        assign_card(actor=reader, customer_number=1, card_number="C-1")
    assert not Card.objects.exists()


def test_the_record_shows_the_cards_register_the_cards_app_adds(tenant, admin_actor, two_guests):
    from django.test import Client

    from stammgast.tenants import services as tenant_services

    assign_card(actor=admin_actor, customer_number=2, card_number="04A1B2C3")
    user = tenant_services.create_staff_user(
        tenant=tenant, username="kasse", password="Kellner-Passwort-42", role="cashier"
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    # The cards are in the record's group of credit, cards and bills.
    record = client.get("/customers/2/credit/")
    assert 'href="/customers/2/cards/"' in record.content.decode()
    page = client.get("/customers/2/cards/").content.decode()
    assert "04A1B2C3" in page and "Mifare" in page
    assert "No card is assigned" in client.get("/customers/1/cards/").content.decode()
