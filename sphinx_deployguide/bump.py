"""``deployguide bump``: pin the right chart version with no value typed by a person.

The 2018 incident pinned a version whose SHA was a merge commit: it was never published.
A bump therefore takes its target from chartpress's own algorithm (or checks a ``--to``
against it), compares versions by their place in the source history (never by SemVer),
refuses to pin what the index does not have (or waits for it), edits only the version
string of the pin, and writes the commit message and PR body from git and the index.

Flow (:func:`bump`): facts of the chart -> target -> pin (working file, or the reused
branch) -> refusals -> publication (wait) -> planned edit -> write / commit -> PR body.
Everything that decides is a pure function below; git, the index and files are reached
through :mod:`.git`, :mod:`.chartindex` and :mod:`.pinedit`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .charthistory import chart_commits_between, landing_commit
from .chartindex import IndexEntry, IndexSnapshot
from .chartresolve import index_charts, resolve_chart
from .chartversion import ChartVersion, compute_chart_version
from .config import ChartSpec, Model
from .delay import format_duration, iso_utc
from .docsdir import DocsNotFound, find_docs_dir
from .errors import DeployGuideError, GitError, NetworkError
from .escape import inert_references, markdown_code, markdown_text, terminal_text
from .facts import ChartState
from .files import not_a_file
from .git import GitRepo
from .indexcache import load_index
from .links import MERGE_PR, SQUASH_PR, github_repo, qualify_refs
from .pinedit import PinEdit, apply_pin_edit, atomic_write_bytes, locate_pin, replace_pin
from .pinsafety import check_writable, real_pin, undo_interrupted_edit
from .redact import redact_url
from .verdict import (
    Verdict,
    archive_problem,
    find_published,
    verdict_for_commit,
    verdict_for_version,
)
from .versionparse import parse_version

#: Exit codes (also in ``deployguide bump --help``).
EXIT_OK, EXIT_REFUSED, EXIT_BAD_INPUT, EXIT_UNPUBLISHED = 0, 1, 2, 3

#: Never poll a remote index more often than this (seconds).
MIN_REMOTE_POLL = 10.0
#: The longest pause between two polls once backoff has grown (seconds).
MAX_POLL = 60.0
#: ``--wait`` waits at least this long by default (seconds), and p95 + MARGIN when longer.
MIN_WAIT = 30 * 60.0
WAIT_MARGIN = 10 * 60.0
POLL_ENV = "DEPLOYGUIDE_POLL_INTERVAL"
#: How many chart commits a message lists before saying "and N more".
MAX_LISTED = 50


class BumpRefused(DeployGuideError):
    """The bump would be wrong (dirty pin file, downgrade, not a chart commit): exit 1."""

    exit_code = EXIT_REFUSED


class NotPublished(DeployGuideError):
    """The target is not in the chart index (or did not appear before the timeout): exit 3."""

    exit_code = EXIT_UNPUBLISHED


def error_details(exc: DeployGuideError) -> dict[str, Any]:
    """Machine-readable details of a refusal (for ``--json``): reason, suggestion, ..."""
    return dict(getattr(exc, "details", {}) or {})


def _fail(cls: type[DeployGuideError], message: str, **details: Any) -> DeployGuideError:
    exc = cls(message, key=details.pop("key", None), file=details.pop("file", None))
    exc.details = details  # type: ignore[attr-defined]
    return exc


# --------------------------------------------------------------------------- request/result


@dataclass(frozen=True)
class BumpRequest:
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
    docs_dir: Path | None = None
    env: str | None = None
    checklist: bool = True
    refresh: bool = False


@dataclass(frozen=True)
class Target:
    """The version to pin: its string, the chart commit and the chart's paths at it, and
    its verdict (:mod:`.verdict`), whose words the refusals use."""

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


@dataclass
class BumpResult:
    status: str  # "bumped" | "committed" | "dry-run" | "up-to-date"
    chart: str
    old: str
    new: str
    pin_file: str
    pin_key: str
    line: int | None = None
    branch: str | None = None
    commit: str | None = None
    message: str | None = None
    pr_body: str | None = None
    published_at: str | None = None
    commits: list[tuple[str, str]] = field(default_factory=list)
    pending: list[tuple[str, str]] = field(default_factory=list)
    compare_url: str | None = None
    notes: list[str] = field(default_factory=list)
    checklist_error: str | None = None
    waited: float | None = None
    exit_code: int = EXIT_OK
    state: str | None = None  # the target's verdict (see .verdict); "published" once found

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "chart": self.chart,
            "from": self.old,
            "to": self.new,
            "pin": {"file": self.pin_file, "key": self.pin_key, "line": self.line},
            "branch": self.branch,
            "commit": self.commit,
            "message": self.message,
            "pr_body": self.pr_body,
            "published_at": self.published_at,
            "compare_url": self.compare_url,
            "commits": [{"sha": s, "subject": t} for s, t in self.commits],
            "pending": [{"sha": s, "subject": t} for s, t in self.pending],
            "notes": self.notes,
            "checklist_error": self.checklist_error,
            "waited_seconds": self.waited,
            "state": self.state,
        }


# --------------------------------------------------------------------------- pure helpers


def compare_url(source: str, old: str, new: str) -> str | None:
    """The GitHub compare page, built from owner/repo only (never the credentials of ``source``)."""
    gh = github_repo(source)
    if gh is None:
        return None
    return f"https://github.com/{gh[0]}/{gh[1]}/compare/{old}...{new}"


def describe_commit(
    subject: str, gh: tuple[str, str] | None, body: str = "", via: str | None = None
) -> str:
    """A commit subject with its PR number made explicit (``owner/repo#N`` on GitHub).

    ``#N`` alone would link to the deploy repo's own PR N once pasted there, so every
    reference of a GitHub source is qualified (:func:`~.links.qualify_refs`; elsewhere the
    outputs break it, :func:`~.escape.inert_references`). A merge of a PR shows the PR title
    (the merge body's first line); ``via`` is the subject of the merge that landed a commit
    (``Merge pull request #N``).
    """
    merge = MERGE_PR.match(subject)
    if merge:
        title = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
        branch = f" from {merge.group('branch')}" if merge.group("branch") else ""
        subject = f"#{merge.group('n')} {title}".rstrip() + f" (merge{branch})"
    elif (landed := MERGE_PR.match(via or "")) and not SQUASH_PR.search(subject):
        subject = f"{subject} (#{landed.group('n')})"
    return qualify_refs(subject, gh)


def order_of(repo: GitRepo, pin_chart: str, target: str) -> str:
    """Where the target's chart commit sits relative to the pin's: by history, not SemVer."""
    if pin_chart == target:
        return "same"
    if repo.is_ancestor(pin_chart, target):
        return "newer"
    if repo.is_ancestor(target, pin_chart):
        return "older"
    return "diverged"


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


def _listed(commits: list[tuple[str, str]], render: Callable[[str, str], str]) -> list[str]:
    lines = [render(sha, subject) for sha, subject in commits[:MAX_LISTED]]
    if len(commits) > MAX_LISTED:
        lines.append(f"... and {len(commits) - MAX_LISTED} more")
    return lines


def commit_message(
    *,
    chart: str,
    spec: ChartSpec,
    pin: Pin,
    target: Target,
    commits: list[tuple[str, str]],
    published: IndexEntry | None,
    index_source: str,
    url: str | None,
    landed: datetime | None,
) -> str:
    """The generated commit message (title ``CHART: OLD...NEW``, then the evidence).

    URLs are redacted here too (not only by the callers): a message is pushed and public.
    """
    index_source, url = redact_url(index_source), redact_url(url) if url else url
    old_short = pin.short or pin.version
    lines = [f"{chart}: {old_short}...{target.short}", ""]
    lines.append(f"Bump {chart} from {pin.version} to {target.version}")
    lines.append(f"in {spec.pin.file} ({spec.pin.key}).")
    lines.append("")
    if url:
        lines += [f"Compare: {url}", ""]
    rng = f"{pin.short}..{target.short}" if pin.short else target.short
    lines.append(f"Chart commits (git log --oneline {rng} -- {' '.join(target.paths)}):")
    # a merged commit message closes the issues its text names: never an upstream one's
    lines += _listed(commits, lambda sha, subject: f"{sha} {inert_references(subject)}") or [
        "(none)"
    ]
    lines.append("")
    if published is not None:
        delay = ""
        if landed is not None:
            delay = f", {format_duration((published.created - landed).total_seconds())} after "
            delay += f"its chart commit landed on {spec.branch}"
        lines.append(f"Published: {iso_utc(published.created)} in {index_source}{delay}")
    else:
        lines.append(f"Published: not yet in {index_source} (pinned with --allow-unpublished)")
    lines += ["", f"Generated by `deployguide bump {chart}` from git and the chart index."]
    return terminal_text("\n".join(lines)) + "\n"  # upstream subjects: no control sequences


def pr_body(
    *,
    chart: str,
    spec: ChartSpec,
    pin: Pin,
    target: Target,
    commits: list[tuple[str, str]],
    pending: list[tuple[str, str]],
    published: IndexEntry | None,
    index_source: str,
    url: str | None,
    current: ChartVersion,
    checklist: str | None,
    checklist_env: str | None,
    checklist_error: str | None,
    checklist_skipped: bool = False,
) -> str:
    """The PR body: what changed, what is still pending, and the staging checklist."""
    index_source, url = redact_url(index_source), redact_url(url) if url else url
    out = [f"## Bump `{chart}` to `{target.version}`", ""]
    out.append("| | |")
    out.append("|---|---|")
    out.append(f"| pin | {markdown_code(spec.pin.file)} {markdown_code(spec.pin.key)} |")
    old_commit = f" (commit `{pin.short}`)" if pin.short else ""
    out.append(f"| from | {markdown_code(pin.version)}{old_commit} |")
    out.append(f"| to | `{target.version}` (chart commit `{target.short}`) |")
    if published is not None:
        out.append(f"| published | {iso_utc(published.created)} in {markdown_text(index_source)} |")
    else:
        out.append(f"| published | **not yet** in {markdown_text(index_source)} |")
    if url:
        out.append(f"| compare | {url} |")
    out.append("")
    if pin.chart_full and pin.full and pin.chart_full != pin.full and pin.chart_version:
        out.append(
            f"> [!WARNING]\n> The old pin names commit `{pin.short}`, which is not a chart "
            f"commit: version `{pin.version}` was never published (the chart at that "
            f"commit is `{pin.chart_version}`)."
        )
        out.append("")
    out.append(f"### Chart commits in this bump ({len(commits)})")
    out += _listed(commits, lambda sha, subject: f"- `{sha}` {markdown_text(subject)}") or [
        "- none"
    ]
    out.append("")
    out.append("### Still pending after this bump")
    if pending:
        out.append(f"Newer chart commits on `{spec.branch}` up to `{current.version}`:")
        out += _listed(pending, lambda sha, subject: f"- `{sha}` {markdown_text(subject)}")
    else:
        out.append(f"None: `{target.version}` is the newest chart on `{spec.branch}`.")
    out.append("")
    title = f"### Deploy checklist: {checklist_env}" if checklist_env else "### Deploy checklist"
    out.append(title)
    if checklist:
        out.append(checklist.rstrip())
    elif checklist_skipped:
        out.append("_Left out on request (`--no-checklist`)._")
    else:
        out.append(
            f"**The checklist could not be included:** {markdown_text(checklist_error or 'unknown')}"
        )
    out += [
        "",
        f"<sub>Generated by <code>deployguide bump {chart}</code> from git and the chart "
        "index: no value in this PR was typed by a person.</sub>",
    ]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- target and pin


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
        raise _fail(
            DeployGuideError,
            f"{to!r} is not a chart version (expected e.g. {state.version!r})",
            key="--to",
        )
    if verdict.state == "never":
        raise _fail(
            BumpRefused,
            f"refusing --to {to}: {verdict.reason}",
            reason="not-a-chart-commit" if verdict.is_chart_commit is False else "version-mismatch",
            suggestion=verdict.name,
            state=verdict.state,
        )
    if verdict.chart_commit is None:  # unknown: the source lacks it (after a fetch)
        raise _fail(DeployGuideError, verdict.reason, key="--to", state="unknown")
    paths = compute_chart_version(
        state.repo, verdict.chart_commit, spec.chartpress, spec.name, "chartpress"
    ).paths
    short = verdict.sha or verdict.chart_commit_short or verdict.chart_commit[:8]
    return Target(to, short, verdict.chart_commit, tuple(paths), verdict)


def read_pin_state(state: ChartState, text: str, file: str) -> Pin:
    """The pinned version in ``text`` and where its commit sits in the source."""
    spec = state.spec
    loc = locate_pin(text, spec.pin.segments, file=file, key=spec.pin.key)
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


# --------------------------------------------------------------------------- publication


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


def _loaded(spec: ChartSpec, model: Model, refresh: bool) -> IndexSnapshot:
    return load_index(
        spec.index,
        base_dir=model.base_dir,
        cache_dir=model.cache_dir,
        ttl=model.cache_ttl,
        offline="stale",
        refresh=refresh,
        retries=1,
        deadline=model.timeout,
        charts=index_charts(model, spec),
    )


def _verdict_in(
    state: ChartState, snapshot: IndexSnapshot, target: Target, to: str | None, probe: bool = True
) -> Verdict:
    """The target's verdict against another snapshot of the index (a fresh one)."""
    fresh = dataclasses.replace(state, index=snapshot)
    now = datetime.now(timezone.utc)
    if to:
        return verdict_for_version(fresh, to, now=now, probe=probe)
    return verdict_for_commit(fresh, state.head, now=now, computed=state.current, probe=probe)


def _finder(state: ChartState, target: Target) -> Callable[[IndexSnapshot], IndexEntry | None]:
    """Find the current chart in a snapshot by its name, or by its chart commit."""
    return lambda snapshot: find_published(state, snapshot, target.version, target.full)


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
    and its archive answers: :func:`.verdict.archive_problem`) or time runs out.

    ``find`` looks the version up in a snapshot (default: by its exact name; ``bump`` also
    accepts the name the index gives its chart commit). The pauses come from
    :func:`poll_bounds` and :func:`next_pause` (backoff, and never below 10 s for a remote
    index). ``sleep`` and ``clock`` are injectable so the schedule can be checked against a
    real server without real waiting. A wrong answer (4xx, not an index) ends the wait with
    its error; an unreachable index is retried.
    """
    lookup = find or (lambda snap: snap.find(spec.name, version))
    start = clock()
    floor, cap = poll_bounds(interval, spec.index)
    pause = floor
    polls = 0
    snapshot: IndexSnapshot | None = None
    while True:
        polls += 1
        try:
            snapshot = _loaded(spec, model, refresh=True)
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


class Progress:
    """Progress of ``--wait``: one rewritten line on a terminal, plain lines otherwise."""

    def __init__(self, stream: Any, *, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.dirty = False

    def __call__(self, r: WaitReport) -> None:
        expected = ""
        if r.median is not None:
            expected = f" (usually published after {format_duration(r.median)}"
            expected += f", p95 {format_duration(r.p95)})" if r.p95 is not None else ")"
        since = (
            f"landed {format_duration(max(r.since_landing, 0))} ago{expected}; "
            if r.since_landing is not None
            else ""
        )
        line = (
            f"waiting for {r.version}: {since}waited {format_duration(r.elapsed)}, "
            f"poll {r.polls} ({r.status}), next in {format_duration(r.next_in)}"
        )
        if self.tty:
            self.stream.write("\r\x1b[K" + line)
            self.dirty = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self, message: str) -> None:
        if self.tty and self.dirty:
            self.stream.write("\r\x1b[K")
        self.stream.write(message + "\n")
        self.stream.flush()


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


# --------------------------------------------------------------------------- git of the deploy repo


def pin_is_dirty(deploy: GitRepo, relative: str) -> str:
    """``git status --porcelain`` of the pin file ('' when clean)."""
    return deploy.run("status", "--porcelain", "--untracked-files=all", "--", relative)


def branch_exists(deploy: GitRepo, branch: str) -> bool:
    return deploy.resolve(f"refs/heads/{branch}") is not None


def current_branch(deploy: GitRepo) -> str | None:
    try:
        return deploy.run("symbolic-ref", "--quiet", "--short", "HEAD") or None
    except GitError:
        return None


def check_branch_name(deploy: GitRepo, branch: str) -> None:
    try:
        deploy.run("check-ref-format", "--branch", branch)
    except GitError as exc:
        raise DeployGuideError(f"{branch!r} is not a valid branch name", key="--branch") from exc


def commit_pin(deploy: GitRepo, relative: str, message: str) -> str:
    """Commit only the pin file (other staged changes stay staged); returns the full SHA.

    The message goes through stdin: no temporary file is left behind if the bump is killed.
    """
    deploy.run("commit", "--cleanup=whitespace", "--file=-", "--", relative, input=message.encode())
    return deploy.run("rev-parse", "HEAD")


# --------------------------------------------------------------------------- the whole bump


def render_staging_checklist(
    model: Model, docs_dir: Path | str | None, env: str | None
) -> tuple[str | None, str | None, str | None]:
    """(markdown, environment, error): the checklist as a GitHub task list, or why not.

    ``docs_dir`` is ``--docs``; without it the runbook is found from the model
    (:func:`docsdir.find_docs_dir`)."""
    if env is None:
        order = model.environment_order()
        if not order:
            return None, None, "the model has no environments"
        env = order[0]
    elif env not in model.environments:
        known = ", ".join(model.environments) or "none"
        raise DeployGuideError(
            f"no environment {env!r} in the model (environments: {known})",
            file=model.path,
            key="--env",
        )
    try:
        docs_dir = find_docs_dir(
            model.path, explicit=docs_dir, hint="pass --docs DIR to include the checklist"
        )
    except DocsNotFound as exc:
        return None, env, str(exc)
    try:
        from .ext.checklist_builder import render_checklist
    except ImportError as exc:
        return None, env, f"the checklist renderer is not available ({exc})"
    try:
        text = render_checklist(docs_dir, env, fmt="github", config_path=model.path)
    except DeployGuideError as exc:
        return None, env, f"rendering the {env} checklist from {docs_dir} failed: {exc}"
    except Exception as exc:  # noqa: BLE001 - a Sphinx failure must not lose the bump
        return (
            None,
            env,
            (f"rendering the {env} checklist from {docs_dir} failed: {type(exc).__name__}: {exc}"),
        )
    if not text or not text.strip():
        return None, env, f"the docs in {docs_dir} have no checklist for {env!r}"
    return text, env, None


def bump(
    model: Model,
    req: BumpRequest,
    *,
    progress: Callable[[WaitReport], None] | None = None,
    say: Callable[[str], None] = lambda line: None,
    sleep: Callable[[float], None] = time.sleep,
) -> BumpResult:
    """Do the bump; raises BumpRefused (1), DeployGuideError (2) or NotPublished (3)."""
    if req.chart not in model.charts:
        known = ", ".join(model.charts) or "none"
        raise DeployGuideError(
            f"no chart {req.chart!r} in the model (charts: {known})", file=model.path, key="CHART"
        )
    spec = model.charts[req.chart]
    if spec.pin is None:
        raise DeployGuideError(
            f"chart {req.chart!r} has no pin in the model, so there is nothing to bump; "
            'add pin = "FILE#KEY.PATH" to [charts.' + req.chart + "]",
            file=model.path,
            key=f"charts.{req.chart}.pin",
        )
    state = resolve_chart(
        model, spec, refresh=req.refresh, offline=model.offline, versions=(req.to,)
    )
    repo = state.repo
    target = resolve_target(state, req.to)

    pin_path = (model.deploy_repo / spec.pin.file).resolve()
    display = spec.pin.file
    deploy = GitRepo(model.deploy_repo) if req.commit else None
    branch = req.branch or f"bump/{req.chart}-{target.short}"
    from_branch = False
    git_pin = real_pin(deploy, pin_path) if deploy is not None else spec.pin.file
    if deploy is not None:
        check_branch_name(deploy, branch)
        dirty = pin_is_dirty(deploy, git_pin)
        if dirty and undo_interrupted_edit(deploy, branch, git_pin, pin_path, spec.pin, target):
            say(f"resuming an interrupted bump of {display} on {branch}")
            dirty = pin_is_dirty(deploy, git_pin)
        if dirty:
            raise _fail(
                BumpRefused,
                f"refusing to commit: {display} has uncommitted changes "
                f"({dirty.strip()}); commit or discard them first",
                reason="dirty",
                file=display,
            )
        from_branch = branch_exists(deploy, branch) and current_branch(deploy) != branch
    if from_branch:
        assert deploy is not None
        blob = deploy.show(f"refs/heads/{branch}", git_pin)
        if blob is None:
            raise DeployGuideError(f"branch {branch} has no {display}", file=display)
        before_text = blob
    else:
        kind = not_a_file(pin_path)
        if kind is not None:
            raise DeployGuideError(f"the pin file is {kind}, expected a file", file=display)
        try:
            before_text = pin_path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DeployGuideError(f"cannot read the pin file: {exc}", file=display) from exc
    pin = read_pin_state(state, before_text, display)
    where = f" (on branch {branch})" if from_branch else ""

    result = BumpResult(
        "up-to-date", req.chart, pin.version, target.version, display, spec.pin.key, pin.line
    )
    if pin.version == target.version:
        result.branch = branch if from_branch else None
        return result

    # refusals, in the order a reviewer would ask
    if pin.chart_full is None:
        why = pin.verdict.reason if pin.verdict else f"{pin.version!r} names no commit"
        if not req.allow_downgrade:
            raise _fail(
                BumpRefused,
                f"refusing: cannot tell whether {target.version} is older than the pin"
                f"{where}: {why}. Pass --allow-downgrade to pin it anyway.",
                reason="unknown-order",
                file=display,
                state=pin.verdict.state if pin.verdict else None,
            )
        result.notes.append(f"the pin's order is unknown: {why}")
        relation = "unknown"
    else:
        relation = order_of(repo, pin.chart_full, target.full)
        if relation == "older" and not req.allow_downgrade:
            raise _fail(
                BumpRefused,
                f"refusing a downgrade: {target.version} (chart commit "
                f"{target.short}) is older than the pinned {pin.version}{where}: its "
                "chart commit is an ancestor of the pin's. Pass --allow-downgrade to "
                "do it anyway.",
                reason="downgrade",
                file=display,
            )
        if relation == "older":
            result.notes.append("this is a downgrade (--allow-downgrade)")
        if relation == "diverged":
            result.notes.append(
                f"the pin {pin.version} and {target.version} are on diverged "
                "histories (neither contains the other)"
            )
        if pin.full and pin.chart_full != pin.full:
            result.notes.append(
                f"the old pin names {pin.short}, which is not a chart commit "
                f"(that version was never published; the chart there is "
                f"{pin.chart_version})"
            )

    # plan the edit before any wait: a pin file we cannot edit fails now, not in 30 minutes
    planned_after, _ = replace_pin(
        before_text.encode("utf-8"),
        spec.pin.key,
        target.version,
        file=display,
        segments=spec.pin.segments,
    )
    del planned_after
    if not req.dry_run:
        check_writable(pin_path, file=display, key=spec.pin.key)

    verdict = target.verdict or state.head_verdict
    result.state = verdict.state
    landed = verdict.landed_at
    if landed is None:
        result.notes.append(f"chart commit {target.short} is not on {spec.branch}")
    median = state.delay.median if state.delay else None
    p95 = state.delay.p95 if state.delay else None

    snapshot = state.index
    published = snapshot.find(spec.name, target.version) if verdict.published else None
    if published is None and snapshot.status != "live":
        snapshot = _loaded(spec, model, refresh=True)  # do not refuse on a cached copy
        verdict = _verdict_in(state, snapshot, target, req.to)
        result.state = verdict.state
        published = snapshot.find(spec.name, verdict.name or "") if verdict.published else None
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
        published, snap, waited = wait_for_publication(
            spec,
            model,
            target.version,
            timeout=timeout,
            interval=interval,
            landed=landed,
            report=progress or (lambda r: None),
            median=median,
            p95=p95,
            sleep=sleep,
            find=None if req.to else _finder(state, target),
        )
        snapshot = snap or snapshot
        result.waited = round(waited, 1)
        if published is None:
            verdict = _verdict_in(state, snapshot, target, req.to, probe=False)
            raise _fail(
                NotPublished,
                not_published_message(req.chart, target.version, verdict, snapshot, waited),
                reason="timeout",
                version=target.version,
                state=verdict.state,
            )
        say(
            f"{published.version} was published at {iso_utc(published.created)} "
            f"(found after {format_duration(waited)})"
        )
        result.state = "published"
    if published is None:
        if not req.allow_unpublished:
            raise _fail(
                NotPublished,
                not_published_message(req.chart, target.version, verdict, snapshot, None),
                reason="unpublished",
                version=target.version,
                state=verdict.state,
            )
        result.notes.append(
            f"{target.version} is not published yet (--allow-unpublished): {verdict.reason}"
        )
    elif published.version != target.version:  # the index's name for the same chart commit
        result.notes.append(
            f"the index publishes chart commit {target.short} as {published.version}"
        )
        target = dataclasses.replace(target, version=published.version)
        result.new = target.version

    # the evidence
    gh = (state.links.owner, state.links.repo) if state.links else None  # a checkout's origin too
    commits_raw = chart_commits_between(
        repo, pin.full if relation != "unknown" else None, target.full, target.paths
    )
    commits = annotate_commits(repo, spec.branch, gh, commits_raw)
    pending: list[tuple[str, str]] = []
    if state.current.commit_full != target.full and repo.is_ancestor(
        target.full, state.current.commit_full
    ):
        pending = annotate_commits(
            repo,
            spec.branch,
            gh,
            chart_commits_between(
                repo, target.full, state.current.commit_full, state.current.paths
            ),
        )
    url = compare_url(spec.source, pin.short, target.short) if pin.short else None
    message = commit_message(
        chart=req.chart,
        spec=spec,
        pin=pin,
        target=target,
        commits=commits,
        published=published,
        index_source=snapshot.source,
        url=url,
        landed=landed,
    )
    result.commits, result.pending, result.compare_url = commits, pending, url
    result.message = message
    result.published_at = iso_utc(published.created) if published else None

    if req.dry_run:
        result.status = "dry-run"
        result.branch = branch if req.commit else None
    else:
        if deploy is not None:
            # the wait may have been long: check again before touching anything
            dirty = pin_is_dirty(deploy, git_pin)
            if dirty:
                raise _fail(
                    BumpRefused,
                    f"refusing to commit: {display} changed while waiting ({dirty.strip()})",
                    reason="dirty",
                    file=display,
                )
            undo = _switch_to(deploy, branch)
            result.branch = branch
        else:
            undo = lambda: None  # noqa: E731
        edit = None
        try:
            edit = _plan_from_disk(pin_path, spec, target.version, display, pin.version)
            apply_pin_edit(pin_path, edit)
            result.status = "bumped"
            if deploy is not None:
                result.commit = commit_pin(deploy, git_pin, message)
                result.status = "committed"
        except BaseException:
            # leave things as they were: the pin file's old bytes, the old branch
            if deploy is not None and edit is not None and pin_path.read_bytes() != edit.before:
                atomic_write_bytes(pin_path, edit.before)
            undo()
            raise

    checklist, env, error = None, None, None
    if req.checklist:
        checklist, env, error = render_staging_checklist(model, req.docs_dir, req.env)
    result.checklist_error = error
    result.pr_body = pr_body(
        chart=req.chart,
        spec=spec,
        pin=pin,
        target=target,
        commits=commits,
        pending=pending,
        published=published,
        index_source=snapshot.source,
        url=url,
        current=state.current,
        checklist=checklist,
        checklist_env=env,
        checklist_error=error,
        checklist_skipped=not req.checklist,
    )
    return result


def _switch_to(deploy: GitRepo, branch: str) -> Callable[[], None]:
    """Switch to ``branch`` (created from HEAD if new); returns how to undo that."""
    if current_branch(deploy) == branch:
        return lambda: None
    before = current_branch(deploy)
    head = deploy.resolve("HEAD")
    created = not branch_exists(deploy, branch)
    deploy.run("switch", "--quiet", *(["--create"] if created else []), branch)

    def undo() -> None:
        if before is not None:
            deploy.run("switch", "--quiet", before)
        elif head is not None:
            deploy.run("switch", "--quiet", "--detach", head)
        if created and deploy.resolve(f"refs/heads/{branch}") == head:
            deploy.run("branch", "--quiet", "-D", branch)

    return undo


def annotate_commits(
    repo: GitRepo, branch: str, gh: tuple[str, str] | None, commits: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Subjects with the PR that brought each commit onto ``branch`` (from its merge's subject)."""
    out = []
    for i, (sha, subject) in enumerate(commits):
        body = via = ""
        if i < MAX_LISTED:
            try:
                if MERGE_PR.match(subject):
                    body = repo.run("log", "-1", "--no-show-signature", "--format=%b", sha, "--")
                else:
                    landing = landing_commit(repo, sha, branch)
                    if not landing.startswith(sha):
                        via = repo.run(
                            "log", "-1", "--no-show-signature", "--format=%s", landing, "--"
                        )
            except GitError:
                pass  # not on the branch (e.g. --to from another branch): no PR to name
        out.append((sha, describe_commit(subject, gh, body, via)))
    return out


def _plan_from_disk(
    path: Path, spec: ChartSpec, new: str, display: str, expected_old: str
) -> PinEdit:
    """Plan the edit from the bytes on disk now (after a branch switch or a long wait)."""
    try:
        before = path.read_bytes()
    except OSError as exc:
        raise DeployGuideError(f"cannot read the pin file: {exc}", file=display) from exc
    after, loc = replace_pin(before, spec.pin.key, new, file=display, segments=spec.pin.segments)
    if loc.value != expected_old:
        raise _fail(
            BumpRefused,
            f"the pin changed while the bump was running: it now reads "
            f"{loc.value!r}, expected {expected_old!r}; nothing written",
            reason="changed",
            file=display,
        )
    return PinEdit(
        file=display,
        key=spec.pin.key,
        line=loc.line,
        old=loc.value,
        new=new,
        before=before,
        after=after,
    )
