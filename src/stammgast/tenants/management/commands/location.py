"""stammgast location create TENANT_SLUG CODE --name NAME [--numbers FROM-TO]"""

from stammgast.core.tenancy import tenant_scope
from stammgast.tenants import services
from stammgast.tenants.commands import TenantCommand
from stammgast.tenants.models import Location


class Command(TenantCommand):
    help = "Manage a tenant's locations."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a location.")
        create.add_argument("tenant")
        create.add_argument("code")
        create.add_argument("--name", required=True)
        create.add_argument("--numbers", help="own customer number range FROM-TO")
        listing = sub.add_parser("list", help="List a tenant's locations.")
        listing.add_argument("tenant")

    def handle(self, *args, action, **opts):
        tenant = self.tenant_arg(opts["tenant"])
        if action == "create":
            location = services.create_location(
                tenant=tenant,
                code=opts["code"],
                name=opts["name"],
                numbers=services.parse_number_range(opts.get("numbers")),
            )
            rng = (
                f", numbers {location.number_from}-{location.number_to}"
                if location.has_number_range
                else ""
            )
            self.stdout.write(f"Created location {location.code} ({location.name}){rng}.")
        else:
            with tenant_scope(tenant):
                for loc in Location.objects.order_by("code"):
                    rng = f"{loc.number_from}-{loc.number_to}" if loc.has_number_range else ""
                    self.stdout.write(f"{loc.code}\t{loc.name}\t{rng}")
