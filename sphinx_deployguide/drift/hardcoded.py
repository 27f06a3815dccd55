"""``[hardcoded]``: a chart version or chart commit typed into the runbook.

A typed version is right on the day it is written and wrong from the next chart commit on;
the runbook should render it from a fact instead. Candidates are found by regular
expression (pure, cheap, run on every text node while reading); whether a candidate really
belongs to a configured chart is decided afterwards with the chart source (git), with every
lookup cached.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import DeployGuideError
from ..versionparse import parse_version, version_finder
from . import HISTORICAL_ROLE
from .finding import Finding

if TYPE_CHECKING:
    from ..facts import ChartState

SUBTYPE = "hardcoded"

#: A bare abbreviated or full commit id: 7-40 hex digits standing alone.
SHA_RE = re.compile(r"\b[0-9a-f]{7,40}\b")


@dataclass(frozen=True)
class Candidate:
    """A token that looks like a chart version or a commit, at ``offset`` in its text."""

    token: str
    kind: str  # "version" | "sha"
    offset: int


def find_candidates(text: str) -> list[Candidate]:
    """Version-shaped and SHA-shaped tokens in ``text`` (SHAs inside versions not repeated)."""
    found: list[Candidate] = []
    spans: list[tuple[int, int]] = []
    for m in version_finder().finditer(text):
        token = m.group(0)
        if parse_version(token) is None:
            continue
        found.append(Candidate(token, "version", m.start()))
        spans.append(m.span())
    for m in SHA_RE.finditer(text):
        if any(a <= m.start() < b for a, b in spans):
            continue
        found.append(Candidate(m.group(0), "sha", m.start()))
    found.sort(key=lambda c: c.offset)
    return found


class ChartCommits:
    """Which configured chart (if any) a version or commit belongs to, with cached git lookups."""

    def __init__(self, charts: Mapping[str, ChartState]) -> None:
        self.charts = charts
        self._resolved: dict[tuple[str, str], str | None] = {}

    def resolve(self, chart: str, sha: str) -> str | None:
        """Full SHA of commit ``sha`` in the chart's source, ``None`` if it is not a commit."""
        key = (chart, sha)
        if key not in self._resolved:
            try:
                self._resolved[key] = self.charts[chart].repo.resolve(sha)
            except DeployGuideError:
                self._resolved[key] = None
        return self._resolved[key]

    def owner_of_version(self, version: str) -> str | None:
        for name, state in self.charts.items():
            if version in (state.version, state.pinned):
                return name
            if any(e.version == version for e in state.index.entries.get(name, ())):
                return name
        parsed = parse_version(version)
        if parsed is None or not parsed.sha:
            return None
        return next((name for name in self.charts if self.resolve(name, parsed.sha)), None)

    def owner_of_sha(self, sha: str) -> tuple[str, str] | None:
        for name in self.charts:
            full = self.resolve(name, sha)
            if full:
                return name, full
        return None


def fact_for_version(state: ChartState, version: str) -> str:
    name = state.spec.name
    if version == state.pinned and version != state.version:
        return f"charts.{name}.pinned"
    return f"charts.{name}.version"


def fact_for_sha(state: ChartState, full: str) -> str:
    name = state.spec.name
    if full == state.head and full != state.current.commit_full:
        return f"charts.{name}.head"
    return f"charts.{name}.commit"


def check_candidate(
    candidate: Candidate,
    commits: ChartCommits,
    *,
    file: str | None,
    line: int | None,
    where: str = "the text",
) -> Finding | None:
    """A finding when ``candidate`` is a version or commit of a configured chart."""
    if candidate.kind == "version":
        chart = commits.owner_of_version(candidate.token)
        if chart is None:
            return None
        fact = fact_for_version(commits.charts[chart], candidate.token)
        what = f"chart version {candidate.token} of {chart}"
    else:
        owner = commits.owner_of_sha(candidate.token)
        if owner is None:
            return None
        chart, full = owner
        fact = fact_for_sha(commits.charts[chart], full)
        what = f"commit {candidate.token} of the {chart} chart source"
    return Finding(
        SUBTYPE,
        "error",
        file,
        line,
        f"{what} is typed into {where}; it will be wrong after the next chart commit",
        f"use {{deploy-value}}`{fact}` (in deploy-code: {{{{ {fact} }}}}), "
        f"or mark a deliberately historical value with {{{HISTORICAL_ROLE}}}`{candidate.token}`",
    )
