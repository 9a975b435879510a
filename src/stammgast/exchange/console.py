"""A progress bar with rows done, rate and ETA for the export and import commands."""

from __future__ import annotations

import os
import sys
import time

from django.utils import translation
from django.utils.translation import gettext as _


class ProgressBar:
    """Redraws one line on a terminal; prints a line every ten percent elsewhere."""

    def __init__(self, label: str, stream=None, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.started = time.monotonic()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last_decile = -1

    def __call__(self, done: int, total: int | None) -> None:
        elapsed = time.monotonic() - self.started
        if not total:
            line = f"{self.label}: {done:,} rows"
            fraction = 0.0
        else:
            fraction = min(1.0, done / total)
            filled = int(self.width * fraction)
            eta = elapsed / fraction - elapsed if fraction > 0 else None
            eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}" if eta is not None else "?"
            line = (
                f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                f"{fraction:4.0%} {done:,}/{total:,} ETA {eta_text}"
            )
        if self.tty:
            self.stream.write("\r" + line)
            if total and done >= total:
                self.stream.write("\n")
            self.stream.flush()
        else:
            decile = int(fraction * 10)
            if decile != self.last_decile:
                self.last_decile = decile
                self.stream.write(line + "\n")


class EndsQuietly:
    """For a command whose output may go into a pipe that closes early (`| head -1`) or
    that the user stops with Ctrl-C: no traceback, only a line and the usual status."""

    def stopped_message(self) -> str:
        return _("Stopped; nothing was changed.")

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except BrokenPipeError:
            # Whatever is still buffered must not fail again when Python exits.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)  # 128 + SIGPIPE, as a shell reports it
        except KeyboardInterrupt:
            with translation.override(options.get("language") or translation.get_language()):
                sys.stderr.write("\n" + self.stopped_message() + "\n")
            sys.exit(130)  # 128 + SIGINT
