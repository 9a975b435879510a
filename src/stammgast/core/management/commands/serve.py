"""stammgast serve: migrate, start a background-task worker, serve with gunicorn."""

import os
import signal
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run stammgast in production mode: migrations, task worker, WSGI server."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("STAMMGAST_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("STAMMGAST_WORKERS", "2"))
        )
        parser.add_argument(
            "--threads", type=int, default=int(os.environ.get("STAMMGAST_THREADS", "4"))
        )
        parser.add_argument(
            "--no-worker", action="store_true", help="do not start the background-task worker"
        )
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args, **opts):
        if not opts["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        worker = None
        if not opts["no_worker"]:
            # Supervised: a worker that dies is started again (core/.../worker.py).
            worker = subprocess.Popen([sys.executable, "-m", "stammgast.cli", "worker"])
        try:
            self._serve(opts)
        finally:
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()

    def _serve(self, opts):
        from django.core.wsgi import get_wsgi_application

        application = get_wsgi_application()

        self.stdout.write(f"stammgast serves on http://{opts['bind']}/ (API /api/v1/docs)")
        self.stdout.flush()
        run_gunicorn(
            application,
            gunicorn_settings(bind=opts["bind"], workers=opts["workers"], threads=opts["threads"]),
        )


def gunicorn_settings(*, bind: str, workers: int, threads: int) -> dict:
    """The server settings; the benchmark's baseline app runs with exactly these."""
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "accesslog": os.environ.get("STAMMGAST_ACCESS_LOG") or None,
        "timeout": 120,
    }


def run_gunicorn(application, settings: dict) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            return application

    Server().run()
