"""Price levels of customer groups, subsidy rules, the subsidies used, and their history.

stammgast does not own the article master: a till sends each line's prices per price
level. What it owns is which level a customer gets, the customer's discount (a field of
the customer), and the subsidies a company canteen grants its guests (per group and item
category, per day and month), with a record of every subsidy used so that no allowance
is used twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from stammgast.core.money import MAX_CENTS
from stammgast.core.tenancy import TenantOwned

MIN_LEVEL, MAX_LEVEL = 1, 99
MAX_TIMES_PER_DAY = 10


class GroupPricing(TenantOwned):
    """The price level the members of a customer group get (a group without one: none)."""

    group = models.OneToOneField(
        "customers.CustomerGroup", on_delete=models.CASCADE, related_name="pricing"
    )
    price_level = models.PositiveSmallIntegerField(_("price level"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("price level of a customer group")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price_level__gte=MIN_LEVEL, price_level__lte=MAX_LEVEL),
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
        "customers.CustomerGroup",
        on_delete=models.PROTECT,
        related_name="subsidy_rules",
        verbose_name=_("customer group"),
    )
    # Item categories the rule covers, as the tills send them; empty: every category.
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
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("subsidy rule")
        verbose_name_plural = _("subsidy rules")
        ordering = ["name", "pk"]
        constraints = [
            # A quote names the rule it applied: two active rules of one name would be
            # indistinguishable at the till.
            models.UniqueConstraint(
                fields=["tenant", "name"],
                condition=models.Q(active=True),
                name="subsidy_rule_active_name_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="percent", value__gte=1, value__lte=100)
                | models.Q(kind="fixed", value__gte=1, value__lte=MAX_CENTS),
                name="subsidy_rule_value_range",
            ),
            models.CheckConstraint(
                condition=models.Q(times_per_day__gte=1, times_per_day__lte=MAX_TIMES_PER_DAY),
                name="subsidy_rule_times_per_day_range",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_to__isnull=True)
                | models.Q(valid_to__gte=models.F("valid_from")),
                name="subsidy_rule_validity_order",
            ),
        ]
        indexes = [models.Index(fields=["group", "active"], name="subsidy_rule_group_idx")]

    def __str__(self) -> str:
        return self.name


class SubsidyUse(TenantOwned):
    """The subsidy one line of a posted bill used: `meals` meals under one rule, on a day.

    Never deleted: a cancelled bill marks its uses released (they count no more), so the
    record shows what was granted and what was given back.
    """

    rule = models.ForeignKey(SubsidyRule, on_delete=models.PROTECT, related_name="uses")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="subsidy_uses"
    )
    # The customer's local day of the bill (settings.TIME_ZONE).
    day = models.DateField()
    meals = models.PositiveSmallIntegerField()
    amount = models.PositiveIntegerField()  # cents
    # The bills app sits above this one: the bill's id as a plain number, and the index of
    # the line on the bill.
    bill_id = models.BigIntegerField()
    line = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=200, blank=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("subsidy used")
        verbose_name_plural = _("subsidies used")
        constraints = [
            # A bill's line uses a subsidy once, however often the booking is called.
            models.UniqueConstraint(
                fields=["tenant", "bill_id", "line"], name="subsidy_use_bill_line_unique"
            ),
            models.CheckConstraint(condition=models.Q(meals__gte=1), name="subsidy_use_meals"),
            models.CheckConstraint(condition=models.Q(amount__gte=1), name="subsidy_use_amount"),
        ]
        indexes = [
            models.Index(fields=["customer", "day"], name="subsidy_use_customer_day_idx"),
        ]


class SubsidyAllowance(TenantOwned):
    """One row per customer who has booked subsidies: locked (lock_objects.py) while a
    bill's subsidies are checked and recorded, so two tills posting at once for the same
    guest wait for each other and cannot both use the last allowance."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="subsidy_allowance"
    )

    class Meta(TenantOwned.Meta):
        verbose_name = _("subsidy allowance lock")


class PricingEvent(TenantOwned):
    """One entry of the pricing history: who changed a price level or a subsidy rule,
    when, where, and which fields from what to what."""

    class Action(models.TextChoices):
        RULE_CREATED = "rule_created", _("subsidy rule created")
        RULE_CHANGED = "rule_changed", _("subsidy rule changed")
        RULE_DEACTIVATED = "rule_deactivated", _("subsidy rule stopped")
        GROUP_LEVEL_SET = "group_level_set", _("price level of a group set")

    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=30, choices=Action.choices)
    rule = models.ForeignKey(
        SubsidyRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    group = models.ForeignKey(
        "customers.CustomerGroup",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The rule's or group's name as it was, so the entry stays readable.
    subject = models.CharField(max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_client = models.ForeignKey(
        "tenants.ApiClient", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    location_code = models.CharField(max_length=30, blank=True)
    # {"field": [old, new]}
    changes = models.JSONField(default=dict)

    class Meta(TenantOwned.Meta):
        verbose_name = _("pricing history entry")
        ordering = ["-at", "-id"]
