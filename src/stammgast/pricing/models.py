"""Price levels of customer groups, subsidy rules, and the subsidies used.

stammgast does not own the article master: a till sends each line's prices per price
level. What it owns is which level a customer gets, the customer's discount, and the
subsidies a company canteen grants its guests (per group and item category, per day and
month), with a record of every subsidy used so that no allowance is used twice.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from stammgast.core.tenancy import TenantOwned


class GroupPricing(TenantOwned):
    """The price level the members of a customer group get."""

    group = models.OneToOneField(
        "customers.CustomerGroup", on_delete=models.CASCADE, related_name="pricing"
    )
    price_level = models.PositiveSmallIntegerField(_("price level"))

    class Meta(TenantOwned.Meta):
        verbose_name = _("price level of a customer group")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price_level__gte=1, price_level__lte=99),
                name="group_price_level_range",
            )
        ]


class SubsidyKind(models.TextChoices):
    FIXED = "fixed", _("fixed amount per meal")
    PERCENT = "percent", _("percent off per meal")


class SubsidyRule(TenantOwned):
    """A subsidy for the members of a group on items of some categories (e.g. the company
    pays 2.50 of every lunch, once a day, Monday to Friday)."""

    name = models.CharField(_("name"), max_length=100)
    group = models.ForeignKey(
        "customers.CustomerGroup", on_delete=models.PROTECT, related_name="subsidy_rules"
    )
    # Item categories the rule covers; empty: every category.
    categories = models.JSONField(_("item categories"), default=list, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=SubsidyKind.choices)
    # Cents for a fixed amount, whole percent (1-100) for a percentage.
    value = models.PositiveIntegerField(_("value"))
    times_per_day = models.PositiveSmallIntegerField(_("meals per day"), default=1)
    # 0 = Monday ... 6 = Sunday.
    weekdays = models.JSONField(_("weekdays"), default=list)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    # At most this much per customer and calendar month (cents); None: no cap.
    monthly_cap = models.PositiveIntegerField(_("monthly cap"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("subsidy rule")
        ordering = ["name", "pk"]


class SubsidyUse(TenantOwned):
    """Subsidy a posted bill used: `meals` meals of one line under one rule, on a day."""

    rule = models.ForeignKey(SubsidyRule, on_delete=models.PROTECT, related_name="uses")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="subsidy_uses"
    )
    day = models.DateField()
    meals = models.PositiveSmallIntegerField()
    amount = models.PositiveIntegerField()
    # The bills app sits above this one: the bill's id as a plain number.
    bill_id = models.BigIntegerField()
    # A cancelled bill gives its subsidies back; the use stays, for the record.
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("subsidy used")
        indexes = [
            models.Index(fields=["customer", "day"], name="subsidy_use_customer_day_idx"),
            models.Index(fields=["bill_id"], name="subsidy_use_bill_idx"),
        ]


class SubsidyAllowance(TenantOwned):
    """One row per customer that books subsidies: locked while a bill's subsidies are
    checked and recorded, so two tills cannot both use a customer's last allowance."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="subsidy_allowance"
    )


class PricingEvent(TenantOwned):
    """Who changed a price level or a subsidy rule, when, from what to what."""

    at = models.DateTimeField()
    actor_label = models.CharField(max_length=200)
    what = models.CharField(max_length=200)
    changes = models.JSONField(default=dict)

    class Meta(TenantOwned.Meta):
        ordering = ["-at", "-id"]
