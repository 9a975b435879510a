"""Any order of callbacks, repeats and expiry sweeps: a top-up is credited at most once,
and exactly once if the provider ever reported it paid."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stammgast.ledger import services as ledger_services
from stammgast.ledger.models import CreditEntry
from stammgast.payments import services
from stammgast.payments.models import TopUpPayment, TopUpStatus

from .conftest import SANDBOX, balance

STEPS = st.lists(
    st.sampled_from(["succeeded", "failed", "cancelled", "repeat", "expire"]),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=STEPS)
def test_credited_once_whatever_the_order(guest, customer, steps):
    payment, _url = services.start_top_up(
        actor=guest, customer_number=customer.number, amount=1_000, return_url="/me/"
    )
    before = balance(customer)
    sent = None
    for step in steps:
        if step == "expire":
            services.expire_stale_top_ups(now=timezone.now() + dt.timedelta(hours=1))
            continue
        if step == "repeat":
            if sent is None:
                continue
            body, signature = sent
        else:
            body, signature = SANDBOX.callback_for(payment, step)
        sent = (body, signature)
        services.confirm_top_up(provider="sandbox", payload=body, signature=signature)

    stored = TopUpPayment.objects.get(pk=payment.pk)
    paid = "succeeded" in steps
    entries = CreditEntry.objects.filter(idempotency_key=f"top-up:{payment.reference}")
    assert entries.count() == (1 if paid else 0)
    assert balance(customer) - before == (1_000 if paid else 0)
    assert (stored.status == TopUpStatus.SUCCEEDED) == paid
    assert (stored.ledger_entry_id is not None) == paid
    if not paid:
        # The first word that reached a pending payment stays (or it expired before one did).
        words = [s for s in steps if s in ("failed", "cancelled", "expire")]
        first = words[0] if words else None
        assert stored.status == {None: "pending", "expire": "expired"}.get(first, first)
    assert ledger_services.check_balances() == []
    # Examples share the customer: close what is left open, under the limit of pending ones.
    services.expire_stale_top_ups(now=timezone.now() + dt.timedelta(hours=1))
