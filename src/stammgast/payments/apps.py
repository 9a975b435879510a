"""The payments app: online top-ups of credit through payment providers."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "stammgast.payments"
    label = "payments"
    verbose_name = _("Online payments")

    def ready(self) -> None:
        from .views import add_payments_register

        # The customer record lists the customer's online top-ups and how each ended.
        add_payments_register()
