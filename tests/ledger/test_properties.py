"""Any sequence of money movements keeps the balance the sum of its entries and never below
what the customer may overdraw; replaying a request with its key changes nothing."""

from __future__ import annotations

import contextlib
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stammgast.bills import services as bill_services
from stammgast.bills.models import Bill
from stammgast.core.errors import DomainError
from stammgast.customers import services as customer_services
from stammgast.ledger import services as ledger_services
from stammgast.ledger.models import CreditAccount, CreditEntry
from stammgast.tenants import services as tenant_services

LIMIT = 500
amounts = st.integers(min_value=1, max_value=3_000)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("top_up"), amounts),
        st.tuples(st.just("pay"), amounts),
        st.tuples(st.just("refund"), amounts),
        st.tuples(st.just("pay_out"), amounts),
        st.tuples(st.just("correct"), st.integers(min_value=-3_000, max_value=3_000).filter(bool)),
        st.tuples(st.just("bill"), amounts),
        st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=20)),
        st.tuples(st.just("replay"), st.integers(min_value=0, max_value=40)),
    ),
    max_size=25,
)
_runs = itertools.count()


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=operations)
def test_balance_is_the_sum_of_entries_after_any_sequence(ops, tenant, admin_actor):
    run = next(_runs)
    location = tenant_services.create_location(tenant=tenant, code=f"l{run}", name="Kasse")
    customer = customer_services.create_customer(actor=admin_actor, data={"last_name": f"G{run}"})
    number = customer.number
    ledger_services.set_overdraft_limit(actor=admin_actor, customer_number=number, limit=LIMIT)
    done: list[tuple] = []  # (callable, kwargs) of requests that were answered
    bills: list[Bill] = []

    def call(fn, **kwargs):
        try:
            fn(**kwargs)
        except DomainError:
            return
        done.append((fn, kwargs))

    for i, (kind, value) in enumerate(ops):
        key = f"{run}-{i}"
        if kind == "top_up":
            call(
                ledger_services.top_up_credit,
                actor=admin_actor,
                customer_number=number,
                amount=value,
                idempotency_key=key,
            )
        elif kind == "pay":
            call(
                ledger_services.pay_with_credit,
                actor=admin_actor,
                customer_number=number,
                amount=value,
                idempotency_key=key,
            )
        elif kind == "refund":
            call(
                ledger_services.refund_credit,
                actor=admin_actor,
                customer_number=number,
                amount=value,
                idempotency_key=key,
            )
        elif kind == "pay_out":
            call(
                ledger_services.pay_out_credit,
                actor=admin_actor,
                customer_number=number,
                amount=value,
                idempotency_key=key,
            )
        elif kind == "correct":
            call(
                ledger_services.correct_credit,
                actor=admin_actor,
                customer_number=number,
                amount=value,
                reason="x",
                idempotency_key=key,
            )
        elif kind == "bill":
            with contextlib.suppress(DomainError):
                bills.append(
                    bill_services.post_bill(
                        actor=admin_actor,
                        idempotency_key=key,
                        data={
                            "number": key,
                            "terminal": "T",
                            "location": location.code,
                            "customer": number,
                            "lines": [
                                {"item": "X", "unit_price": f"{value // 100}.{value % 100:02d}"}
                            ],
                            "payments": [
                                {"method": "credit", "amount": f"{value // 100}.{value % 100:02d}"}
                            ],
                        },
                    )
                )
        elif kind == "cancel" and bills:
            target = bills[value % len(bills)]
            call(
                bill_services.cancel_bill,
                actor=admin_actor,
                bill_uid=str(target.uid),
                idempotency_key=key,
            )
        elif kind == "replay" and done:
            fn, kwargs = done[value % len(done)]
            before = (
                CreditEntry.objects.count(),
                CreditAccount.objects.get(customer=customer).balance,
            )
            fn(**kwargs)
            assert (
                CreditEntry.objects.count(),
                CreditAccount.objects.get(customer=customer).balance,
            ) == before
        account = CreditAccount.objects.filter(customer=customer).first()
        if account is not None:
            assert account.balance >= -LIMIT
    assert ledger_services.check_balances() == []
