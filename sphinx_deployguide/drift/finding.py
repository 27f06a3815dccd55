"""The one result type of every drift check."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..redact import redact_url

#: ``error``: the runbook is wrong and will stay wrong (fails ``deployguide lint``);
#: ``warning``: it may resolve itself or is advisory (fails ``sphinx-build -W``, and
#: ``deployguide lint --strict``); ``info``: worth knowing, never a failure.
SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """A located drift: which check (``subtype``), how bad, where, what, and how to fix it."""

    subtype: str
    severity: str
    file: str | None
    line: int | None
    message: str
    fix: str | None = None
    #: For a ``[pin]`` finding: the verdict's state of the pinned version (see :mod:`..verdict`).
    state: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        # A message may quote a config value or a URL: every output shows it redacted.
        object.__setattr__(self, "message", redact_url(self.message))
        if self.fix is not None:
            object.__setattr__(self, "fix", redact_url(self.fix))

    @property
    def location(self) -> str:
        """``file:line`` (or just the file), empty when the finding has no file."""
        if not self.file:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file

    def text(self) -> str:
        """The message with its fix, as one line for a warning or a terminal."""
        return f"{self.message}; fix: {self.fix}" if self.fix else self.message

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def display_path(path: str | None, base: Path | None = None) -> str | None:
    """``path`` relative to ``base`` (default: the working directory) when inside it."""
    if not path:
        return None
    base = base or Path.cwd()
    try:
        return Path(path).resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path
