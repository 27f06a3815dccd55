"""One verdict per version: what a chart version (or a commit) names, and whether it is in
the chart index, will be, or never will be.

Facts, pages, the drift checks, ``bump`` and ``diagnose`` all ask here and take their words
from the :class:`Verdict`, so they can never disagree. Two halves, as elsewhere:

* :func:`decide` is pure: plain :class:`~.evidence.Evidence` in, one :class:`Verdict` out.
* :func:`verdict_for_version` / :func:`verdict_for_commit` gather the evidence from git and
  the index (:mod:`.evidence`: observe the index's names, predict only the rest, fetch a
  mirrored source before calling a commit unknown) and decide.

States: ``published`` (in the index, and its archive answers), ``pending`` (not yet, within
the advised wait; or listed but its archive does not answer), ``overdue`` (not in the index
after the advised wait: the publish job may have failed), ``never`` (no chart commit has this
name: a merge SHA, a wrong count, a PR commit that was superseded before it landed) and
``unknown`` (the commit is not in the source even after fetching it, or the index could not
be read). A fix never names a version older than the one asked about.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from .chartversion import ChartVersion
from .delay import DelayStats, format_duration, iso_utc
from .evidence import (
    ChartSubject,
    Evidence,
    archive_problem,
    find_published,
    gather_commit,
    gather_version,
    prefetch,
)
from .versionparse import parse_version

__all__ = [
    "STATES",
    "Evidence",
    "Verdict",
    "advised_wait",
    "archive_problem",
    "decide",
    "find_published",
    "newest_published",
    "prefetch",
    "steady_until",
    "verdict_for_commit",
    "verdict_for_version",
]

STATES = ("published", "pending", "overdue", "never", "unknown")


@dataclass(frozen=True)
class Verdict:
    """Everything a front end says about one chart version or commit."""

    chart: str
    asked: str  # the version string or commit, as given
    kind: str  # "version" | "commit"
    state: str  # one of STATES
    reason: str  # one sentence for people, the same in every front end
    fix: str | None  # what to do (never a version older than the one asked about)
    now: datetime
    sha: str | None = None  # the SHA prefix the version names (any length >= 7), as written
    count: int | None = None  # the count its format carries (chartpress >= 2: all ancestors)
    commit: str | None = None  # full sha of the commit it names (None: not in the source)
    is_chart_commit: bool | None = None  # is that commit the chart commit at itself?
    chart_commit: str | None = None  # full sha of the chart commit it is (or should have been)
    chart_commit_short: str | None = None  # git's %h of it today
    name: str | None = None  # the index's name for the chart commit, or the predicted one
    predicted: bool = False  # ``name`` is chartpress's prediction, not the index's
    published_at: datetime | None = None  # ``created`` of ``name`` in the index
    landed_at: datetime | None = None  # when the chart commit landed on the branch
    landed_by: str | None = None  # full sha of the first-parent commit that landed it
    wait: float | None = None  # the advised wait after landing (seconds)
    wait_basis: str | None = None  # what ``wait`` is made of
    source: str = ""  # the chart source (credentials redacted)
    branch: str = "main"
    source_fetched_at: datetime | None = None  # when a mirrored source was last fetched
    index_source: str = ""
    #: What it was decided on (:func:`steady_until` decides it again at later moments).
    evidence: Evidence | None = field(default=None, repr=False, compare=False)

    @property
    def age(self) -> float | None:
        """Seconds since the chart commit landed on the branch (None: it has not)."""
        if self.landed_at is None:
            return None
        return max(0.0, (self.now - self.landed_at).total_seconds())

    @property
    def published(self) -> bool:
        return self.state == "published"

    @property
    def name_note(self) -> str | None:
        """How ``name`` was obtained, for provenance."""
        if self.name is None:
            return None
        if self.predicted:
            return "predicted: not in the index yet; named as chartpress would name it today"
        return "the name the index publishes"

    def as_json(self) -> dict[str, object]:
        return {
            "chart": self.chart,
            "asked": self.asked,
            "state": self.state,
            "reason": self.reason,
            "fix": self.fix,
            "sha": self.sha,
            "count": self.count,
            "commit": self.commit,
            "is_chart_commit": self.is_chart_commit,
            "chart_commit": self.chart_commit,
            "name": self.name,
            "predicted": self.predicted,
            "published_at": iso_utc(self.published_at) if self.published_at else None,
            "landed_at": iso_utc(self.landed_at) if self.landed_at else None,
            "age_seconds": round(self.age) if self.age is not None else None,
            "wait_seconds": self.wait,
        }


def advised_wait(delay: DelayStats | None, max_age: int | None) -> tuple[float | None, str | None]:
    """(seconds to wait after a chart commit lands before calling it overdue, what they are):
    the p90 publish delay up to the minute, plus the index's ``Cache-Control`` max-age (an
    operator sees the index only once caches let go of the old one)."""
    if delay is None:
        return None, None
    basis = f"p90 publish delay over {delay.count} recent versions"
    if max_age:
        return float(delay.wait + max_age), (
            f"{basis}, plus the index's Cache-Control max-age of {format_duration(max_age)}"
        )
    return float(delay.wait), basis


def decide(ev: Evidence) -> Verdict:
    """The verdict on ``ev`` (pure). See the module docstring for the states."""
    wait, basis = advised_wait(ev.delay, ev.max_age)
    base = Verdict(
        chart=ev.chart,
        asked=ev.asked,
        kind=ev.kind,
        state="unknown",
        reason="",
        fix=None,
        now=ev.now,
        sha=(ev.parsed.sha if ev.parsed else None) if ev.kind == "version" else ev.commit_short,
        count=(ev.parsed.n if ev.parsed else None) if ev.kind == "version" else ev.count,
        commit=ev.commit,
        is_chart_commit=(ev.commit == ev.chart_commit) if ev.chart_commit else None,
        chart_commit=ev.chart_commit,
        chart_commit_short=ev.chart_commit_short,
        name=ev.observed.version if ev.observed else ev.predicted,
        predicted=ev.observed is None and ev.predicted is not None,
        published_at=ev.observed.created if ev.observed else None,
        landed_at=ev.landed_at,
        landed_by=ev.landed_by,
        wait=wait,
        wait_basis=basis,
        source=ev.source,
        branch=ev.branch,
        source_fetched_at=ev.source_fetched_at,
        index_source=ev.index_source,
        evidence=ev,
    )
    index = ev.index_source
    asked = ev.asked
    cached = f" (a cached copy: {ev.index_stale})" if ev.index_stale else ""

    def verdict(state: str, reason: str, fix: str | None = None, *, of: Verdict = base) -> Verdict:
        return replace(of, state=state, reason=reason, fix=fix)

    # what the index lists under the name asked for is published, once its archive answers
    if ev.listed is not None:
        listed = replace(base, name=asked, predicted=False, published_at=ev.listed.created)
        if ev.archive_problem:
            return verdict(
                "pending",
                f"{asked} is listed in {index} but its archive {ev.archive_problem}: "
                "it cannot be installed yet",
                "wait a few minutes for the chart host, then check again",
                of=listed,
            )
        return verdict(
            "published",
            f"{asked} is published in {index}{cached} (created {iso_utc(ev.listed.created)})",
            of=listed,
        )
    if ev.kind == "version" and ev.parsed is None:
        return verdict(
            "never",
            f"{asked} is not in {index}{cached} and is not a chart version of any format",
            "pin a version the index has (`deployguide bump` picks one)",
        )

    # which commit is it? (the source was fetched before this, if it is a mirror)
    named = _named(ev)
    if ev.commit is None:
        return verdict("unknown", f"{named}, which {_not_in_source(ev)}", _fetch_fix(ev))
    if ev.compute_problem or ev.chart_commit is None:
        problem = ev.compute_problem or "no chart commit"
        return verdict(
            "unknown", f"the chart version at {ev.commit_short} cannot be computed: {problem}"
        )

    chart = ev.chart_commit_short
    is_chart = ev.commit == ev.chart_commit
    name = base.name
    called = f"{'predicted as' if base.predicted else 'published as'} {name}" if name else ""
    if ev.kind == "version" and not is_chart:
        merge = " (a merge commit)" if ev.is_merge else ""
        return verdict(
            "never",
            f"{asked} will never be published: {ev.commit_short}{merge} is a commit of "
            f"{ev.source} but not a chart commit; the chart there comes from chart commit "
            f"{chart}" + (f", {called}" if called else ""),
            f"pin {name}" if name else None,
        )
    if ev.kind == "version":
        mismatch = _mismatch(ev, name)
        if mismatch:
            return verdict("never", f"{asked} will never be published: {mismatch}", f"pin {name}")
    if ev.observed is not None:
        if ev.archive_problem:
            return verdict(
                "pending",
                f"{name} is listed in {index} but its archive {ev.archive_problem}: "
                "it cannot be installed yet",
                "wait a few minutes for the chart host, then check again",
            )
        return verdict(
            "published",
            f"{name} is published in {index}{cached} (created {iso_utc(ev.observed.created)})",
        )

    # not published (yet?)
    what = asked if ev.kind == "version" else name or f"the chart of {chart}"
    if ev.superseded_by is not None:
        other = ev.superseded_name or f"the chart of {ev.superseded_by}"
        verb = "is named" if ev.superseded_predicted else "was published as"
        return verdict(
            "never",
            f"{what} will never be published: chart commit {chart} reached "
            f"{ev.branch} with {ev.landed_by_short}, whose chart commit is the newer "
            f"{ev.superseded_by}; the chart of that push {verb} {other}",
            f"pin {other}" if ev.superseded_name else None,
        )
    if ev.landed_at is None:
        return verdict(
            "pending",
            f"{what} is not in {index}{cached}: its chart commit {chart} is not on "
            f"{ev.branch} of {ev.source}{_fetched(ev)}, and charts are published only "
            "after they land",
            f"merge {chart} into {ev.branch} first",
        )
    age = max(0.0, (ev.now - ev.landed_at).total_seconds())
    landed = f"its chart commit {chart} landed on {ev.branch} {format_duration(age)} ago"
    if wait is None:
        return verdict(
            "pending",
            f"{what} is not in {index}{cached} yet; {landed}, and there is no publish "
            "history to say when it will be",
            "wait for it to appear in the index",
        )
    usually = f"charts usually appear within {format_duration(wait)}"
    if ev.max_age:
        usually += f", counting the index's {format_duration(ev.max_age)} cache"
    if age <= wait:
        return verdict(
            "pending",
            f"{what} is not in {index} yet: {landed}, and {usually}",
            f"wait about {format_duration(max(60.0, wait - age))} more",
        )
    if ev.index_stale:
        return verdict(
            "unknown",
            f"{what} is not in the cached copy of {index} {format_duration(age)} after "
            f"its chart commit {chart} landed, but the index could not be refreshed "
            f"({ev.index_stale})",
            "check again when the index is reachable",
        )
    return verdict(
        "overdue",
        f"{what} is not in {index} {format_duration(age)} after its chart commit {chart} "
        f"landed on {ev.branch} ({usually}): the publish job may have failed",
        f"check the publish job of {ev.source} for {chart}",
    )


def _named(ev: Evidence) -> str:
    if ev.kind == "commit":
        return f"commit {ev.asked}"
    if ev.parsed is not None and ev.parsed.sha:
        return f"{ev.asked} names commit {ev.parsed.sha}"
    return f"{ev.asked} names tag {ev.asked}"


def _fetched(ev: Evidence) -> str:
    if ev.source_is_mirror and ev.source_fetched_at is not None:
        return f" (fetched {iso_utc(ev.source_fetched_at)})"
    return ""


def _not_in_source(ev: Evidence) -> str:
    if not ev.source_is_mirror:
        return (
            f"the local copy {ev.source} lacks (deployguide never fetches a local source; "
            "it may be newer than that copy)"
        )
    if ev.fetch_problem:
        return f"the cached mirror of {ev.source} lacks, and fetching it failed: {ev.fetch_problem}"
    return f"is not in {ev.source}{_fetched(ev)}"


def _fetch_fix(ev: Evidence) -> str:
    if not ev.source_is_mirror:
        return f"update {ev.source} (`git fetch`), then check again"
    if ev.fetch_problem:
        return "check again once the chart source can be fetched"
    return f"check that it names a commit of {ev.source}"


def _mismatch(ev: Evidence, name: str | None) -> str | None:
    """Why the version asked about is not the name of its chart commit (None: it is)."""
    if name is None or ev.parsed is None:
        return None
    if ev.observed is not None:
        return f"the index publishes chart commit {ev.chart_commit_short} as {name}"
    theirs = parse_version(name)
    ours = ev.parsed
    if theirs is None or theirs.era != ours.era:
        return None  # another era's format: nothing computed to compare with
    same_commit = ours.sha is None or theirs.sha is None or (ev.commit or "").startswith(ours.sha)
    if ours.base == theirs.base and ours.n == theirs.n and same_commit:
        return None  # the hash may be shorter or longer than today's %h: same commit
    return f"chartpress names chart commit {ev.chart_commit_short} {name}"


def steady_until(ev: Evidence, limit: datetime) -> datetime:
    """The last moment up to ``limit`` at which :func:`decide` on ``ev`` reads as it does
    at ``ev.now``: its state, sentence and fix, and its age as shown.

    Time enters a verdict only as durations from ``ev.now`` (an age, the wait left) and
    the states they cross (pending, then overdue), each moving one way as time passes: a
    reading that is the same at two moments is the same between them, so a bisection finds
    the first change (to within a second; the moment returned always reads the same).
    """

    def reading(at: datetime) -> tuple[object, ...]:
        verdict = decide(replace(ev, now=at))
        age = verdict.age
        shown_age = None if age is None else format_duration(round(age))
        return verdict.state, verdict.reason, verdict.fix, shown_age

    first = reading(ev.now)
    if limit <= ev.now:
        return ev.now
    if reading(limit) == first:
        return limit
    same, changed = ev.now, limit
    while (changed - same).total_seconds() > 1:
        middle = same + (changed - same) / 2
        if reading(middle) == first:
            same = middle
        else:
            changed = middle
    return same


# --------------------------------------------------------------------------- the verdicts (I/O)


def verdict_for_version(
    chart: ChartSubject, version: str, *, now: datetime, probe: bool = True
) -> Verdict:
    """The verdict on a version string (a pin, a log line, ``--to``). ``probe``: ask the
    index's host whether a listed archive answers (http(s) indexes only)."""
    return decide(gather_version(chart, version, now=now, probe=probe))


def verdict_for_commit(
    chart: ChartSubject,
    rev: str,
    *,
    now: datetime,
    computed: ChartVersion | None = None,
    probe: bool = True,
) -> Verdict:
    """The verdict on the chart at a commit (a branch head): its chart commit's version.
    ``computed``: chartpress's version at ``rev`` when the caller already has it."""
    return decide(gather_commit(chart, rev, now=now, computed=computed, probe=probe))


def newest_published(chart: ChartSubject, head: str, *, now: datetime) -> Verdict | None:
    """The newest version the index lists for the chart that is ``published`` and whose
    commit is on the branch (an ancestor of ``head``): what to pin when the current chart
    is not installable. Only the newest :data:`NEWEST_TRIED` entries are judged."""
    entries = sorted(chart.index.entries.get(chart.spec.name, ()), key=lambda e: e.created)
    for entry in reversed(entries[-NEWEST_TRIED:]):
        verdict = verdict_for_version(chart, entry.version, now=now)
        if verdict.published and verdict.commit and chart.repo.is_ancestor(verdict.commit, head):
            return verdict
    return None


#: How many of the newest index entries :func:`newest_published` judges (each is a few git
#: calls, and a HEAD request to the chart host for an http(s) index).
NEWEST_TRIED = 10
