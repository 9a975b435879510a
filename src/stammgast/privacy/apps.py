from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "stammgast.privacy"
    label = "privacy"
    verbose_name = _("Privacy")

    def ready(self) -> None:
        from stammgast.core import access
        from stammgast.customers import filters
        from stammgast.customers import services as customer_services
        from stammgast.customers.signals import demo_tenant_ready

        from . import selectors, services
        from .views import add_privacy_registers

        customer_services.on_customers_applied(services.keep_newsletter_consent)
        access.set_writer(services.write_access_log)
        filters.select_consenting(selectors.customers_consenting, selectors.purposes)
        add_privacy_registers()
        demo_tenant_ready.connect(services.publish_demo_texts, dispatch_uid="privacy-demo")
