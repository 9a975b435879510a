"""A posted bill: its lines, its payments, and the customer's data at that moment.

A bill is never changed after it is posted. A cancellation is a bill of its own that
reverses the first one and its money (`cancels`). The customer's data is copied into the
bill (`customer_snapshot`) so that it shows what was true when the guest paid, whatever
happens to the customer record later (erasure anonymises the copy too).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from stammgast.core.tenancy import TenantOwned


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("cash")
    CARD = "card", _("card")
    CREDIT = "credit", _("credit")
    ON_ACCOUNT = "on_account", _("on customer account")
    VOUCHER = "voucher", _("voucher")


class Bill(TenantOwned):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The till's own bill number, unique per location and terminal.
    number = models.CharField(_("bill number"), max_length=50)
    location = models.ForeignKey("tenants.Location", on_delete=models.PROTECT, related_name="+")
    terminal = models.CharField(_("terminal"), max_length=50)
    at = models.DateTimeField(_("time of the bill"))
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="bills"
    )
    customer_snapshot = models.JSONField(default=dict, blank=True)
    currency = models.CharField(max_length=3)
    total = models.BigIntegerField()  # cents; negative for a cancellation
    lines = models.JSONField(default=list)
    payments = models.JSONField(default=list)
    cancels = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="cancelled_by"
    )
    # What the content was, to tell a retry (same) from a reused bill number (different).
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_client = models.ForeignKey(
        "tenants.ApiClient", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(max_length=200)

    class Meta(TenantOwned.Meta):
        verbose_name = _("bill")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "location", "terminal", "number"], name="bill_number_unique"
            )
        ]
        indexes = [
            models.Index(fields=["customer", "-at", "-id"], name="bill_customer_idx"),
            models.Index(fields=["tenant", "-at"], name="bill_tenant_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.terminal})"
