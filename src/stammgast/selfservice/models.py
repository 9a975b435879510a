"""Guests' own accounts in the self-service area, their one-time links, throttles, and how
a tenant sets the area up."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from stammgast.core.tenancy import TenantOwned


class FieldUse(models.TextChoices):
    HIDDEN = "hidden", _("hidden")
    OPTIONAL = "optional", _("optional")
    REQUIRED = "required", _("required")


class SelfServiceSettings(TenantOwned):
    """How a tenant's self-service area looks and what its data form asks."""

    enabled = models.BooleanField(_("self-service area open"), default=True)
    colour = models.CharField(_("colour"), max_length=7, default="#1f5f8b")
    logo = models.ImageField(_("logo"), upload_to="selfservice/", blank=True)
    # {customer field: "hidden" | "optional" | "required"}; fields not named use
    # selfservice.fields.DEFAULT_USE.
    fields = models.JSONField(default=dict, blank=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("self-service settings")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="selfservice_one_per_tenant")
        ]


class GuestAccount(TenantOwned):
    """A guest's log-in to the self-service area of one tenant."""

    # Lower case; unique per tenant (the same person may be a guest of two tenants).
    email = models.CharField(_("e-mail"), max_length=254)
    password = models.CharField(max_length=200)
    customer = models.OneToOneField(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="guest_account",
    )
    # Inactive until the address is confirmed by the link sent to it.
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_login = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=5, default="de")
    # What the guest accepted at registration (text versions, newsletter), recorded as
    # consents once their customer record exists; empty after.
    accepted = models.JSONField(default=dict, blank=True)
    favourite_locations = models.ManyToManyField(
        "tenants.Location", blank=True, related_name="+", verbose_name=_("favourite locations")
    )

    class Meta(TenantOwned.Meta):
        verbose_name = _("guest account")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "email"], name="guest_account_email_unique")
        ]

    def __str__(self) -> str:
        return self.email


class LinkPurpose(models.TextChoices):
    CONFIRM = "confirm", _("confirm the registration")
    RESET = "reset", _("reset the password")
    EMAIL = "email", _("confirm a new e-mail address")
    ERASE = "erase", _("confirm the deletion")


class GuestLink(TenantOwned):
    """A one-time link e-mailed to a guest; only its digest is kept."""

    account = models.ForeignKey(GuestAccount, on_delete=models.CASCADE, related_name="links")
    purpose = models.CharField(max_length=10, choices=LinkPurpose.choices)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # The new address of an e-mail change.
    new_email = models.CharField(max_length=254, blank=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("one-time link")
        indexes = [models.Index(fields=["account", "purpose"], name="guest_link_account_idx")]


class GuestThrottle(TenantOwned):
    """Failed attempts against one account or from one address, counted in the database
    so that every server process sees them."""

    key = models.CharField(max_length=300)
    failures = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="guest_throttle_key_unique")
        ]
