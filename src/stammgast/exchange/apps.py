"""App configuration of the exchange app."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "stammgast.exchange"
    label = "exchange"
    verbose_name = _("Import and export")
    default_auto_field = "django.db.models.BigAutoField"
