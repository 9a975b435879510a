"""stammgast migrate: Django's migrate, on every cluster unless --database names one."""

from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrate

from stammgast.core.tenancy import database_scope
from stammgast.tenants.directory import cluster_aliases


class Command(DjangoMigrate):
    help = "Migrate the database; with tenants on several clusters, every cluster in turn."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(database=None)

    def get_check_kwargs(self, options):
        kwargs = super().get_check_kwargs(options)
        if options["database"] is None:
            kwargs["databases"] = list(settings.DATABASES)
        return kwargs

    def handle(self, *args, **options):
        if options["database"] is not None:
            return self.migrate(options["database"], *args, **options)
        # The directory ("default") first: the clusters' id spaces are recorded there.
        for alias in cluster_aliases():
            if options["verbosity"] >= 1 and len(settings.DATABASES) > 1:
                self.stdout.write(self.style.MIGRATE_HEADING(f"Cluster {alias}:"))
            self.migrate(alias, *args, **options)

    def migrate(self, alias: str, *args, **options):
        # Data migrations query without naming a database: they get the one migrated.
        with database_scope(alias):
            return super().handle(*args, **{**options, "database": alias})
