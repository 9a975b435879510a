"""Prepaid credit and the customer account: balances and their append-only entries.

Money is integer cents. A balance is stored beside its entries only so that a payment can
check it under a row lock without summing; it is written in the same transaction as the
entry that changes it and always equals the sum of the entries (tests and the benchmark
check it). Entries are never changed or deleted: a mistake is corrected by a new entry.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from stammgast.core.tenancy import TenantOwned


class CreditAccount(TenantOwned):
    """A customer's prepaid credit (Guthaben)."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.PROTECT, related_name="credit_account"
    )
    currency = models.CharField(max_length=3)
    balance = models.BigIntegerField(default=0)
    # How far below zero this customer may pay (cents); None: what the groups allow.
    overdraft_limit = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("credit account")


class EntryKind(models.TextChoices):
    TOP_UP = "top_up", _("top-up")
    PAYMENT = "payment", _("payment")
    REFUND = "refund", _("refund")
    PAYOUT = "payout", _("pay-out")
    CORRECTION = "correction", _("correction")
    TRANSFER_IN = "transfer_in", _("transfer in")
    TRANSFER_OUT = "transfer_out", _("transfer out")


class MoneyEntry(TenantOwned):
    """Who, when, where and why of a movement; shared by both kinds of entry."""

    amount = models.BigIntegerField()  # signed: what the movement adds to the balance
    balance_after = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    at = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_client = models.ForeignKey(
        "tenants.ApiClient", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    location_code = models.CharField(max_length=30, blank=True)
    terminal = models.CharField(max_length=50, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    # The bill the movement belongs to (the bills app sits above this one: a plain id).
    bill_id = models.BigIntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)

    class Meta(TenantOwned.Meta):
        abstract = True


class CreditEntry(MoneyEntry):
    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=20, choices=EntryKind.choices)

    class Meta(TenantOwned.Meta):
        verbose_name = _("credit entry")
        indexes = [models.Index(fields=["account", "-id"], name="credit_entry_account_idx")]


class GroupOverdraft(TenantOwned):
    """How far below zero the members of a customer group may pay with credit."""

    group = models.OneToOneField(
        "customers.CustomerGroup", on_delete=models.CASCADE, related_name="overdraft"
    )
    limit = models.BigIntegerField()

    class Meta(TenantOwned.Meta):
        verbose_name = _("overdraft of a customer group")
        constraints = [
            models.CheckConstraint(condition=models.Q(limit__gte=0), name="overdraft_not_negative")
        ]


class CustomerAccount(TenantOwned):
    """What a customer owes for bills put on account (Kundenkonto)."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.PROTECT, related_name="customer_account"
    )
    currency = models.CharField(max_length=3)
    balance = models.BigIntegerField(default=0)  # owed: the sum of the entries
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("customer account")


class OpenItem(TenantOwned):
    """A bill (or part of one) put on account, until it is settled."""

    account = models.ForeignKey(CustomerAccount, on_delete=models.PROTECT, related_name="items")
    bill_id = models.BigIntegerField(null=True, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    amount = models.BigIntegerField()
    open_amount = models.BigIntegerField()
    created_at = models.DateTimeField()
    due_on = models.DateField()
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("open item")
        indexes = [models.Index(fields=["account", "due_on", "id"], name="open_item_account_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(open_amount__gte=0, open_amount__lte=models.F("amount")),
                name="open_item_amount_range",
            )
        ]


class AccountEntryKind(models.TextChoices):
    CHARGE = "charge", _("charge")
    SETTLEMENT = "settlement", _("settlement")
    CANCELLATION = "cancellation", _("cancellation")


class SettlementMethod(models.TextChoices):
    CASH = "cash", _("cash")
    CREDIT = "credit", _("from credit")
    CARD = "card", _("card")
    DIRECT_DEBIT = "direct_debit", _("direct debit")
    TRANSFER = "transfer", _("bank transfer")


class AccountEntry(MoneyEntry):
    account = models.ForeignKey(CustomerAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=20, choices=AccountEntryKind.choices)
    open_item = models.ForeignKey(OpenItem, on_delete=models.PROTECT, related_name="entries")
    method = models.CharField(max_length=20, choices=SettlementMethod.choices, blank=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("customer account entry")
        indexes = [models.Index(fields=["account", "-id"], name="account_entry_account_idx")]
