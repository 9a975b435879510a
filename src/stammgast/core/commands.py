"""Base for stammgast's management commands: domain errors become exit status 2."""

from django.core.management.base import BaseCommand, CommandError

from .errors import DomainError


class DomainCommand(BaseCommand):
    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except DomainError as exc:
            raise CommandError(str(exc), returncode=2) from exc

    def tenant_arg(self, slug: str):
        from stammgast.tenants.services import get_tenant

        return get_tenant(slug)
