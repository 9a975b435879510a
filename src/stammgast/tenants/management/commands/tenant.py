"""stammgast tenant create SLUG --name NAME | list | detach-location ..."""

from stammgast.tenants import services
from stammgast.tenants.commands import TenantCommand


class Command(TenantCommand):
    help = "Manage tenants (central customer groups)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a tenant.")
        create.add_argument("slug")
        create.add_argument("--name", required=True)
        create.add_argument(
            "--cluster", default=None, help="the cluster it lives on (default: default)"
        )
        sub.add_parser("list", help="List tenants.")
        move = sub.add_parser(
            "move",
            help="Move a tenant to another cluster (read-only meanwhile, verified, then switched).",
        )
        move.add_argument("slug")
        move.add_argument("--to", required=True, dest="to", help="the cluster's alias")
        leave = sub.add_parser(
            "detach-location",
            help="A location leaves its group and starts a new tenant with an empty customer base.",
        )
        leave.add_argument("slug", help="the tenant the location leaves")
        leave.add_argument("code", help="the location's code")
        leave.add_argument("--new-slug", required=True)
        leave.add_argument("--new-name", required=True)

    def handle(self, *args, action, **opts):
        if action == "create":
            tenant = services.create_tenant(
                slug=opts["slug"], name=opts["name"], cluster=opts["cluster"]
            )
            self.stdout.write(
                f"Created tenant {tenant.slug} ({tenant.name}) on cluster {tenant._state.db}."
            )
        elif action == "list":
            for home, tenant in services.list_tenants():
                name = tenant.name if tenant is not None else "?"
                self.stdout.write(f"{home.slug}\t{name}\t{home.cluster}")
        elif action == "move":
            moved = services.move_tenant(slug=opts["slug"], to=opts["to"], report=self.stdout.write)
            self.stdout.write(
                f"Tenant {moved.slug} now lives on cluster {moved.cluster}: "
                f"{moved.rows:,} rows in {moved.tables} tables copied, verified and switched."
            )
        elif action == "detach-location":
            tenant = self.tenant_arg(opts["slug"])
            location = services.get_location(tenant, opts["code"])
            new = services.detach_location(
                location=location, new_slug=opts["new_slug"], new_name=opts["new_name"]
            )
            self.stdout.write(
                f"Location {location.code} now belongs to tenant {new.slug}, "
                "whose customer base is empty."
            )
