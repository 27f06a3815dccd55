"""The ``chart-published`` check: is a "chart version not found" failure worth a rerun?

Published now (and after the failure)? Still within the publish delay of its chart commit?
Or built from a SHA that is not a chart commit (the 2018-01-04 incident: a merge commit),
in which case the right version is named. :func:`gather_chart_evidence` reads the log, the
index and git; :func:`decide_chart_published` decides from plain values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import DeployGuideError
from .checks import CheckContext, CheckResult, failure_time, iso, minutes
from .matcher import EntryMatch, LineHit

if TYPE_CHECKING:
    from ..facts import ChartState, FactSet


@dataclass(frozen=True)
class ChartEvidence:
    """Everything ``chart-published`` decides on (plain values, gathered by the adapter)."""

    chart: str
    version: str
    version_source: str  # "log line 12" or "the pin in mybinder/Chart.yaml"
    now: datetime
    failed_at: datetime | None = None
    failed_at_source: str = "unknown"
    published_at: datetime | None = None
    index_source: str = ""
    index_status: str = "live"
    sha: str | None = None  # the SHA in the version (None: the version has none)
    sha_full: str | None = None  # resolved in the chart source (None: unknown there)
    source: str = ""
    branch: str = ""
    is_chart_commit: bool | None = None
    computed_version: str | None = None  # chartpress's version at sha_full
    correct_version: str | None = None  # when sha_full is not a chart commit
    correct_commit: str | None = None
    correct_published_at: datetime | None = None
    landed_commit: str | None = None
    landed_at: datetime | None = None
    landing_problem: str | None = None
    p95: float | None = None  # publish delay, seconds
    delay_count: int | None = None
    current_version: str | None = None  # the chart's version at the branch head


def decide_chart_published(ev: ChartEvidence) -> CheckResult:
    """The verdict for "chart version not found" (pure)."""
    name = "chart-published"
    evidence = [f"version {ev.version} (from {ev.version_source})"]
    data: dict[str, Any] = {"chart": ev.chart, "version": ev.version}
    if ev.failed_at is not None:
        evidence.append(f"failure time {iso(ev.failed_at)} (from {ev.failed_at_source})")
    stale = f" (index {ev.index_status}: cached copy)" if ev.index_status != "live" else ""

    if ev.published_at is not None:
        data["published_at"] = ev.published_at.isoformat()
        where = f"{ev.index_source}{stale}"
        if ev.failed_at is None:
            evidence.append(
                f"{ev.chart} {ev.version} is in the index {where}, created {iso(ev.published_at)}"
            )
            return CheckResult(
                name,
                "spurious",
                f"{ev.version} is published now (the failure time is unknown)",
                "Rerun the deploy job.",
                tuple(evidence),
                data,
            )
        gap = ev.published_at - ev.failed_at
        if gap > timedelta(0):
            evidence.append(
                f"{ev.chart} {ev.version} was published {minutes(gap)} after the failure "
                f"(index {where}: created {iso(ev.published_at)})"
            )
            return CheckResult(
                name,
                "spurious",
                f"{ev.version} was published {minutes(gap)} after the deploy failed: "
                "the pin was merged before its chart appeared",
                "Rerun the deploy job: the chart is there now.",
                tuple(evidence),
                data,
            )
        evidence.append(
            f"{ev.chart} {ev.version} was already in the index {minutes(gap)} before the failure "
            f"(index {where}: created {iso(ev.published_at)}); the runner probably read a cached index "
            "(the chart host's CDN or a stale `helm repo` cache)"
        )
        return CheckResult(
            name,
            "spurious",
            f"{ev.version} is published (it was, {minutes(gap)} before the failure)",
            "Rerun the deploy job; if it fails the same way, compare the repository URL in the "
            "log with the chart's index in deployguide.toml.",
            tuple(evidence),
            data,
        )

    evidence.append(f"{ev.chart} {ev.version} is not in the index {ev.index_source}{stale}")
    current = f"; the current chart version is {ev.current_version}" if ev.current_version else ""
    if ev.sha is None:
        return CheckResult(
            name,
            "legitimate",
            f"{ev.version} is not published and carries no commit SHA to check",
            f"Pin a published version (use `deployguide bump {ev.chart}`){current}.",
            tuple(evidence),
            data,
        )
    data["sha"] = ev.sha
    if ev.sha_full is None:
        evidence.append(f"commit {ev.sha} does not exist in the chart source {ev.source}")
        return CheckResult(
            name,
            "legitimate",
            f"{ev.version} will never be published: {ev.sha} is not a commit of {ev.source}",
            f"Pin a real chart version (use `deployguide bump {ev.chart}`){current}.",
            tuple(evidence),
            data,
        )
    if ev.is_chart_commit is False:
        data.update(correct_version=ev.correct_version, correct_commit=ev.correct_commit)
        evidence.append(
            f"commit {ev.sha} exists in {ev.source} but is not a chart commit: the last commit touching "
            f"the chart paths at that point is {ev.correct_commit}"
        )
        if ev.correct_published_at is not None:
            evidence.append(
                f"{ev.correct_version} is published (created {iso(ev.correct_published_at)})"
            )
            state = "published"
        else:
            evidence.append(f"{ev.correct_version} is not in the index either")
            state = "not published yet"
        return CheckResult(
            name,
            "legitimate",
            f"{ev.version} will never exist: {ev.sha} is not a chart commit (a merge or "
            f"non-chart commit); the chart built from it is {ev.correct_version}",
            f"Pin {ev.correct_version} ({state}) instead of {ev.version}; "
            f"`deployguide bump {ev.chart}` computes the version from git.",
            tuple(evidence),
            data,
        )
    if ev.computed_version and ev.computed_version != ev.version:
        data["correct_version"] = ev.computed_version
        evidence.append(
            f"chartpress gives {ev.computed_version} for commit {ev.sha}, not {ev.version}"
        )
        return CheckResult(
            name,
            "legitimate",
            f"{ev.version} will never exist: the chart commit {ev.sha} is published as "
            f"{ev.computed_version}",
            f"Pin {ev.computed_version} instead of {ev.version}.",
            tuple(evidence),
            data,
        )
    if ev.landed_at is None:
        evidence.append(ev.landing_problem or f"commit {ev.sha} has not landed on {ev.branch}")
        return CheckResult(
            name,
            "legitimate",
            f"{ev.version} is not published and its chart commit is not on {ev.branch}: "
            "it will not be published",
            f"Pin a version built from {ev.branch}{current}.",
            tuple(evidence),
            data,
        )
    elapsed = ev.now - ev.landed_at
    evidence.append(
        f"chart commit {ev.sha} landed on {ev.branch} with {ev.landed_commit} at "
        f"{iso(ev.landed_at)}, {minutes(elapsed)} ago"
    )
    if ev.p95 is None:
        return CheckResult(
            name,
            None,
            "no publish delay statistics for this chart, so it cannot tell whether the "
            "chart is merely late",
            "Check the chart source's publish job; rerun once it has published the chart.",
            tuple(evidence),
            data,
        )
    p95 = timedelta(seconds=ev.p95)
    evidence.append(f"publish delay p95: {minutes(p95)} (over {ev.delay_count} recent versions)")
    data["p95_seconds"] = ev.p95
    if elapsed < p95:
        wait = max(1, math.ceil((p95 - elapsed).total_seconds() / 60))
        data["wait_minutes"] = wait
        return CheckResult(
            name,
            "spurious",
            f"{ev.version} is not published yet, but its chart commit landed only "
            f"{minutes(elapsed)} ago (95% of charts appear within {minutes(p95)})",
            f"Wait {wait} more minutes, then rerun the deploy job.",
            tuple(evidence),
            data,
        )
    return CheckResult(
        name,
        "legitimate",
        f"{ev.version} is still not published {minutes(elapsed)} after its chart commit "
        f"landed (p95 {minutes(p95)}): publishing probably failed",
        "Check the chart source's publish job for that commit; pin a published version "
        f"meanwhile{current}.",
        tuple(evidence),
        data,
    )


def split_chart_ref(ref: str, known: Sequence[str]) -> tuple[str, str | None]:
    """``binderhub-0.1.0-441f5ea`` -> (``binderhub``, ``0.1.0-441f5ea``); ``binderhub`` ->
    (``binderhub``, None). Chart names of the model are preferred (they may contain dashes)."""
    from ..chartversion import parse_version

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


def gather_chart_evidence(match: EntryMatch, ctx: CheckContext) -> ChartEvidence | CheckResult:
    """Read the log, the index and git for ``chart-published`` (the I/O adapter)."""
    from ..chartversion import compute_chart_version, landing_commit, parse_version

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
    entry = state.index.find(spec.name, version)
    parsed = parse_version(version)
    delay = state.delay
    base = ChartEvidence(
        chart=spec.name,
        version=version,
        version_source=version_source,
        now=ctx.now,
        failed_at=failed_at,
        failed_at_source=failed_at_source,
        published_at=entry.created if entry else None,
        index_source=state.index.source,
        index_status=state.index.status,
        sha=parsed.sha if parsed else None,
        source=spec.source,
        branch=spec.branch,
        p95=delay.p95 if delay else None,
        delay_count=delay.count if delay else None,
        current_version=state.current.version,
    )
    if entry is not None or base.sha is None:
        return base
    repo = state.repo
    try:
        full = repo.resolve(base.sha)
        if full is None:
            return _replace(base, sha_full=None)
        computed = compute_chart_version(repo, full, spec.chartpress, spec.name, spec.scheme)
        if computed.commit_full != full:  # not a chart commit (the incident's merge SHA)
            correct = computed
            found = state.index.find(spec.name, correct.version)
            return _replace(
                base,
                sha_full=full,
                is_chart_commit=False,
                correct_version=correct.version,
                correct_commit=correct.commit,
                correct_published_at=found.created if found else None,
            )
        comparable = parsed is not None and _same_era(parsed.era, spec.scheme)
        base = _replace(
            base,
            sha_full=full,
            is_chart_commit=True,
            computed_version=computed.version if comparable else None,
        )
        try:
            landed = landing_commit(repo, full, spec.branch)
        except DeployGuideError as exc:
            return _replace(
                base, landing_problem=f"commit {base.sha} is not on {spec.branch}: {exc}"
            )
        return _replace(
            base,
            landed_commit=repo.run("rev-parse", "--short", landed),
            landed_at=repo.commit_time(landed),
        )
    except DeployGuideError as exc:
        return CheckResult(
            name,
            None,
            f"could not run: {exc}",
            "Fix the chart source, then diagnose again.",
            base_evidence(base),
        )


def base_evidence(ev: ChartEvidence) -> tuple[str, ...]:
    return (f"version {ev.version} (from {ev.version_source})",)


def _same_era(era: str, scheme: str) -> bool:
    return (scheme == "sha" and era == "sha") or (scheme == "chartpress" and era == "chartpress-2")


def _replace(ev: ChartEvidence, **changes: Any) -> ChartEvidence:
    return replace(ev, **changes)


def check_chart_published(match: EntryMatch, ctx: CheckContext) -> CheckResult:
    gathered = gather_chart_evidence(match, ctx)
    if isinstance(gathered, CheckResult):
        return gathered
    return decide_chart_published(gathered)
