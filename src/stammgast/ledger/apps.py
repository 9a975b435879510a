from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "stammgast.ledger"
    label = "ledger"
    verbose_name = _("Credit and customer account")

    def ready(self) -> None:
        from .views import add_ledger_registers

        add_ledger_registers()
