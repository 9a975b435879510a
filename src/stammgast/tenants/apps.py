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
