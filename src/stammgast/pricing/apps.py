from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PricingConfig(AppConfig):
    name = "stammgast.pricing"
    label = "pricing"
    verbose_name = _("Prices and subsidies")

    def ready(self) -> None:
        from .views import add_pricing_register

        # The customer record shows the price level a customer gets and their subsidies.
        add_pricing_register()
