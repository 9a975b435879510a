"""Shared helpers of the benchmarks: the throw-away database, Django set-up, figures, output."""

from __future__ import annotations

import os
import socket
import statistics
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# Another name (it must start with "stammgast_bench") keeps two runs apart.
BENCH_DB = os.environ.get("STAMMGAST_BENCH_DB", "stammgast_bench")
OUT_DIR = Path(__file__).resolve().parent / "out"


# Read once: setting up Django in this process points DATABASE_URL at the bench database.
_ADMIN_URL = os.environ.get("DATABASE_URL") or DEFAULT_URL


def admin_url() -> str:
    """The server's maintenance database (DATABASE_URL); only used to create/drop ours."""
    url = _ADMIN_URL
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("The benchmarks need PostgreSQL: set DATABASE_URL=postgres://...")
    return url


def bench_url(name: str = BENCH_DB) -> str:
    """DATABASE_URL with the database name replaced by the benchmark's own database."""
    parts = urlsplit(admin_url())
    return urlunsplit(parts._replace(path="/" + name))


def _admin_conn() -> psycopg.Connection:
    return psycopg.connect(admin_url(), autocommit=True)


def create_database(name: str = BENCH_DB) -> str:
    """(Re)create the benchmark database; never touches any other database."""
    if not name.startswith("stammgast_bench"):
        raise ValueError("benchmark databases are named stammgast_bench*")
    close_django_connections()
    with _admin_conn() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return bench_url(name)


def drop_database(name: str = BENCH_DB) -> None:
    if not name.startswith("stammgast_bench"):
        raise ValueError("benchmark databases are named stammgast_bench*")
    close_django_connections()
    with _admin_conn() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextmanager
def bench_database(name: str = BENCH_DB, keep: bool = False):
    """A fresh, migrated benchmark database for the duration of the block; yields its URL."""
    url = create_database(name)
    try:
        setup_django(url)
        migrate()
        yield url
    finally:
        if not keep:
            drop_database(name)


def server_env(url: str) -> dict[str, str]:
    """Environment for a stammgast process (server, command) working on the bench database."""
    env = dict(os.environ)
    env["DATABASE_URL"] = url
    env["DJANGO_SETTINGS_MODULE"] = "stammgast.settings"
    env["STAMMGAST_VAR_DIR"] = str(OUT_DIR / "var")
    env.setdefault("SECRET_KEY", "benchmark-only-secret-key-not-for-production-use-0123456789")
    env.setdefault("LOG_LEVEL", "ERROR")
    env["DEBUG"] = ""
    env["STAMMGAST_DEBUG"] = ""
    return env


_django_url: str | None = None


def setup_django(url: str) -> None:
    """Configure Django in this process for the bench database (once per process)."""
    global _django_url
    if _django_url is not None:
        if _django_url != url:
            raise RuntimeError("Django is set up for another database in this process")
        return
    os.environ.update(server_env(url))
    import django

    django.setup()
    _django_url = url


def close_django_connections() -> None:
    if _django_url is None:
        return
    from django.db import connections

    connections.close_all()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    close_django_connections()


def create_tenant_with_key(slug: str = "bench", name: str = "Gasthaus Benchmark GmbH"):
    """A tenant and a POS API key for it (through the real services); returns (tenant, key)."""
    from stammgast.tenants import services

    tenant = services.create_tenant(slug=slug, name=name)
    _client, key = services.create_api_key(tenant=tenant, name="Kasse Benchmark", scopes=["pos"])
    close_django_connections()
    return tenant, key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60.0, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


# --- figures -----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of unsorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss_peak_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a process in MB, or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes (those still running)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick


def child_pids(pid: int) -> list[int]:
    """Direct children of a process (gunicorn's workers of its arbiter)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain-text table with columns padded to their widest cell."""
    cells = [header, *rows]
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                str(c).ljust(w) if i == 0 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Report:
    """Collects the printed lines of one benchmark and writes them to benchmarks/out/."""

    def __init__(self, name: str):
        self.name = name
        self.lines: list[str] = []

    def print(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def save(self) -> Path:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        path = OUT_DIR / f"{self.name}-{stamp}.txt"
        text = "\n".join(self.lines) + "\n"
        path.write_text(text)
        (OUT_DIR / f"{self.name}-latest.txt").write_text(text)
        return path
