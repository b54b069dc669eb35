"""A tiny progress protocol so the library can report progress without knowing about rich."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress from long operations; the CLI renders it as a rich progress bar."""

    def start(self, description: str, total: int | None) -> None:
        """A new phase begins; ``total`` is None when the amount of work is unknown."""

    def advance(self, n: int = 1) -> None:
        """``n`` more units of the current phase are done."""


class NullProgress:
    """Progress sink that ignores everything: the default for library callers."""

    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass
