"""The card database: which card number belongs to which customer."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from stammgast.core.tenancy import TenantOwned


class CardKind(models.TextChoices):
    MIFARE = "mifare", _("Mifare")
    BARCODE = "barcode", _("Barcode")
    QR = "qr", _("QR code")


class Card(TenantOwned):
    number = models.CharField(_("card number"), max_length=64)
    kind = models.CharField(
        _("type"), max_length=10, choices=CardKind.choices, default=CardKind.MIFARE
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="cards"
    )
    blocked = models.BooleanField(_("blocked"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("card")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="card_number_unique")
        ]

    def __str__(self) -> str:
        return self.number
