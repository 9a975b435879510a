"""stammgast demo: a demo tenant with 3 locations, ~1,000 German customers and an admin."""

import random

from django.contrib.auth import get_user_model

from stammgast.core import db
from stammgast.core.commands import DomainCommand
from stammgast.core.tenancy import tenant_scope
from stammgast.customers import demo_data
from stammgast.customers.models import Customer, CustomerGroup
from stammgast.customers.signals import demo_tenant_ready
from stammgast.tenants import services as tenant_services
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import Location, Tenant


class Command(DomainCommand):
    help = "Load demo data (idempotent) and print the admin's login."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=1000)
        parser.add_argument(
            "--password", default="stammgast-demo", help="password of the demo admin"
        )

    def handle(self, *args, **opts):
        tenant = Tenant.objects.filter(slug="demo").first() or tenant_services.create_tenant(
            slug="demo", name="Gasthaus Demo GmbH"
        )
        with tenant_scope(tenant):
            locations = []
            for code, name, numbers in demo_data.LOCATIONS:
                loc = Location.objects.filter(code=code).first()
                if loc is None:
                    loc = tenant_services.create_location(
                        tenant=tenant, code=code, name=name, numbers=numbers
                    )
                locations.append(loc)
            for name in demo_data.GROUPS:
                CustomerGroup.objects.get_or_create(tenant=tenant, name=name)
            missing = opts["customers"] - Customer.objects.count()
            if missing > 0:
                rng = random.Random(20261122 + missing)
                actor = Actor.system(tenant)
                with db.atomic():
                    for i in range(missing):
                        loc = locations[i % len(locations)] if i % 4 == 0 else None
                        demo_data.create_demo_customer(actor=actor, rng=rng, location=loc)
            self._admin(tenant, opts["password"])
            for _receiver, line in demo_tenant_ready.send(sender=self.__class__, tenant=tenant):
                if line:
                    self.stdout.write(line)
            self.stdout.write(
                f"Demo tenant '{tenant.slug}': {len(locations)} locations, "
                f"{Customer.objects.count()} customers."
            )
        self.stdout.write(f"Log in at http://127.0.0.1:8000/ as admin / {opts['password']}")

    def _admin(self, tenant, password):
        User = get_user_model()
        user = User.objects.filter(username="admin").first()
        if user is None:
            tenant_services.create_staff_user(
                tenant=tenant, username="admin", password=password, role="tenant_admin"
            )
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
