"""How a long export or import reports progress and learns that it should stop."""

from collections.abc import Callable

Progress = Callable[[int, int | None], None]
ShouldCancel = Callable[[], bool]


class Cancelled(Exception):
    """The user asked to stop the job; nothing it did is kept."""
