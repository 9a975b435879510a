"""stammgast exchange_cleanup: delete export/import files older than 24 hours (run from cron)."""

from django.utils.translation import gettext as _

from stammgast.core.commands import DomainCommand
from stammgast.exchange.services import delete_expired_files


class Command(DomainCommand):
    help = "Delete import/export files older than 24 hours; mark jobs whose worker died failed."

    def handle(self, *args, **opts):
        count = delete_expired_files()
        self.stdout.write(_("%(n)d expired job files deleted.") % {"n": count})
