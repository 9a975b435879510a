"""stammgast tenant create SLUG --name NAME | list | detach-location ..."""

from stammgast.tenants import services
from stammgast.tenants.commands import TenantCommand
from stammgast.tenants.models import Tenant


class Command(TenantCommand):
    help = "Manage tenants (central customer groups)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a tenant.")
        create.add_argument("slug")
        create.add_argument("--name", required=True)
        sub.add_parser("list", help="List tenants.")
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
            tenant = services.create_tenant(slug=opts["slug"], name=opts["name"])
            self.stdout.write(f"Created tenant {tenant.slug} ({tenant.name}).")
        elif action == "list":
            for tenant in Tenant.objects.order_by("slug"):
                self.stdout.write(f"{tenant.slug}\t{tenant.name}")
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
