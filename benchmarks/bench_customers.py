"""Customer lookups and search over HTTP at scale, next to a raw psycopg + WSGI baseline.

python -m benchmarks customers [--customers 1000000] [--seconds 10] [--reuse] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from urllib.parse import quote

import psycopg

from . import common
from .loadgen import Connection, LoadResult, encode_get, run_load

# Lookups: at least this share of the raw psycopg + WSGI baseline's requests per second.
GOAL_RATIO = 0.4

# What people type into the search box: name fragments (with and without umlauts), a
# first name with a surname fragment, postcode prefixes, cities, e-mail and phone fragments.
SEARCHES = [
    "mül",
    "müller",
    "Schmidt",
    "schnei",
    "jürgen",
    "jörg mül",
    "käthe",
    "björn wei",
    "groß",
    "Schröder",
    "1011",
    "8033",
    "Düsseldorf",
    "frankfurt am",
    "münchen mül",
    "anna.sch",
    "@posteo.de",
    "0176 555",
    "1511234",
    "bäckerei",
]


def _start(cmd: list[str], env: dict[str, str], port: int, log_name: str) -> subprocess.Popen:
    common.OUT_DIR.mkdir(parents=True, exist_ok=True)
    log = open(common.OUT_DIR / log_name, "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    common.wait_for_port(port, timeout=120, proc=proc)
    time.sleep(0.5)  # let every worker boot, not just the first
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _workers_peak_rss(proc: subprocess.Popen) -> list[float]:
    return [r for pid in common.child_pids(proc.pid) if (r := common.rss_peak_mb(pid)) is not None]


def _samples(url: str, tenant_id: int, count: int, n: int) -> tuple[list[int], list[str]]:
    """Random existing customer numbers and phone numbers (E.164) of the tenant."""
    import random

    rng = random.Random(4711)
    numbers = [rng.randint(1, count) for _ in range(n)]
    with psycopg.connect(url) as conn:
        percent = min(100.0, max(0.1, 100.0 * 4 * n / max(count, 1)))
        phones = [
            r[0]
            for r in conn.execute(
                "SELECT CASE WHEN mobile_e164 IS NOT NULL AND (id %% 2 = 0"
                " OR phone_private_e164 IS NULL) THEN mobile_e164 ELSE phone_private_e164 END"
                f" FROM customers_customer TABLESAMPLE SYSTEM ({percent}) REPEATABLE (7)"
                " WHERE tenant_id = %s"
                " AND (mobile_e164 IS NOT NULL OR phone_private_e164 IS NOT NULL)"
                " LIMIT %s",
                [tenant_id, n],
            )
        ]
    rng.shuffle(phones)
    return numbers, phones


def _lookup_requests(numbers, phones, headers) -> dict[str, list[bytes]]:
    return {
        "number": [encode_get(f"/api/v1/customers/{n}", headers) for n in numbers],
        "phone": [
            encode_get(f"/api/v1/customers/lookup?phone={quote(p)}", headers) for p in phones
        ],
    }


def _measure(port, reqs, seconds, warmup, args, server, url) -> LoadResult:
    meter = _CpuMeter(server, url)
    result = run_load(
        port,
        lambda c, i, reqs=reqs: reqs[(c * 7919 + i) % len(reqs)],
        clients=args.clients,
        seconds=seconds,
        warmup=warmup,
        on_start=meter.start,
        on_end=meter.stop,
    )
    result.app_cpu_ms = meter.app * 1000 / max(result.requests, 1)
    result.db_cpu_ms = meter.db * 1000 / max(result.requests, 1)
    return result


def _merged(parts: list[LoadResult]) -> LoadResult:
    requests = sum(r.requests for r in parts)
    statuses: dict[int, int] = {}
    for r in parts:
        for k, v in r.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    return LoadResult(
        requests=requests,
        seconds=sum(r.seconds for r in parts),
        latencies_ms=[x for r in parts for x in r.latencies_ms],
        errors=sum(r.errors for r in parts),
        statuses=statuses,
        app_cpu_ms=sum(r.app_cpu_ms * r.requests for r in parts) / max(requests, 1),
        db_cpu_ms=sum(r.db_cpu_ms * r.requests for r in parts) / max(requests, 1),
    )


def _lookups_interleaved(servers, requests, args, url) -> dict:
    """Both servers run side by side; each round measures stammgast and the baseline one
    after the other, in alternating order, so that both see the same machine load.

    Returns {(server, scenario): [LoadResult per round]}."""
    rounds = max(1, args.rounds)
    seconds = args.seconds / rounds
    out: dict[tuple[str, str], list[LoadResult]] = {}
    for n in range(rounds):
        for scenario in ("number", "phone"):
            order = ("stammgast", "baseline") if n % 2 == 0 else ("baseline", "stammgast")
            for who in order:
                port, proc, headers = servers[who]
                reqs = requests[who][scenario]
                # The first round warms caches and connections up; later ones only briefly.
                warmup = args.warmup if n == 0 else min(args.warmup, 0.5)
                result = _measure(port, reqs, seconds, warmup, args, proc, url)
                out.setdefault((who, scenario), []).append(result)
    return out


class _CpuMeter:
    """CPU time the server's workers and their database backends spent in the window.

    Unlike latency and throughput this hardly depends on what else runs on the machine,
    so it compares stammgast with the baseline even when the cores are shared.
    """

    def __init__(self, server: subprocess.Popen, url: str):
        self.server = server
        self.url = url
        self.app = self.db = 0.0

    def _pids(self) -> tuple[list[int], list[int]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            db = [
                r[0]
                for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ]
        return common.child_pids(self.server.pid), db

    def start(self) -> None:
        self.app_pids, self.db_pids = self._pids()
        self.app = -common.cpu_seconds(self.app_pids)
        self.db = -common.cpu_seconds(self.db_pids)

    def stop(self) -> None:
        self.app += common.cpu_seconds(self.app_pids)
        self.db += common.cpu_seconds(self.db_pids)


def _search(port: int, headers, repeat: int) -> list[tuple[str, int, list[float]]]:
    conn = Connection(port)
    out = []
    for q in SEARCHES:
        raw = encode_get(f"/api/v1/customers?q={quote(q)}&limit=50", headers)
        times = []
        found = -1
        for _ in range(repeat):
            t0 = time.perf_counter()
            status, body = conn.request(raw)
            times.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                raise RuntimeError(f"search {q!r} answered {status}: {body[:300]!r}")
            found = len(json.loads(body)["items"])
        out.append((q, found, times))
    conn.close()
    return out


def _explain(tenant_id: int, q: str) -> str:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers import selectors
    from stammgast.tenants.actor import Actor
    from stammgast.tenants.models import ApiClient, Tenant

    tenant = Tenant.objects.get(pk=tenant_id)
    with tenant_scope(tenant):
        actor = Actor.for_api_client(ApiClient.objects.first())
        # The statements the list runs for this search (the last one reads group names).
        with CaptureQueriesContext(connection) as run:
            selectors.list_customers(actor=actor, f=selectors.CustomerFilter(q=q), limit=50)
        plans = []
        with connection.cursor() as cursor:
            for query in run.captured_queries[:-1]:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    common.close_django_connections()
    return "\n\n".join(plans)


def _fmt_load(r: LoadResult) -> list[str]:
    bad = sum(v for k, v in r.statuses.items() if k != 200) + r.errors
    return [
        f"{r.p50:.2f}",
        f"{r.p95:.2f}",
        f"{r.rps:,.0f}",
        f"{r.requests:,}",
        str(bad),
        f"{r.app_cpu_ms:.2f}",
        f"{r.db_cpu_ms:.2f}",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks customers")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per scenario")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--search-repeat", type=int, default=5)
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating rounds the lookup time is split in"
    )
    parser.add_argument(
        "--search-only", action="store_true", help="measure only the search (no lookups)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database")
    args, _rest = parser.parse_known_args(argv)
    report = common.Report("customers")
    report.print(
        f"== customers benchmark: {args.customers:,} customers, {args.clients} clients, "
        f"{args.workers} workers x {args.threads} threads, {os.cpu_count()} CPUs, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
        f"{os.getloadavg()[0]:.1f}"
    )

    url = common.bench_url()
    reuse = args.reuse and _reusable(url, args.customers)
    if reuse:
        common.setup_django(url)
        from stammgast.tenants import services
        from stammgast.tenants.models import Tenant

        tenant = Tenant.objects.get(slug="bench")
        _c, key = services.create_api_key(tenant=tenant, name="Kasse Benchmark", scopes=["pos"])
        common.close_django_connections()
        report.print(f"reusing the kept database with {args.customers:,} customers")
    else:
        url = common.create_database()
        common.setup_django(url)
        common.migrate()
        tenant, key = common.create_tenant_with_key()
        from .generate import generate_customers, verify_sample

        result = generate_customers(url, tenant_id=tenant.pk, count=args.customers)
        report.print(result.summary())
        report.print(verify_sample(url, tenant.pk))
        common.close_django_connections()

    try:
        _run(report, args, url, tenant.pk, key)
    finally:
        if not args.keep:
            common.drop_database()
    path = report.save()
    print(f"(written to {path.relative_to(common.OUT_DIR.parent.parent)})")


def _reusable(url: str, count: int) -> bool:
    try:
        with psycopg.connect(url) as conn:
            n = conn.execute(
                "SELECT number_counter FROM tenants_tenant WHERE slug = 'bench'"
            ).fetchone()
            return n is not None and n[0] == count
    except psycopg.OperationalError:
        return False


def _run(report: common.Report, args, url: str, tenant_id: int, key: str) -> None:
    numbers, phones = _samples(url, tenant_id, args.customers, 5000)
    headers = {"Authorization": f"Bearer {key}"}
    env = common.server_env(url)
    gunicorn = ["--bind", None, "--workers", str(args.workers), "--threads", str(args.threads)]

    port = common.free_port()
    gunicorn[1] = f"127.0.0.1:{port}"
    server = _start(
        [sys.executable, "-m", "stammgast.cli", "serve", "--no-worker", "--no-migrate", *gunicorn],
        env,
        port,
        "server.log",
    )
    baseline = None
    try:
        if args.search_only:
            searches = _search(port, headers, args.search_repeat)
            _report_search(report, args, tenant_id, searches)
            return
        base_port = common.free_port()
        gunicorn[1] = f"127.0.0.1:{base_port}"
        baseline = _start(
            [sys.executable, "-m", "benchmarks.baseline_app", *gunicorn],
            dict(env, BENCH_TENANT_ID=str(tenant_id)),
            base_port,
            "baseline.log",
        )
        servers = {"stammgast": (port, server, headers), "baseline": (base_port, baseline, {})}
        requests = {
            "stammgast": _lookup_requests(numbers, phones, headers),
            "baseline": _lookup_requests(numbers, phones, {}),
        }
        measured = _lookups_interleaved(servers, requests, args, url)
        searches = _search(port, headers, args.search_repeat)
        rss = _workers_peak_rss(server)
        base_rss = _workers_peak_rss(baseline)
    finally:
        _stop(server)
        if baseline is not None:
            _stop(baseline)

    ours = {name: _merged(measured["stammgast", name]) for name in ("number", "phone")}
    base = {name: _merged(measured["baseline", name]) for name in ("number", "phone")}
    report.print()
    report.print(
        f"Lookups over HTTP, {args.clients} concurrent keep-alive clients, "
        f"{args.seconds:g} s per scenario and server in {max(1, args.rounds)} alternating "
        "rounds, both servers running side by side (latency in ms)"
    )
    rows, verdicts = [], []
    for name in ("number", "phone"):
        rows.append([f"stammgast  by {name}", *_fmt_load(ours[name])])
        rows.append([f"baseline   by {name}", *_fmt_load(base[name])])
        per_round = [
            o.rps / b.rps if b.rps else 0.0
            for o, b in zip(measured["stammgast", name], measured["baseline", name], strict=True)
        ]
        ratio = common.median(per_round)
        # Every request takes Django's whole stack, middleware, ninja and the selectors.
        ok = "ok" if ratio >= GOAL_RATIO else "MISSED"
        ours_cpu = ours[name].app_cpu_ms + ours[name].db_cpu_ms
        base_cpu = base[name].app_cpu_ms + base[name].db_cpu_ms
        cost = base_cpu / ours_cpu if ours_cpu else 0
        verdicts.append(
            f"by {name}: {ratio:.0%} of the baseline's requests/s (median of the rounds: "
            + ", ".join(f"{r:.0%}" for r in per_round)
            + f"), median {ours[name].p50:.1f} ms (goal >= {GOAL_RATIO:.0%}: {ok}); "
            f"by CPU per request {cost:.0%}"
        )
    header = ["scenario", "p50", "p95", "req/s", "requests", "errors", "app CPU", "db CPU"]
    report.print(common.table(rows, header))
    for line in verdicts:
        report.print(line)
    report.print(
        "(app/db CPU: ms of CPU per request used by the server's workers and by their"
        " PostgreSQL backends; the CPU ratio is roughly the throughput ratio the"
        " servers would reach with the cores to themselves)"
    )

    _report_search(report, args, tenant_id, searches)

    report.print()
    report.print(
        "Load average (1 min) when the measurements ended: "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other processes share the cores)"
    )
    peak = max(rss) if rss else float("nan")
    report.print(
        "Peak RSS (VmHWM) of the server's worker processes: "
        + ", ".join(f"{r:.0f} MB" for r in rss)
        + f" (goal < 250 MB: {'ok' if peak < 250 else 'MISSED'}); baseline workers: "
        + ", ".join(f"{r:.0f} MB" for r in base_rss)
    )


def _report_search(report: common.Report, args, tenant_id: int, searches) -> None:
    report.print()
    all_times = [t for _q, _n, times in searches for t in times]
    p95 = common.percentile(all_times, 95)
    report.print(
        f"Search via GET /api/v1/customers?q=... ({len(SEARCHES)} queries x "
        f"{args.search_repeat}, one client): p50 {common.median(all_times):.1f} ms, "
        f"p95 {p95:.1f} ms (goal p95 < 50 ms: {'ok' if p95 < 50 else 'MISSED'})"
    )
    rows = [[repr(q), str(n), f"{common.median(t):.1f}", f"{max(t):.1f}"] for q, n, t in searches]
    report.print(common.table(rows, ["query", "hits (max 50)", "median ms", "max ms"]))
    slowest = max(searches, key=lambda s: common.median(s[2]))
    report.print()
    report.print(f"EXPLAIN ANALYZE of the slowest search, {slowest[0]!r}:")
    for line in _explain(tenant_id, slowest[0]).splitlines():
        report.print("  " + line)
