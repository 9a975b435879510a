from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CardsConfig(AppConfig):
    name = "stammgast.cards"
    label = "cards"
    verbose_name = _("Cards")

    def ready(self) -> None:
        from stammgast.customers.selectors import register_lookup

        from .selectors import customers_with_card

        # A till that reads a card finds its customer: GET /customers/lookup?card=...
        register_lookup("card", customers_with_card)
