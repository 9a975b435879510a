"""Export and import at scale, each next to a baseline measured in the same run.

python -m benchmarks exchange [--customers 1000000] [--xlsx-rows 99999] [--import-rows N]

- export of all customers to ZIP/CSV vs PostgreSQL's COPY (SELECT ...) TO STDOUT of the
  same columns written to a file and zipped;
- XLSX of 99,999 customers vs plain xlsxwriter (constant memory) writing the same rows;
- import of the exported CSV with full validation into an empty tenant: rows/s, next to
  PostgreSQL inserting the same rows into the same tables by INSERT ... SELECT (no Python:
  the floor of any import on this server).

Every measured step runs in a fresh child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from . import common

# Another name (stammgast_bench_*) lets two runs of the benchmark share a server.
DB_NAME = os.environ.get("STAMMGAST_BENCH_EXCHANGE_DB", "stammgast_bench_exchange")


def _peak_rss_mb() -> float:
    # VmHWM, not ru_maxrss: the latter carries the parent's peak across fork and exec.
    return common.rss_peak_mb(os.getpid()) or 0.0


# --- child steps (run in their own process) ------------------------------------------------


def _actor(slug: str):
    from stammgast.tenants.actor import Actor
    from stammgast.tenants.models import Tenant

    tenant = Tenant.objects.get(slug=slug)
    return tenant, Actor.system(tenant)


def _step_export(slug: str, out: Path, zip_threshold: int) -> dict:
    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers.selectors import CustomerFilter
    from stammgast.exchange import services

    tenant, actor = _actor(slug)
    with tenant_scope(tenant):
        t0 = time.perf_counter()
        result = services.export_customers(
            actor=actor, f=CustomerFilter(), path=out, zip_threshold=zip_threshold
        )
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": result.rows, "format": result.format}


def _copy_select() -> str:
    from stammgast.exchange.columns import EXPORT_FIELDS

    return ", ".join(EXPORT_FIELDS)


def _step_copy_zip(url: str, tenant_id: int, out: Path) -> dict:
    import psycopg

    csv_path = out.with_suffix(".csv")
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur, csv_path.open("wb") as f:
        query = (
            f"COPY (SELECT {_copy_select()} FROM customers_customer WHERE tenant_id = {tenant_id}"
            " ORDER BY number) TO STDOUT WITH (FORMAT csv, HEADER, DELIMITER ';')"
        )
        with cur.copy(query) as copy:
            for data in copy:
                f.write(data)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.write(csv_path, "customers.csv")
    seconds = time.perf_counter() - t0
    csv_path.unlink()
    return {"seconds": seconds}


def _step_plain_xlsx(url: str, tenant_id: int, out: Path) -> dict:
    import psycopg
    import xlsxwriter

    t0 = time.perf_counter()
    workbook = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    sheet = workbook.add_worksheet()
    rows = 0
    with psycopg.connect(url) as conn, conn.cursor(name="plain_xlsx") as cur:
        cur.itersize = 2000
        cur.execute(
            f"SELECT {_copy_select()} FROM customers_customer WHERE tenant_id = %s ORDER BY number",
            [tenant_id],
        )
        sheet.write_row(0, 0, _copy_select().split(", "))
        for row in cur:
            rows += 1
            sheet.write_row(
                rows, 0, [v.replace(tzinfo=None) if hasattr(v, "tzinfo") else v for v in row]
            )
    workbook.close()
    return {"seconds": time.perf_counter() - t0, "rows": rows}


def _step_import(slug: str, path: Path) -> dict:
    from stammgast.core.tenancy import tenant_scope
    from stammgast.exchange import services

    tenant, actor = _actor(slug)
    with tenant_scope(tenant):
        t0 = time.perf_counter()
        result = services.import_customers(actor=actor, path=path)
        seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        # The planning process's peak (a large import forks one; 0 if it did not).
        "planner_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "rows": result.rows,
        "created": result.created,
        "errors": result.errors_total,
        "first_errors": [vars(p) for p in result.errors[:5]],
        "duplicates": result.duplicates_total,
    }


def _database_floor(url: str, source_id: int, scratch_id: int) -> dict:
    """PostgreSQL alone: the imported customers and their history entries inserted again by
    INSERT ... SELECT into a scratch tenant (the same tables, indexes and reference checks,
    no Python), in one transaction that is rolled back. No import can be faster."""
    import psycopg

    with psycopg.connect(url) as conn:
        customer = [c for c in _columns(conn, "customers_customer") if c not in ("id", "tenant_id")]
        event = [
            c
            for c in _columns(conn, "customers_customerevent")
            if c not in ("id", "tenant_id", "customer_id")
        ]
        cols = ", ".join(customer)
        # As the import does: references checked while the rows go in.
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        t0 = time.perf_counter()
        conn.execute(
            f"INSERT INTO customers_customer ({cols}, tenant_id)"
            f" SELECT {cols}, %s FROM customers_customer WHERE tenant_id = %s",
            [scratch_id, source_id],
        )
        t1 = time.perf_counter()
        # Each entry again for the customer it belongs to (a join to the new customers
        # would be planned on statistics that have not seen them); the work per row is
        # the same: the row, its indexes, its references checked.
        conn.execute(
            f"INSERT INTO customers_customerevent ({', '.join(event)}, customer_id, tenant_id)"
            f" SELECT {', '.join(event)}, customer_id, %s FROM customers_customerevent"
            " WHERE tenant_id = %s",
            [scratch_id, source_id],
        )
        t2 = time.perf_counter()
        conn.rollback()
    return {"customers": t1 - t0, "history": t2 - t1}


def _columns(conn, table: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
            " ORDER BY ordinal_position",
            [table],
        )
    ]


def _child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--slug", default="bench")
    parser.add_argument("--tenant-id", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--zip-threshold", type=int, default=100_000)
    args = parser.parse_args(argv)
    common.setup_django(args.url)
    step = args.child
    if step == "export":
        result = _step_export(args.slug, args.out, args.zip_threshold)
    elif step == "copy":
        result = _step_copy_zip(args.url, args.tenant_id, args.out)
    elif step == "plain-xlsx":
        result = _step_plain_xlsx(args.url, args.tenant_id, args.out)
    elif step == "import":
        result = _step_import(args.slug, args.out)
    else:
        raise SystemExit(f"unknown step {step}")
    result["peak_rss_mb"] = _peak_rss_mb()
    print("RESULT " + json.dumps(result, default=str), flush=True)


def _run(url: str, step: str, **kw) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.bench_exchange", "--child", step, "--url", url]
    for key, value in kw.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    proc = subprocess.run(
        cmd, env=common.server_env(url), capture_output=True, text=True, check=False
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"step {step} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


# --- the benchmark -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks exchange")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=99_999)
    parser.add_argument(
        "--import-rows",
        type=int,
        default=None,
        help="rows to import (default: all exported customers)",
    )
    parser.add_argument("--skip-import", action="store_true", help="measure the exports only")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args, _rest = parser.parse_known_args(argv)
    report = common.Report("exchange")
    report.print(
        f"== exchange benchmark: {args.customers:,} customers, XLSX {args.xlsx_rows:,} rows, "
        f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    work = common.OUT_DIR / "exchange"
    work.mkdir(parents=True, exist_ok=True)
    url = common.create_database(DB_NAME)
    try:
        common.setup_django(url)
        common.migrate()
        from stammgast.tenants import services as tenant_services

        from .generate import generate_customers

        big = tenant_services.create_tenant(slug="bench", name="Benchmark 1M")
        small = tenant_services.create_tenant(slug="bench-xlsx", name="Benchmark XLSX")
        target = tenant_services.create_tenant(slug="bench-import", name="Benchmark Import")
        scratch = tenant_services.create_tenant(slug="bench-floor", name="Benchmark Floor")
        common.close_django_connections()
        report.print(generate_customers(url, tenant_id=big.pk, count=args.customers).summary())
        report.print(
            generate_customers(url, tenant_id=small.pk, count=args.xlsx_rows, seed=7).summary()
        )

        rows = []
        zip_path = work / "export.zip"
        ours = _run(url, "export", slug="bench", out=zip_path, zip_threshold=1)
        copy = _run(url, "copy", tenant_id=big.pk, out=work / "copy.zip")
        rows.append(
            [
                "export ZIP/CSV (stammgast)",
                f"{ours['rows']:,}",
                f"{ours['seconds']:.1f}",
                f"{ours['peak_rss_mb']:.0f}",
                f"{zip_path.stat().st_size / 1e6:.0f}",
            ]
        )
        rows.append(
            [
                "COPY TO STDOUT + zip (baseline)",
                f"{ours['rows']:,}",
                f"{copy['seconds']:.1f}",
                f"{copy['peak_rss_mb']:.0f}",
                f"{(work / 'copy.zip').stat().st_size / 1e6:.0f}",
            ]
        )
        xlsx = _run(url, "export", slug="bench-xlsx", out=work / "export.xlsx")
        plain = _run(url, "plain-xlsx", tenant_id=small.pk, out=work / "plain.xlsx")
        rows.append(
            [
                "export XLSX (stammgast)",
                f"{xlsx['rows']:,}",
                f"{xlsx['seconds']:.1f}",
                f"{xlsx['peak_rss_mb']:.0f}",
                f"{(work / 'export.xlsx').stat().st_size / 1e6:.0f}",
            ]
        )
        rows.append(
            [
                "xlsxwriter constant_memory (baseline)",
                f"{plain['rows']:,}",
                f"{plain['seconds']:.1f}",
                f"{plain['peak_rss_mb']:.0f}",
                f"{(work / 'plain.xlsx').stat().st_size / 1e6:.0f}",
            ]
        )
        report.print(common.table(rows, ["step", "rows", "seconds", "peak RSS MB", "file MB"]))
        report.print(
            f"export ZIP/CSV: {ours['seconds'] / copy['seconds']:.2f}x the COPY baseline; "
            f"XLSX: {xlsx['seconds'] / plain['seconds']:.2f}x plain xlsxwriter"
        )

        if args.skip_import:
            report.print(f"saved to {report.save()}")
            return
        source = work / "import.csv"
        with zipfile.ZipFile(zip_path) as z, z.open("kunden.csv") as src, source.open("wb") as dst:
            limit = args.import_rows
            for n, line in enumerate(src):
                # Rows hold no line breaks here (generated data), so lines are records.
                if limit is not None and n > limit:
                    break
                dst.write(line)
        imported = _run(url, "import", slug="bench-import", out=source)
        rate = imported["rows"] / imported["seconds"]
        report.print(
            f"import CSV with full validation: {imported['rows']:,} rows, "
            f"{imported['created']:,} created, {imported['errors']:,} refused, "
            f"{imported['duplicates']:,} possible duplicates; {imported['seconds']:.1f} s = "
            f"{rate:,.0f} rows/s; peak RSS {imported['peak_rss_mb']:.0f} MB"
            f" (planning process {imported['planner_peak_rss_mb']:.0f} MB)"
        )
        if imported["first_errors"]:
            report.print(f"first refused rows: {imported['first_errors']}")
        floor = _database_floor(url, target.pk, scratch.pk)
        floor_seconds = floor["customers"] + floor["history"]
        report.print(
            "PostgreSQL alone, the same rows by INSERT ... SELECT into the same tables (the"
            f" floor of any import): customers {floor['customers']:.1f} s + history"
            f" {floor['history']:.1f} s = {floor_seconds:.1f} s"
        )
        ratio = imported["seconds"] / floor_seconds
        report.print(
            f"import: {ratio:.2f}x the floor (goal <= 1.25x: {'ok' if ratio <= 1.25 else 'MISSED'})"
        )
        report.print(f"saved to {report.save()}")
    finally:
        if not args.keep:
            common.drop_database(DB_NAME)
        for name in ("export.zip", "copy.zip", "export.xlsx", "plain.xlsx", "import.csv"):
            (work / name).unlink(missing_ok=True)


if __name__ == "__main__":
    if "--child" in sys.argv:
        _child(sys.argv[1:])
    else:
        main(sys.argv[1:])
