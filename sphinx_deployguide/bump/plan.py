"""What a bump asks for and what it would pin, and the refusals, in the order a reviewer
would ask: is there a pin, is the target a chart commit, is it newer than the pin, can the
pin file be edited.

Versions are ordered by their chart commits' place in the source history (never by
SemVer); every word of a refusal comes from a verdict (:mod:`..verdict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..chartversion import compute_chart_version
from ..config import ChartSpec, Model, PinSpec
from ..errors import DeployGuideError
from ..exitcodes import EXIT_REFUSED, EXIT_UNPUBLISHED
from ..facts import ChartState
from ..git import GitRepo
from ..pinedit import PinEdit, locate_pin, replace_pin
from ..verdict import Verdict, verdict_for_version
from ..versionparse import parse_version


class BumpError(DeployGuideError):
    """A bump that cannot go ahead, with machine-readable details for ``--json`` (reason,
    suggestion, state, ...): bad input, exit 2."""

    def __init__(
        self, message: str, *, file: str | None = None, key: str | None = None, **details: Any
    ) -> None:
        super().__init__(message, file=file, key=key)
        self.details = details


class BumpRefused(BumpError):
    """The bump would be wrong (dirty pin file, downgrade, not a chart commit): exit 1."""

    exit_code = EXIT_REFUSED


class NotPublished(BumpError):
    """The target is not in the chart index (or did not appear before the timeout): exit 3."""

    exit_code = EXIT_UNPUBLISHED


def error_details(exc: DeployGuideError) -> dict[str, Any]:
    """Machine-readable details of a refusal (for ``--json``): reason, suggestion, ..."""
    return dict(exc.details) if isinstance(exc, BumpError) else {}


@dataclass(frozen=True)
class BumpRequest:
    """What ``deployguide bump`` was asked to do (its options)."""

    chart: str
    to: str | None = None
    wait: bool = False
    timeout_min: float | None = None
    commit: bool = False
    branch: str | None = None
    dry_run: bool = False
    allow_downgrade: bool = False
    allow_unpublished: bool = False
    poll_interval: float | None = None
    refresh: bool = False


@dataclass(frozen=True)
class Target:
    """The version to pin: its string, the chart commit and the chart's paths at it, and
    its verdict (:mod:`..verdict`), whose words the refusals use."""

    version: str
    short: str
    full: str
    paths: tuple[str, ...]
    verdict: Verdict | None = None


@dataclass(frozen=True)
class Pin:
    """The version pinned now, with its commit and the chart commit at that commit."""

    version: str
    line: int
    short: str | None  # the SHA written in the version
    full: str | None  # that commit, if the source has it
    chart_full: str | None  # the chart commit at that commit (differs for a merge SHA)
    chart_version: str | None  # what the index (or chartpress) calls the chart at that commit
    verdict: Verdict | None = None


def chart_to_bump(model: Model, chart: str) -> tuple[ChartSpec, PinSpec]:
    """The chart ``CHART`` names, and its pin (a chart without one has nothing to bump)."""
    if chart not in model.charts:
        known = ", ".join(model.charts) or "none"
        raise DeployGuideError(
            f"no chart {chart!r} in the model (charts: {known})", file=model.path, key="CHART"
        )
    spec = model.charts[chart]
    if spec.pin is None:
        raise DeployGuideError(
            f"chart {chart!r} has no pin in the model, so there is nothing to bump; "
            'add pin = "FILE#KEY.PATH" to [charts.' + chart + "]",
            file=model.path,
            key=f"charts.{chart}.pin",
        )
    return spec, spec.pin


def resolve_target(state: ChartState, to: str | None) -> Target:
    """The current chart version, or ``--to`` if its verdict allows it (never a version
    that no chart commit has, nor a commit the source lacks even after a fetch)."""
    spec, current = state.spec, state.current
    if to is None or to == state.version:
        return Target(
            state.version,
            current.commit,
            current.commit_full,
            tuple(current.paths),
            state.head_verdict,
        )
    verdict = verdict_for_version(state, to, now=datetime.now(timezone.utc))
    if verdict.state == "never" and parse_version(to) is None:
        raise BumpError(
            f"{to!r} is not a chart version (expected e.g. {state.version!r})", key="--to"
        )
    if verdict.state == "never":
        raise BumpRefused(
            f"refusing --to {to}: {verdict.reason}",
            reason="not-a-chart-commit" if verdict.is_chart_commit is False else "version-mismatch",
            suggestion=verdict.name,
            state=verdict.state,
        )
    if verdict.chart_commit is None:  # unknown: the source lacks it (after a fetch)
        raise BumpError(verdict.reason, key="--to", state="unknown")
    paths = compute_chart_version(
        state.repo, verdict.chart_commit, spec.chartpress, spec.name, "chartpress"
    ).paths
    short = verdict.sha or verdict.chart_commit_short or verdict.chart_commit[:8]
    return Target(to, short, verdict.chart_commit, tuple(paths), verdict)


def read_pin_state(state: ChartState, pin_spec: PinSpec, text: str, file: str) -> Pin:
    """The pinned version in ``text`` and where its commit sits in the source."""
    loc = locate_pin(text, pin_spec.segments, file=file, key=pin_spec.key)
    verdict = state.pin_verdict
    if verdict is None or verdict.asked != loc.value.strip():
        verdict = verdict_for_version(state, loc.value, now=datetime.now(timezone.utc))
    return Pin(
        loc.value,
        loc.line,
        verdict.sha,
        verdict.commit,
        verdict.chart_commit,
        verdict.name,
        verdict,
    )


def order_of(repo: GitRepo, pin_chart: str, target: str) -> str:
    """Where the target's chart commit sits relative to the pin's: by history, not SemVer."""
    if pin_chart == target:
        return "same"
    if repo.is_ancestor(pin_chart, target):
        return "newer"
    if repo.is_ancestor(target, pin_chart):
        return "older"
    return "diverged"


def check_order(
    repo: GitRepo, pin: Pin, target: Target, *, allow_downgrade: bool, where: str, file: str
) -> list[str]:
    """Refuse a target older than the pin, or of unknown order, unless ``--allow-downgrade``;
    otherwise the notes the output shows about the order (``where``: on which branch)."""
    if pin.chart_full is None:
        why = pin.verdict.reason if pin.verdict else f"{pin.version!r} names no commit"
        if not allow_downgrade:
            raise BumpRefused(
                f"refusing: cannot tell whether {target.version} is older than the pin"
                f"{where}: {why}. Pass --allow-downgrade to pin it anyway.",
                file=file,
                reason="unknown-order",
                state=pin.verdict.state if pin.verdict else None,
            )
        return [f"the pin's order is unknown: {why}"]
    notes = []
    relation = order_of(repo, pin.chart_full, target.full)
    if relation == "older" and not allow_downgrade:
        raise BumpRefused(
            f"refusing a downgrade: {target.version} (chart commit "
            f"{target.short}) is older than the pinned {pin.version}{where}: its "
            "chart commit is an ancestor of the pin's. Pass --allow-downgrade to "
            "do it anyway.",
            file=file,
            reason="downgrade",
        )
    if relation == "older":
        notes.append("this is a downgrade (--allow-downgrade)")
    if relation == "diverged":
        notes.append(
            f"the pin {pin.version} and {target.version} are on diverged "
            "histories (neither contains the other)"
        )
    if pin.full and pin.chart_full != pin.full:
        notes.append(
            f"the old pin names {pin.short}, which is not a chart commit "
            f"(that version was never published; the chart there is "
            f"{pin.chart_version})"
        )
    return notes


def plan_from_disk(
    path: Path, pin_spec: PinSpec, new: str, display: str, expected_old: str
) -> PinEdit:
    """Plan the edit from the bytes on disk now (after a branch switch or a long wait)."""
    try:
        before = path.read_bytes()
    except OSError as exc:
        raise DeployGuideError(f"cannot read the pin file: {exc}", file=display) from exc
    after, loc = replace_pin(before, pin_spec.key, new, file=display, segments=pin_spec.segments)
    if loc.value != expected_old:
        raise BumpRefused(
            f"the pin changed while the bump was running: it now reads "
            f"{loc.value!r}, expected {expected_old!r}; nothing written",
            file=display,
            reason="changed",
        )
    return PinEdit(
        file=display,
        key=pin_spec.key,
        line=loc.line,
        old=loc.value,
        new=new,
        before=before,
        after=after,
    )
