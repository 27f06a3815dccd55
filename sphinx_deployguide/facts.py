"""Facts: values computed from the real world, each with its provenance.

:func:`resolve_facts` is the one place that asks git, the chart index and the deploy repo.
The Sphinx extension calls it once per build before reading; the CLI calls it once per
command. Front ends never compute a value themselves: they look it up here by name
(``charts.binderhub.version``, ``config:config/prod.yaml#binderhub.enabled``) and render it
with its :class:`Provenance`, so a reader can always tell where a value came from and
whether it is live, cached or stale.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .chartindex import IndexEntry, IndexSnapshot, load_index
from .chartversion import (
    ChartVersion,
    chart_commits_between,
    compute_chart_version,
    parse_version,
)
from .config import ChartSpec, Model, toml_key_line
from .delay import RECENT_VERSIONS, DelayStats, delay_stats, format_duration, iso_utc
from .errors import DeployGuideError, FactError, GitError
from .evidence import branch_tip, landings
from .factcache import parsed_file
from .files import FileProblem, inside, not_a_file
from .git import GitRepo, open_source
from .keypath import load_data_file, parse_key_path, resolve_key_path
from .links import SourceLinks, source_links
from .redact import redact_value
from .verdict import Verdict, advised_wait, prefetch, verdict_for_commit, verdict_for_version

if TYPE_CHECKING:
    from .workflow import JobMatrix

STATUSES = ("live", "cached", "stale")
T = TypeVar("T")
#: Lists of more items than this fold (pages, the facts table); lists of commits are
#: always a block on a page.
FOLD_OVER = 5
#: How many items a folded list shows before its "and N more".
SHOWN = 3


def fold_text(items: list[str]) -> str:
    """``a, b, c`` for a few items; ``a, b, c and 267 more`` for a long list."""
    if len(items) <= FOLD_OVER:
        return ", ".join(items)
    return ", ".join(items[:SHOWN]) + f" and {len(items) - SHOWN} more"


@dataclass(frozen=True)
class Provenance:
    """Where a value came from: ``source`` (repo, URL, file), ``ref`` (commit, validator,
    key), when it was obtained, and whether it is live, cached or stale."""

    source: str
    ref: str | None
    time: str
    status: str = "live"
    #: Where the source redirected to (an index served from another URL), if it did.
    redirected_to: str | None = None
    note: str | None = None  # how the value was obtained, e.g. "predicted: not in the index yet"

    def describe(self) -> str:
        ref = f" @ {self.ref}" if self.ref else ""
        via = f" -> {self.redirected_to}" if self.redirected_to else ""
        note = f"; {self.note}" if self.note else ""
        return f"{self.source}{via}{ref} ({self.status}, {self.time}{note})"


@dataclass(frozen=True)
class Fact:
    name: str
    value: Any
    kind: str
    provenance: Provenance
    #: The value moves with the clock (an age): left out of :attr:`FactSet.hash`, so a
    #: checklist ticked in the browser is not reset by time passing.
    volatile: bool = False

    @property
    def shown(self) -> Any:
        """The value as every output shows it: credentials in URLs (a config value, an
        environment's URL) redacted (:func:`~sphinx_deployguide.redact.redact_value`)."""
        return redact_value(self.value)

    def display(self, *, fold: bool = False) -> str:
        """The value as a person reads it: ``7 min``, ``yes``, ``a, b``; with ``fold``, a
        long list as its first items and "and N more" (:func:`fold_text`)."""
        value = self.shown
        if value is None:
            return "none"
        if self.kind == "duration":
            return format_duration(float(value))
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (list, tuple)):
            if not value:
                return "none"
            if self.kind == "durations":
                items = [format_duration(float(v)) for v in value]
            else:
                items = [str(v) for v in value]
            return fold_text(items) if fold else ", ".join(items)
        return str(value)

    def as_json(self) -> dict[str, Any]:
        return {
            "value": self.shown,
            "kind": self.kind,
            "source": self.provenance.source,
            "ref": self.provenance.ref,
            "time": self.provenance.time,
            "status": self.provenance.status,
            "redirected_to": self.provenance.redirected_to,
            "note": self.provenance.note,
        }


@dataclass
class ChartState:
    """Everything known about one chart; drift checks, bump and diagnose read it.

    ``current`` is chartpress's computation at the branch head; what to call that chart and
    whether it is published is ``head_verdict`` (the index's name when it has one), and
    ``pin_verdict`` says the same of the pinned version: every front end takes its words
    from these two (:mod:`.verdict`).
    """

    spec: ChartSpec
    repo: GitRepo
    head: str
    head_short: str
    current: ChartVersion
    index: IndexSnapshot
    pinned: str | None
    delay: DelayStats | None
    head_verdict: Verdict
    pin_verdict: Verdict | None = None
    pending: list[tuple[str, str]] = field(default_factory=list)
    #: Why the pin file could not be read (missing, unreadable, ...): a warning, and the
    #: pin's facts are unavailable; None when it was read.
    pin_problem: DeployGuideError | None = None
    #: Facts of this chart that could not be computed, with the reason (never rendered as
    #: a made-up value: :meth:`FactSet.get` raises :class:`FactError` with the reason).
    unavailable: dict[str, str] = field(default_factory=dict)
    #: Web pages of the chart source (commits, pull requests) when it lives on GitHub:
    #: the configured URL, or a local checkout's ``origin``.
    links: SourceLinks | None = None
    #: Why the head of a local copy is no chart to deploy: the copy lacks the commit the
    #: pin names, so it is behind the pin (None: it has that commit, or is a fetched mirror).
    #: The facts that would offer it are unavailable with this reason (:data:`OFFERED`).
    behind_pin: str | None = None

    @property
    def version(self) -> str:
        """The chart version at the branch head: the index's name, else the predicted one."""
        return self.head_verdict.name or self.current.version

    @property
    def pin_commit(self) -> str | None:
        """Full sha of the commit the pinned version names (None: none, or not in the source)."""
        return self.pin_verdict.commit if self.pin_verdict else None


@dataclass
class FactSet:
    model: Model
    facts: dict[str, Fact]
    charts: dict[str, ChartState]
    resolved_at: str
    unavailable: dict[str, str] = field(default_factory=dict)
    #: The deploy job of each environment (its matrix and step names), when it could be read.
    jobs: dict[str, JobMatrix] = field(default_factory=dict)
    #: Files named by the model that are missing or unreadable: warnings, located.
    problems: tuple[DeployGuideError, ...] = ()
    _lookups: dict[str, Fact] = field(default_factory=dict, repr=False)

    @functools.cached_property
    def deploy_links(self) -> SourceLinks | None:
        """Web pages of the deploy repo (its files, its workflows) when its ``origin`` is
        GitHub (asked of git when a page needs them, not by every command)."""
        return source_links(GitRepo(self.model.deploy_repo).remote_url())

    @functools.cached_property
    def hash(self) -> str:
        """A short hash of every value but the volatile ones: it changes exactly when some
        value does, not as time passes (a browser keys its saved checklist with it; computed
        once, every page of a build shows it)."""
        payload = json.dumps(
            {n: f.value for n, f in sorted(self.facts.items()) if not f.volatile},
            sort_keys=True,
            default=str,
        )
        import hashlib

        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    @property
    def render_key(self) -> str:
        """A short hash of every value as displayed: a page is re-read when it changes."""
        payload = json.dumps({n: f.display() for n, f in sorted(self.facts.items())})
        import hashlib

        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    @property
    def stale(self) -> bool:
        return any(f.provenance.status == "stale" for f in self.facts.values())

    @property
    def as_of(self) -> str:
        """When the oldest value was confirmed from its source (cached values are older)."""
        return min((f.provenance.time for f in self.facts.values()), default=self.resolved_at)

    def names(self, prefix: str = "") -> list[str]:
        return sorted(n for n in self.facts if n.startswith(prefix))

    def get(self, name: str) -> Fact:
        """The fact ``name``; ``config:FILE#KEY.PATH`` reads the deploy repo on demand."""
        name = name.strip()
        if name in self.facts:
            return self.facts[name]
        if name in self.unavailable:
            raise FactError(f"{name} could not be computed: {self.unavailable[name]}", key=name)
        if name.startswith("config:"):
            if name not in self._lookups:
                self._lookups[name] = lookup_config(
                    self.model, name[len("config:") :], self.resolved_at
                )
            return self._lookups[name]
        close = [n for n in self.facts if n.split(".")[:2] == name.split(".")[:2]][:6]
        hint = (
            f"; known facts under it: {', '.join(close)}"
            if close
            else "; run `deployguide facts` to list them"
        )
        raise FactError(f"unknown fact {name!r}{hint}", key=name)


def deploy_file(model: Model, relative: str) -> Path:
    """A path inside the deploy repo; refuses paths that escape it (symlinks included)."""
    path = inside(model.deploy_repo, relative)
    if path is None:
        raise FactError(
            f"{relative!r} is outside the deploy repo {model.deploy_repo}", key=relative
        )
    return path


def lookup_config(model: Model, spec: str, time: str) -> Fact:
    """Resolve ``FILE#KEY.PATH`` in a YAML/JSON/TOML file of the deploy repo."""
    file, sep, key = spec.partition("#")
    if not sep or not file or not key:
        raise FactError(
            f'expected "config:FILE#KEY.PATH", got "config:{spec}"', key=f"config:{spec}"
        )
    path = deploy_file(model, file)
    kind = not_a_file(path)
    if kind is not None or not path.is_file():
        what = f"is {kind}, not a regular file" if kind else "does not exist"
        raise FactError(
            f"{file!r} {what} in the deploy repo ({model.deploy_repo})", key=f"config:{spec}"
        )
    try:
        value = resolve_key_path(load_data_file(path), parse_key_path(key))
    except (ValueError, LookupError) as exc:
        raise FactError(f"{file}#{key}: {exc}", key=f"config:{spec}") from None
    kind = "list" if isinstance(value, list) else "bool" if isinstance(value, bool) else "text"
    return Fact(f"config:{spec}", value, kind, Provenance(file, key, time))


def read_pin(model: Model, spec: ChartSpec, *, refresh: bool = False) -> str | None:
    """The pinned version, read from the pin file on every call (only the parse of the same
    bytes is reused: :func:`~sphinx_deployguide.factcache.parsed_file`)."""
    assert spec.pin is not None
    pin = spec.pin
    path = deploy_file(model, pin.file)

    def parse() -> str | dict[str, str] | None:
        value = resolve_key_path(load_data_file(path, data), pin.segments)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (dict, list)):
            return {"container": type(value).__name__}
        return {"scalar": str(value)}

    data = None
    try:
        if path.is_file():
            data = path.read_bytes()
            value = parsed_file(model.cache_dir, data, f"{path}#{pin.key}", parse, read=not refresh)
        else:  # missing, or a folder: the loader says which, located
            value = parse()
    except FileProblem as exc:
        raise DeployGuideError(exc.message, file=path, line=exc.line, key=pin.key) from None
    except (ValueError, LookupError) as exc:
        raise DeployGuideError(f"cannot read the pin: {exc}", file=path, key=pin.key) from None
    except OSError as exc:
        raise DeployGuideError(
            f"cannot read the pin: {exc.strerror or exc}", file=path, key=pin.key
        ) from None
    if value is None or isinstance(value, str):
        return value
    if "container" in value:
        raise DeployGuideError(
            f"the pin is a {value['container']}, expected a version string",
            file=path,
            key=pin.key,
        )
    return value["scalar"]


def measure_publish_delays(
    repo: GitRepo, entries: tuple[IndexEntry, ...], branch: str
) -> list[float]:
    """Delays in seconds for the newest versions: ``created`` minus the time the chart
    commit landed on ``branch`` (the first-parent commit that brought it in).

    Versions whose commit is not in the source history are ignored. All versions are
    looked up together, walking only the history since they were made
    (:func:`~sphinx_deployguide.evidence.landings`): three git calls however long the
    history, none when the fact cache knows the answers.
    """
    recent = sorted(entries, key=lambda e: e.created)[-RECENT_VERSIONS:]
    shas = [(e, p.sha) for e in recent if (p := parse_version(e.version)) and p.sha]
    if not shas:
        return []
    fulls = repo.resolve_many([sha for _, sha in shas])
    landed = landings(repo, branch, [f for f in fulls.values() if f])
    return [
        (entry.created - landed[full][1]).total_seconds()
        for entry, sha in shas
        if (full := fulls[sha]) and full in landed
    ]


def count_anchors(entries: tuple[IndexEntry, ...]) -> dict[str, int]:
    """{SHA prefix: ancestor count} of the published chartpress >= 2 names: what
    :func:`~sphinx_deployguide.chartversion.ancestor_count` may count from (it checks them)."""
    anchors = {}
    for entry in entries:
        parsed = parse_version(entry.version)
        if parsed is not None and parsed.era == "chartpress-2" and parsed.sha and parsed.n:
            anchors[parsed.sha] = parsed.n
    return anchors


def in_background(call: Callable[[], T]) -> Callable[[], T]:
    """Start ``call()`` in a thread; the returned function waits for its result (raising
    what it raised). For work that would otherwise wait in turn: reading the chart index
    (a request, a YAML parse) while git, in its own processes, answers about the source."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="deployguide-index", daemon=True)
    worker.start()

    def result() -> T:
        worker.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return result


def index_charts(model: Model, spec: ChartSpec) -> list[str]:
    """The charts of the model whose entries are read from ``spec``'s index (one read and
    one cache serve them all; the index's other charts are skipped)."""
    return [other.name for other in model.charts.values() if other.index == spec.index]


def model_key_error(model: Model, key: str, error: DeployGuideError) -> DeployGuideError:
    """``error`` located at ``key`` of the model file (file, line, key), same class."""
    if error.file and error.key:
        return error
    try:
        lines = model.path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    return type(error)(error.message, file=model.path, line=toml_key_line(lines, key), key=key)


def resolve_chart(
    model: Model,
    spec: ChartSpec,
    *,
    refresh: bool,
    offline: str,
    versions: tuple[str | None, ...] = (),
    now: datetime | None = None,
    opened: dict[tuple[str, str], Any] | None = None,
) -> ChartState:
    """Everything about one chart, with the verdicts on its head and its pin.

    ``versions``: others the caller will ask about (``bump --to``): like the pin, when one
    names a commit a mirrored source lacks, the source is fetched first, so the facts and
    the verdicts are computed from the same history. ``opened``: sources and indexes already
    opened in this run (charts that share them fetch them once).
    """
    opened = {} if opened is None else opened
    index_at = opened.get(("index", spec.index))
    if index_at is None:  # fetched and read while git answers (git runs in its own process)
        index_at = opened["index", spec.index] = in_background(
            functools.partial(
                load_index,
                spec.index,
                base_dir=model.base_dir,
                cache_dir=model.cache_dir,
                ttl=model.cache_ttl,
                offline=offline,
                refresh=refresh,
                retries=model.retries,
                timeout=(min(5.0, model.timeout), model.timeout),
                deadline=model.timeout,
                charts=index_charts(model, spec),
            )
        )
    repo = opened.get(("git", spec.source))
    if repo is None:
        try:
            repo = open_source(
                spec.source,
                base_dir=model.base_dir,
                cache_dir=model.cache_dir,
                ttl=model.cache_ttl,
                refresh=refresh,
                on_fetch_error=offline,
                network_timeout=model.timeout,
            )
        except GitError as exc:
            raise model_key_error(model, f"charts.{spec.name}.source", exc) from None
    opened["git", spec.source] = repo
    pin_problem: DeployGuideError | None = None
    try:
        pinned = read_pin(model, spec, refresh=refresh) if spec.pin is not None else None
    except DeployGuideError as exc:  # a warning: the rest of the facts stand
        pinned, pin_problem = None, exc
    prefetch(repo, spec.branch, (pinned, *versions))
    head = branch_tip(repo, spec.branch)
    if head is None:
        raise model_key_error(
            model,
            f"charts.{spec.name}.branch",
            GitError(f"branch {spec.branch!r} does not exist in {repo.source}"),
        )
    # published counts: read only if a count needs them (then the index is waited for)
    repo.add_count_anchors(lambda: count_anchors(index_at().entries.get(spec.name, ())))
    try:
        current = compute_chart_version(
            repo, head, spec.chartpress, spec.name, spec.scheme or "chartpress"
        )
    except GitError as exc:
        if exc.file:  # located already (chartpress.yaml at the commit)
            raise
        raise model_key_error(model, f"charts.{spec.name}.source", exc) from None
    if pinned:
        ask_ahead(repo, spec, pinned, current)
    index = index_at()
    unavailable: dict[str, str] = {}
    stats = delay_stats(measure_publish_delays(repo, index.entries.get(spec.name, ()), spec.branch))
    if stats is None:
        reason = (
            f"no version of {spec.name} in {index.source} has its chart commit on {spec.branch}"
        )
        unavailable.update(
            (f"delay.{k}", reason) for k in ("median", "p90", "p95", "wait", "samples")
        )
    moment = now or datetime.now(timezone.utc)
    state = ChartState(
        spec=spec,
        repo=repo,
        head=head,
        head_short=repo.short(head),
        current=current,
        index=index,
        pinned=pinned,
        delay=stats,
        pin_problem=pin_problem,
        head_verdict=Verdict(spec.name, head, "commit", "unknown", "", None, moment),
        unavailable=unavailable,
        links=source_links(spec.source, repo.remote_url()),
    )
    state.head_verdict = verdict_for_commit(state, head, now=moment, computed=current)
    if state.head_verdict.name is None:
        unavailable["version"] = state.head_verdict.reason
    if pinned and pinned.strip():
        state.pin_verdict = verdict_for_version(state, pinned, now=moment)
    state.behind_pin = _behind_pin(state)
    if state.behind_pin is not None:  # never offer an older chart as the one to deploy
        reason = f"{state.behind_pin}; update {repo.source} (`git fetch`), then check again"
        unavailable.update((key, reason) for key in OFFERED)
    state.pending = _pending(state)
    if "pinned" in state.unavailable:
        state.unavailable["pinned_state"] = state.unavailable["pinned"]
    if repo.answers is not None:
        repo.answers.save()
    return state


#: The facts that offer the head's chart as the one to deploy (see :func:`_behind_pin`).
OFFERED = ("version", "published", "state", "verdict", "published_at", "pending")


def _behind_pin(state: ChartState) -> str | None:
    """Why the head of a local copy of the source is no chart to deploy: the pin names a
    commit the copy lacks (deployguide never fetches a local source), so the copy is behind
    the pin and its chart would be offered as an upgrade while it may be a downgrade."""
    verdict = state.pin_verdict
    if verdict is None or verdict.commit is not None or not verdict.sha:
        return None
    if state.repo.is_mirror():  # fetched before judging: its head is the branch's head
        return None
    return (
        f"the local copy {verdict.source} lacks commit {verdict.sha}, which the pinned version "
        f"{verdict.asked} names: the copy is behind the pin, so its chart is not the one to "
        "deploy"
    )


def ask_ahead(repo: GitRepo, spec: ChartSpec, version: str, current: ChartVersion) -> None:
    """Ask git now what the verdict on ``version`` and the pending list will ask once the
    index is read: the same questions, kept by the repository (its fact cache, the run's
    landings), so git works while the index is downloaded and parsed instead of after.
    Nothing is decided here; a failure is left for the verdict to meet and report."""
    parsed = parse_version(version)
    full = repo.resolve(parsed.sha) if parsed is not None and parsed.sha else None
    if full is None:
        return
    try:
        scheme = spec.scheme or "chartpress"
        at_version = compute_chart_version(repo, full, spec.chartpress, spec.name, scheme)
        landings(repo, spec.branch, [at_version.commit_full, current.commit_full])
        if repo.is_ancestor(full, current.commit_full):
            chart_commits_between(repo, full, current.commit_full, current.paths)
    except DeployGuideError:
        pass


def _pending(state: ChartState) -> list[tuple[str, str]]:
    """Chart commits between the pin and the head's chart commit (the reason in
    ``unavailable["pending"]`` when there is no such range)."""
    verdict, current, spec = state.pin_verdict, state.current, state.spec
    if spec.pin is None:  # a chart-only model: nothing is pinned anywhere
        reason = f"the model pins no version of {spec.name} (charts.{spec.name}.pin is not set)"
        state.unavailable["pinned"] = state.unavailable["pending"] = reason
        return []
    if state.pin_problem is not None:  # the pin file could not be read
        state.unavailable["pinned"] = state.unavailable["pending"] = str(state.pin_problem)
        return []
    if verdict is None:
        reason = f"nothing is pinned at {spec.pin}"
        state.unavailable["pinned"] = state.unavailable["pending"] = reason
        return []
    if verdict.commit is None:
        if state.behind_pin is not None:
            return []  # said in unavailable["pending"] already
        names = verdict.state == "unknown"
        state.unavailable["pending"] = (
            verdict.reason if names else f"the pinned version {verdict.asked!r} names no commit"
        )
        return []
    if not state.repo.is_ancestor(verdict.commit, current.commit_full):
        state.unavailable["pending"] = (
            f"the pinned commit {verdict.sha} is not an ancestor of the chart commit "
            f"{current.commit}"
        )
        return []
    return chart_commits_between(state.repo, verdict.commit, current.commit_full, current.paths)


def chart_facts(state: ChartState, model: Model, now: str) -> list[Fact]:
    spec, prefix, verdict = state.spec, f"charts.{state.spec.name}", state.head_verdict
    # A mirror that could not be fetched (offline = "stale") serves what it had, marked stale.
    git_time = iso_utc(state.repo.fetched_at) if state.repo.fetched_at else now
    git = Provenance(
        state.repo.source,
        f"{spec.branch}@{state.head[:12]}",
        git_time,
        "stale" if state.repo.stale else "live",
    )
    index = Provenance(
        state.index.source,
        state.index.validator,
        iso_utc(state.index.fetched_at),
        state.index.status,
        state.index.redirected_to,
    )
    facts = [
        Fact(f"{prefix}.commit", state.current.commit, "sha", git),
        Fact(f"{prefix}.head", state.head_short, "sha", git),
        Fact(f"{prefix}.published", verdict.published, "bool", index),
        Fact(f"{prefix}.state", verdict.state, "state", index),
        Fact(f"{prefix}.verdict", verdict.reason, "text", index, volatile=True),
    ]
    if verdict.name is not None:
        note = verdict.name_note
        current = state.current
        if verdict.predicted and verdict.name == current.version and current.n_from:
            note = f"{note}; its count {current.n} = {current.n_from}"
        facts.append(Fact(f"{prefix}.version", verdict.name, "version", replace(git, note=note)))
    if verdict.age is not None:
        facts.append(Fact(f"{prefix}.age", round(verdict.age), "duration", git, volatile=True))
    if state.pinned and spec.pin is not None:
        pin = Provenance(spec.pin.file, spec.pin.key, now)
        facts.append(Fact(f"{prefix}.pinned", state.pinned, "version", pin))
    if state.pin_verdict is not None:
        facts.append(Fact(f"{prefix}.pinned_state", state.pin_verdict.state, "state", index))
    if "pending" not in state.unavailable:
        facts.append(
            Fact(
                f"{prefix}.pending",
                [f"{sha} {subject}" for sha, subject in state.pending],
                "commits",
                git,
            )
        )
    if verdict.published_at is not None:
        facts.append(Fact(f"{prefix}.published_at", iso_utc(verdict.published_at), "time", index))
    facts = [f for f in facts if f.name[len(prefix) + 1 :] not in state.unavailable]
    if state.delay is not None:
        delay = Provenance(
            state.index.source,
            f"{state.delay.count} recent versions",
            iso_utc(state.index.fetched_at),
            state.index.status,
        )
        wait, basis = advised_wait(state.delay, state.index.max_age)
        wait_note = basis if state.index.max_age else None
        facts += [
            Fact(f"{prefix}.delay.median", round(state.delay.median), "duration", delay),
            Fact(f"{prefix}.delay.p90", round(state.delay.p90), "duration", delay),
            Fact(f"{prefix}.delay.p95", round(state.delay.p95), "duration", delay),
            Fact(f"{prefix}.delay.wait", wait, "duration", replace(delay, note=wait_note)),
            # Per version, oldest first: what the statistics above summarise (and the
            # delay chart draws).
            Fact(
                f"{prefix}.delay.samples",
                [round(d) for d in state.delay.samples],
                "durations",
                delay,
            ),
        ]
    return facts


def environment_facts(model: Model, now: str) -> list[Fact]:
    facts = []
    source = model.path.name
    for env in model.environments.values():
        prefix = f"environments.{env.name}"
        for key, value, kind in (
            ("url", env.url, "url"),
            ("values", list(env.values), "list"),
            ("workflow", env.workflow, "path"),
            ("job", env.job, "text"),
            ("after", env.after, "text"),
        ):
            if value is not None and value != []:
                facts.append(
                    Fact(f"{prefix}.{key}", value, kind, Provenance(source, f"{prefix}.{key}", now))
                )
    return facts


def resolve_jobs(
    model: Model, *, refresh: bool = False
) -> tuple[dict[str, JobMatrix], dict[str, str]]:
    """The deploy job of each environment that names one, and why a job could not be read."""
    jobs: dict[str, JobMatrix] = {}
    errors: dict[str, str] = {}
    for env in model.environments.values():
        if env.workflow and env.job:
            from .workflow import WorkflowError  # here: many models name no workflow

            try:
                jobs[env.name] = _read_job(model, env.workflow, env.job, refresh=refresh)
            except WorkflowError as exc:
                errors[env.name] = exc.message
    return jobs, errors


def _read_job(model: Model, workflow: str, job: str, *, refresh: bool) -> JobMatrix:
    """``job`` of ``workflow``, read from the file on every call; the parse is reused for
    the same bytes (:func:`~sphinx_deployguide.factcache.parsed_file`)."""
    from .workflow import JobMatrix, WorkflowError, job_from_bytes, read_job

    path = inside(model.deploy_repo, workflow)
    if path is None or not path.is_file():
        return read_job(model.deploy_repo, workflow, job)  # says why not, located
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WorkflowError(f"cannot read the workflow: {exc.strerror or exc}", file=path) from None

    def parse() -> list[list[Any]]:
        found = job_from_bytes(data, path, workflow, job)
        return [list(found.entries), list(found.steps), list(found.expressions)]

    what = f"{path}#jobs.{job}"
    entries, steps, expressions = parsed_file(model.cache_dir, data, what, parse, read=not refresh)
    return JobMatrix(workflow, job, tuple(entries), tuple(steps), tuple(expressions))


def member_facts(
    model: Model, jobs: dict[str, JobMatrix], errors: dict[str, str], now: str
) -> tuple[list[Fact], dict[str, str]]:
    """``environments.ENV.members`` of each environment with ``members = "KEY"``: the values
    of KEY over its job's matrix, in order; or why they cannot be known."""
    facts: list[Fact] = []
    unavailable: dict[str, str] = {}
    for env in model.environments.values():
        if not env.members:
            continue
        name = f"environments.{env.name}.members"
        job = jobs.get(env.name)
        if job is None:
            unavailable[name] = errors.get(env.name, "the environment has no workflow job")
            continue
        try:
            members = job.members(env.members)
        except ValueError as exc:
            unavailable[name] = str(exc)
            continue
        where = Provenance(job.workflow, f"jobs.{job.job}.strategy.matrix", now)
        facts.append(Fact(name, members, "list", where))
    return facts, unavailable


def resolve_facts(model: Model, *, refresh: bool = False, offline: str | None = None) -> FactSet:
    """Compute every fact of the model: git, the chart index, the pin, the environments."""
    moment = datetime.now(timezone.utc)
    now = iso_utc(moment)
    policy = offline or model.offline
    opened: dict[tuple[str, str], Any] = {}
    charts = {
        name: resolve_chart(model, spec, refresh=refresh, offline=policy, now=moment, opened=opened)
        for name, spec in model.charts.items()
    }
    facts: dict[str, Fact] = {}
    unavailable: dict[str, str] = {}
    for name, state in charts.items():
        facts.update((f.name, f) for f in chart_facts(state, model, now))
        unavailable.update(
            (f"charts.{name}.{key}", reason) for key, reason in state.unavailable.items()
        )
    facts.update((f.name, f) for f in environment_facts(model, now))
    jobs, job_errors = resolve_jobs(model, refresh=refresh)
    members, no_members = member_facts(model, jobs, job_errors, now)
    facts.update((f.name, f) for f in members)
    unavailable.update(no_members)
    problems = list(model.problems)  # a missing pin file is one of them already
    problems += [
        state.pin_problem
        for state in charts.values()
        if state.pin_problem
        and state.spec.pin is not None
        and deploy_file(model, state.spec.pin.file).is_file()
    ]
    return FactSet(
        model=model,
        facts=facts,
        charts=charts,
        resolved_at=now,
        unavailable=unavailable,
        jobs=jobs,
        problems=tuple(problems),
    )
