from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillsConfig(AppConfig):
    name = "stammgast.bills"
    label = "bills"
    verbose_name = _("Bills")

    def ready(self) -> None:
        from .views import add_bills_register

        add_bills_register()
