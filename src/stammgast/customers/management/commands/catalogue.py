"""stammgast catalogue TENANT_SLUG group NAME | feature KEY --label L --type T [--choices a,b]"""

from stammgast.core.tenancy import tenant_scope
from stammgast.customers import catalogue
from stammgast.customers.models import CustomerGroup, FeatureDefinition, FeatureType
from stammgast.tenants.actor import Actor
from stammgast.tenants.commands import TenantCommand


class Command(TenantCommand):
    help = "Customer groups and features (custom attributes) of a tenant."

    def add_arguments(self, parser):
        parser.add_argument("tenant")
        sub = parser.add_subparsers(dest="action", required=True)
        group = sub.add_parser("group", help="Create a customer group.")
        group.add_argument("name")
        feature = sub.add_parser("feature", help="Define a feature customers may carry.")
        feature.add_argument("key")
        feature.add_argument("--label", required=True)
        feature.add_argument("--type", default="text", choices=FeatureType.values)
        feature.add_argument("--choices", default="", help="comma-separated, for type choice")
        sub.add_parser("list", help="List groups and features.")

    def handle(self, *args, action, **opts):
        tenant = self.tenant_arg(opts["tenant"])
        with tenant_scope(tenant):
            actor = Actor.system(tenant)
            if action == "group":
                group = catalogue.create_customer_group(actor=actor, name=opts["name"])
                self.stdout.write(f"Created customer group {group.name}.")
            elif action == "feature":
                choices = [c for c in opts["choices"].split(",") if c.strip()]
                feature = catalogue.define_feature(
                    actor=actor,
                    key=opts["key"],
                    label=opts["label"],
                    type=opts["type"],
                    choices=choices,
                )
                self.stdout.write(f"Defined feature {feature.key} ({feature.type}).")
            else:
                for group in CustomerGroup.objects.all():
                    self.stdout.write(f"group\t{group.name}")
                for feature in FeatureDefinition.objects.all():
                    self.stdout.write(f"feature\t{feature.key}\t{feature.type}\t{feature.label}")
