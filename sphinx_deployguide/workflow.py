"""A deploy job of a GitHub Actions workflow: its matrix (the members it deploys) and its steps.

mybinder.org-deploy deploys prod as one matrix job over federation members
(``strategy.matrix.include``, key ``federation_member``) whose steps are named with matrix
expressions (``"Stage 4: Deploy to ${{ matrix.federation_member }}"``). The runbook repeats
a step once per member and binds prose to step names, so both need the matrix as GitHub
expands it and the step names as GitHub shows them for each member.

:func:`matrix_combinations` and :class:`JobMatrix` are pure; :func:`read_job` is the one
reader (safe YAML, through :func:`~sphinx_deployguide.keypath.load_data_file`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DeployGuideError
from .keypath import load_data_file

#: ``${{ ... }}``: a GitHub Actions expression inside a string.
EXPRESSION_RE = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.DOTALL)
#: ``matrix.KEY`` (keys may hold ``-``, as in GitHub's own examples).
_MATRIX_REF = re.compile(r"^matrix\.([A-Za-z_][\w-]*)$")
_STRING = re.compile(r"^'((?:[^']|'')*)'$")


class WorkflowError(DeployGuideError):
    """The workflow or its job cannot be read; ``jobs`` lists the job ids it has (if any)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path,
        jobs: tuple[str, ...] = (),
        missing_job: bool = False,
    ) -> None:
        super().__init__(message, file=file)
        self.jobs = jobs
        self.missing_job = missing_job


def normalize(text: str) -> str:
    """A step name with its expressions spelled one way: ``${{ matrix.x }}``."""
    return EXPRESSION_RE.sub(lambda m: "${{ " + " ".join(m.group(1).split()) + " }}", text)


def as_text(value: Any) -> str:
    """A matrix value as GitHub renders it in an expression (``true``, ``3``, ``''``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def matrix_combinations(matrix: Any) -> list[dict[str, Any]]:
    """The job runs GitHub makes from ``strategy.matrix``, in GitHub's order.

    The product of the list-valued keys, less ``exclude``; then each ``include`` entry is
    added to every combination whose original values it does not overwrite, or, when it fits
    none, becomes a combination of its own (GitHub's documented rules). ``ValueError`` when
    the matrix is an expression (``${{ fromJson(...) }}``) or not a mapping of lists.
    """
    if isinstance(matrix, str):
        raise ValueError(
            f"the matrix is an expression ({matrix.strip()!r}) that only runs on GitHub"
        )
    if not isinstance(matrix, Mapping):
        raise ValueError(f"expected a mapping under strategy.matrix, got {type(matrix).__name__}")
    include = matrix.get("include") or []
    exclude = matrix.get("exclude") or []
    for name, entries in (("include", include), ("exclude", exclude)):
        if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
            raise ValueError(f"expected a list of mappings under strategy.matrix.{name}")
    dims = [(k, v) for k, v in matrix.items() if k not in ("include", "exclude")]
    for key, values in dims:
        if not isinstance(values, list):
            raise ValueError(f"expected a list under strategy.matrix.{key}, got {values!r}")
    keys = [k for k, _ in dims]
    base = (
        [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in dims))]
        if dims
        else []
    )
    base = [c for c in base if not any(all(c.get(k) == v for k, v in ex.items()) for ex in exclude)]
    extended = [dict(c) for c in base]
    added: list[dict[str, Any]] = []
    for entry in include:
        fits = [i for i, c in enumerate(base) if all(c[k] == v for k, v in entry.items() if k in c)]
        for i in fits:
            extended[i].update(entry)
        if not fits:
            added.append(dict(entry))
    return extended + added


def _strings(value: Any) -> Iterator[str]:
    """Every string in a loaded YAML value (keys included), depth first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass(frozen=True)
class JobMatrix:
    """One job of a workflow: its matrix combinations, its step names and its expressions."""

    workflow: str  # path in the deploy repo, as the model names it
    job: str
    entries: tuple[dict[str, Any], ...]  # () for a job that is not a matrix job
    steps: tuple[str, ...]  # names of the named steps, normalized, in order
    expressions: tuple[str, ...] = field(default=(), repr=False)  # every ${{ }} body in the job

    def members(self, key: str) -> list[str]:
        """The values of ``key`` over the combinations, in order; ``ValueError`` when the job
        is not a matrix job, a combination lacks the key, or a value repeats."""
        where = f"job {self.job!r} of {self.workflow}"
        if not self.entries:
            raise ValueError(f"{where} has no strategy.matrix, so it has no members")
        found: list[str] = []
        for number, entry in enumerate(self.entries, start=1):
            if key not in entry:
                raise ValueError(f"combination {number} of the matrix of {where} has no {key!r}")
            value = as_text(entry[key])
            if value in found:
                raise ValueError(f"{key}={value!r} appears twice in the matrix of {where}")
            found.append(value)
        return found

    def evaluate(self, expression: str, entry: Mapping[str, Any]) -> str | None:
        """``matrix.a || matrix.b || 'text'`` for one combination, as GitHub does (the first
        truthy operand, else the last); ``None`` for anything else (``env.X``, functions)."""
        result: Any = None
        for operand in (part.strip() for part in expression.split("||")):
            ref, text = _MATRIX_REF.match(operand), _STRING.match(operand)
            if ref:
                result = entry.get(ref.group(1))
            elif text:
                result = text.group(1).replace("''", "'")
            else:
                return None
            if result not in (None, "", False, 0):
                break
        return as_text(result)

    def default(self, key: str) -> str | None:
        """The first ``matrix.KEY || ...`` expression of the job: what a run lacking KEY uses."""
        for expression in self.expressions:
            operands = [part.strip() for part in expression.split("||")]
            if len(operands) > 1 and operands[0] == f"matrix.{key}":
                return expression
        return None

    def member_value(self, entry: Mapping[str, Any], key: str) -> str | None:
        """``matrix.KEY`` for one combination; when it lacks the key, the job's own default
        (``${{ matrix.KEY || matrix.OTHER }}``); ``None`` when the job gives none."""
        if key in entry:
            return as_text(entry[key])
        expression = self.default(key)
        return self.evaluate(expression, entry) if expression else None

    def expand(self, text: str, entry: Mapping[str, Any]) -> str:
        """``text`` with each matrix expression replaced by its value for ``entry``."""

        def value(m: re.Match[str]) -> str:
            body = " ".join(m.group(1).split())
            result = self.evaluate(body, entry)
            return result if result is not None else "${{ " + body + " }}"

        return EXPRESSION_RE.sub(value, normalize(text))

    def runs(self) -> tuple[Mapping[str, Any], ...]:
        """The combinations, or one empty run for a job that is not a matrix job."""
        return self.entries or ({},)

    def names_for(self, entry: Mapping[str, Any]) -> list[str]:
        """The step names GitHub shows for the run of ``entry``."""
        return [self.expand(step, entry) for step in self.steps]

    def has_step(self, name: str) -> bool:
        """Whether ``name`` is a step of the job: as written in the workflow, or, expanded,
        for every run when it holds matrix expressions, else for at least one run."""
        name = normalize(name)
        if name in self.steps:
            return True
        per_run = [self.expand(name, e) in self.names_for(e) for e in self.runs()]
        return all(per_run) if EXPRESSION_RE.search(name) else any(per_run)

    def all_names(self) -> list[str]:
        """Every step name, as written and as each run shows it (for suggestions)."""
        names = list(self.steps)
        for entry in self.runs():
            names += [n for n in self.names_for(entry) if n not in names]
        return names


def job_matrix(data: Any, workflow: str, job: str, *, file: str | Path) -> JobMatrix:
    """The :class:`JobMatrix` of ``job`` in loaded workflow ``data``; :class:`WorkflowError`
    when the workflow has no such job or its matrix cannot be expanded."""
    jobs = data.get("jobs") if isinstance(data, Mapping) else None
    if not isinstance(jobs, Mapping):
        raise WorkflowError(f"workflow {workflow} has no 'jobs:' mapping", file=file)
    names = tuple(str(j) for j in jobs)
    spec = jobs.get(job)
    if not isinstance(spec, Mapping):
        known = ", ".join(names) or "none"
        raise WorkflowError(
            f"job {job!r} does not exist in {workflow} (jobs: {known})",
            file=file,
            jobs=names,
            missing_job=True,
        )
    strategy = spec.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, Mapping) else None
    try:
        entries = tuple(matrix_combinations(matrix)) if matrix is not None else ()
    except ValueError as exc:
        raise WorkflowError(f"job {job!r} of {workflow}: {exc}", file=file, jobs=names) from None
    steps = spec.get("steps")
    steps = steps if isinstance(steps, list) else []
    step_names = tuple(
        normalize(s["name"])
        for s in steps
        if isinstance(s, Mapping) and isinstance(s.get("name"), str)
    )
    expressions = tuple(
        " ".join(m.group(1).split())
        for text in _strings(spec)
        for m in EXPRESSION_RE.finditer(text)
    )
    return JobMatrix(workflow, job, entries, step_names, expressions)


def read_job(deploy_repo: Path, workflow: str, job: str) -> JobMatrix:
    """Read ``workflow`` (a path in the deploy repo) and return its job ``job``."""
    path = (deploy_repo / workflow).resolve()
    if not path.is_relative_to(deploy_repo.resolve()):
        raise WorkflowError(f"{workflow!r} is outside the deploy repo", file=path)
    if not path.is_file():
        raise WorkflowError(f"the workflow {workflow} does not exist in the deploy repo", file=path)
    return job_from_bytes(None, path, workflow, job)


def job_from_bytes(data: bytes | None, path: Path, workflow: str, job: str) -> JobMatrix:
    """:func:`read_job` of the workflow file at ``path`` whose bytes are ``data`` (read here
    when None)."""
    try:
        loaded = load_data_file(path, data)
    except (ValueError, OSError) as exc:
        raise WorkflowError(f"cannot read the workflow: {exc}", file=path) from None
    return job_matrix(loaded, workflow, job, file=path)
