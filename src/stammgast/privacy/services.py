"""Consents and legal texts: recording, revoking, publishing; one function per use case."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError
from django.db.models import Max
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from stammgast.bills import services as bill_services
from stammgast.cards import services as card_services
from stammgast.core import db
from stammgast.core.errors import Conflict, DomainError, FieldErrors, NotFound
from stammgast.core.models import IdempotencyRecord
from stammgast.core.money import format_amount
from stammgast.core.tenancy import tenant_scope
from stammgast.core.text import without_invisible
from stammgast.customers import selectors as customer_selectors
from stammgast.customers import services as customer_services
from stammgast.exchange import services as exchange_services
from stammgast.ledger import selectors as ledger_selectors
from stammgast.ledger import services as ledger_services
from stammgast.payments import selectors as payment_selectors
from stammgast.tenants.actor import Actor

from . import selectors
from .models import (
    AccessKind,
    AccessLogEntry,
    Channel,
    Consent,
    ConsentEvent,
    ConsentPurpose,
    CreditAtErasure,
    ErasureRequest,
    LegalText,
    LegalTextKind,
    PrivacySettings,
    Purpose,
    text_kind_for,
)

NOTE_MAX = 200
LEGAL_TITLE_MAX = 200
LEGAL_BODY_MAX = 200_000
# Channels a caller may name; the rest are told by who acts.
STAFF_CHANNELS = {Channel.PORTAL, Channel.PAPER}
API_CHANNELS = {Channel.API, Channel.PAPER}


def _channel(actor: Actor, asked: str | None) -> str:
    own = actor.channel_name
    if own not in Channel.values:
        own = Channel.SYSTEM
    if not asked or asked == own:
        return own
    allowed = (
        API_CHANNELS if own == Channel.API else STAFF_CHANNELS if own == Channel.PORTAL else set()
    )
    if asked not in allowed:
        raise DomainError(
            "invalid_channel",
            _("The channel must be one of: %(c)s.") % {"c": ", ".join(sorted({own, *allowed}))},
            fields={"channel": _("Not allowed here.")},
            status=422,
        )
    return asked


def _legal_text(purpose: str, version: int | None) -> LegalText | None:
    kind = text_kind_for(purpose)
    if version is None:
        return selectors.current_legal_text(kind)
    found = LegalText.objects.filter(kind=kind, version=version).first()
    if found is None:
        raise DomainError(
            "unknown_text_version",
            _("There is no version %(v)s of the %(kind)s.")
            % {"v": version, "kind": LegalTextKind(kind).label},
            fields={"text_version": _("Unknown version.")},
            status=422,
        )
    return found


def _check_purpose(purpose: str) -> None:
    if purpose not in selectors.purpose_keys():
        raise DomainError(
            "unknown_purpose",
            _("There is no consent purpose %(p)s.") % {"p": purpose[:50]},
            fields={
                "purpose": _("Choose one of: %(p)s.") % {"p": ", ".join(selectors.purpose_keys())}
            },
            status=422,
        )


@db.atomic
def record_consent(
    *,
    actor: Actor,
    number: int,
    purpose: str,
    granted: bool,
    text_version: int | None = None,
    channel: str | None = None,
    note: str = "",
) -> Consent:
    """Grant or revoke one consent of a customer, under the given (or current) version of
    the text it refers to. Recording the state a consent already has changes nothing."""
    actor.require("customers.change", _("You may not change customers."))
    _check_purpose(purpose)
    if not isinstance(note, str):
        raise DomainError(
            "invalid",
            _("Some fields are not valid."),
            fields={"note": _("Enter text.")},
            status=422,
        )
    note = without_invisible(note).strip()
    if len(note) > NOTE_MAX:
        raise DomainError(
            "invalid",
            _("Some fields are not valid."),
            fields={"note": _("At most %(max)d characters.") % {"max": NOTE_MAX}},
            status=422,
        )
    channel = _channel(actor, channel)
    text = _legal_text(purpose, text_version)
    customer = (
        customer_selectors.visible_customers(actor)
        .select_for_update()
        .filter(number=number)
        .first()
    )
    if customer is None:
        raise NotFound(_("There is no customer %(n)s.") % {"n": number})
    current = Consent.objects.filter(customer=customer, purpose=purpose).first()
    if (
        current is not None
        and current.granted == granted
        and current.legal_text_id == (text.pk if text else None)
    ):
        return current
    # A refusal of a consent never given is logged all the same: the log shows the no.
    now = timezone.now()
    _write(
        [(customer.pk, granted)],
        purpose=purpose,
        actor=actor,
        channel=channel,
        text=text,
        note=note,
        at=now,
    )
    if purpose == Purpose.NEWSLETTER and customer.newsletter != granted:
        # The customer's newsletter column follows the consent (lists, export, filters);
        # the hook below sees the consent already in this state and writes nothing more.
        customer_services.update_customer(actor=actor, number=number, data={"newsletter": granted})
    return Consent.objects.get(customer=customer, purpose=purpose)


def _write(
    changes: Sequence[tuple[int, bool]],
    *,
    purpose: str,
    actor: Actor,
    channel: str,
    text: LegalText | None,
    at,
    note: str = "",
) -> None:
    """Log entries and the new state for (customer id, granted) pairs, in bulk."""
    common = {
        "tenant_id": actor.tenant.pk,
        "purpose": purpose,
        "at": at,
        "channel": channel,
        "legal_text": text,
    }
    ConsentEvent.objects.bulk_create(
        [
            ConsentEvent(
                customer_id=customer_id,
                granted=granted,
                user=actor.user,
                api_client=actor.api_client,
                actor_label=actor.label[:200],
                note=note,
                **common,
            )
            for customer_id, granted in changes
        ],
        batch_size=1000,
    )
    Consent.objects.bulk_create(
        [Consent(customer_id=cid, granted=granted, **common) for cid, granted in changes],
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["customer", "purpose"],
        update_fields=["granted", "at", "channel", "legal_text"],
    )


def keep_newsletter_consent(*, ctx, applied) -> None:
    """Hook of the customer services: a newsletter flag set or cleared through the API, a
    form or an import is a consent given or revoked through that channel, and is logged."""
    wanted = {
        customer_id: plan.row["newsletter"]
        for plan, customer_id in applied
        if "newsletter" in plan.row
        and (plan.action == "update" or ("newsletter" in plan.given and plan.row["newsletter"]))
    }
    if not wanted:
        return
    known = dict(
        Consent.objects.filter(
            customer_id__in=list(wanted), purpose=Purpose.NEWSLETTER
        ).values_list("customer_id", "granted")
    )
    changes = [
        (cid, granted)
        for cid, granted in wanted.items()
        if known.get(cid, False) != granted or (cid not in known and granted)
    ]
    if changes:
        channel = _channel(ctx.actor, None)
        _write(
            changes,
            purpose=Purpose.NEWSLETTER,
            actor=ctx.actor,
            channel=channel,
            text=selectors.current_legal_text(LegalTextKind.PRIVACY),
            at=ctx.now,
        )


@db.atomic
def publish_legal_text(*, actor: Actor, kind: str, title: str, body: str) -> LegalText:
    """Publish a new version of the privacy policy or the terms; guests accept it at their
    next login. Published versions are never changed."""
    actor.require("tenant.manage", _("Only a tenant administrator may publish legal texts."))
    errors = FieldErrors()
    if kind not in LegalTextKind.values:
        errors.add("kind", _("Choose one of: %(k)s.") % {"k": ", ".join(LegalTextKind.values)})
    title = without_invisible(title or "").strip()
    body = (body or "").replace("\r\n", "\n").strip()
    if not title:
        errors.add("title", _("This field is required."))
    elif len(title) > LEGAL_TITLE_MAX:
        errors.add("title", _("At most %(max)d characters.") % {"max": LEGAL_TITLE_MAX})
    if not body:
        errors.add("body", _("This field is required."))
    elif len(body) > LEGAL_BODY_MAX:
        errors.add("body", _("At most %(max)d characters.") % {"max": LEGAL_BODY_MAX})
    errors.raise_if_any("invalid", _("Some fields are not valid."))
    last = LegalText.objects.filter(kind=kind).aggregate(v=Max("version"))["v"] or 0
    latest = LegalText.objects.filter(kind=kind, version=last).first()
    if latest is not None and latest.title == title and latest.body == body:
        return latest
    try:
        with db.atomic():
            return LegalText.objects.create(
                kind=kind,
                version=last + 1,
                title=title,
                body=body,
                published_at=timezone.now(),
                published_by=actor.label[:200],
            )
    except IntegrityError:
        # Two publishers at once: the version numbers stay without gaps or doubles.
        raise Conflict(
            "published_meanwhile",
            _("Someone published a version meanwhile; reload and try again."),
        ) from None


@db.atomic
def define_consent_purpose(
    *, actor: Actor, key: str, label: str, description: str = ""
) -> ConsentPurpose:
    """Add a purpose of the tenant's own (e.g. "birthday mail"), or rename one."""
    actor.require("tenant.manage", _("Only a tenant administrator may define consents."))
    errors = FieldErrors()
    key = (key or "").strip().lower()
    label = without_invisible(label or "").strip()
    description = without_invisible(description or "").strip()
    if not key or len(key) > 50 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in key):
        errors.add("key", _("Letters, digits, - and _ only; at most 50."))
    elif key in Purpose.values:
        errors.add("key", _("This purpose exists already."))
    if not label or len(label) > 100:
        errors.add("label", _("Required, at most 100 characters."))
    if len(description) > 500:
        errors.add("description", _("At most %(max)d characters.") % {"max": 500})
    errors.raise_if_any("invalid", _("Some fields are not valid."))
    purpose, _created = ConsentPurpose.objects.update_or_create(
        key=key, defaults={"label": label, "description": description}
    )
    return purpose


# --- erasure (Art. 17) -----------------------------------------------------------------

# Apps above this one (the self-service area) remove what they keep of the person:
# hook(customer=...) runs in the erasure's transaction.
_erasure_hooks: list[Callable[..., None]] = []


def on_erasure(hook: Callable[..., None]) -> None:
    if hook not in _erasure_hooks:
        _erasure_hooks.append(hook)


@dataclass(frozen=True)
class ErasurePreview:
    """What an erasure will do with the money, shown before it is confirmed."""

    number: int
    balance: int
    currency: str
    owed: int
    disposition: str
    top_ups_pending: int = 0

    @property
    def debt(self) -> int:
        """Owed on the customer account, and credit used beyond zero (an overdraft)."""
        return self.owed + max(-self.balance, 0)

    @property
    def blocked_by_debt(self) -> bool:
        return self.debt > 0

    @property
    def credit_to_pay_out(self) -> int:
        """Credit that must be paid out (at a till, or transferred) before the erasure:
        once the name and bank details are gone, nobody could be paid."""
        if self.disposition == CreditAtErasure.PAY_OUT and self.balance > 0:
            return self.balance
        return 0

    @property
    def can_erase(self) -> bool:
        return not self.debt and not self.credit_to_pay_out and not self.top_ups_pending


def erasure_preview(*, actor: Actor, number: int) -> ErasurePreview:
    credit = ledger_selectors.credit_summary(actor=actor, customer_number=number)
    account = ledger_selectors.account_summary(actor=actor, customer_number=number, limit=1)
    pending = payment_selectors.pending_top_ups(customer_id=credit.customer.pk)
    return ErasurePreview(
        number=number,
        balance=credit.balance,
        currency=credit.currency,
        owed=account.balance,
        disposition=selectors.privacy_settings().credit_at_erasure,
        top_ups_pending=pending,
    )


def _refuse_unless_erasable(preview: ErasurePreview) -> None:
    if preview.debt:
        raise DomainError(
            "open_items",
            _("The customer owes %(amount)s %(currency)s; settle it first.")
            % {"amount": format_amount(preview.debt), "currency": preview.currency},
            status=409,
        )
    if preview.credit_to_pay_out:
        raise DomainError(
            "credit_left",
            _("%(amount)s %(currency)s of credit are left; pay them out first.")
            % {"amount": format_amount(preview.credit_to_pay_out), "currency": preview.currency},
            status=409,
        )
    if preview.top_ups_pending:
        raise DomainError(
            "top_up_pending",
            _("An online top-up is being paid; try again once it is done (within 30 minutes)."),
            status=409,
        )


@db.atomic
def receive_erasure_request(*, actor: Actor, number: int, received_how: str = "") -> ErasureRequest:
    """Record that a person asked for their data to be erased (the guest online, or staff
    for a request in person or by letter); one open request per customer. Staff confirm
    the person's identity when they record it; a guest confirms by the e-mailed link."""
    actor.require("customers.erase", _("You may not erase customers' data."))
    customer = customer_services.lock_customer_for_bill(actor=actor, number=number)
    received_how = without_invisible(received_how or "").strip()[:200]
    open_request = ErasureRequest.objects.filter(
        customer=customer, state=ErasureRequest.State.RECEIVED
    ).first()
    if open_request is not None:
        return open_request
    now = timezone.now()
    channel = _channel(actor, None)
    return ErasureRequest.objects.create(
        customer=customer,
        customer_number=number,
        channel=channel,
        received_how=received_how,
        received_at=now,
        confirmed_at=None if actor.guest else now,
        requested_by=actor.label[:200],
    )


def _traces(customer, extra: list[str]) -> list[str]:
    """What identifies the person in a file or a logged search."""
    values = [
        customer.email,
        customer.iban,
        customer.phone_private,
        customer.phone_business,
        customer.mobile,
        customer.phone_private_e164,
        customer.phone_business_e164,
        customer.mobile_e164,
        customer.street,
        customer.last_name,
        customer.first_name,
        customer.company_name,
        customer.alias,
        *extra,
    ]
    return sorted({v for v in values if v and len(v) >= 3})


@db.atomic
def complete_erasure(*, actor: Actor, request_id: int) -> ErasureRequest:
    """Erase the person's data everywhere: the customer record and its history, pictures,
    consent details, the bills' copies, the self-service account, import and export files
    and logged searches naming them. Money first: debt must be settled, credit paid out
    (or, by the tenant's rule, forfeited), no online top-up in flight. The customer number
    stays taken for good."""
    actor.require("customers.erase", _("You may not erase customers' data."))
    request = ErasureRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise NotFound(_("There is no such erasure request."))
    if request.state == ErasureRequest.State.COMPLETED:
        raise Conflict(
            "already_erased",
            _("This erasure was done already on %(day)s.")
            % {"day": formats.date_format(timezone.localtime(request.completed_at))},
        )
    if request.state != ErasureRequest.State.RECEIVED:
        raise Conflict("request_withdrawn", _("This erasure request was withdrawn."))
    if request.confirmed_at is None:
        raise Conflict(
            "not_confirmed",
            _("The guest has not confirmed this request by the e-mailed link yet."),
        )
    number = request.customer_number
    # The customer's row first (the lock order of every customer write), then the credit
    # account: no till moves money between the check and the erasure.
    customer = customer_services.lock_customer_for_bill(actor=actor, number=number)
    ledger_services.credit_balance_locked(actor=actor, customer=customer)
    preview = erasure_preview(actor=actor, number=number)
    _refuse_unless_erasable(preview)
    forfeited = ledger_services.forfeit_credit_at_erasure(
        actor=Actor.system(actor.tenant), customer=customer, reason=_("forfeited at erasure")
    )
    extra: list[str] = []
    for hook in _erasure_hooks:
        extra += hook(customer=customer) or []
    traces = _traces(customer, extra)
    now = timezone.now()
    # The consents keep their facts; what was granted is revoked with the erasure.
    granted = list(
        Consent.objects.filter(customer=customer, granted=True).values_list("purpose", flat=True)
    )
    for purpose in granted:
        _write(
            [(customer.pk, False)],
            purpose=purpose,
            actor=actor,
            channel=_channel(actor, None),
            text=None,
            at=now,
        )
    ConsentEvent.objects.filter(customer=customer).exclude(note="").update(note="")
    customer_services.erase_customer_data(actor=actor, number=number)
    bill_services.anonymise_bills_of_erased_customer(customer_id=customer.pk, number=number)
    card_services.block_cards_of_erased_customer(customer_id=customer.pk)
    # The retries' fingerprints hash the person's data; they are of no use any more.
    IdempotencyRecord.objects.filter(operation="customers.create", result=customer.pk).delete()
    for trace in traces:
        AccessLogEntry.objects.filter(
            kind__in=[AccessKind.LIST, AccessKind.EXPORT], what__icontains=trace
        ).update(what=_("(a search for an erased person)"))
    request.state = ErasureRequest.State.COMPLETED
    request.completed_at = now
    request.completed_by = actor.label[:200]
    request.credit_booked_out = forfeited
    request.credit_disposition = CreditAtErasure.FORFEIT if forfeited else ""
    request.save()
    tenant = actor.tenant

    def purge_files() -> None:
        with tenant_scope(tenant):
            exchange_services.purge_files_mentioning(needles=traces)
            db.flush_deleted_data()

    # Files are not part of the transaction: removed once the erasure is committed.
    db.on_commit(purge_files)
    return request


@db.atomic
def update_privacy_settings(
    *, actor: Actor, credit_at_erasure: str, bill_retention_years: int
) -> PrivacySettings:
    actor.require("tenant.manage", _("Only a tenant administrator may change this."))
    errors = FieldErrors()
    if credit_at_erasure not in CreditAtErasure.values:
        errors.add("credit_at_erasure", _("Choose from the list."))
    if not isinstance(bill_retention_years, int) or not 1 <= bill_retention_years <= 30:
        errors.add("bill_retention_years", _("Enter a whole number from 1 to 30."))
    errors.raise_if_any("invalid", _("Some fields are not valid."))
    found, _created = PrivacySettings.objects.update_or_create(
        tenant=actor.tenant,
        defaults={
            "credit_at_erasure": credit_at_erasure,
            "bill_retention_years": bill_retention_years,
        },
    )
    return found


def write_access_log(entries: list[dict]) -> None:
    """Store reads noted by core.access, each in its tenant's database."""
    by_tenant: dict[int, list[dict]] = {}
    for entry in entries:
        by_tenant.setdefault(entry["tenant"].pk, []).append(entry)
    for rows in by_tenant.values():
        with tenant_scope(rows[0]["tenant"]):
            AccessLogEntry.objects.bulk_create([AccessLogEntry(**row) for row in rows])


DEMO_PRIVACY_POLICY = """We keep what you tell us (name, contact, address if you give it), your \
credit and bills, and the consents you give, to serve you at our locations and in the \
guest area. You may see, download, correct and delete your data at any time in the guest \
area, and revoke every consent there.

This is the demo's sample text; publish your own in the portal under Privacy."""


def publish_demo_texts(sender=None, *, tenant, **kwargs) -> str:
    """The demo tenant's sample privacy policy (once), so that its guest area opens."""
    if LegalText.objects.filter(kind=LegalTextKind.PRIVACY).exists():
        return ""
    publish_legal_text(
        actor=Actor.system(tenant),
        kind=LegalTextKind.PRIVACY,
        title="Datenschutzerklärung (Beispiel)",
        body=DEMO_PRIVACY_POLICY,
    )
    return f"Guest area: http://127.0.0.1:8000/me/{tenant.slug}/register/"
