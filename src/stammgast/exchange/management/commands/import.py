"""stammgast import TENANT FILE: customers from CSV, XLSX or our ZIP, checked like the API."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from stammgast.core.tenancy import tenant_scope
from stammgast.exchange import services
from stammgast.exchange.console import EndsQuietly, ProgressBar
from stammgast.tenants.actor import Actor
from stammgast.tenants.commands import TenantCommand


class Command(EndsQuietly, TenantCommand):
    help = (
        "Import customers. All-or-nothing by default; --mode valid-rows keeps the good rows. "
        "--match number updates customers with the same number, --match new numbers every "
        "row afresh. Exit status 2 if any row was refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("tenant", nargs="?", help="tenant slug")
        parser.add_argument("file", nargs="?", help="CSV, XLSX or a ZIP exported by stammgast")
        parser.add_argument(
            "--list-fields",
            action="store_true",
            help="print the fields a column can fill and the headings recognised for each",
        )
        parser.add_argument("--dry-run", action="store_true", help="check only, change nothing")
        parser.add_argument(
            "--mode", choices=["all-or-nothing", "valid-rows"], default="all-or-nothing"
        )
        parser.add_argument("--match", choices=["number", "new"], default="number")
        parser.add_argument(
            "--mapping",
            help='JSON file {"their heading": "field name or heading", "other": null}',
        )
        parser.add_argument("--separator", help="CSV separator (detected if not given)")
        parser.add_argument(
            "--sheet",
            help="the workbook's sheet, by name or number from 1 "
            "(default: the first with known headings)",
        )
        parser.add_argument(
            "--header-row",
            type=int,
            help="the row of the headings as the spreadsheet numbers it "
            "(default: found in the first 20 rows)",
        )
        parser.add_argument("--report", help="write the error report here (.csv or .xlsx)")
        parser.add_argument("--language", choices=["de", "en"], default="de")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        # Every message, the import's and this command's own, in the language asked for.
        with translation.override(opts["language"]):
            self._handle(**opts)

    def _handle(self, **opts):
        if opts["list_fields"]:
            self._list_fields()
            return
        if not opts["tenant"] or not opts["file"]:
            raise CommandError(_("Give the tenant and the file to import."), returncode=2)
        tenant = self.tenant_arg(opts["tenant"])
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(_("There is no file %(path)s.") % {"path": path}, returncode=2)
        mapping = None
        if opts["mapping"]:
            try:
                mapping = json.loads(Path(opts["mapping"]).read_text(encoding="utf-8-sig"))
            except (OSError, ValueError) as exc:
                raise CommandError(
                    _("The mapping file cannot be read: %(e)s") % {"e": exc}, returncode=2
                ) from None
            if not isinstance(mapping, dict) or not all(
                isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in mapping.items()
            ):
                raise CommandError(
                    _('The mapping file must hold {"their heading": "field", ...}.'),
                    returncode=2,
                )
        separator = opts["separator"]
        if separator in ("tab", "\\t"):
            separator = "\t"
        with tenant_scope(tenant):
            actor = Actor.system(tenant)
            progress = None
            if not opts["no_progress"]:
                progress = ProgressBar(_("Import"), self.stderr, terminal_only=True)
            result = services.import_customers(
                actor=actor,
                path=path,
                mode=opts["mode"],
                match=opts["match"],
                dry_run=opts["dry_run"],
                mapping=mapping,
                separator=separator,
                language=opts["language"],
                progress=progress,
                sheet=opts["sheet"],
                header_row=opts["header_row"],
            )
        if opts["report"]:
            report = Path(opts["report"])
            fmt = "xlsx" if report.suffix.lower() == ".xlsx" else "csv"
            services.write_import_report(
                result=result, path=report, fmt=fmt, language=opts["language"]
            )
        for line in result.left_out:
            self.stderr.write(line)
        for p in result.errors[:20]:
            self.stderr.write(
                _("Row %(row)d, %(col)s (%(value)s): %(msg)s")
                % {"row": p.row, "col": p.column, "value": p.value, "msg": p.message}
            )
        if result.errors_total > 20:
            self.stderr.write(_("... %(n)d more problems.") % {"n": result.errors_total - 20})
        for p in result.duplicates[:20]:
            self.stderr.write(
                _("Row %(row)d, %(col)s (%(value)s): %(msg)s")
                % {"row": p.row, "col": p.column, "value": p.value, "msg": p.message}
            )
        if result.duplicates_total > 20:
            self.stderr.write(
                _("... %(n)d more possible duplicates.") % {"n": result.duplicates_total - 20}
            )
        self.stdout.write(
            _(
                "%(rows)d rows: %(created)d created, %(updated)d changed, %(unchanged)d unchanged, "
                "%(failed)d refused, %(dups)d possible duplicates."
            )
            % {
                "rows": result.rows,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "failed": result.failed_rows,
                "dups": result.duplicates_total,
            }
        )
        if result.dry_run:
            self.stdout.write(_("Dry run: nothing was changed."))
        elif not result.applied:
            self.stdout.write(_("Nothing was imported because some rows are not valid."))
        if result.errors_total:
            raise CommandError(
                _("%(n)d problems in %(rows)d rows.")
                % {"n": result.errors_total, "rows": result.failed_rows},
                returncode=2,
            )

    def _list_fields(self) -> None:
        for fld, headings in services.import_fields():
            self.stdout.write(f"{fld}: {', '.join(headings)}")
