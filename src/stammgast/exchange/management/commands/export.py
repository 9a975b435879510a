"""stammgast export TENANT -o FILE: the customers a filter selects, as XLSX or ZIP of CSVs."""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext as _

from stammgast.core.tenancy import tenant_scope
from stammgast.customers.filters import FILTER_PARAMS, parse_filter
from stammgast.exchange import services
from stammgast.exchange.console import EndsQuietly, ProgressBar
from stammgast.tenants.actor import Actor
from stammgast.tenants.commands import TenantCommand


class Command(EndsQuietly, TenantCommand):
    help = (
        "Export a tenant's customers (optionally filtered): below the ZIP threshold one XLSX "
        "file, from it on a ZIP with two CSV files (customers and the filter)."
    )

    def stopped_message(self) -> str:
        return _("Stopped; the file is not complete.")

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="tenant slug")
        parser.add_argument("-o", "--output", required=True, help="file to write")
        for name in FILTER_PARAMS:
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None)
        parser.add_argument("--language", choices=["de", "en"], default="de")
        parser.add_argument(
            "--separator", default=services.DEFAULT_SEPARATOR, help="CSV separator (default ;)"
        )
        parser.add_argument("--zip-threshold", type=int, default=services.ZIP_THRESHOLD)
        parser.add_argument(
            "--extra-columns",
            default="",
            help="optional columns after the 31 standard ones, comma-separated: "
            + ",".join(c.field for c in services.OPTIONAL_EXPORT_COLUMNS),
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        tenant = self.tenant_arg(opts["tenant"])
        separator = "\t" if opts["separator"] in ("tab", "\\t") else opts["separator"]
        with tenant_scope(tenant):
            actor = Actor.system(tenant)
            f = parse_filter({k: opts[k] for k in FILTER_PARAMS if opts[k] is not None})
            total = services.count_customers_for_export(actor=actor, f=f)
            fmt = services.export_format(total, opts["zip_threshold"])
            path = Path(opts["output"])
            if path.suffix.lower() != f".{fmt}":
                path = path.with_suffix(f".{fmt}")
                self.stderr.write(
                    _("%(n)d customers: writing %(fmt)s to %(path)s")
                    % {"n": total, "fmt": fmt.upper(), "path": path}
                )
            progress = None if opts["no_progress"] else ProgressBar(_("Export"), self.stderr)
            result = services.export_customers(
                actor=actor,
                f=f,
                path=path,
                language=opts["language"],
                zip_threshold=opts["zip_threshold"],
                separator=separator,
                progress=progress,
                extra_columns=[c.strip() for c in opts["extra_columns"].split(",") if c.strip()],
            )
        self.stdout.write(
            _("%(n)d customers exported to %(path)s.") % {"n": result.rows, "path": path}
        )
