from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SelfServiceConfig(AppConfig):
    name = "stammgast.selfservice"
    label = "selfservice"
    verbose_name = _("Self-service")

    def ready(self) -> None:
        from stammgast.privacy import person
        from stammgast.privacy import services as privacy_services

        from . import services

        # What the self-service area keeps goes with the person's data, both ways.
        privacy_services.on_erasure(services.remove_account_of_erased)
        person.add_section("selfservice", services.account_section)
