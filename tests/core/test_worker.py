"""The background-task worker `stammgast serve` runs is restarted when it dies.

Runs real processes against a database of their own (a file under a temporary folder on
SQLite, a scratch database on PostgreSQL), as `stammgast serve` would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds:.0f} s: {what}")


@pytest.fixture
def own_database(tmp_path):
    """Environment for processes with a migrated database of their own."""
    # One database of its own: not the clusters and replicas the PostgreSQL run configures.
    own = (
        "DJANGO_",
        "PYTEST",
        "TEST_",
        "STAMMGAST_CLUSTERS",
        "STAMMGAST_REPLICAS",
        "STAMMGAST_TEST",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    env["STAMMGAST_VAR_DIR"] = str(tmp_path / "var")
    env["LOG_LEVEL"] = "INFO"
    admin_url = os.environ.get("DATABASE_URL", "")
    name = None
    if admin_url.startswith("postgres"):
        name = f"stammgast_worker_test_{os.getpid()}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        env["DATABASE_URL"] = urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
    else:
        env.pop("DATABASE_URL", None)
    run = [sys.executable, "-m", "stammgast.cli"]
    subprocess.run([*run, "migrate", "-v0"], env=env, check=True, timeout=300)
    yield env
    if name:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _enqueue_and_wait(env) -> str:
    script = (
        "import django, time\n"
        "django.setup()\n"
        "from stammgast.exchange.tasks import delete_expired_exchange_files as t\n"
        "result = t.enqueue()\n"
        "deadline = time.monotonic() + 60\n"
        "while time.monotonic() < deadline:\n"
        "    result.refresh()\n"
        "    if result.is_finished: break\n"
        "    time.sleep(0.2)\n"
        "print(result.status)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "DJANGO_SETTINGS_MODULE": "stammgast.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().rsplit("\n", 1)[-1]


def test_a_killed_job_worker_is_back_within_seconds_and_the_waiting_job_completes(own_database):
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "stammgast.cli", "worker"],
        env=own_database,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = _wait_for(lambda: _children(supervisor.pid), 30, "a worker starts")[0]
        os.kill(first, signal.SIGKILL)
        second = _wait_for(
            lambda: [p for p in _children(supervisor.pid) if p != first], 15, "a new worker"
        )[0]
        assert second != first
        assert _enqueue_and_wait(own_database).endswith("SUCCESSFUL")
    finally:
        supervisor.send_signal(signal.SIGTERM)
        try:
            _out, err = supervisor.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            supervisor.kill()
            _out, err = supervisor.communicate()
    assert supervisor.returncode == 0
    # Why it died is in the log.
    assert f"(pid {first}) killed by SIGKILL" in err
