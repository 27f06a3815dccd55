"""Live checks: turn a ``depends`` catalog entry into a verdict with evidence.

This module holds what every check shares (:class:`CheckResult`, :class:`CheckContext`,
lazily resolved facts, the failure time) and the registry; the checks live in
:mod:`.chart_published` and :mod:`.log_checks`. Each check has a thin adapter that gathers evidence (from the log, the chart index and the
chart source via :class:`~sphinx_deployguide.facts.FactSet`) and a pure ``decide_*``
function that turns the evidence into a :class:`CheckResult`, so the decision logic can be
tested with plain values and the adapters against real git repos and a real HTTP index.

``chart-published``
    "chart version not found": published now? published after the failure? still within
    the publish delay of its chart commit? or built from a SHA that is not a chart commit
    (the 2018-01-04 incident), in which case the right version is named.
``chart-repository``
    "not a valid chart repository": the URL the model expects and a server/network error
    means transient; another URL or a 404 means the URL is wrong.
``rollout``
    a wait/rollout timeout: pods in ``CrashLoopBackOff``/``ImagePullBackOff``/
    ``ErrImagePull`` mean the change is broken; otherwise rerun once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..delay import format_duration
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
        if not self._done:
            self._done = True
            try:
                self._facts = self._loader()  # type: ignore[misc]
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


def minutes(delta: timedelta) -> str:
    """The length of ``delta`` (sign dropped), as every output writes durations."""
    return format_duration(abs(delta.total_seconds()))


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


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


def _registry() -> dict[str, Callable[[EntryMatch, CheckContext], CheckResult]]:
    from .chart_published import check_chart_published
    from .log_checks import check_chart_repository, check_rollout

    return {
        "chart-published": check_chart_published,
        "chart-repository": check_chart_repository,
        "rollout": check_rollout,
    }


def run_check(match: EntryMatch, ctx: CheckContext) -> CheckResult | None:
    """The entry's live check, or None when it has none."""
    if match.entry.check is None:
        return None
    return _registry()[match.entry.check](match, ctx)
