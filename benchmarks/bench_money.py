"""Credit payments and bills under load, each next to its baseline measured in the same run.

python -m benchmarks money [--accounts 1000] [--clients 32] [--seconds 10]

- committed credit payments per second, `--clients` concurrent clients over `--accounts`
  accounts and all of them on one account: through the service layer in-process (one
  thread and one connection per client) and through the HTTP API (`stammgast serve`),
  next to a bare psycopg loop doing per payment what the service must at least do
  (`SELECT ... FOR UPDATE`, `UPDATE`, `INSERT` of the entry, in a transaction);
- afterwards every balance is compared with the sum of its entries (drift);
- `POST /api/v1/bills` with a customer, three lines, a subsidy and a credit payment,
  8 clients: median and p95 latency.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import psycopg

from . import common
from .loadgen import run_load

PAYMENT_CENTS = 1
START_CREDIT = 100_000_000  # enough that no payment of the run is refused


def _setup(url: str, accounts: int) -> tuple[int, str, list[int]]:
    """A tenant with a location, a till key and `accounts` customers with credit."""
    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers import services as customer_services
    from stammgast.ledger import services as ledger_services
    from stammgast.tenants import services as tenant_services
    from stammgast.tenants.actor import Actor

    tenant = tenant_services.create_tenant(slug="bench", name="Kantine Benchmark")
    location = tenant_services.create_location(tenant=tenant, code="kantine", name="Kantine")
    _client, key = tenant_services.create_api_key(
        tenant=tenant, name="Kasse Benchmark", scopes=["pos"], location=location
    )
    actor = Actor.system(tenant)
    with tenant_scope(tenant):
        from stammgast.customers.models import CustomerGroup
        from stammgast.pricing import services as pricing_services

        CustomerGroup.objects.create(tenant=tenant, name="Belegschaft")
        # A canteen's lunch subsidy, often enough a day that the run never uses it up.
        pricing_services.create_subsidy_rule(
            actor=actor,
            data={"name": "Mittag", "group": "Belegschaft", "categories": ["meal"],
                  "kind": "fixed", "value": "2.50", "times_per_day": 10},
        )  # fmt: skip
        for n in range(accounts):
            customer_services.create_customer(
                actor=actor, data={"last_name": f"Gast {n}", "groups": ["Belegschaft"]}
            )
        numbers = list(range(1, accounts + 1))
        for number in numbers:
            ledger_services.top_up_credit(actor=actor, customer_number=number, amount=START_CREDIT)
    common.close_django_connections()
    return tenant.pk, key, numbers


def _in_processes(
    url: str, tenant_id: int, numbers: list[int], clients: int, seconds: float, tag: str
):
    """Committed payments per second through ledger.services.pay_with_credit, the clients
    spread over one process per core (threads of one process share one interpreter lock)."""
    import multiprocessing

    processes = max(1, min(os.cpu_count() or 1, clients))
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        shares = [
            clients // processes + (1 if p < clients % processes else 0) for p in range(processes)
        ]
        results = pool.starmap(
            _payments_in_one_process,
            [
                (url, tenant_id, numbers, share, seconds, f"{tag}p{p}")
                for p, share in enumerate(shares)
            ],
        )
    return sum(results)


def _payments_in_one_process(url, tenant_id, numbers, clients, seconds, tag) -> float:
    common.setup_django(url)
    return _in_process(tenant_id, numbers, clients, seconds, tag)


def _in_process(tenant_id: int, numbers: list[int], clients: int, seconds: float, tag: str):
    """Committed payments per second through ledger.services.pay_with_credit."""
    from django.db import connections

    from stammgast.core.tenancy import tenant_scope
    from stammgast.ledger import services as ledger_services
    from stammgast.tenants.actor import Actor
    from stammgast.tenants.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_id)
    actor = Actor.system(tenant)
    counts = [0] * clients
    failures: list[BaseException] = []
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(c: int) -> None:
        rng = random.Random(c)
        try:
            with tenant_scope(tenant):
                start.wait()
                i = 0
                while time.monotonic() < stop_at[0]:
                    ledger_services.pay_with_credit(
                        actor=actor,
                        customer_number=rng.choice(numbers),
                        amount=PAYMENT_CENTS,
                        idempotency_key=f"{tag}-{c}-{i}",
                    )
                    counts[c] += 1
                    i += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
            start.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    if failures:
        raise failures[0]
    return sum(counts) / elapsed


def _bare_loop(url: str, tenant_id: int, numbers: list[int], clients: int, seconds: float):
    """The same payments with raw psycopg: lock, update, insert, commit; nothing else."""
    with psycopg.connect(url) as conn:
        ids = dict(
            conn.execute(
                "SELECT c.number, a.id FROM ledger_creditaccount a JOIN customers_customer c"
                " ON c.id = a.customer_id WHERE a.tenant_id = %s",
                [tenant_id],
            ).fetchall()
        )
    accounts = [ids[n] for n in numbers]
    counts = [0] * clients
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(c: int) -> None:
        rng = random.Random(c)
        with psycopg.connect(url) as conn:
            start.wait()
            while time.monotonic() < stop_at[0]:
                account = rng.choice(accounts)
                with conn.transaction():
                    balance = conn.execute(
                        "SELECT balance FROM ledger_creditaccount WHERE id = %s FOR UPDATE",
                        [account],
                    ).fetchone()[0]
                    conn.execute(
                        "UPDATE ledger_creditaccount SET balance = %s, updated_at = now()"
                        " WHERE id = %s",
                        [balance - PAYMENT_CENTS, account],
                    )
                    conn.execute(
                        "INSERT INTO ledger_creditentry (tenant_id, account_id, kind, amount,"
                        " balance_after, currency, at, actor_label, location_code, terminal,"
                        " reason, idempotency_key) VALUES (%s, %s, 'payment', %s, %s, 'EUR',"
                        " now(), 'baseline', '', '', '', '')",
                        [tenant_id, account, -PAYMENT_CENTS, balance - PAYMENT_CENTS],
                    )
                counts[c] += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - began)


def _encode_post(path: str, body: dict, headers: dict[str, str]) -> bytes:
    payload = json.dumps(body).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Connection: keep-alive",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
    ]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def _serve(url: str, port: int) -> subprocess.Popen:
    env = common.server_env(url)
    common.OUT_DIR.mkdir(parents=True, exist_ok=True)
    log = open(common.OUT_DIR / "money-server.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "stammgast.cli", "serve", "--no-worker", "--no-migrate",
         "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    common.wait_for_port(port, timeout=120, proc=proc)
    time.sleep(0.5)
    return proc


def _drift(tenant_id: int) -> list[str]:
    from stammgast.core.tenancy import tenant_scope
    from stammgast.ledger import services as ledger_services
    from stammgast.tenants.models import Tenant

    with tenant_scope(Tenant.objects.get(pk=tenant_id)):
        return ledger_services.check_balances()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks money")
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args, _rest = parser.parse_known_args(argv)
    report = common.Report("money")
    report.print(
        f"== money benchmark: {args.accounts:,} accounts, {args.clients} clients, "
        f"{args.seconds:g} s per scenario, {os.cpu_count()} CPUs, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    name = "stammgast_bench_money"
    url = common.create_database(name)
    try:
        common.setup_django(url)
        common.migrate()
        started = time.monotonic()
        tenant_id, key, numbers = _setup(url, args.accounts)
        report.print(
            f"set up {args.accounts:,} customers with credit in {time.monotonic() - started:.0f} s"
        )
        rows = []
        tags = itertools.count()
        for label, pool in (("many accounts", numbers), ("one account", numbers[:1])):
            ours = _in_processes(url, tenant_id, pool, args.clients, args.seconds, f"r{next(tags)}")
            common.close_django_connections()
            base = _bare_loop(url, tenant_id, pool, args.clients, args.seconds)
            rows.append((f"service layer, {label}", ours, base))

        port = common.free_port()
        server = _serve(url, port)
        try:
            headers = {"Authorization": f"Bearer {key}"}
            counter = itertools.count()

            def payment(pool):
                def make(client: int, i: int) -> bytes:
                    number = random.Random(client * 1_000_003 + i).choice(pool)
                    return _encode_post(
                        f"/api/v1/customers/{number}/credit/payments",
                        {"amount": "0.01"},
                        {**headers, "Idempotency-Key": f"h{next(counter)}"},
                    )

                return make

            for label, pool in (("many accounts", numbers), ("one account", numbers[:1])):
                result = run_load(
                    port, payment(pool), clients=args.clients, seconds=args.seconds, warmup=1.0
                )
                bad = sum(n for s, n in result.statuses.items() if s != 201)
                rows.append((f"HTTP API, {label} ({bad} not 201)", result.rps, None))

            def bill(client: int, i: int) -> bytes:
                n = next(counter)
                return _encode_post(
                    "/api/v1/bills",
                    {
                        "number": f"B{n}",
                        "terminal": f"T{client}",
                        "customer": random.Random(n).choice(numbers),
                        "lines": [
                            {
                                "item": "MEN1",
                                "category": "meal",
                                "unit_price": "4.90",
                                "subsidy": "2.50",
                            },
                            {"item": "SAL", "category": "side", "unit_price": "1.20"},
                            {
                                "item": "WAS",
                                "category": "drink",
                                "quantity": 2,
                                "unit_price": "0.90",
                            },
                        ],
                        "payments": [{"method": "credit", "amount": "5.40"}],
                    },
                    {**headers, "Idempotency-Key": f"bill-{n}"},
                )

            bills = run_load(port, bill, clients=8, seconds=args.seconds, warmup=1.0)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

        report.print()
        report.print("Committed credit payments per second (baseline: bare psycopg, same database)")
        table = [
            [
                label,
                f"{ours:,.0f}",
                f"{base:,.0f}" if base else "",
                f"{ours / base:.0%}" if base else "",
            ]
            for label, ours, base in rows
        ]
        report.print(common.table(table, ["scenario", "payments/s", "bare loop/s", "share"]))
        many = rows[0][1]
        report.print(
            f"service layer over many accounts: {many:,.0f} payments/s (goal >= 1,000: "
            f"{'ok' if many >= 1000 else 'MISSED'}), {many / rows[0][2]:.0%} of the bare loop "
            f"(goal >= 50%: {'ok' if many >= rows[0][2] / 2 else 'MISSED'})"
        )
        bad_bills = sum(n for s, n in bills.statuses.items() if s != 201)
        report.print(
            f"POST /api/v1/bills (customer, 3 lines, a subsidy, credit payment), 8 clients: "
            f"{bills.requests:,} bills, {bad_bills} not 201, median {bills.p50:.1f} ms, "
            f"p95 {bills.p95:.1f} ms (goal median < 15 ms: {'ok' if bills.p50 < 15 else 'MISSED'})"
        )
        drift = _drift(tenant_id)
        report.print(
            "Drift: every balance equals the sum of its entries"
            if not drift
            else f"DRIFT in {len(drift)} accounts: {drift[:5]}"
        )
    finally:
        common.close_django_connections()
        if not args.keep:
            common.drop_database(name)
    path = report.save()
    print(f"(written to {path.relative_to(common.OUT_DIR.parent.parent)})")
