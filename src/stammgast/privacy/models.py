"""Consents with their log, the tenant's legal texts and their versions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from stammgast.core.tenancy import TenantOwned

PURPOSE_MAX = 50


class Purpose(models.TextChoices):
    """The purposes every tenant has; a tenant may define more (ConsentPurpose)."""

    NEWSLETTER = "newsletter", _("Newsletter")
    MARKETING = "marketing", _("Marketing")
    DATA_PROCESSING = "data_processing", _("Data processing (privacy policy)")
    TERMS = "terms", _("Terms of use")


class Channel(models.TextChoices):
    """Through what a consent was given or revoked."""

    SELFSERVICE = "selfservice", _("self-service")
    PORTAL = "portal", _("portal")
    PAPER = "paper", _("on paper (recorded by staff)")
    API = "api", _("API")
    IMPORT = "import", _("import")
    SYSTEM = "system", _("system")


class LegalTextKind(models.TextChoices):
    PRIVACY = "privacy", _("Privacy policy")
    TERMS = "terms", _("Terms of use")


# Which text a consent to a purpose refers to: the terms for the terms, the privacy policy
# (which says what is done with the data, newsletters included) for everything else.
def text_kind_for(purpose: str) -> str:
    return LegalTextKind.TERMS if purpose == Purpose.TERMS else LegalTextKind.PRIVACY


class LegalText(TenantOwned):
    """One published version of a tenant's privacy policy or terms; never changed after."""

    kind = models.CharField(_("kind"), max_length=10, choices=LegalTextKind.choices)
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    published_at = models.DateTimeField(_("published"))
    published_by = models.CharField(max_length=200)

    class Meta(TenantOwned.Meta):
        verbose_name = _("legal text")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "version"], name="legal_text_version_unique"
            )
        ]
        ordering = ["kind", "-version"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"


class ConsentPurpose(TenantOwned):
    """A purpose a tenant asks consent for beyond the built-in ones."""

    key = models.SlugField(_("key"), max_length=PURPOSE_MAX)
    label = models.CharField(_("label"), max_length=100)
    description = models.CharField(_("description"), max_length=500, blank=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("consent purpose")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="consent_purpose_key_unique")
        ]
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class ConsentRecord(TenantOwned):
    """Who, when, through what and under which text version; shared by state and log."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(_("purpose"), max_length=PURPOSE_MAX)
    granted = models.BooleanField(_("granted"))
    at = models.DateTimeField(_("when"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    legal_text = models.ForeignKey(
        LegalText, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta(TenantOwned.Meta):
        abstract = True


class Consent(ConsentRecord):
    """The current state of one consent of one customer (the last entry of its log)."""

    class Meta(TenantOwned.Meta):
        verbose_name = _("consent")
        constraints = [
            models.UniqueConstraint(fields=["customer", "purpose"], name="consent_one_per_purpose")
        ]
        indexes = [
            models.Index(fields=["tenant", "purpose", "granted"], name="consent_purpose_idx")
        ]


class ConsentEvent(ConsentRecord):
    """One grant or revocation, kept for good (Art. 7 (1) DSGVO: the business must be
    able to show that and how consent was given)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_client = models.ForeignKey(
        "tenants.ApiClient", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("consent log entry")
        indexes = [models.Index(fields=["customer", "-at", "-id"], name="consent_event_idx")]
        ordering = ["-at", "-id"]


class CreditAtErasure(models.TextChoices):
    PAY_OUT = "pay_out", _("paid out")
    FORFEIT = "forfeit", _("forfeited")


class PrivacySettings(TenantOwned):
    """A tenant's rules for erasure and retention."""

    # What happens to credit left when a guest's data is erased.
    credit_at_erasure = models.CharField(
        _("credit left at erasure is"),
        max_length=10,
        choices=CreditAtErasure.choices,
        default=CreditAtErasure.PAY_OUT,
    )
    # Bills (and later invoices) are kept this long, with the person's data anonymised
    # (§ 147 AO, § 257 HGB: 10 years in Germany).
    bill_retention_years = models.PositiveSmallIntegerField(_("keep bills for (years)"), default=10)

    class Meta(TenantOwned.Meta):
        verbose_name = _("privacy settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="privacy_one_per_tenant")]


class ErasureRequest(TenantOwned):
    """One request to erase a person's data (Art. 17 DSGVO), kept as the record Art. 30
    asks for: when it came, when it was confirmed, when it was done."""

    class State(models.TextChoices):
        RECEIVED = "received", _("received")
        COMPLETED = "completed", _("completed")
        WITHDRAWN = "withdrawn", _("withdrawn")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    # The number stays: it is not personal on its own and is never given again.
    customer_number = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVED)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    # How staff received it: "in person", "by letter" and the like.
    received_how = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.CharField(max_length=200)
    completed_by = models.CharField(max_length=200, blank=True)
    # The credit booked out when it was done, in minor units, and how.
    credit_booked_out = models.BigIntegerField(default=0)
    credit_disposition = models.CharField(
        max_length=10, choices=CreditAtErasure.choices, blank=True
    )

    class Meta(TenantOwned.Meta):
        verbose_name = _("erasure request")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-received_at"], name="erasure_received_idx")]
        constraints = [
            # A guest and staff asking at the same moment make one request, not two.
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(state="received"),
                name="erasure_one_open_per_customer",
            )
        ]


class AccessKind(models.TextChoices):
    EXPORT = "export", _("export")
    DATA_DOWNLOAD = "data_download", _("data download (Art. 15)")
    LIST = "list", _("list")
    RECORD = "record", _("record opened")


class AccessLogEntry(TenantOwned):
    """Who read personal data, when, what and how many customers (Art. 5 (2), 32)."""

    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=20, choices=AccessKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_client = models.ForeignKey(
        "tenants.ApiClient", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    channel = models.CharField(max_length=20)
    # The filter in words (bulk reads) or the customer's number (one record).
    what = models.CharField(max_length=1000, blank=True)
    customer_number = models.PositiveIntegerField(null=True, blank=True)
    count = models.PositiveIntegerField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("access log entry")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["tenant", "-at", "-id"], name="access_log_at_idx")]
