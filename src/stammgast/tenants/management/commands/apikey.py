"""stammgast apikey create TENANT_SLUG --name NAME --scopes pos,webshop,thirdparty"""

from stammgast.core.tenancy import tenant_scope
from stammgast.tenants import services
from stammgast.tenants.commands import TenantCommand
from stammgast.tenants.models import ApiClient


class Command(TenantCommand):
    help = "Manage API keys of tills, web shops and third-party systems."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create an API key; it is shown once.")
        create.add_argument("tenant")
        create.add_argument("--name", required=True)
        create.add_argument(
            "--scopes", required=True, help="comma-separated: pos, webshop, thirdparty, readonly"
        )
        create.add_argument("--location", help="location code of the till")
        listing = sub.add_parser("list")
        listing.add_argument("tenant")
        revoke = sub.add_parser("revoke")
        revoke.add_argument("tenant")
        revoke.add_argument("prefix")

    def handle(self, *args, action, **opts):
        tenant = self.tenant_arg(opts["tenant"])
        if action == "create":
            location = (
                services.get_location(tenant, opts["location"]) if opts.get("location") else None
            )
            scopes = [s.strip() for s in opts["scopes"].split(",") if s.strip()]
            client, key = services.create_api_key(
                tenant=tenant, name=opts["name"], scopes=scopes, location=location
            )
            self.stdout.write(
                f"Created API client {client.name} "
                f"(scopes {','.join(client.scopes)}). The key is shown once:"
            )
            self.stdout.write(key)
            return
        with tenant_scope(tenant):
            if action == "list":
                for c in ApiClient.objects.order_by("created_at"):
                    state = "revoked" if c.revoked_at else "active"
                    self.stdout.write(f"{c.key_prefix}\t{c.name}\t{','.join(c.scopes)}\t{state}")
            else:
                client = ApiClient.objects.filter(key_prefix=opts["prefix"]).first()
                if client is None:
                    from stammgast.core.errors import NotFound

                    raise NotFound("No such API key.")
                services.revoke_api_key(client=client)
                self.stdout.write(f"Revoked {client.key_prefix} ({client.name}).")
