from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "stammgast.tenants"
    label = "tenants"
    verbose_name = _("Tenants")

    def ready(self) -> None:
        from . import backends  # noqa: F401  (connects the log-in receiver)
        from .placement import give_cluster_its_id_space

        post_migrate.connect(give_cluster_its_id_space, sender=self)
        _keep_staff_devices_out_of_the_admin()


def _keep_staff_devices_out_of_the_admin() -> None:
    """django-otp registers its devices with the admin site, which would show superusers
    the staff's TOTP secrets; like every tenant's data they stay out of it."""
    from django.contrib import admin
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    for model in (TOTPDevice, StaticDevice):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
