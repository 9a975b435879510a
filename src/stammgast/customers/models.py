"""Customer, customer group, tag, feature definition and the customer's history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from stammgast.core.collation import COLLATION
from stammgast.core.http import entity_tag
from stammgast.core.tenancy import TenantOwned
from stammgast.tenants.models import PaymentMethod, Role

MEMO_MAX = 200
THIRD_PARTY_MEMO_MAX = 1_000_000


class CustomerKind(models.TextChoices):
    PRIVATE = "private", _("Private")
    BUSINESS = "business", _("Business")


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    DIVERSE = "diverse", _("Diverse")


class CustomerGroup(TenantOwned):
    """A group of customers; later carries price level, subsidies and overdraft rules."""

    name = models.CharField(_("name"), max_length=100)
    # The group every new customer joins unless told otherwise; at most one per tenant.
    is_default = models.BooleanField(_("default group for new customers"), default=False)

    class Meta(TenantOwned.Meta):
        verbose_name = _("customer group")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="group_name_unique"),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(is_default=True),
                name="group_one_default_per_tenant",
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(TenantOwned):
    """An item property a guest likes (ItemTAG), e.g. "vegan", "espresso"."""

    name = models.CharField(_("name"), max_length=100)

    class Meta(TenantOwned.Meta):
        verbose_name = _("tag")
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="tag_name_unique")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FeatureType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Whole number")
    BOOLEAN = "boolean", _("Yes/no")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")


class FeatureDefinition(TenantOwned):
    """A tenant-defined extra field ("feature") every customer of the tenant may carry."""

    key = models.SlugField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(
        _("type"), max_length=10, choices=FeatureType.choices, default=FeatureType.TEXT
    )
    choices = models.JSONField(default=list, blank=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("feature")
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="feature_key_unique")]
        ordering = ["key"]

    def __str__(self) -> str:
        return self.label


def display_name(
    *, kind: str, first_name: str, last_name: str, company_name: str, alias: str
) -> str:
    """How a customer is named in lists and at the till."""
    person = " ".join(p for p in (first_name, last_name) if p)
    if kind == CustomerKind.BUSINESS and company_name:
        return f"{company_name} ({person})" if person else company_name
    return person or company_name or alias


def sort_name(*, kind: str, first_name: str, last_name: str, company_name: str, alias: str) -> str:
    """What a list sorted by name sorts a customer by: a business by its company, a person
    by name, then first name."""
    if kind == CustomerKind.BUSINESS and company_name:
        return company_name
    return " ".join(p for p in (last_name, first_name) if p) or company_name or alias


class Customer(TenantOwned):
    """One guest or business customer of a tenant, shared by all its locations."""

    number = models.PositiveIntegerField(_("customer number"))
    kind = models.CharField(
        _("type"), max_length=10, choices=CustomerKind.choices, default=CustomerKind.PRIVATE
    )

    title = models.CharField(_("title"), max_length=50, blank=True)
    # Names sort in German order on both databases (core.collation).
    first_name = models.CharField(
        _("first name"), max_length=100, blank=True, db_collation=COLLATION
    )
    last_name = models.CharField(_("name"), max_length=100, blank=True, db_collation=COLLATION)
    company_name = models.CharField(
        _("company"), max_length=200, blank=True, db_collation=COLLATION
    )
    # What the list sorts "by name": the company for a business, "name first name" for a
    # person; kept in step by the services (sort_name above).
    sort_name = models.CharField(max_length=201, blank=True, default="", db_collation=COLLATION)
    vat_id = models.CharField(_("VAT ID"), max_length=20, blank=True)
    alias = models.CharField(_("alias"), max_length=100, blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)

    street = models.CharField(_("street/no."), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    city = models.CharField(_("place"), max_length=100, blank=True)
    care_of = models.CharField(_("c/o"), max_length=100, blank=True)
    po_box = models.CharField(_("PO box"), max_length=50, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)

    phone_private = models.CharField(_("telephone private"), max_length=40, blank=True)
    phone_business = models.CharField(_("telephone business"), max_length=40, blank=True)
    mobile = models.CharField(_("mobile phone"), max_length=40, blank=True)
    fax = models.CharField(_("fax"), max_length=40, blank=True)
    # E.164 forms for caller-ID lookup ("+4930123456"), kept in step by the services; NULL
    # where there is no number. Not "": most customers lack one or two of these numbers, and
    # a column that is mostly one value makes PostgreSQL plan a prepared lookup as if every
    # customer had the number looked for (docs/architecture.md).
    phone_private_e164 = models.CharField(max_length=20, null=True, blank=True)
    phone_business_e164 = models.CharField(max_length=20, null=True, blank=True)
    mobile_e164 = models.CharField(max_length=20, null=True, blank=True)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    homepage = models.CharField(_("homepage"), max_length=200, blank=True)

    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    institute = models.CharField(_("institute"), max_length=100, blank=True)
    discount = models.PositiveSmallIntegerField(_("discount (%)"), default=0)
    price_level = models.PositiveSmallIntegerField(_("price level"), default=1)
    loss_reason = models.CharField(_("reason for loss"), max_length=200, blank=True)
    payment_method = models.CharField(
        _("method of payment"),
        max_length=20,
        choices=PaymentMethod.choices,
        default=PaymentMethod.CASH,
    )
    payment_term_days = models.PositiveSmallIntegerField(_("term of payment (days)"), default=0)
    groups = models.ManyToManyField(
        CustomerGroup, blank=True, related_name="customers", verbose_name=_("customer groups")
    )

    favourite = models.BooleanField(_("favourite"), default=False)
    blocked = models.BooleanField(_("locked customer"), default=False)
    lock_text = models.CharField(_("lock text"), max_length=200, blank=True)
    # The role whose rank a block has (tenants.actor.BLOCK_RANKS): only that rank or a
    # higher one lifts it. Empty when not blocked, and for blocks set before ranks existed.
    blocked_by_role = models.CharField(
        _("blocked by"), max_length=20, choices=Role.choices, blank=True, default=""
    )
    newsletter = models.BooleanField(_("newsletter"), default=False)
    invoices_by_email = models.BooleanField(_("invoices by e-mail"), default=False)

    memo = models.CharField(_("memo"), max_length=MEMO_MAX, blank=True)
    third_party_memo = models.TextField(_("third-party memo"), blank=True)
    comments = models.TextField(_("comments"), blank=True)
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="customers", verbose_name=_("tags / preferences")
    )
    features = models.JSONField(_("features"), default=dict, blank=True)
    picture = models.ImageField(_("picture"), upload_to="pictures/%Y/%m/", blank=True)

    # Empty means every location of the tenant may serve the customer.
    allowed_locations = models.ManyToManyField(
        "tenants.Location",
        blank=True,
        related_name="restricted_customers",
        verbose_name=_("restricted to locations"),
    )
    location_restricted = models.BooleanField(default=False)

    # Case- and accent-folded text of the searchable fields (see core.text.search_form).
    search_text = models.TextField(blank=True, default="")
    # Written with the history entry in the same transaction; a copy kept for sorting,
    # filtering and export without reading the history.
    created_at = models.DateTimeField(_("customer created"))
    updated_at = models.DateTimeField(_("customer last changed"))
    created_location = models.ForeignKey(
        "tenants.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Bumped on every change; the API's ETag.
    version = models.PositiveIntegerField(default=1)
    # Set when the person's data was erased (Art. 17 DSGVO): the row stays as a tombstone
    # that keeps the number from being given again and holds the bills' foreign keys;
    # no list, lookup or API sees it.
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="customer_number_unique"),
            models.CheckConstraint(
                condition=models.Q(number__gte=1, number__lte=9_999_999),
                name="customer_number_range",
            ),
            models.CheckConstraint(
                condition=models.Q(discount__lte=100), name="customer_discount_percent"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "email"], name="customer_email_idx"),
            # Only customers with the number: a lookup never asks for a missing one.
            models.Index(
                fields=["tenant", "phone_private_e164"],
                name="customer_phone_priv_idx",
                condition=models.Q(phone_private_e164__isnull=False),
            ),
            models.Index(
                fields=["tenant", "phone_business_e164"],
                name="customer_phone_bus_idx",
                condition=models.Q(phone_business_e164__isnull=False),
            ),
            models.Index(
                fields=["tenant", "mobile_e164"],
                name="customer_mobile_idx",
                condition=models.Q(mobile_e164__isnull=False),
            ),
            models.Index(fields=["tenant", "created_at"], name="customer_created_idx"),
            models.Index(fields=["tenant", "updated_at"], name="customer_updated_idx"),
            models.Index(fields=["tenant", "last_name", "number"], name="customer_name_idx"),
            # Serves the list sorted by name, in the column's German collation.
            models.Index(fields=["tenant", "sort_name", "number"], name="customer_sort_name_idx"),
            models.Index(fields=["tenant", "postcode"], name="customer_postcode_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.display_name}"

    @property
    def display_name(self) -> str:
        return display_name(
            kind=self.kind,
            first_name=self.first_name,
            last_name=self.last_name,
            company_name=self.company_name,
            alias=self.alias,
        )

    @property
    def etag(self) -> str:
        return entity_tag(self.number, self.version)


class CustomerEvent(TenantOwned):
    """One entry of a customer's history: who changed which fields from what to what."""

    class Action(models.TextChoices):
        CREATED = "created", _("created")
        UPDATED = "updated", _("changed")
        BLOCKED = "blocked", _("blocked")
        UNBLOCKED = "unblocked", _("unblocked")
        DEFAULT_APPLIED = "default_applied", _("tenant default applied")
        LOCATION_RELEASED = "location_released", _("location left the group")
        ERASED = "erased", _("personal data erased")
        # Money, recorded by the apps that own it (ledger, bills) through
        # services.note_in_history: the record says who moved what, when and where.
        CREDIT = "credit", _("credit")
        ACCOUNT = "account", _("customer account")
        BILL = "bill", _("bill")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_client = models.ForeignKey(
        "tenants.ApiClient", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Names as they were, so the trail stays readable after a user or client is gone.
    actor_label = models.CharField(max_length=200)
    location_code = models.CharField(max_length=30, blank=True)
    # {"field": [old, new]}
    changes = models.JSONField(default=dict)

    class Meta(TenantOwned.Meta):
        verbose_name = _("customer history entry")
        indexes = [models.Index(fields=["customer", "-at", "-id"], name="event_customer_at_idx")]
        ordering = ["-at", "-id"]
