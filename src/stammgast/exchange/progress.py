"""How a long export or import reports progress and learns that it should stop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ImportStages:
    """How far an import is: rows read from the file, checked by the customer rules, and
    written to the database (in its transaction: kept only when the import ends well)."""

    read: int
    checked: int
    written: int


class Progress(Protocol):
    """Called with the rows done (an import: written) and the total, if known; an import
    also says how far reading and checking are."""

    def __call__(
        self, done: int, total: int | None, stages: ImportStages | None = None
    ) -> None: ...


ShouldCancel = Callable[[], bool]


class Cancelled(Exception):
    """The user asked to stop the job; nothing it did is kept."""
