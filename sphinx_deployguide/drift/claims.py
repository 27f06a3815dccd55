"""``[claim]``: a file, config key, workflow job or step, matrix member or file content the
runbook relies on.

Each check reads the deploy repo's work tree (what the docs build sees) and returns a
:class:`Finding` when the claim no longer holds, or ``None``. Paths are relative to the
deploy repo and may not leave it.
"""

from __future__ import annotations

import difflib
import os
import posixpath
import re
from collections.abc import Mapping
from pathlib import Path

from ..files import FileProblem, inside, not_a_file, read_text
from ..keypath import load_data_file, parse_key_path, resolve_key_path
from ..userregex import UserRegex, UserRegexError
from ..workflow import JobMatrix, normalize
from .finding import Finding

SUBTYPE = "claim"
_SKIP_DIRS = {".git", "node_modules", "__pycache__", "_build", ".nox", ".tox"}


def repo_files(deploy_repo: Path, limit: int = 5000) -> list[str]:
    """Relative paths of files in the deploy repo (for "did you mean" suggestions)."""
    found: list[str] = []
    root = deploy_repo.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            found.append(Path(dirpath, name).relative_to(root).as_posix())
            if len(found) >= limit:
                return found
    return found


def _did_you_mean(wanted: str, candidates: list[str]) -> str | None:
    close = difflib.get_close_matches(wanted, candidates, n=1, cutoff=0.6)
    if not close:  # a moved file keeps its name
        name = Path(wanted).name
        same = [c for c in candidates if Path(c).name == name]
        close = same[:1]
    return close[0] if close else None


def _outside(relative: str, *, file: str | None, line: int | None) -> Finding:
    """A claim whose path escapes the deploy repo (``..`` or absolute): always an error."""
    return Finding(
        SUBTYPE,
        "error",
        file,
        line,
        f"{relative!r} is outside the deploy repo",
        "use a path relative to the deploy repo root",
    )


def _missing_file(
    deploy_repo: Path,
    relative: str,
    *,
    file: str | None,
    line: int | None,
    what: str,
    named: Mapping[str, str] | None = None,
) -> Finding:
    """A claimed file that is not a regular file: what it is instead, and the fix.

    ``named``: the files the model names, with their keys (:meth:`Model.named_files`). One
    of them that is missing is to be restored, never replaced by another environment's
    file (``config/prod.yaml`` for ``config/staging.yaml``)."""
    path = inside(deploy_repo, relative)
    kind = not_a_file(path) if path is not None else None
    if kind is not None:  # a folder, a FIFO: it exists, but is nothing to read
        return Finding(
            SUBTYPE,
            "error",
            file,
            line,
            f"{what} {relative!r} is {kind}, not a regular file",
            f"make {relative!r} a file, or point the claim at one",
        )
    key = (named or {}).get(posixpath.normpath(relative))
    if key is not None:
        fix = f"restore {relative!r} (the model names it: {key}), or remove the step"
    else:
        candidates = [c for c in repo_files(deploy_repo) if c != posixpath.normpath(relative)]
        guess = _did_you_mean(relative, candidates)
        fix = (
            f"point it at {guess!r}"
            if guess
            else "point it at a file that exists, or remove the step"
        )
    return Finding(
        SUBTYPE, "error", file, line, f"{what} {relative!r} does not exist in the deploy repo", fix
    )


def check_file_claim(
    deploy_repo: Path,
    relative: str,
    *,
    file: str | None,
    line: int | None,
    named: Mapping[str, str] | None = None,
) -> Finding | None:
    """``deploy-file``: the path exists in the deploy repo."""
    path = inside(deploy_repo, relative)
    if path is None:
        return _outside(relative, file=file, line=line)
    if path.exists():
        return None
    return _missing_file(deploy_repo, relative, file=file, line=line, what="file", named=named)


def check_config_claim(
    deploy_repo: Path,
    spec: str,
    *,
    file: str | None,
    line: int | None,
    named: Mapping[str, str] | None = None,
) -> Finding | None:
    """``deploy-config``: ``FILE#KEY.PATH`` resolves in a YAML/JSON/TOML file of the deploy repo."""
    rel, sep, key = spec.partition("#")
    if not sep or not rel.strip() or not key.strip():
        return Finding(
            SUBTYPE,
            "error",
            file,
            line,
            f"expected FILE#KEY.PATH, got {spec!r}",
            'write it as "config/prod.yaml#binderhub.enabled"',
        )
    rel, key = rel.strip(), key.strip()
    path = inside(deploy_repo, rel)
    if path is None:
        return _outside(rel, file=file, line=line)
    if not path.is_file():
        return _missing_file(
            deploy_repo, rel, file=file, line=line, what="config file", named=named
        )
    try:
        segments = parse_key_path(key)
    except ValueError as exc:
        return Finding(
            SUBTYPE,
            "error",
            file,
            line,
            f"bad key path in {spec!r}: {exc}",
            'write keys as "a.b[0].c[name=x].d"',
        )
    try:
        resolve_key_path(load_data_file(path), segments)
    except ValueError as exc:  # the file does not parse
        return Finding(
            SUBTYPE, "error", file, line, f"cannot read {rel}: {exc}", f"fix the syntax of {rel}"
        )
    except LookupError as exc:
        return Finding(
            SUBTYPE,
            "error",
            file,
            line,
            f"{rel}#{key} does not resolve: {exc}",
            f"update the key path to where the setting lives now in {rel}, or remove the statement",
        )
    return None


def check_job_claim(
    deploy_repo: Path,
    workflow: str,
    job: str,
    *,
    file: str | None,
    line: int | None,
    model_key: str | None = None,
    named: Mapping[str, str] | None = None,
) -> Finding | None:
    """``deploy-job``: the workflow file exists and its ``jobs:`` mapping has the job id.

    ``model_key`` (``environments.staging.job in deployguide.toml:14``) is set when the job
    came from the model: then a missing job is fixed there, not by naming another job."""
    path = inside(deploy_repo, workflow)
    if path is None:
        return _outside(workflow, file=file, line=line)
    if not path.is_file():
        return _missing_file(
            deploy_repo, workflow, file=file, line=line, what="workflow file", named=named
        )
    import yaml  # here: a build without job claims reads no workflow

    from .. import safeyaml

    try:
        data = safeyaml.load(read_text(path, display=workflow), yaml.SafeLoader)
    except FileProblem as exc:
        return _unreadable(exc, file=file, line=line)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        return Finding(
            SUBTYPE,
            "error",
            file,
            line,
            f"workflow {workflow}{at} is not valid YAML",
            f"fix the syntax of {workflow}",
        )
    jobs = data.get("jobs") if isinstance(data, dict) else None
    if not isinstance(jobs, dict):
        return Finding(
            SUBTYPE,
            "error",
            file,
            line,
            f"workflow {workflow} has no 'jobs:' mapping",
            "point the claim at the workflow that deploys",
        )
    if job in jobs:
        return None
    return missing_job(
        workflow, job, tuple(map(str, jobs)), file=file, line=line, model_key=model_key
    )


def missing_job(
    workflow: str,
    job: str,
    jobs: tuple[str, ...],
    *,
    file: str | None,
    line: int | None,
    model_key: str | None = None,
) -> Finding:
    """A job the runbook relies on is not in the workflow (renamed or deleted)."""
    known = ", ".join(jobs) or "none"
    if model_key:
        fix = f"set {model_key} to the id of the job that deploys it now (jobs: {known})"
    else:
        close = difflib.get_close_matches(job, list(jobs), n=1, cutoff=0.5)
        fix = f"use job {close[0]!r}" if close else f"use one of the jobs: {known}"
    return Finding(
        SUBTYPE,
        "error",
        file,
        line,
        f"job {job!r} does not exist in {workflow} (jobs: {known})",
        fix,
    )


def check_step_claim(
    job: JobMatrix, env: str, name: str, *, file: str | None, line: int | None
) -> Finding | None:
    """``deploy-step``: ``name`` is a step of the environment's job, as written in the
    workflow or as GitHub shows it for a member (``${{ matrix.KEY }}`` filled in)."""
    if job.has_step(name):
        return None
    close = difflib.get_close_matches(normalize(name), job.all_names(), n=3, cutoff=0.4)
    shown = ", ".join(repr(c) for c in close) if close else "none alike"
    fix = (
        f"bind the step by its name now, e.g. {{deploy-step}}`{env}#{close[0]}`, "
        "and check that the prose still describes it"
        if close
        else f"bind a step of job {job.job!r} ({', '.join(map(repr, job.steps)) or 'none'}), "
        "or remove the statement"
    )
    return Finding(
        SUBTYPE,
        "error",
        file,
        line,
        f"step {name!r} does not exist in job {job.job!r} of {job.workflow} "
        f"(closest step names: {shown})",
        fix,
    )


def check_member_claim(
    job: JobMatrix, env: str, key: str, member: str, *, file: str | None, line: int | None
) -> Finding | None:
    """``deploy-member`` ``ENV#MEMBER``: the member is still in the job's matrix."""
    try:
        members = job.members(key)
    except ValueError as exc:
        return Finding(
            SUBTYPE,
            "error",
            file,
            line,
            f"cannot check member {member!r} of {env}: {exc}",
            f"give every combination of the matrix of job {job.job!r} its {key!r}",
        )
    if member in members:
        return None
    return Finding(
        SUBTYPE,
        "error",
        file,
        line,
        f"{member!r} is not a member of {env}: {key} in the matrix of job {job.job!r} of "
        f"{job.workflow} is {', '.join(members) or 'empty'}",
        f"update the prose to the members there are now, or list them live with "
        f"{{deploy-value}}`environments.{env}.members`",
    )


def check_text_claim(
    deploy_repo: Path,
    relative: str,
    *,
    contains: str | None = None,
    matches: str | None = None,
    file: str | None,
    line: int | None,
    named: Mapping[str, str] | None = None,
) -> Finding | None:
    """``deploy-claim``: the file contains the literal, or the regex (multiline) matches it."""
    if not relative:
        return Finding(
            SUBTYPE,
            "error",
            file,
            line,
            "a deploy-claim needs :file: (a path in the deploy repo)",
            "add e.g. :file: deploy.py",
        )
    if (contains is None) == (matches is None):
        return Finding(
            SUBTYPE,
            "error",
            file,
            line,
            "a deploy-claim needs exactly one of :contains: or :matches:",
            "give the literal text with :contains: or a regular expression with :matches:",
        )
    path = inside(deploy_repo, relative)
    if path is None:
        return _outside(relative, file=file, line=line)
    if not path.is_file():
        return _missing_file(
            deploy_repo, relative, file=file, line=line, what="claimed file", named=named
        )
    try:
        text = read_text(path, display=relative)
    except FileProblem as exc:
        return _unreadable(exc, file=file, line=line)
    if contains is not None:
        if contains in text:
            return None
        wanted = f"contains {contains!r}"
        probe = re.match(r"[-\w./]{3,}", contains.strip())
        hint = _lines_with(text, probe.group(0)) if probe else []
    else:
        assert matches is not None
        try:
            pattern = UserRegex(matches, multiline=True)
        except UserRegexError as exc:
            return Finding(
                SUBTYPE,
                "error",
                file,
                line,
                f"invalid :matches: regular expression {matches!r}: {exc}",
                "fix the regular expression (RE2 syntax: no backreferences or lookarounds)",
            )
        if pattern.search(text):
            return None
        wanted = f"matches /{matches}/"
        hint = []
    now = (
        f"; {relative} now has: " + "; ".join(f"line {n}: {t!r}" for n, t in hint[:3])
        if hint
        else ""
    )
    return Finding(
        SUBTYPE,
        "error",
        file,
        line,
        f"{relative} no longer {wanted}: the statement it backs is out of date{now}",
        f"update the statement and its claim to what {relative} does now, or restore {relative}",
    )


def _unreadable(problem: FileProblem, *, file: str | None, line: int | None) -> Finding:
    """A claimed file that exists but cannot be read (a folder, permissions, not UTF-8)."""
    return Finding(
        SUBTYPE,
        "error",
        file,
        line,
        str(problem),
        f"fix or restore {problem.file}, or point the claim at a readable file",
    )


def _lines_with(text: str, needle: str) -> list[tuple[int, str]]:
    return [(n, t.strip()) for n, t in enumerate(text.splitlines(), start=1) if needle in t]
