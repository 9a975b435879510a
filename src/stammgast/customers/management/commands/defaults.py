"""stammgast defaults TENANT_SLUG show | set FIELD VALUE | preview FIELD | apply FIELD"""

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import selectors, services
from stammgast.tenants.actor import Actor
from stammgast.tenants.commands import TenantCommand
from stammgast.tenants.models import Tenant

FIELDS = ["group", *services.DEFAULT_FIELDS]


class Command(TenantCommand):
    help = "Show and change the defaults new customers get; apply one to existing customers."

    def add_arguments(self, parser):
        parser.add_argument("tenant")
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("show", help="Show the current defaults.")
        setter = sub.add_parser("set", help="Change a default for new customers.")
        setter.add_argument("field", choices=FIELDS)
        setter.add_argument("value")
        preview = sub.add_parser("preview", help="How many customers 'apply' would change.")
        preview.add_argument("field", choices=FIELDS)
        apply = sub.add_parser("apply", help="Give all existing customers the current default.")
        apply.add_argument("field", choices=FIELDS)
        apply.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, action, **opts):
        tenant = self.tenant_arg(opts["tenant"])
        with tenant_scope(tenant):
            actor = Actor.system(tenant)
            if action == "show":
                tenant = Tenant.objects.get(pk=tenant.pk)
                group = default.name if (default := selectors.default_group()) else ""
                self.stdout.write(f"group\t{group}")
                for field, attr in services.DEFAULT_FIELDS.items():
                    self.stdout.write(f"{field}\t{getattr(tenant, attr)}")
            elif action == "set":
                value = opts["value"]
                if opts["field"] == "newsletter":
                    value = {
                        "true": True,
                        "yes": True,
                        "ja": True,
                        "1": True,
                        "false": False,
                        "no": False,
                        "nein": False,
                        "0": False,
                    }.get(value.lower(), value)
                services.update_tenant_defaults(actor=actor, data={opts["field"]: value})
                self.stdout.write(f"New customers get {opts['field']} = {opts['value']}.")
            elif action == "preview":
                count = services.preview_tenant_default(actor=actor, field=opts["field"])
                self.stdout.write(f"{count} customers would change.")
            else:
                count = services.preview_tenant_default(actor=actor, field=opts["field"])
                if not opts["yes"] and count:
                    answer = input(f"Change {count} customers? [y/N] ")
                    if answer.strip().lower() not in ("y", "yes", "j", "ja"):
                        self.stdout.write("Nothing changed.")
                        return
                changed = services.apply_tenant_default(actor=actor, field=opts["field"])
                self.stdout.write(f"Changed {changed} customers.")
