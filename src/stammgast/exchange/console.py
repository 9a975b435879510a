"""A progress bar with rows done, rate and ETA for the export and import commands."""

from __future__ import annotations

import sys
import time


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
