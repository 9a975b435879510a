"""A progress bar with rows done, rate and ETA for the export and import commands."""

from __future__ import annotations

import os
import sys
import time

from django.utils import translation
from django.utils.translation import gettext as _

from .progress import ImportStages


class ProgressBar:
    """Redraws one line on a terminal: rows done of the total and ETA; for an import also
    how many rows were read, checked and written. Elsewhere (a pipe, a log file, cron) a
    line every ten percent, or nothing with `terminal_only` (the import: its result lines
    at the end are what counts there)."""

    def __init__(
        self, label: str, stream=None, width: int = 30, *, terminal_only: bool = False
    ) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.started = time.monotonic()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.quiet = terminal_only and not self.tty
        self.last_drawn = 0.0
        self.last_decile = -1

    def __call__(self, done: int, total: int | None, stages: ImportStages | None = None) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        finished = bool(total) and done >= total
        # A million rows come in a thousand batches; ten redraws a second are enough.
        if self.tty and now - self.last_drawn < 0.1 and not finished:
            return
        self.last_drawn = now
        elapsed = now - self.started
        if stages is not None:
            counts = _("read %(read)s, checked %(checked)s, written %(written)s") % {
                "read": f"{stages.read:,}",
                "checked": f"{stages.checked:,}",
                "written": f"{stages.written:,}",
            }
        else:
            counts = f"{done:,}"
        fraction = 0.0
        if not total:
            line = f"{self.label}: " + _("%(counts)s rows") % {"counts": counts}
        else:
            fraction = min(1.0, done / total)
            filled = int(self.width * fraction)
            eta = elapsed / fraction - elapsed if fraction > 0 else None
            eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}" if eta is not None else "?"
            line = (
                f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%} "
                + _("%(counts)s of %(total)s rows") % {"counts": counts, "total": f"{total:,}"}
                + f" ETA {eta_text}"
            )
        if not self.tty:
            decile = int(fraction * 10)
            if decile != self.last_decile:
                self.last_decile = decile
                self.stream.write(line + "\n")
            return
        # Clear to the end of the line: the new line may be shorter than the last.
        self.stream.write("\r" + line + "\x1b[K")
        if finished:
            self.stream.write("\n")
        self.stream.flush()


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
