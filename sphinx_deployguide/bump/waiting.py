"""Publication: whether the target is installable from the chart index, and ``--wait``.

A bump never refuses on a cached copy of the index (it looks again), and never pins what
the index does not have unless told to. Waiting polls with conditional GETs and backoff,
never more often than every 10 s for a remote index (the hosting is shared), and always
until a deadline. ``sleep`` and ``clock`` are injectable so the schedule can be checked
against a real server without real waiting.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from ..chartindex import IndexEntry, IndexSnapshot
from ..config import ChartSpec, Model
from ..delay import format_duration, iso_utc
from ..errors import DeployGuideError, NetworkError
from ..facts import ChartState
from ..indexcache import index_charts, load_index
from ..redact import redact_url
from ..verdict import (
    Verdict,
    archive_problem,
    find_published,
    verdict_for_commit,
    verdict_for_version,
)
from .plan import BumpRequest, NotPublished, Target

#: Never poll a remote index more often than this (seconds).
MIN_REMOTE_POLL = 10.0
#: The longest pause between two polls once backoff has grown (seconds).
MAX_POLL = 60.0
#: ``--wait`` waits at least this long by default (seconds), and p95 + MARGIN when longer.
MIN_WAIT = 30 * 60.0
WAIT_MARGIN = 10 * 60.0
#: The environment variable that sets the poll interval (tests, mirrors).
POLL_ENV = "DEPLOYGUIDE_POLL_INTERVAL"


@dataclass
class WaitReport:
    """What the waiting loop reports after each poll (for the progress line)."""

    polls: int
    elapsed: float
    next_in: float
    status: str
    since_landing: float | None
    version: str = ""
    median: float | None = None
    p95: float | None = None


@dataclass(frozen=True)
class Publication:
    """Where the target stands in the index once the bump is done looking (and waiting)."""

    entry: IndexEntry | None  # None: not installable (pinned with --allow-unpublished)
    snapshot: IndexSnapshot  # the index it was judged on
    target: Target  # named as the index publishes it
    state: str  # the target's verdict (see ..verdict); "published" once waited for
    landed: datetime | None  # when the target's chart commit landed on the branch
    waited: float | None  # seconds, with --wait
    notes: list[str]


def is_local_or_loopback(index: str) -> bool:
    """A local file, ``file://`` or an http(s) index on a loopback host (tests, mirrors)."""
    parts = urlsplit(index)
    if parts.scheme.lower() not in ("http", "https"):
        return True
    host = (parts.hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def poll_plan(requested: float | None, index: str) -> tuple[float, str | None]:
    """The first poll interval, and a note when the requested one was raised."""
    if requested is None:
        return MIN_REMOTE_POLL, None
    if requested <= 0:
        raise DeployGuideError(
            f"the poll interval must be positive, got {requested:g} s", key="--poll-interval"
        )
    if requested < MIN_REMOTE_POLL and not is_local_or_loopback(index):
        return MIN_REMOTE_POLL, (
            f"poll interval raised from {requested:g} s to {MIN_REMOTE_POLL:g} s: "
            f"{redact_url(index)} is a remote index"
        )
    return requested, None


def poll_bounds(interval: float, index: str) -> tuple[float, float]:
    """(floor, cap) of the pause between two polls of ``index``.

    A remote index is never polled more often than every ``MIN_REMOTE_POLL`` seconds, whatever
    the caller asked (the hosting is shared); backoff grows up to ``MAX_POLL``. A local or
    loopback index (tests, mirrors) keeps the requested interval and caps at 4x it, so a
    test's wait stays short.
    """
    if interval <= 0:
        raise DeployGuideError(
            f"the poll interval must be positive, got {interval:g} s", key="--poll-interval"
        )
    if is_local_or_loopback(index):
        return interval, interval * 4
    floor = max(interval, MIN_REMOTE_POLL)
    return floor, max(floor, MAX_POLL)


def next_pause(
    pause: float, *, floor: float, cap: float, polls: int, failed: bool, remaining: float
) -> tuple[float, float]:
    """(the backoff pause after poll number ``polls``, how long to sleep now).

    The pause grows by 1.5x while nothing changes and doubles after an error, up to ``cap``;
    the sleep is cut to the time left before the timeout but never below ``floor`` (so the
    last poll may come up to one floor after the timeout).
    """
    if polls > 1:
        pause = min(cap, pause * (2.0 if failed else 1.5))
    pause = max(pause, floor)
    return pause, max(min(pause, remaining), floor)


def default_timeout(p95: float | None) -> float:
    """Seconds ``--wait`` waits by default: p95 + a margin, at least 30 minutes."""
    return max(MIN_WAIT, (p95 or 0.0) + WAIT_MARGIN)


def fresh_index(spec: ChartSpec, model: Model) -> IndexSnapshot:
    """The index fetched now (a stale copy, with its error, when it cannot be reached)."""
    return load_index(
        spec.index,
        base_dir=model.base_dir,
        cache_dir=model.cache_dir,
        ttl=model.cache_ttl,
        offline="stale",
        refresh=True,
        retries=1,
        deadline=model.timeout,
        charts=index_charts(model, spec.index),
    )


def verdict_in(
    state: ChartState, snapshot: IndexSnapshot, to: str | None, probe: bool = True
) -> Verdict:
    """The target's verdict against another snapshot of the index (a fresh one)."""
    fresh = dataclasses.replace(state, index=snapshot)
    now = datetime.now(timezone.utc)
    if to:
        return verdict_for_version(fresh, to, now=now, probe=probe)
    return verdict_for_commit(fresh, state.head, now=now, computed=state.current, probe=probe)


def wait_for_publication(
    spec: ChartSpec,
    model: Model,
    version: str,
    *,
    timeout: float,
    interval: float,
    landed: datetime | None,
    report: Callable[[WaitReport], None],
    median: float | None = None,
    p95: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    find: Callable[[IndexSnapshot], IndexEntry | None] | None = None,
) -> tuple[IndexEntry | None, IndexSnapshot | None, float]:
    """Poll the index (conditional GET each time) until ``version`` is installable (listed,
    and its archive answers: :func:`..verdict.archive_problem`) or time runs out.

    ``find`` looks the version up in a snapshot (default: by its exact name; ``bump`` also
    accepts the name the index gives its chart commit). The pauses come from
    :func:`poll_bounds` and :func:`next_pause` (backoff, and never below 10 s for a remote
    index). A wrong answer (4xx, not an index) ends the wait with its error; an unreachable
    index is retried.
    """

    def by_name(snap: IndexSnapshot) -> IndexEntry | None:
        return snap.find(spec.name, version)

    lookup = find or by_name
    start = clock()
    floor, cap = poll_bounds(interval, spec.index)
    pause = floor
    polls = 0
    snapshot: IndexSnapshot | None = None
    while True:
        polls += 1
        entry: IndexEntry | None
        try:
            snapshot = fresh_index(spec, model)
            entry = lookup(snapshot)
            status = snapshot.status if snapshot.error is None else f"error: {snapshot.error}"
            failed = snapshot.status == "stale"
            problem = archive_problem(snapshot, entry) if entry is not None else None
            if problem:
                entry, status = None, f"listed, but its archive {problem}"
        except NetworkError as exc:  # unreachable and nothing cached yet: keep trying
            entry, status, failed = None, f"error: {exc}", True
        elapsed = clock() - start
        if entry is not None:
            return entry, snapshot, elapsed
        remaining = timeout - elapsed
        if remaining <= 0:
            return None, snapshot, elapsed
        pause, next_in = next_pause(
            pause, floor=floor, cap=cap, polls=polls, failed=failed, remaining=remaining
        )
        since = (datetime.now(timezone.utc) - landed).total_seconds() if landed else None
        report(
            WaitReport(
                polls, elapsed, next_in, status, since, f"{spec.name} {version}", median, p95
            )
        )
        sleep(next_in)


def not_published_message(
    chart: str, version: str, verdict: Verdict, snapshot: IndexSnapshot, waited: float | None
) -> str:
    """Why ``bump`` will not pin ``version`` yet, in the words of its verdict."""
    head = f"{chart} {version} is not installable from the chart index {snapshot.source}"
    if waited is not None:
        head += f" after waiting {format_duration(waited)}"
    lines = [head + f" (as of {iso_utc(snapshot.fetched_at)}, {snapshot.status})."]
    reason = verdict.reason
    lines.append(f"{verdict.state}: {reason[:1].upper()}{reason[1:]}.")
    landed = verdict.landed_at
    if landed is not None:
        when = f"Its chart commit {verdict.chart_commit_short} landed on {verdict.branch} at "
        when += iso_utc(landed)
        if verdict.wait is not None:
            by = iso_utc(landed + timedelta(seconds=verdict.wait))
            when += f"; expected within {format_duration(verdict.wait)} ({verdict.wait_basis}),"
            when += f" so by {by}"
        lines.append(when + ".")
    if verdict.fix:
        lines.append(f"Fix: {verdict.fix}.")
    if waited is None:
        lines.append(
            "Run again with --wait to wait for it, or pass --allow-unpublished to pin it anyway."
        )
    return redact_url("\n".join(lines))  # the index URL and its error may carry a token


def find_publication(
    model: Model,
    state: ChartState,
    target: Target,
    req: BumpRequest,
    *,
    progress: Callable[[WaitReport], None],
    say: Callable[[str], None],
    sleep: Callable[[float], None],
) -> Publication:
    """Find the target in the index: in the snapshot the facts read, else in a fresh one,
    else (with ``--wait``) by polling until it appears; refuse it (:class:`.NotPublished`)
    unless it is found or ``--allow-unpublished`` says to pin it anyway."""
    spec = state.spec
    notes: list[str] = []
    verdict = target.verdict or state.head_verdict
    result_state = verdict.state
    landed = verdict.landed_at
    if landed is None:
        notes.append(f"chart commit {target.short} is not on {spec.branch}")
    median = state.delay.median if state.delay else None
    p95 = state.delay.p95 if state.delay else None

    snapshot = state.index
    published = snapshot.find(spec.name, target.version) if verdict.published else None
    if published is None and snapshot.status != "live":
        snapshot = fresh_index(spec, model)  # do not refuse on a cached copy
        verdict = verdict_in(state, snapshot, req.to)
        result_state = verdict.state
        published = snapshot.find(spec.name, verdict.name or "") if verdict.published else None
    waited_for: float | None = None
    if published is None and req.wait:
        timeout = (req.timeout_min * 60) if req.timeout_min is not None else default_timeout(p95)
        interval, note = poll_plan(req.poll_interval, spec.index)
        if note:
            say(note)
        say(
            f"{target.version} is not in the index yet ({verdict.state}: {verdict.reason}); "
            f"waiting up to {format_duration(timeout)} "
            f"(polling every {format_duration(interval)} or more)"
        )

        def by_name_or_commit(snap: IndexSnapshot) -> IndexEntry | None:
            return find_published(state, snap, target.version, target.full)

        published, snap, waited = wait_for_publication(
            spec,
            model,
            target.version,
            timeout=timeout,
            interval=interval,
            landed=landed,
            report=progress,
            median=median,
            p95=p95,
            sleep=sleep,
            find=None if req.to else by_name_or_commit,
        )
        snapshot = snap or snapshot
        waited_for = round(waited, 1)
        if published is None:
            verdict = verdict_in(state, snapshot, req.to, probe=False)
            raise NotPublished(
                not_published_message(req.chart, target.version, verdict, snapshot, waited),
                reason="timeout",
                version=target.version,
                state=verdict.state,
            )
        say(
            f"{published.version} was published at {iso_utc(published.created)} "
            f"(found after {format_duration(waited)})"
        )
        result_state = "published"
    if published is None:
        if not req.allow_unpublished:
            raise NotPublished(
                not_published_message(req.chart, target.version, verdict, snapshot, None),
                reason="unpublished",
                version=target.version,
                state=verdict.state,
            )
        notes.append(
            f"{target.version} is not published yet (--allow-unpublished): {verdict.reason}"
        )
    elif published.version != target.version:  # the index's name for the same chart commit
        notes.append(f"the index publishes chart commit {target.short} as {published.version}")
        target = dataclasses.replace(target, version=published.version)
    return Publication(published, snapshot, target, result_state, landed, waited_for, notes)
