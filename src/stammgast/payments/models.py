"""Top-ups of credit paid online: one row per attempt, from start to the provider's word.

A payment is credited by exactly one ledger entry. The constraints hold that even against
a bug in the services: a succeeded payment has its entry and nothing else has one, an
entry belongs to one payment only, and one provider transaction pays one payment.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from stammgast.core.tenancy import TenantOwned


class TopUpStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")
    EXPIRED = "expired", _("expired")


class TopUpChannel(models.TextChoices):
    SELF_SERVICE = "self_service", _("self-service")
    STAFF = "staff", _("staff")
    API = "api", _("API")


class TopUpPayment(TenantOwned):
    """A guest's (or a clerk's) online payment into a customer's credit."""

    # Public, unguessable: it is in the provider's URLs and callbacks.
    reference = models.CharField(max_length=40)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="top_up_payments"
    )
    amount = models.BigIntegerField()  # minor units (cents), > 0
    currency = models.CharField(max_length=3)
    provider = models.CharField(max_length=30)
    status = models.CharField(
        max_length=20, choices=TopUpStatus.choices, default=TopUpStatus.PENDING
    )
    channel = models.CharField(max_length=20, choices=TopUpChannel.choices)
    started_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_by_api_client = models.ForeignKey(
        "tenants.ApiClient", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_by_label = models.CharField(max_length=200)
    location = models.ForeignKey(
        "tenants.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    return_url = models.CharField(max_length=500)
    # Where the provider's own page for this payment is (the guest is sent there).
    redirect_url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    provider_transaction_id = models.CharField(max_length=100, blank=True)
    # What the provider said when it did not pay (declined, cancelled by the guest...).
    outcome_note = models.CharField(max_length=200, blank=True)
    ledger_entry = models.OneToOneField(
        "ledger.CreditEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="top_up_payment",
    )

    class Meta(TenantOwned.Meta):
        verbose_name = _("online top-up")
        verbose_name_plural = _("online top-ups")
        indexes = [
            models.Index(fields=["tenant", "status", "expires_at"], name="top_up_pending_idx"),
            models.Index(fields=["customer", "-id"], name="top_up_customer_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "reference"], name="top_up_reference_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="top_up_amount_positive"),
            # Credited if and only if succeeded: a second credit would need a second entry,
            # and there is room for one.
            models.CheckConstraint(
                condition=(
                    models.Q(status="succeeded", ledger_entry__isnull=False)
                    | (~models.Q(status="succeeded") & models.Q(ledger_entry__isnull=True))
                ),
                name="top_up_credited_iff_succeeded",
            ),
            # A provider's transaction pays one top-up, however often it is reported.
            models.UniqueConstraint(
                fields=["tenant", "provider", "provider_transaction_id"],
                condition=~models.Q(provider_transaction_id=""),
                name="top_up_transaction_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.reference
