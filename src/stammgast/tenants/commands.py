"""Base of the management commands that work on one tenant named on the command line."""

from stammgast.core.commands import DomainCommand

from .models import Tenant
from .services import get_tenant


class TenantCommand(DomainCommand):
    def tenant_arg(self, slug: str) -> Tenant:
        return get_tenant(slug)
