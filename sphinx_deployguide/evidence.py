"""The evidence a :class:`~sphinx_deployguide.verdict.Verdict` is decided on, gathered
from git and the chart index (the I/O half of :mod:`.verdict`).

Observe, then predict. The index is the ground truth for names already published: chartpress
wrote git's ``%h``, whose length was whatever the CI clone needed then (binderhub: 7 hex
digits until 2024-08, 8 since), so index entries are matched to commits by SHA prefix and,
where the format has one that counts every ancestor, by count. Only a chart the index does
not have is named by prediction, with today's abbreviation, in the format of the versions
published around its commit (``0.1.0-<sha>``, ``-nNNN.h<sha>``, ``.git.N.h<sha>``) unless
the model's ``scheme`` forces one.

Fetch before accusing: a mirrored source is fetched once, whatever its cache age, before a
commit is called unknown or not on the branch (:func:`prefetch`, :meth:`GitRepo.refetch`);
a local source is never touched.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from .charthistory import ancestor_count, landings_with_times
from .chartindex import IndexEntry, IndexSnapshot, archive_url
from .chartversion import ChartVersion, compute_chart_version, latest_tag
from .delay import DelayStats
from .errors import DeployGuideError
from .git import GitRepo
from .gitobjects import FULL_SHA_RE
from .redact import redact_url
from .versionparse import ParsedVersion, parse_version

if TYPE_CHECKING:
    from .config import ChartSpec

__all__ = [
    "ChartSubject",
    "Evidence",
    "archive_problem",
    "branch_tip",
    "landings",
    "find_published",
    "gather_commit",
    "gather_version",
    "prefetch",
    "published_eras",
]


@dataclass(frozen=True)
class Evidence:
    """Plain values :func:`.verdict.decide` needs, gathered by :func:`gather_version` /
    :func:`gather_commit` (or written by hand in a test)."""

    chart: str
    asked: str
    kind: str  # "version" | "commit"
    now: datetime
    branch: str = "main"
    source: str = ""
    source_is_mirror: bool = False
    source_fetched_at: datetime | None = None
    fetch_problem: str | None = None  # why the mirror could not be fetched
    index_source: str = ""
    index_stale: str | None = None  # why the index is a cached copy (None: it is current)
    parsed: ParsedVersion | None = None  # the version asked about, split
    listed: IndexEntry | None = None  # the index entry named exactly as asked
    archive_problem: str | None = None  # the listed/observed archive does not answer
    commit: str | None = None  # full sha the version or commit names
    commit_short: str | None = None
    is_merge: bool = False
    compute_problem: str | None = None  # why chartpress's version cannot be computed there
    chart_commit: str | None = None
    chart_commit_short: str | None = None
    count: int | None = None  # rev-list --count of the chart commit
    observed: IndexEntry | None = None  # the index's entry for the chart commit
    predicted: str | None = None  # chartpress's name for it today, in its era's format
    predicted_era: str | None = None
    landed_by: str | None = None
    landed_by_short: str | None = None
    landed_at: datetime | None = None
    superseded_by: str | None = None  # the chart commit at the landing, when it is another
    superseded_name: str | None = None
    superseded_predicted: bool = False
    delay: DelayStats | None = None
    max_age: int | None = None  # the index's Cache-Control max-age


class ChartSubject(Protocol):
    """What a verdict is judged against (:class:`~sphinx_deployguide.facts.ChartState`)."""

    spec: ChartSpec
    repo: GitRepo
    index: IndexSnapshot
    delay: DelayStats | None


def prefetch(repo: GitRepo, branch: str, versions: Iterable[str | None]) -> bool:
    """Fetch a mirrored source once when a version names a commit it lacks, or one not on
    ``branch`` yet, before any fact is computed (so the facts and the verdicts agree).

    True when a fetch ran. A local source is never fetched (see :meth:`GitRepo.refetch`).
    """
    if not repo.is_mirror():
        return False
    tip = branch_tip(repo, branch)
    for version in versions:
        parsed = parse_version(version) if version else None
        if parsed is None:
            continue
        full = _version_commit(repo, parsed)
        if full is None or tip is None or not repo.is_ancestor(full, tip):
            repo.wants_fetch = True
            return repo.refetch()
    return False


def gather_version(
    chart: ChartSubject, version: str, *, now: datetime, probe: bool = True
) -> Evidence:
    """The evidence on a version string (a pin, a log line, ``--to``): the source is
    fetched once (a mirror) before its commit is called unknown."""
    version = version.strip()
    parsed = parse_version(version)
    ev = _start(chart, version, "version", now)
    listed = chart.index.find(chart.spec.name, version)
    ev = replace(ev, parsed=parsed, listed=listed)
    if listed is not None:
        ev = replace(ev, archive_problem=_archive_problem(chart, listed, probe))
        if parsed is not None:  # the commit too, for the record; nothing to accuse
            full = _version_commit(chart.repo, parsed)
            if full is not None:
                ev = _landed(chart, _with_chart_commit(chart, ev, full, None)[0])
        return ev
    if parsed is None:
        return ev
    full = _version_commit(chart.repo, parsed)
    if full is None and chart.repo.refetch():
        full = _version_commit(chart.repo, parsed)
    ev = _fetch_state(chart, ev)
    if full is None:
        return ev
    return _judge(chart, ev, full, None, probe)


def gather_commit(
    chart: ChartSubject,
    rev: str,
    *,
    now: datetime,
    computed: ChartVersion | None = None,
    probe: bool = True,
) -> Evidence:
    """The evidence on the chart at a commit (a branch head): its chart commit's version.

    ``computed``: chartpress's version at ``rev`` when the caller already has it.
    """
    ev = _start(chart, rev, "commit", now)
    # the caller's computation at a full sha already proves it is a commit of the source
    known = computed is not None and FULL_SHA_RE.fullmatch(rev)
    full = rev if known else chart.repo.resolve(rev)
    if full is None and chart.repo.refetch():
        full = chart.repo.resolve(rev)
    ev = _fetch_state(chart, ev)
    if full is None:
        return ev
    return _judge(chart, ev, full, computed, probe)


def _start(chart: ChartSubject, asked: str, kind: str, now: datetime) -> Evidence:
    index = chart.index
    return Evidence(
        chart=chart.spec.name,
        asked=asked,
        kind=kind,
        now=now,
        branch=chart.spec.branch,
        source=redact_url(chart.repo.source),
        source_is_mirror=chart.repo.is_mirror(),
        source_fetched_at=chart.repo.fetched_at,
        index_source=redact_url(chart.spec.index),  # as the model names it
        index_stale=(
            redact_url(index.error or "network error") if index.status == "stale" else None
        ),
        delay=chart.delay,
        max_age=index.max_age,
    )


def _fetch_state(chart: ChartSubject, ev: Evidence) -> Evidence:
    return replace(
        ev,
        source_fetched_at=chart.repo.fetched_at,
        fetch_problem=redact_url(chart.repo.stale) if chart.repo.stale else None,
    )


def _version_commit(repo: GitRepo, parsed: ParsedVersion) -> str | None:
    """The full sha a version names: its sha prefix, or for a release the tag's commit."""
    if parsed.sha:
        return repo.resolve(parsed.sha)
    return repo.resolve(f"refs/tags/{parsed.version}")


def _scheme(spec: ChartSpec) -> str:
    return spec.scheme or "chartpress"


def _with_chart_commit(
    chart: ChartSubject, ev: Evidence, full: str, computed: ChartVersion | None
) -> tuple[Evidence, ChartVersion | None]:
    """``ev`` with the commit and its chart commit; chartpress's version there (None: it
    cannot be computed, ``compute_problem`` says why)."""
    repo, spec = chart.repo, chart.spec
    ev = replace(ev, commit=full, commit_short=repo.short(full))
    try:
        if computed is None:
            computed = compute_chart_version(repo, full, spec.chartpress, spec.name, _scheme(spec))
    except DeployGuideError as exc:
        return replace(ev, compute_problem=str(exc)), None
    ev = replace(
        ev,
        chart_commit=computed.commit_full,
        chart_commit_short=computed.commit,
        count=computed.n,
        is_merge=ev.kind == "version" and computed.commit_full != full and _is_merge(repo, full),
    )
    return ev, computed


def _judge(
    chart: ChartSubject,
    ev: Evidence,
    full: str,
    computed: ChartVersion | None,
    probe: bool,
) -> Evidence:
    """The rest of the evidence for a commit the source has."""
    repo = chart.repo
    ev, computed = _with_chart_commit(chart, ev, full, computed)
    if computed is None:
        return ev
    observed = _observed(chart, computed)
    ev = _landed(chart, ev)
    if ev.landed_by is None and observed is None and repo.refetch():
        ev = _landed(chart, _fetch_state(chart, ev))  # the cache may predate the merge
    landing = ev.landed_by
    if observed is not None:
        problem = _archive_problem(chart, observed, probe)
        return replace(ev, observed=observed, archive_problem=problem)
    predicted, era = _predict(chart, computed)
    ev = replace(ev, predicted=predicted, predicted_era=era)
    if landing is None:
        return ev
    if landing != ev.chart_commit:
        pushed = _computed_at(chart, landing)
        if pushed is not None and pushed.commit_full != ev.chart_commit:
            seen = _observed(chart, pushed)
            name = seen.version if seen else _predict(chart, pushed)[0]
            ev = replace(
                ev,
                superseded_by=pushed.commit,
                superseded_name=name,
                superseded_predicted=seen is None,
            )
    return ev


def _landed(chart: ChartSubject, ev: Evidence) -> Evidence:
    """``ev`` with when and by which first-parent commit its chart commit landed, if it did."""
    commit = ev.chart_commit
    landed = landings(chart.repo, chart.spec.branch, [commit]).get(commit) if commit else None
    if landed is None:
        return ev
    landing, when = landed
    return replace(ev, landed_by=landing, landed_by_short=chart.repo.short(landing), landed_at=when)


def _computed_at(chart: ChartSubject, rev: str) -> ChartVersion | None:
    spec = chart.spec
    try:
        return compute_chart_version(chart.repo, rev, spec.chartpress, spec.name, "chartpress")
    except DeployGuideError:
        return None


def _is_merge(repo: GitRepo, full: str) -> bool:
    try:
        return len(repo.parents(full)) > 1
    except DeployGuideError:
        return False


def _archive_problem(chart: ChartSubject, entry: IndexEntry, probe: bool) -> str | None:
    return archive_problem(chart.index, entry) if probe else None


def archive_problem(index: IndexSnapshot, entry: IndexEntry) -> str | None:
    """Why ``entry``'s archive does not answer; None when it does or is not ours to ask
    (a local index, another host, a stale index: the network is down anyway)."""
    if index.status == "stale":
        return None
    url = archive_url(index.source, entry)
    if url is None:
        return None
    from .indexfetch import probe_archive  # the HTTP client, only when there is a URL to ask

    return probe_archive(url)


def find_published(
    chart: ChartSubject, index: IndexSnapshot, version: str, commit: str
) -> IndexEntry | None:
    """The entry of ``version`` in ``index``; else the one it has for chart commit ``commit``
    under another name (the abbreviation CI's clone chose), as :func:`verdict_for_commit`
    would observe it."""
    return index.find(chart.spec.name, version) or _observed_in(chart, index, version, commit, None)


# -- what the index publishes, and what chartpress would name the rest ----------------------


class _Memo:
    """Per-repository lookups that every verdict of a run shares (the branch tips, where
    commits landed, the commits of the index's entries); a fetch of the repository renews
    them."""

    def __init__(self, fetched_at: datetime | None) -> None:
        self.fetched_at = fetched_at
        self.tips: dict[str, str | None] = {}
        self.landings: dict[tuple[str, str], tuple[str, datetime] | None] = {}
        self.entries: dict[int, tuple[tuple[IndexEntry, ...], list[tuple[int, str]]]] = {}


_MEMO: weakref.WeakKeyDictionary[GitRepo, _Memo] = weakref.WeakKeyDictionary()
_MEMO_LOCK = threading.Lock()


def _memo(repo: GitRepo) -> _Memo:
    with _MEMO_LOCK:  # a companion's thread makes its own
        memo = _MEMO.get(repo)
        if memo is None or memo.fetched_at != repo.fetched_at:
            memo = _MEMO[repo] = _Memo(repo.fetched_at)
        return memo


def branch_tip(repo: GitRepo, branch: str) -> str | None:
    """Full sha of the head of ``branch`` (once per run, or after a fetch); None: no such
    branch."""
    memo = _memo(repo)
    if branch not in memo.tips:
        memo.tips[branch] = repo.resolve(f"refs/heads/{branch}") or repo.resolve(branch)
    return memo.tips[branch]


def landings(repo: GitRepo, branch: str, commits: Iterable[str]) -> dict[str, tuple[str, datetime]]:
    """{full sha: (the first-parent commit of ``branch`` that brought it in, its time)} for
    those of ``commits`` (full shas) that are on the branch; looked up together, once per
    run and branch tip, shared by every verdict and the delay statistics
    (:func:`~sphinx_deployguide.charthistory.landings_with_times`)."""
    memo = _memo(repo)
    tip = branch_tip(repo, branch)
    if tip is None:
        return {}
    asked = [c for c in dict.fromkeys(commits) if (tip, c) not in memo.landings]
    if asked:
        found = landings_with_times(repo, asked, tip)
        memo.landings.update(((tip, c), found.get(c)) for c in asked)
    return {c: landed for c in commits if (landed := memo.landings[tip, c]) is not None}


def _observed(chart: ChartSubject, computed: ChartVersion) -> IndexEntry | None:
    """The index's entry for the chart commit of ``computed``: its exact name (a release
    tag), else the first-published entry whose SHA is a prefix of the commit and whose
    count, where its format has one that counts every ancestor, is the commit's."""
    return _observed_in(chart, chart.index, computed.version, computed.commit_full, computed.n)


def _observed_in(
    chart: ChartSubject, index: IndexSnapshot, version: str, full: str, count: int | None
) -> IndexEntry | None:
    name = chart.spec.name
    exact = index.find(name, version)
    if exact is not None:
        return exact
    found = []
    for entry in index.entries.get(name, ()):
        if full[:7] not in entry.version:  # its SHA, at least 7 digits, is a prefix of full
            continue
        parsed = parse_version(entry.version)
        if parsed is None or not parsed.sha or not full.startswith(parsed.sha):
            continue
        if parsed.era == "chartpress-2":
            if count is None:
                count = ancestor_count(chart.repo, full)[0]
            if parsed.n != count:
                continue
        found.append(entry)
    return min(found, key=lambda e: e.created) if found else None


def _predict(chart: ChartSubject, computed: ChartVersion) -> tuple[str | None, str]:
    """(the name chartpress would give the chart commit today, in the format of its era,
    the era); the name is None when that format cannot be computed (no tag to count from)."""
    spec, repo = chart.spec, chart.repo
    era = {"sha": "sha", "chartpress": "chartpress-2"}.get(spec.scheme or "", "")
    if not era:
        era = _neighbours_era(chart, computed.commit_full)
    if era == "sha":
        try:
            legacy = compute_chart_version(
                repo, computed.commit_full, spec.chartpress, spec.name, "sha"
            )
        except DeployGuideError:
            return None, era
        return legacy.version, era
    if era in ("chartpress-0.6", "chartpress-0.4"):
        tag, since = latest_tag(repo, computed.commit_full)
        if tag is None:
            return None, era
        joint = "." if "-" in tag else "-"
        if era == "chartpress-0.6":
            return f"{tag}{joint}n{since:03d}.h{computed.commit}", era
        return f"{tag}{joint}{since:03d}.{computed.commit}", era
    return computed.version, "chartpress-2"


def _neighbours_era(chart: ChartSubject, commit: str) -> str:
    """The format of the newest published version whose commit is not newer than ``commit``
    (by commit time, which a re-publish cannot move), else of the oldest one; chartpress
    >= 2 when nothing in the index has a commit in the source."""
    eras = published_eras(chart.repo, chart.spec.name, chart.index)
    if not eras:
        return "chartpress-2"
    when = chart.repo.commit_stamps([commit])[commit]
    before = [era for moment, era in eras if moment <= when]
    return before[-1] if before else eras[0][1]


def published_eras(repo: GitRepo, name: str, index: IndexSnapshot) -> list[tuple[int, str]]:
    """(commit time in epoch seconds, era) of every index entry of the chart ``name`` whose
    commit is in the source, oldest first: one git call, once per index snapshot; kept in
    the fact cache under the index body's digest (a function of that body and the
    repository), so a companion of ``repo`` may ask it ahead."""
    entries = index.entries.get(name, ())
    memo = _memo(repo)
    key = id(entries)
    known = memo.entries.get(key)
    if known is not None and known[0] is entries:
        return known[1]

    def ask() -> list[list[Any]]:
        parsed = [(p.sha, p.era) for e in entries if (p := parse_version(e.version)) and p.sha]
        named = repo.named_commits([sha for sha, _ in parsed])
        return sorted([found[1], era] for sha, era in parsed if (found := named[sha]))

    if index.digest is None:
        eras = [(t, era) for t, era in ask()]
    else:
        eras = [(t, era) for t, era in repo.answer(("eras", name, index.digest), ask)]
    memo.entries[key] = (entries, eras)
    return eras
