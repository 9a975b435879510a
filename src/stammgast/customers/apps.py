from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _release_location(sender, *, location, **kwargs) -> None:
    from .services import release_location_from_customers

    release_location_from_customers(location=location)


class CustomersConfig(AppConfig):
    name = "stammgast.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from stammgast.tenants.signals import location_leaving

        # A location leaving its group takes none of the customers with it (tenants knows
        # nothing of customers; this app releases what of its rows names the location).
        location_leaving.connect(_release_location, dispatch_uid="customers-release-location")

        from .views import add_customer_registers

        add_customer_registers()
