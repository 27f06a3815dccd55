"""Everything about one chart: its source and its index opened, its pin read, its verdicts.

:func:`resolve_chart` is the orchestration of one chart's facts. It opens what takes
longest at the same time: the chart index is fetched and parsed in a thread
(:func:`~.indexcache.start_index_loads`) while git, in its own processes, opens the source;
chartpress's versions at the branch head and at the pin are computed beside
(:func:`ask_beside`), what the verdicts will ask of git is asked before the index arrives
(:func:`ask_ahead`), and what the delays and the eras ask as soon as its entries are read
(:func:`read_ahead`). Then the verdicts on the head and the pin
(:mod:`.verdict`), the publish delays and the chart commits pending since the pin make a
:class:`~sphinx_deployguide.facts.ChartState`. Charts that share a source or an index open
it once (``opened``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .background import in_background
from .charthistory import chart_commits_between
from .chartindex import IndexEntry
from .chartversion import ChartVersion, compute_chart_version
from .config import ChartSpec, Model, toml_key_line
from .delay import RECENT_VERSIONS, delay_stats
from .errors import DeployGuideError, GitError
from .evidence import branch_tip, landings, published_eras
from .factcache import parsed_file
from .facts import ChartState, deploy_file
from .files import FileProblem
from .git import GitRepo
from .gitsource import open_source
from .indexcache import IndexLoad, start_index_loads
from .keypath import load_data_file, resolve_key_path
from .links import source_links
from .verdict import Verdict, prefetch, verdict_for_commit, verdict_for_version
from .versionparse import parse_version

__all__ = [
    "OFFERED",
    "ask_ahead",
    "ask_beside",
    "count_anchors",
    "measure_publish_delays",
    "model_key_error",
    "read_ahead",
    "read_pin",
    "resolve_chart",
]


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
    value: str | dict[str, str] | None
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
    :func:`~sphinx_deployguide.charthistory.ancestor_count` may count from (it checks them)."""
    anchors = {}
    for entry in entries:
        parsed = parse_version(entry.version)
        if parsed is not None and parsed.era == "chartpress-2" and parsed.sha and parsed.n:
            anchors[parsed.sha] = parsed.n
    return anchors


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
        index_at = opened["index", spec.index] = start_index_loads(
            model, refresh=refresh, offline=offline, indexes=[spec.index]
        )[spec.index]
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
    versions_asked = ask_beside(
        repo, lambda beside: _versions_ahead(beside, spec, head, pinned), "versions"
    )
    read_asked = read_ahead(repo, spec, index_at)
    if pinned:  # meanwhile, what needs only their chart commits (no count of ancestors)
        ask_ahead(repo, spec, pinned, head)
    versions_asked()
    try:
        current = compute_chart_version(
            repo, head, spec.chartpress, spec.name, spec.scheme or "chartpress"
        )
    except GitError as exc:
        if exc.file:  # located already (chartpress.yaml at the commit)
            raise
        raise model_key_error(model, f"charts.{spec.name}.source", exc) from None
    index = index_at()
    read_asked()  # what it asked is known here now (the same questions, never twice)
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


def ask_ahead(repo: GitRepo, spec: ChartSpec, version: str, head: str) -> None:
    """Ask git now what the verdict on ``version`` and the pending list will ask once the
    index is read: the same questions, kept by the repository (its fact cache, the run's
    landings), so git works while the index is downloaded and parsed instead of after.

    Only chart commits are needed here, not chartpress's names for them (whose count of
    every ancestor is the longest git call, asked beside meanwhile): the commits are
    found as the ``sha`` scheme finds them (the last commit touching the chart's paths;
    chartpress's tag rule, which may name another, is rare and then asked later). Nothing
    is decided here; a failure is left for the verdict to meet and report."""
    full = _named_commit(repo, version)
    if full is None:
        return
    try:
        at_version = compute_chart_version(repo, full, spec.chartpress, spec.name, "sha")
        current = compute_chart_version(repo, head, spec.chartpress, spec.name, "sha")
        landings(repo, spec.branch, [at_version.commit_full, current.commit_full])
        if repo.is_ancestor(full, current.commit_full):
            chart_commits_between(repo, full, current.commit_full, current.paths)
    except DeployGuideError:
        pass


def _named_commit(repo: GitRepo, version: str) -> str | None:
    """The full sha of the commit ``version`` names (None: it names none here)."""
    parsed = parse_version(version)
    return repo.resolve(parsed.sha) if parsed is not None and parsed.sha else None


def _chart_version_at(repo: GitRepo, spec: ChartSpec, full: str) -> ChartVersion:
    return compute_chart_version(
        repo, full, spec.chartpress, spec.name, spec.scheme or "chartpress"
    )


def _versions_ahead(repo: GitRepo, spec: ChartSpec, head: str, pinned: str | None) -> None:
    """chartpress's versions at ``head`` and at the commit ``pinned`` names, for
    :func:`ask_beside`: in turn, so that the pin's count of ancestors is a short walk from
    the head's (:func:`~.charthistory.ancestor_count`)."""
    _chart_version_at(repo, spec, head)
    full = _named_commit(repo, pinned) if pinned else None
    if full is not None:
        _chart_version_at(repo, spec, full)


def ask_beside(repo: GitRepo, ask: Callable[[GitRepo], object], name: str) -> Callable[[], None]:
    """Start ``ask(companion)`` in a thread, with a companion of ``repo`` (its own git
    processes, the same fact cache): git answers two questions at once, and what it
    answered there is then known here. The returned function waits for it. Nothing is
    decided there: a failure is left for the same question, asked again here, to meet.
    Not when the fact cache was read back (a warm run): then it likely holds the answer."""
    if repo.answers is not None and repo.answers.read_back:
        return lambda: None
    companion = repo.companion()
    asked = in_background(lambda: ask(companion), name)

    def wait() -> None:
        try:
            asked()
        except DeployGuideError:
            pass

    return wait


def read_ahead(repo: GitRepo, spec: ChartSpec, index: IndexLoad) -> Callable[[], None]:
    """Ask beside (:func:`ask_beside`), as soon as the index's entries are read (before the
    rest of it is checked), what the delays and the name predicted for an unpublished head
    will ask of git, each in its own companion: the landings of the recent versions
    (:func:`measure_publish_delays`) and the eras of all published ones
    (:func:`~.evidence.published_eras`, without a ``scheme``, which fixes the era), both
    kept in the fact cache where they are found. The returned function waits for both."""

    def delays(companion: GitRepo) -> None:
        measure_publish_delays(companion, index.ahead().entries.get(spec.name, ()), spec.branch)

    def eras(companion: GitRepo) -> None:
        read = index.ahead()
        if read.digest is not None:  # else kept nowhere to be found
            published_eras(companion, spec.name, read)

    asked = [ask_beside(repo, delays, "delays")]
    if not spec.scheme:
        asked.append(ask_beside(repo, eras, "eras"))

    def wait() -> None:
        for each in asked:
            each()

    return wait


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
