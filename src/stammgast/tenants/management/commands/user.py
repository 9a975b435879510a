"""stammgast user create TENANT_SLUG USERNAME --role ROLE [--location CODE] [--password PW];
stammgast user reset-two-factor TENANT_SLUG USERNAME"""

import getpass
import os
import sys

from django.core.management.base import CommandError

from stammgast.tenants import services, two_factor
from stammgast.tenants.actor import Actor
from stammgast.tenants.commands import TenantCommand
from stammgast.tenants.models import Role


class Command(TenantCommand):
    help = "Manage staff users."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a staff user with a role.")
        create.add_argument("tenant")
        create.add_argument("username")
        create.add_argument("--role", required=True, choices=Role.values)
        create.add_argument("--location", help="location code (for location-bound roles)")
        create.add_argument("--email", default="")
        create.add_argument("--password", help="omit to be asked (or set STAMMGAST_PASSWORD)")
        reset = sub.add_parser(
            "reset-two-factor",
            help="Turn a user's two-factor log-in off (phone and recovery codes lost).",
        )
        reset.add_argument("tenant")
        reset.add_argument("username")

    def handle(self, *args, action, **opts):
        tenant = self.tenant_arg(opts["tenant"])
        if action == "reset-two-factor":
            two_factor.reset_two_factor(actor=Actor.system(tenant), username=opts["username"])
            self.stdout.write(
                f"Two-factor log-in of {opts['username']} is off; the next log-in needs the"
                " password only (or sets it up, where the tenant makes it mandatory)."
            )
            return
        location = services.get_location(tenant, opts["location"]) if opts["location"] else None
        password = opts["password"] or os.environ.get("STAMMGAST_PASSWORD")
        if not password:
            if not sys.stdin.isatty():
                raise CommandError("Give --password or set STAMMGAST_PASSWORD.", returncode=2)
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.", returncode=2)
        user = services.create_staff_user(
            tenant=tenant,
            username=opts["username"],
            password=password,
            role=opts["role"],
            location=location,
            email=opts["email"],
        )
        where = f" at {location.code}" if location else ""
        self.stdout.write(f"Created user {user.get_username()} ({opts['role']}{where}).")
