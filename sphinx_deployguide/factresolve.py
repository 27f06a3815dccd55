"""Resolving every fact of a model: the charts, the environments, the deploy jobs.

:func:`resolve_facts` is the one place that asks git, the chart index and the deploy repo.
The Sphinx extension calls it once per build before reading; the CLI calls it once per
command. Each chart's state comes from :func:`~.chartresolve.resolve_chart`; here it becomes
named facts (:func:`chart_facts`), beside the environments of the model and the members of
their deploy jobs' matrices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .chartresolve import resolve_chart
from .config import Model
from .delay import iso_utc
from .factcache import parsed_file
from .facts import ChartState, Fact, FactSet, Provenance, deploy_file
from .files import inside
from .verdict import advised_wait

if TYPE_CHECKING:
    from .errors import DeployGuideError
    from .indexcache import IndexLoad
    from .workflow import JobMatrix

__all__ = [
    "chart_facts",
    "environment_facts",
    "member_facts",
    "resolve_facts",
    "resolve_jobs",
]


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


def resolve_facts(
    model: Model,
    *,
    refresh: bool = False,
    offline: str | None = None,
    indexes: Mapping[str, IndexLoad] | None = None,
) -> FactSet:
    """Compute every fact of the model: git, the chart index, the pin, the environments.

    ``indexes``: index loads already started (:func:`~.indexcache.start_index_loads`, by a
    caller that started them before importing this module), else started here."""
    moment = datetime.now(timezone.utc)
    now = iso_utc(moment)
    policy = offline or model.offline
    opened: dict[tuple[str, str], Any] = {("index", k): v for k, v in (indexes or {}).items()}
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
    problems: list[DeployGuideError] = list(model.problems)  # a missing pin file is one of them
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
