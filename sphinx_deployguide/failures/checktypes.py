"""What every live check takes and returns: :class:`CheckContext` in, :class:`CheckResult` out.

The checks (:mod:`.chart_published`, :mod:`.log_checks`) and their registry
(:mod:`.checks`) import these; this module imports no check, so no check imports its own
registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import DeployGuideError
from .logtext import CleanLog
from .matcher import EntryMatch

if TYPE_CHECKING:
    from ..facts import FactSet


@dataclass(frozen=True)
class CheckResult:
    """What a live check found. ``verdict`` None: it could not decide (``summary`` says why)."""

    check: str
    verdict: str | None  # "spurious" | "legitimate" | None
    summary: str
    action: str
    evidence: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def decided(self) -> bool:
        return self.verdict is not None


class LazyFacts:
    """Facts resolved on first use: resolving asks git and the index, and most logs need
    neither (only ``chart-published`` and ``chart-repository`` do)."""

    def __init__(self, loader: Callable[[], FactSet] | None, problem: str | None = None) -> None:
        self._loader = loader
        self._facts: FactSet | None = None
        self._problem = problem if loader is None else None
        self._done = loader is None

    @classmethod
    def of(cls, facts: FactSet) -> LazyFacts:
        return cls(lambda: facts)

    requested = False  # whether any check asked (so "no model" is worth saying)

    def get(self) -> tuple[FactSet | None, str | None]:
        """The facts, or None and why not (no model, git or index error)."""
        self.requested = True
        if not self._done and self._loader is not None:  # (no loader: done from the start)
            self._done = True
            try:
                self._facts = self._loader()
            except DeployGuideError as exc:
                self._problem = str(exc)
        return self._facts, (self._problem or (None if self._facts else "no model"))

    @property
    def resolved(self) -> bool:
        return self._done and self._facts is not None


@dataclass(frozen=True)
class CheckContext:
    """What the checks may use besides the match itself."""

    lines: CleanLog
    now: datetime
    facts: LazyFacts = field(default_factory=lambda: LazyFacts(None, "no model loaded"))
    failed_at: datetime | None = None  # --failed-at (wins over log timestamps)
    #: ``now`` is a moment asked for (``--now``): judge on the index as it was then.
    as_of: bool = False


def failure_time(match: EntryMatch, ctx: CheckContext) -> tuple[datetime | None, str]:
    """When the failure happened, and where that came from."""
    if ctx.failed_at is not None:
        return ctx.failed_at, "--failed-at"
    hit = match.last
    if hit.timestamp is not None:
        return hit.timestamp, f"log line {hit.number}"
    line = ctx.lines.stamp_before(hit.number - ctx.lines.first_line)
    if line is not None and line.timestamp is not None:
        return line.timestamp, f"log line {line.number} (nearest timestamp before the error)"
    return None, "unknown"
