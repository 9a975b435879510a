"""The payments app: online top-ups of credit through payment providers."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "stammgast.payments"
    label = "payments"
    verbose_name = _("Online payments")
