"""User-facing errors.

Every mistake a user can make (a bad model, a missing file, an unreachable index)
raises a subclass of :class:`DeployGuideError`. The CLI prints ``str(error)`` and
exits with ``error.exit_code``; it never shows a traceback for these. ``str(error)`` has
URL credentials redacted, whatever text went into the message.
"""

from __future__ import annotations

from pathlib import Path

from .exitcodes import EXIT_BAD_INPUT
from .redact import redact_url


class DeployGuideError(Exception):
    """An error the user can fix: says where (file, line, key) and what was expected."""

    exit_code = EXIT_BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.key = key

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        key = f"{self.key}: " if self.key else ""
        return redact_url(f"{where}{key}{self.message}")


class ModelError(DeployGuideError):
    """``deployguide.toml`` is invalid (unknown key, wrong type, missing file, ...)."""


class GitError(DeployGuideError):
    """A git command failed, or a chart source cannot be used (e.g. a shallow clone)."""


class ChartIndexError(DeployGuideError):
    """The chart index could not be fetched or parsed."""


class NetworkError(ChartIndexError):
    """The chart index could not be reached (the offline policy decides what follows)."""


class FactError(DeployGuideError):
    """A fact name is unknown or a lookup (``config:FILE#KEY``) does not resolve."""
