"""Everything stored about one person, gathered for the data download (Art. 15 and 20
DSGVO): a JSON file for machines, an HTML page for people, the pictures; in one ZIP."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from stammgast.bills.models import Bill
from stammgast.cards import services as card_services
from stammgast.customers import selectors as customer_selectors
from stammgast.customers.models import CustomerEvent
from stammgast.ledger.models import AccountEntry, CreditEntry, OpenItem
from stammgast.payments import selectors as payment_selectors
from stammgast.tenants.actor import Actor

from .models import Consent, ConsentEvent, ErasureRequest

# Apps above this one add what they keep of the person (the self-service account):
# name -> collect(customer) giving plain values.
_sections: dict[str, Callable[[Any], Any]] = {}


def add_section(name: str, collect: Callable[[Any], Any]) -> None:
    _sections[name] = collect


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _money(entry) -> dict:
    return {
        "at": entry.at.isoformat(),
        "kind": entry.kind,
        "amount_cents": entry.amount,
        "balance_after_cents": entry.balance_after,
        "currency": entry.currency,
        "by": entry.actor_label,
        "location": entry.location_code,
        "terminal": entry.terminal,
        "reason": entry.reason,
    }


def _consent(record) -> dict:
    text = record.legal_text
    return {
        "purpose": record.purpose,
        "granted": record.granted,
        "at": record.at.isoformat(),
        "channel": record.channel,
        "text": f"{text.kind} v{text.version}" if text else None,
    }


def person_data(*, actor: Actor, number: int) -> dict[str, Any]:
    """The person's data as plain values, section by section."""
    record = customer_selectors.customer_record(actor=actor, number=number)
    customer = customer_selectors.get_customer(actor=actor, number=number)
    record.pop("etag", None)
    history = [
        {
            "at": e.at.isoformat(),
            "what": e.action,
            "by": e.actor_label,
            "location": e.location_code,
            "changes": e.changes,
        }
        for e in CustomerEvent.objects.filter(customer=customer).order_by("at", "id")
    ]
    consents = [_consent(c) for c in Consent.objects.filter(customer=customer)]
    consent_log = [
        {**_consent(e), "by": e.actor_label, "note": e.note}
        for e in ConsentEvent.objects.filter(customer=customer).order_by("at", "id")
    ]
    credit = [
        _money(e) for e in CreditEntry.objects.filter(account__customer=customer).order_by("id")
    ]
    account = [
        {**_money(e), "method": e.method}
        for e in AccountEntry.objects.filter(account__customer=customer).order_by("id")
    ]
    open_items = [
        {
            "reference": i.reference,
            "amount_cents": i.amount,
            "open_cents": i.open_amount,
            "due_on": i.due_on.isoformat(),
            "settled_at": _plain(i.settled_at),
        }
        for i in OpenItem.objects.filter(account__customer=customer).order_by("id")
    ]
    bills = [
        {
            "number": b.number,
            "location": b.location.code,
            "terminal": b.terminal,
            "at": b.at.isoformat(),
            "total_cents": b.total,
            "currency": b.currency,
            "lines": b.lines,
            "payments": b.payments,
            "customer_as_on_the_bill": b.customer_snapshot,
        }
        for b in Bill.objects.filter(customer=customer).select_related("location").order_by("at")
    ]
    data: dict[str, Any] = {
        "created": timezone.now().isoformat(),
        "tenant": actor.tenant.name,
        "customer": {k: _plain(v) for k, v in record.items()},
        "memo": customer.memo,
        "comments": customer.comments,
        "third_party_memo": customer.third_party_memo,
        "history": history,
        "consents": consents,
        "consent_log": consent_log,
        "credit_entries": credit,
        "customer_account_entries": account,
        "open_items": open_items,
        "bills": bills,
        "cards": card_services.cards_of_customer(customer_id=customer.pk),
        "picture": customer.picture.name.rsplit("/", 1)[-1] if customer.picture else None,
        "online_top_ups": payment_selectors.top_ups_for_data_download(customer_id=customer.pk),
        "erasure_requests": [
            {
                "received_at": r.received_at.isoformat(),
                "state": r.state,
                "channel": r.channel,
                "confirmed_at": _plain(r.confirmed_at),
            }
            for r in ErasureRequest.objects.filter(customer=customer).order_by("id")
        ],
    }
    for name, collect in _sections.items():
        data[name] = collect(customer)
    return data


def person_archive(*, actor: Actor, number: int) -> tuple[bytes, str]:
    """(ZIP bytes, file name) of the person's data: data.json, data.html, the picture."""
    data = person_data(actor=actor, number=number)
    customer = customer_selectors.get_customer(actor=actor, number=number)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        archive.writestr("data.html", render_to_string("privacy/person.html", {"data": data}))
        if customer.picture:
            with customer.picture.open("rb") as picture:
                archive.writestr(f"pictures/{data['picture']}", picture.read())
    day = timezone.localdate().isoformat()
    return buffer.getvalue(), f"data-{number}-{day}.zip"
