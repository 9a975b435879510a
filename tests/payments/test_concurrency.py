"""Callbacks arriving at once (a provider's retry meeting its first try, two servers):
credited exactly once. Real threads, each with its own database connection."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.ledger import services as ledger_services
from stammgast.ledger.models import CreditEntry
from stammgast.payments import services
from stammgast.payments.models import TopUpPayment, TopUpStatus
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor

from .conftest import SANDBOX, send_callback

POSTGRES = connection.vendor == "postgresql"
pytestmark = pytest.mark.skipif(
    not POSTGRES, reason="SQLite lets one writer in at a time: nothing to race"
)


def _run(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)


def _shop(slug: str):
    tenant = tenant_services.create_tenant(slug=slug, name="Kantine")
    with tenant_scope(tenant):
        customer = customer_services.create_customer(
            actor=Actor.system(tenant), data={"last_name": "Gast"}
        )
    return tenant, Actor.for_guest(tenant=tenant, customer_number=customer.number)


@pytest.mark.django_db(transaction=True)
def test_duplicate_callbacks_at_the_same_moment_credit_once():
    tenant, guest = _shop("kantine")
    with tenant_scope(tenant):
        payments = [
            services.start_top_up(
                actor=guest, customer_number=1, amount=1_000 + n, return_url="/me/"
            )[0]
            for n in range(3)
        ]
    senders = 8  # per payment
    callbacks = [SANDBOX.callback_for(p, "succeeded") for p in payments]
    start = threading.Barrier(senders * len(payments))
    answers, failures = [], []

    def provider_server(body: bytes, signature: str) -> None:
        try:
            web = Client()
            start.wait(timeout=60)
            response = send_callback(web, tenant, body, signature)
            answers.append((response.status_code, response.json()["code"]))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            connections.close_all()

    _run(
        [
            threading.Thread(target=provider_server, args=callback)
            for callback in callbacks
            for _ in range(senders)
        ]
    )
    assert not failures, failures[:3]
    assert all(status == 200 for status, _code in answers), answers
    codes = [code for _status, code in answers]
    assert codes.count("credited") == len(payments)
    assert codes.count("already_credited") == (senders - 1) * len(payments)
    with tenant_scope(tenant):
        assert CreditEntry.objects.count() == len(payments)
        assert sorted(CreditEntry.objects.values_list("amount", flat=True)) == [1000, 1001, 1002]
        assert all(p.status == TopUpStatus.SUCCEEDED for p in TopUpPayment.objects.all())
        assert ledger_services.check_balances() == []


@pytest.mark.django_db(transaction=True)
def test_a_success_racing_the_expiry_sweep_is_credited_once():
    tenant, guest = _shop("mensa")
    with tenant_scope(tenant):
        payment, _url = services.start_top_up(
            actor=guest, customer_number=1, amount=2_000, return_url="/me/"
        )
    body, signature = SANDBOX.callback_for(payment, "succeeded")
    later = timezone.now() + services.EXPIRES_AFTER * 2
    start = threading.Barrier(4)
    failures = []

    def callback() -> None:
        try:
            start.wait(timeout=60)
            send_callback(Client(), tenant, body, signature)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            connections.close_all()

    def sweep() -> None:
        try:
            with tenant_scope(tenant):
                start.wait(timeout=60)
                services.expire_stale_top_ups(now=later)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            connections.close_all()

    _run([threading.Thread(target=t) for t in (callback, sweep, callback, sweep)])
    assert not failures, failures[:3]
    with tenant_scope(tenant):
        stored = TopUpPayment.objects.get()
        # Whichever came first, the money taken is credited, once, and stays so.
        assert stored.status == TopUpStatus.SUCCEEDED
        assert CreditEntry.objects.count() == 1
        assert ledger_services.check_balances() == []
