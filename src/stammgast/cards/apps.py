from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CardsConfig(AppConfig):
    name = "stammgast.cards"
    label = "cards"
    verbose_name = _("Cards")

    def ready(self) -> None:
        from stammgast.customers.registers import Register, add_register
        from stammgast.customers.selectors import register_lookup

        from .selectors import customers_with_card
        from .views import cards_register

        # A till that reads a card finds its customer: GET /customers/lookup?card=...
        register_lookup("card", customers_with_card)
        # The customer record shows the customer's cards.
        add_register(
            Register(
                "cards",
                _("Cards"),
                "cards/register.html",
                65,
                context=cards_register,
                group="money",
            )
        )
