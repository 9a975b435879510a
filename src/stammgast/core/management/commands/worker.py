"""stammgast worker: the background-task worker, restarted whenever it stops.

`stammgast serve` starts this beside the web server. The worker itself is django-tasks'
`db_worker`; this command keeps one running: when it exits (a crash, a database error it
could not survive, being killed), the exit is logged with its code or signal and a new
worker starts, after a pause that grows while it keeps dying at once (1 s up to 60 s).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

log = logging.getLogger("stammgast.worker")

# A worker that ran this long was healthy: the next restart is immediate again.
HEALTHY_AFTER = 30.0
MAX_PAUSE = 60.0


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class Command(BaseCommand):
    help = "Run the background-task worker and restart it whenever it stops."

    def add_arguments(self, parser):
        parser.add_argument(
            "--worker-args",
            nargs="*",
            default=[],
            help="options passed to db_worker (e.g. --queue-name default)",
        )

    def handle(self, *args, **opts):
        self.stopping = False
        self.child: subprocess.Popen | None = None

        def stop(signum, frame):
            self.stopping = True
            if self.child is not None and self.child.poll() is None:
                self.child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        pause = 1.0
        command = [sys.executable, "-m", "stammgast.cli", "db_worker", *opts["worker_args"]]
        while not self.stopping:
            started = time.monotonic()
            self.child = subprocess.Popen(command)
            log.info("background worker started (pid %s)", self.child.pid)
            code = self.child.wait()
            if self.stopping:
                break
            lived = time.monotonic() - started
            pause = 1.0 if lived >= HEALTHY_AFTER else min(pause * 2, MAX_PAUSE)
            log.error(
                "background worker (pid %s) %s after %.0f s; starting a new one in %.0f s",
                self.child.pid,
                _exit_reason(code),
                lived,
                pause,
            )
            deadline = time.monotonic() + pause
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(0.2)
        if self.child is not None and self.child.poll() is None:
            try:
                self.child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.child.kill()
