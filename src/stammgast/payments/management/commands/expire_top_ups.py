"""stammgast expire_top_ups: mark online top-ups pending for too long expired (run from cron)."""

from django.utils.translation import gettext as _

from stammgast.core.commands import DomainCommand
from stammgast.core.errors import DomainError
from stammgast.core.tenancy import tenant_scope
from stammgast.payments.services import expire_stale_top_ups
from stammgast.tenants import services as tenant_services


class Command(DomainCommand):
    help = "Mark every tenant's online top-ups still pending after 30 minutes expired."

    def handle(self, *args, **opts):
        total = 0
        for home, tenant in tenant_services.list_tenants():
            if tenant is None:
                continue  # its cluster is not configured here: another server's work
            try:
                with tenant_scope(tenant):
                    total += expire_stale_top_ups()
            except DomainError as exc:
                # One tenant being moved or out of reach does not hold up the others.
                self.stderr.write(f"{home.slug}: {exc.message}")
        self.stdout.write(_("%(n)d online top-ups expired.") % {"n": total})
