"""Starting a top-up: limits, whose credit, which provider, where the guest goes back to."""

from __future__ import annotations

import pytest

from stammgast.core.errors import DomainError, PermissionDenied
from stammgast.customers import services as customer_services
from stammgast.payments import services
from stammgast.payments.models import TopUpChannel, TopUpPayment, TopUpStatus
from stammgast.tenants.actor import Actor

from .conftest import top_up_entries


def test_a_guest_starts_a_top_up_and_is_sent_to_the_provider(tenant, guest, customer):
    payment, url = services.start_top_up(
        actor=guest, customer_number=customer.number, amount=1_000, return_url="/me/credit/"
    )
    assert url == f"/pay/{tenant.slug}/sandbox/{payment.reference}/"
    assert payment.status == TopUpStatus.PENDING
    assert payment.amount == 1_000
    assert payment.currency == "EUR"
    assert payment.channel == TopUpChannel.SELF_SERVICE
    assert payment.started_by_label == "guest (self-service)"
    assert payment.redirect_url == url
    assert len(payment.reference) >= 24
    assert top_up_entries(customer) == 0  # nothing credited before the provider says so


def test_references_are_unguessable_and_distinct(guest, customer):
    refs = {
        services.start_top_up(
            actor=guest, customer_number=customer.number, amount=1_000, return_url="/me/"
        )[0].reference
        for _ in range(services.MAX_PENDING_PER_CUSTOMER)
    }
    assert len(refs) == services.MAX_PENDING_PER_CUSTOMER


@pytest.mark.parametrize("amount", [0, -500, 499, 50_001, 10.0, "10.00", True, None, 10**12])
def test_amounts_outside_the_limits_are_refused(guest, customer, amount):
    with pytest.raises(DomainError) as refused:
        services.start_top_up(
            actor=guest, customer_number=customer.number, amount=amount, return_url="/me/"
        )
    assert refused.value.code == "invalid_amount"
    assert "amount" in refused.value.fields
    assert not TopUpPayment.objects.exists()


def test_the_limits_themselves_are_allowed(guest, customer):
    for amount in (services.MIN_TOP_UP, services.MAX_TOP_UP):
        services.start_top_up(
            actor=guest, customer_number=customer.number, amount=amount, return_url="/me/"
        )
    assert TopUpPayment.objects.count() == 2


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "me/credit",
        "",
        "/" + "x" * 500,
        "/me/\ncredit",
    ],
)
def test_only_a_path_on_this_server_is_a_return_address(guest, customer, url):
    with pytest.raises(DomainError) as refused:
        services.start_top_up(
            actor=guest, customer_number=customer.number, amount=1_000, return_url=url
        )
    assert refused.value.code == "invalid_return_url"
    assert not TopUpPayment.objects.exists()


def test_a_guest_tops_up_only_their_own_credit(tenant, guest, admin_actor):
    other = customer_services.create_customer(actor=admin_actor, data={"last_name": "Andere"})
    with pytest.raises(PermissionDenied):
        services.start_top_up(
            actor=guest, customer_number=other.number, amount=1_000, return_url="/me/"
        )
    assert not TopUpPayment.objects.exists()


def test_a_guest_may_do_nothing_else_with_credit(guest):
    assert guest.can("credit.top_up")
    assert not any(
        guest.can(p) for p in ("credit.pay", "credit.refund", "credit.pay_out", "credit.correct")
    )
    assert guest.ref != Actor.system(guest.tenant).ref


def test_a_blocked_customer_cannot_top_up(tenant, admin_actor, guest, customer):
    customer_services.block_customer(
        actor=admin_actor, number=customer.number, lock_text="Karte verloren"
    )
    with pytest.raises(DomainError) as refused:
        services.start_top_up(
            actor=guest, customer_number=customer.number, amount=1_000, return_url="/me/"
        )
    assert refused.value.code == "customer_blocked"
    assert "Karte verloren" in refused.value.message


def test_an_unknown_or_switched_off_provider_is_refused(guest, customer, settings):
    with pytest.raises(DomainError) as refused:
        services.start_top_up(
            actor=guest,
            customer_number=customer.number,
            amount=1_000,
            return_url="/me/",
            provider="acme",
        )
    assert refused.value.code == "unknown_provider"
    settings.STAMMGAST_PAYMENT_PROVIDERS = []
    with pytest.raises(DomainError) as refused:
        services.start_top_up(
            actor=guest, customer_number=customer.number, amount=1_000, return_url="/me/"
        )
    assert refused.value.code == "unknown_provider"


def test_at_most_a_few_top_ups_wait_at_once(guest, customer):
    for _ in range(services.MAX_PENDING_PER_CUSTOMER):
        services.start_top_up(
            actor=guest, customer_number=customer.number, amount=1_000, return_url="/me/"
        )
    with pytest.raises(DomainError) as refused:
        services.start_top_up(
            actor=guest, customer_number=customer.number, amount=1_000, return_url="/me/"
        )
    assert refused.value.code == "too_many_pending_top_ups"
    assert refused.value.status == 429


def test_staff_without_the_right_cannot_start_one(tenant, customer):
    reader = Actor.for_staff(tenant=tenant, user=None, role="read_only", location=None)
    with pytest.raises(PermissionDenied):
        services.start_top_up(
            actor=reader, customer_number=customer.number, amount=1_000, return_url="/x/"
        )


def test_a_cashier_starts_one_for_a_guest_and_is_named_on_the_entry(tenant, customer, web):
    from stammgast.tenants import services as tenant_services

    from .conftest import SANDBOX, send_callback

    user = tenant_services.create_staff_user(
        tenant=tenant, username="kasse", password="Kellner-Passwort-42", role="cashier"
    )
    cashier = Actor.for_staff(tenant=tenant, user=user, role="cashier", location=None)
    payment, _url = services.start_top_up(
        actor=cashier, customer_number=customer.number, amount=2_000, return_url="/customers/1/"
    )
    assert payment.channel == TopUpChannel.STAFF
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    assert send_callback(web, tenant, body, signature).json()["code"] == "credited"
    entry = TopUpPayment.objects.get().ledger_entry
    assert entry.actor_label == "kasse"
    assert entry.user_id == user.pk


def test_the_command_expires_stale_top_ups_of_every_tenant(tenant, guest, customer):
    import datetime as dt
    import io

    from django.core.management import call_command
    from django.utils import timezone

    payment, _url = services.start_top_up(
        actor=guest, customer_number=customer.number, amount=1_000, return_url="/me/"
    )
    TopUpPayment.objects.filter(pk=payment.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    out = io.StringIO()
    call_command("expire_top_ups", stdout=out)
    assert "1 " in out.getvalue()
    assert TopUpPayment.objects.get().status == TopUpStatus.EXPIRED
