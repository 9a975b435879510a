"""stammgast selfservice_cleanup: drop expired registrations and old throttles (cron)."""

from stammgast.core.commands import DomainCommand
from stammgast.selfservice.services import clean_up_guest_area


class Command(DomainCommand):
    help = "Remove unconfirmed guest registrations past their link and old throttle rows."

    def handle(self, *args, **opts):
        registrations, throttles = clean_up_guest_area()
        self.stdout.write(
            f"{registrations} expired registrations and {throttles} old throttle rows removed."
        )
