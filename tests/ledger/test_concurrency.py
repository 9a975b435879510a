"""Many tills paying at once: no overspending, no lost entry (real threads, own connections)."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection, connections

from stammgast.core.errors import DomainError
from stammgast.core.tenancy import tenant_scope
from stammgast.customers import services as customer_services
from stammgast.ledger import services as ledger_services
from stammgast.ledger.models import CreditAccount, CreditEntry
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor

POSTGRES = connection.vendor == "postgresql"


def _run(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)


@pytest.mark.django_db(transaction=True)
def test_many_tills_paying_from_one_account_never_overspend():
    tenant = tenant_services.create_tenant(slug="kantine", name="Kantine")
    actor = Actor.system(tenant)
    with tenant_scope(tenant):
        customer_services.create_customer(actor=actor, data={"last_name": "Gast"})
        ledger_services.top_up_credit(actor=actor, customer_number=1, amount=10_000)
    clients = 50 if POSTGRES else 8
    per_client = 6
    paid, refused, failures = [], [], []

    def till(n: int) -> None:
        try:
            with tenant_scope(tenant):
                for i in range(per_client):
                    try:
                        ledger_services.pay_with_credit(
                            actor=actor, customer_number=1, amount=50, idempotency_key=f"{n}-{i}"
                        )
                        paid.append(1)
                    except DomainError as exc:
                        assert exc.code == "insufficient_credit", exc
                        refused.append(1)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            connections.close_all()

    _run([threading.Thread(target=till, args=(n,)) for n in range(clients)])
    assert not failures, failures[:3]
    with tenant_scope(tenant):
        account = CreditAccount.objects.get()
        assert account.balance >= 0
        assert account.balance == 10_000 - 50 * len(paid)
        assert ledger_services.check_balances() == []
    # 10,000 cents pay for 200 payments of 50: all asked for fit when there are fewer.
    assert len(paid) == min(clients * per_client, 200)
    assert len(paid) + len(refused) == clients * per_client


@pytest.mark.django_db(transaction=True)
def test_many_tills_over_many_accounts_lose_no_entry():
    tenant = tenant_services.create_tenant(slug="kette", name="Kette")
    actor = Actor.system(tenant)
    accounts = 1000 if POSTGRES else 50
    clients = 32 if POSTGRES else 6
    per_client = 40 if POSTGRES else 15
    with tenant_scope(tenant):
        for n in range(accounts):
            customer_services.create_customer(actor=actor, data={"last_name": f"Gast {n}"})
    failures, booked = [], []

    def till(n: int) -> None:
        rng = random.Random(n)
        try:
            with tenant_scope(tenant):
                for i in range(per_client):
                    number = rng.randint(1, accounts)
                    try:
                        if rng.random() < 0.5:
                            ledger_services.top_up_credit(
                                actor=actor,
                                customer_number=number,
                                amount=100,
                                idempotency_key=f"t{n}-{i}",
                            )
                        else:
                            ledger_services.pay_with_credit(
                                actor=actor,
                                customer_number=number,
                                amount=30,
                                idempotency_key=f"p{n}-{i}",
                            )
                        booked.append(1)
                    except DomainError as exc:
                        assert exc.code == "insufficient_credit", exc
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            connections.close_all()

    _run([threading.Thread(target=till, args=(n,)) for n in range(clients)])
    assert not failures, failures[:3]
    with tenant_scope(tenant):
        assert CreditEntry.objects.count() == len(booked) > 0
        assert ledger_services.check_balances() == []
