"""Tenant, location, staff membership and API client."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from stammgast.core.tenancy import TenantOwned

MAX_CUSTOMER_NUMBER = 9_999_999


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    INVOICE = "invoice", _("Invoice")
    DIRECT_DEBIT = "direct_debit", _("Direct debit")
    CUSTOMER_ACCOUNT = "customer_account", _("Customer account")
    CARD = "card", _("Card")


class Tenant(models.Model):
    """One central customer group: all its locations share one customer base."""

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    # The highest number handed out by the tenant-wide counter (outside location ranges).
    number_counter = models.PositiveIntegerField(default=0)

    # Defaults for new customers, applied on every creation path (the default group is
    # the customers app's: CustomerGroup.is_default).
    default_price_level = models.PositiveSmallIntegerField(_("default price level"), default=1)
    default_payment_method = models.CharField(
        _("default method of payment"), max_length=20, choices=PaymentMethod.choices, default="cash"
    )
    default_payment_term_days = models.PositiveSmallIntegerField(
        _("default term of payment (days)"), default=0
    )
    default_newsletter = models.BooleanField(_("newsletter by default"), default=False)
    default_country = models.CharField(_("default country"), max_length=2, default="DE")
    # Money of the tenant's customers (credit, accounts, bills) is kept in this currency.
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    # Staff without a second factor are sent to set one up before anything else.
    two_factor_required = models.BooleanField(_("two-factor login mandatory"), default=False)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")

    def __str__(self) -> str:
        return self.name


class Location(TenantOwned):
    """A restaurant, shop or canteen of a tenant, with an optional own number range."""

    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=200)
    number_from = models.PositiveIntegerField(_("number range from"), null=True, blank=True)
    number_to = models.PositiveIntegerField(_("number range to"), null=True, blank=True)
    number_counter = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="location_code_unique"),
            models.CheckConstraint(
                condition=models.Q(number_from__isnull=True, number_to__isnull=True)
                | models.Q(
                    number_from__gte=1,
                    number_to__gte=models.F("number_from"),
                    number_to__lte=MAX_CUSTOMER_NUMBER,
                ),
                name="location_number_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def has_number_range(self) -> bool:
        return self.number_from is not None


class Role(models.TextChoices):
    TENANT_ADMIN = "tenant_admin", _("Tenant administrator")
    LOCATION_MANAGER = "location_manager", _("Location manager")
    CASHIER = "cashier", _("Cashier")
    READ_ONLY = "read_only", _("Read only")


class Membership(TenantOwned):
    """A staff user's role in a tenant, for the whole tenant or one location."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta(TenantOwned.Meta):
        verbose_name = _("staff membership")
        constraints = [
            models.UniqueConstraint(fields=["user", "location"], name="membership_unique"),
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(location__isnull=True),
                name="membership_tenant_wide_unique",
            ),
        ]


class TenantEvent(TenantOwned):
    """One entry of the tenant's own history: who changed a setting of the tenant or the
    security of a staff log-in, when, where, and what from what to what."""

    class Action(models.TextChoices):
        SETTING_CHANGED = "setting_changed", _("tenant setting changed")
        TWO_FACTOR_ENABLED = "two_factor_enabled", _("two-factor login set up")
        TWO_FACTOR_DISABLED = "two_factor_disabled", _("two-factor login turned off")
        RECOVERY_CODES_RENEWED = "recovery_codes_renewed", _("new recovery codes made")

    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=30, choices=Action.choices)
    # The setting's name, or the username whose log-in changed, as it was.
    subject = models.CharField(max_length=150)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    location_code = models.CharField(max_length=30, blank=True)
    # {"field": [old, new]}
    changes = models.JSONField(default=dict)

    class Meta(TenantOwned.Meta):
        verbose_name = _("tenant history entry")
        ordering = ["-at", "-id"]


class Scope(models.TextChoices):
    POS = "pos", _("POS")
    WEBSHOP = "webshop", _("Web shop")
    THIRDPARTY = "thirdparty", _("Third-party system")
    READONLY = "readonly", _("Read only")
    EXCHANGE = "exchange", _("Import and export")


class ApiClient(TenantOwned):
    """A till, web shop or third-party system calling the API with a bearer key."""

    name = models.CharField(_("name"), max_length=200)
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="api_clients"
    )
    scopes = models.JSONField(default=list)
    # The key is 32 random bytes; only its prefix (for lookup) and SHA-256 are kept.
    key_prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("API client")

    def __str__(self) -> str:
        return self.name

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


# --- The tenant directory (on the directory database, "default"; docs/scaling.md) -------


class Cluster(models.Model):
    """A PostgreSQL cluster that holds tenants; its number gives its rows' id space."""

    alias = models.CharField(max_length=30, unique=True)
    # Row ids made on cluster n start at n * ID_SPACE, so a tenant's rows keep their ids
    # when the tenant moves to another cluster.
    number = models.PositiveIntegerField(unique=True)

    ID_SPACE = 2**40
    SMALL_ID_SPACE = 2**24  # integer keys (Django's own users)

    def __str__(self) -> str:
        return self.alias


class TenantHome(models.Model):
    """Where a tenant lives. Its id is the tenant's id on the home cluster."""

    class State(models.TextChoices):
        ACTIVE = "active", _("active")
        MOVING = "moving", _("moving (read-only)")

    slug = models.SlugField(max_length=50, unique=True)
    cluster = models.CharField(max_length=30)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    moving_to = models.CharField(max_length=30, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.slug} @ {self.cluster}"


class DirectoryName(models.Model):
    """A name a request carries before it knows its tenant: an API key's prefix, a staff
    user's username."""

    class Kind(models.TextChoices):
        API_KEY = "api_key"
        STAFF_USER = "staff_user"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=150)
    home = models.ForeignKey(TenantHome, on_delete=models.CASCADE, related_name="names")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="directory_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"
