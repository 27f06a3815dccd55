"""The ``chart-published`` check: is a "chart version not found" failure worth a rerun?

Published now (and after the failure)? Still within the publish delay of its chart commit?
Or built from a SHA that is not a chart commit (the 2018-01-04 incident: a merge commit),
in which case the right version is named. What the version is comes from its
:class:`~sphinx_deployguide.verdict.Verdict` (the same words as the facts, the drift checks
and ``bump``); :func:`gather_chart_evidence` reads the log and asks for it, and
:func:`decide_chart_published` adds what only the log knows: when the deploy failed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..delay import format_duration, readable_utc
from ..errors import DeployGuideError
from ..versionparse import parse_version
from .checktypes import CheckContext, CheckResult, failure_time
from .matcher import EntryMatch, LineHit

if TYPE_CHECKING:  # the verdict machinery is imported when a model's facts are at hand
    from ..facts import ChartState, FactSet
    from ..verdict import Verdict


@dataclass(frozen=True)
class FailureEvidence:
    """What the log says besides the version (plain values, gathered by the adapter)."""

    version_source: str  # "log line 12" or "the pin mybinder/Chart.yaml#..."
    failed_at: datetime | None = None
    failed_at_source: str = "unknown"


def decide_chart_published(verdict: Verdict, failure: FailureEvidence) -> CheckResult:
    """The diagnosis of "chart version not found" from the version's verdict (pure).

    The verdict says what the version is now, in the words every front end uses; the log
    adds when the deploy failed, which tells a pin merged before its chart appeared (rerun)
    from a stale index on the runner (rerun) from a version that is wrong (fix it).
    """
    name, version, chart = "chart-published", verdict.asked, verdict.chart
    evidence = [f"version {version} (from {failure.version_source})"]
    data: dict[str, Any] = {"chart": chart, "version": version, "state": verdict.state}
    if failure.failed_at is not None:
        evidence.append(
            f"failure time {readable_utc(failure.failed_at)} (from {failure.failed_at_source})"
        )
    evidence.append(verdict.reason)

    def result(outcome: str | None, summary: str, action: str) -> CheckResult:
        return CheckResult(name, outcome, summary, action, tuple(evidence), data)

    if verdict.state == "published":
        published = verdict.published_at
        assert published is not None  # a published verdict always knows when
        data["published_at"] = published.isoformat()
        if failure.failed_at is None:
            return result(
                "spurious",
                f"{version} is published now (the failure time is unknown)",
                "Rerun the deploy job.",
            )
        gap = published - failure.failed_at
        apart = format_duration(abs(gap.total_seconds()))
        if gap > timedelta(0):
            return result(
                "spurious",
                f"{version} was published {apart} after the deploy failed: "
                "the pin was merged before its chart appeared",
                "Rerun the deploy job: the chart is there now.",
            )
        evidence.append(
            f"it was in the index {apart} before the failure; the runner probably read "
            "a cached index (the chart host's CDN or a stale `helm repo` cache)"
        )
        return result(
            "spurious",
            f"{version} is published (it was, {apart} before the failure)",
            "Rerun the deploy job; if it fails the same way, compare the repository URL in the "
            "log with the chart's index in deployguide.toml.",
        )
    if verdict.state == "never":
        if verdict.name and verdict.name != version:
            data["correct_version"] = verdict.name
            return result(
                "legitimate",
                verdict.reason,
                f"Pin {verdict.name} instead of {version}; "
                f"`deployguide bump {chart}` computes the version from git.",
            )
        return result(
            "legitimate", verdict.reason, f"Pin a published version (`deployguide bump {chart}`)."
        )
    if verdict.state == "overdue":
        return result(
            "legitimate",
            verdict.reason,
            f"{_sentence(verdict.fix)}; rerun the deploy once it has published the chart.",
        )
    if verdict.state == "pending":
        if verdict.published_at is not None or (
            verdict.landed_at is not None and verdict.wait is not None
        ):
            if verdict.wait is not None and verdict.age is not None:
                data["wait_minutes"] = max(1, math.ceil((verdict.wait - verdict.age) / 60))
            return result(
                "spurious", verdict.reason, f"{_sentence(verdict.fix)}, then rerun the deploy job."
            )
        if verdict.landed_at is None:
            return result("legitimate", verdict.reason, f"{_sentence(verdict.fix)}.")
        return result(
            None,
            f"cannot tell whether the chart is merely late: {verdict.reason}",
            "Check the chart source's publish job; rerun once it has published the chart.",
        )
    return result(None, f"cannot decide: {verdict.reason}", f"{_sentence(verdict.fix)}.")


def _sentence(text: str | None) -> str:
    """A verdict's fix as the start of a sentence."""
    text = text or "check the chart version by hand"
    return text[:1].upper() + text[1:]


def split_chart_ref(ref: str, known: Sequence[str]) -> tuple[str, str | None]:
    """``binderhub-0.1.0-441f5ea`` -> (``binderhub``, ``0.1.0-441f5ea``); ``binderhub`` ->
    (``binderhub``, None). Chart names of the model are preferred (they may contain dashes)."""
    for chart in sorted(known, key=len, reverse=True):
        if ref == chart:
            return chart, None
        if ref.startswith(chart + "-") and parse_version(ref[len(chart) + 1 :]) is not None:
            return chart, ref[len(chart) + 1 :]
    for index, char in enumerate(ref):
        if char == "-" and index + 1 < len(ref) and ref[index + 1].isdigit():
            if parse_version(ref[index + 1 :]) is not None:
                return ref[:index], ref[index + 1 :]
    return ref, None


def _pick_chart(facts: FactSet, name: str | None) -> ChartState | str:
    """The chart state the failure is about, or why there is none."""
    charts = facts.charts
    if name and name in charts:
        return charts[name]
    if name:
        return f"chart {name!r} is not in the model (charts: {', '.join(sorted(charts)) or 'none'})"
    if len(charts) == 1:
        return next(iter(charts.values()))
    return f"the log does not name the chart and the model has {len(charts)} charts"


def gather_chart_evidence(
    match: EntryMatch, ctx: CheckContext
) -> tuple[Verdict, FailureEvidence] | CheckResult:
    """Read the log, then ask for the version's verdict (the I/O adapter)."""
    name = "chart-published"
    facts, problem = ctx.facts.get()
    chart_name: str | None = None
    version: str | None = None
    hit: LineHit = match.last
    got = match.group("version")
    if got:
        version, hit = got
    chart_got = match.group("chart")
    if chart_got:
        chart_name = chart_got[0]
    ref = match.group("ref")
    if ref and not chart_name:
        chart_name, ref_version = split_chart_ref(ref[0], list(facts.charts) if facts else [])
        if ref_version and not version:
            version, hit = ref_version, ref[1]
    if facts is None:
        seen = []
        if chart_name:
            seen.append(f"chart {chart_name}")
        if version:
            parsed = parse_version(version)
            sha = f", commit {parsed.sha}" if parsed and parsed.sha else ""
            seen.append(f"version {version} (log line {hit.number}{sha})")
        return CheckResult(
            name,
            None,
            f"could not run: {problem}",
            "Run diagnose in the deploy repo (with deployguide.toml) so it can check the "
            "chart index and git; or check by hand whether that version is in the index.",
            tuple(f"the log names {item}" for item in seen),
        )
    state = _pick_chart(facts, chart_name)
    if isinstance(state, str):
        return CheckResult(
            name, None, f"could not run: {state}", "Check the chart name in the log."
        )
    spec = state.spec
    version_source = f"log line {hit.number}"
    if not version:
        if spec.pin is None:  # a chart-only model
            return CheckResult(
                name,
                None,
                "could not run: the log names no version and the model has no pin",
                f"Name the version, or add charts.{spec.name}.pin to the model.",
            )
        if not state.pinned:
            return CheckResult(
                name,
                None,
                "could not run: the log names no version and the pin is empty",
                f"Check the pin {spec.pin.file}#{spec.pin.key}.",
            )
        version = state.pinned
        version_source = (
            f"the pin {spec.pin.file}#{spec.pin.key}; the log does not name the version"
        )
    failed_at, failed_at_source = failure_time(match, ctx)
    failure = FailureEvidence(version_source, failed_at, failed_at_source)
    # at --now T, what the index published after T was not there yet
    judged = dataclasses.replace(state, index=state.index.as_of(ctx.now)) if ctx.as_of else state
    try:
        from ..verdict import verdict_for_version

        verdict = verdict_for_version(judged, version, now=ctx.now)
    except DeployGuideError as exc:
        return CheckResult(
            name,
            None,
            f"could not run: {exc}",
            "Fix the chart source, then diagnose again.",
            (f"version {version} (from {version_source})",),
        )
    return verdict, failure


def check_chart_published(match: EntryMatch, ctx: CheckContext) -> CheckResult:
    gathered = gather_chart_evidence(match, ctx)
    if isinstance(gathered, CheckResult):
        return gathered
    return decide_chart_published(*gathered)
