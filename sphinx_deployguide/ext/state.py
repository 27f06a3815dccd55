"""Build-wide state: the facts (resolved once per build) and the cross-document records.

Two kinds of state, kept apart on purpose:

* The :class:`~sphinx_deployguide.facts.FactSet` is resolved once in ``builder-inited``,
  before any document is read, and kept in memory only (it holds git repos and index
  snapshots). Forked ``-j`` readers inherit it; it is never pickled with the environment.
* :class:`DeployGuideState` lives on the environment (``env.deployguide``) and is pickled
  with it: which facts each document used, its checklists and its claims. It is purged and
  merged per document, the way ``sphinx.ext.todo`` keeps its todos.

Record formats (the drift checks read these; keep them simple):

``Claim(kind, target, docname, lineno, source, text)``
    ``kind`` is ``"file"`` (``target`` = a path in the deploy repo), ``"config"``
    (``target`` = ``FILE#KEY.PATH``), ``"job"`` (``target`` = ``WORKFLOW#JOB``; ``env``
    is set when the role named an environment), ``"step"`` (``target`` = ``ENV#STEP NAME``)
    or ``"member"`` (``target`` = ``ENV#MEMBER``). ``source``/``lineno`` locate the role (the
    role's own line, not its paragraph's). Roles never warn about a claim that does not
    hold: the drift checks report it once, with its fix.
``ChecklistRecord(docname, checklist_id, env, title, steps, source, lineno)``
    ``steps`` is a tuple of ``StepRecord(step_id, text, lineno, checked)`` in page order.
``fact_usage[docname]``
    the set of fact names a document rendered (``deploy-value``, ``deploy-code``, ...).
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sphinx.errors import ConfigError

from ..config import toml_key_line
from ..errors import DeployGuideError
from . import guard
from .warnings import DeployGuideWarning, warn

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

    from ..facts import FactSet

STATE_ATTR = "deployguide"


@dataclass(frozen=True)
class Claim:
    """A statement in the docs about the deploy repo, checked by the drift checks."""

    kind: str  # "file" | "config" | "job" | "step" | "member"
    target: str  # path | "FILE#KEY.PATH" | "WORKFLOW#JOB" | "ENV#STEP NAME" | "ENV#MEMBER"
    docname: str
    lineno: int | None
    source: str  # absolute path of the document (for file:line messages)
    text: str  # the role's text as written
    env: str | None = None  # for deploy-job given as an environment name


@dataclass(frozen=True)
class StepRecord:
    step_id: str
    text: str  # the step's first paragraph as plain text (values filled)
    lineno: int | None
    checked: bool = False


@dataclass(frozen=True)
class ChecklistRecord:
    docname: str
    checklist_id: str
    env: str
    title: str
    steps: tuple[StepRecord, ...]
    source: str
    lineno: int | None


@dataclass
class DeployGuideState:
    """Cross-document records, purged and merged per document."""

    facts_key: str | None = None  # facts hash + stale names at the last read
    checklist_key: tuple[Any, ...] = ()  # checklists of the last build (next-links depend on it)
    fact_usage: dict[str, set[str]] = field(default_factory=dict)
    checklists: dict[str, list[ChecklistRecord]] = field(default_factory=dict)
    claims: dict[str, list[Claim]] = field(default_factory=dict)

    def purge(self, docname: str) -> None:
        self.fact_usage.pop(docname, None)
        self.checklists.pop(docname, None)
        self.claims.pop(docname, None)

    def merge(self, docnames: set[str], other: DeployGuideState) -> None:
        for docname in docnames:
            if docname in other.fact_usage:
                self.fact_usage[docname] = other.fact_usage[docname]
            if docname in other.checklists:
                self.checklists[docname] = other.checklists[docname]
            if docname in other.claims:
                self.claims[docname] = other.claims[docname]

    def note_fact(self, docname: str, name: str) -> None:
        self.fact_usage.setdefault(docname, set()).add(name)

    def add_claim(self, claim: Claim) -> None:
        self.claims.setdefault(claim.docname, []).append(claim)

    def add_checklist(self, record: ChecklistRecord) -> None:
        self.checklists.setdefault(record.docname, []).append(record)

    def all_checklists(self) -> list[ChecklistRecord]:
        """Every checklist, in a stable order (docname, then page order)."""
        return [c for doc in sorted(self.checklists) for c in self.checklists[doc]]

    def all_claims(self) -> list[Claim]:
        return [c for doc in sorted(self.claims) for c in self.claims[doc]]

    def checklist_for_env(self, env: str) -> ChecklistRecord | None:
        """The main checklist of ``env``: the one whose id is the env name, else the first."""
        records = [r for r in self.all_checklists() if r.env == env]
        for record in records:
            if record.checklist_id == env:
                return record
        return records[0] if records else None


def get_state(env: BuildEnvironment) -> DeployGuideState:
    state = getattr(env, STATE_ATTR, None)
    if not isinstance(state, DeployGuideState):
        state = DeployGuideState()
        setattr(env, STATE_ATTR, state)
    return state


# The FactSet of the current build, per environment object. Memory only: forked readers
# inherit it, and it never goes into the pickled environment.
_FACTS: weakref.WeakKeyDictionary[Any, FactSet] = weakref.WeakKeyDictionary()
_MODEL_PATHS: weakref.WeakKeyDictionary[Any, Path] = weakref.WeakKeyDictionary()


def get_facts(env: BuildEnvironment) -> FactSet | None:
    """The facts of this build, or None when ``deployguide_config`` is not set."""
    return _FACTS.get(env)


def model_path(env: BuildEnvironment) -> Path | None:
    return _MODEL_PATHS.get(env)


def facts_key(facts: FactSet | None) -> str | None:
    """What a rendered page depends on: every value as displayed, and which ones are stale."""
    if facts is None:
        return None
    stale = sorted(name for name, f in facts.facts.items() if f.provenance.status == "stale")
    return hashlib.sha256((facts.render_key + "|" + ",".join(stale)).encode()).hexdigest()[:16]


def note_fact_use(env: BuildEnvironment, name: str) -> None:
    """Record that the current document rendered fact ``name``: it depends on the model
    file, and a ``config:FILE#KEY`` lookup on that file of the deploy repo (lookups are
    not part of the facts hash, so the file's mtime is what triggers a re-read)."""
    get_state(env).note_fact(env.docname, name)
    path = model_path(env)
    if path is not None:
        env.note_dependency(str(path))
    facts = get_facts(env)
    if facts is not None and name.startswith("config:"):
        file = name[len("config:") :].partition("#")[0]
        target = (facts.model.deploy_repo / file).resolve()
        if file and target.is_file() and target.is_relative_to(facts.model.deploy_repo.resolve()):
            env.note_dependency(str(target))


def resolve_build_facts(app: Sphinx) -> None:
    """``builder-inited``: load the model and resolve every fact, once, before reading."""
    env = app.env
    name = app.config.deployguide_config
    if not name:
        _FACTS.pop(env, None)
        _MODEL_PATHS.pop(env, None)
        return
    path = (Path(app.confdir) / name).resolve()
    from ..config import load_model
    from ..factresolve import resolve_facts

    offline = app.config.deployguide_offline or None
    if offline not in (None, "stale", "error"):
        raise ConfigError(
            f'deployguide_offline must be "stale" or "error" (or empty for the model\'s '
            f"policy), got {offline!r}"
        )
    try:
        model = load_model(path)
        facts = resolve_facts(model, refresh=bool(app.config.deployguide_refresh), offline=offline)
    except DeployGuideError as error:
        # A user mistake (bad model, unreachable index with offline="error"): one clear
        # message naming the file and key, no traceback.
        raise ConfigError(f"deployguide: {error}") from error
    _FACTS[env] = facts
    _MODEL_PATHS[env] = path
    app.deployguide_facts = facts  # type: ignore[attr-defined]  # for other extensions
    for problem in facts.problems:  # a missing or unreadable file: a warning, the site builds
        where = f"{problem.file}:{problem.line or ''}" if problem.file else f"{path}:"
        key = f"{problem.key}: " if problem.key else ""
        warn(where, DeployGuideWarning.FILE, f"{key}{problem.message}")
    _warn_members(facts)
    if facts.stale:
        stale = sorted(n for n, f in facts.facts.items() if f.provenance.status == "stale")
        warn(
            f"{path}:",
            DeployGuideWarning.STALE,
            f"facts served from the cache (as of {facts.as_of}) because the network failed: "
            + ", ".join(stale[:5])
            + (" ..." if len(stale) > 5 else ""),
        )


def _warn_members(facts: FactSet) -> None:
    """``members = "KEY"`` of the model that yields no members from a job that was read:
    said once, at that key, whether or not a page lists them (a page that does says it
    again, where it is). A job that cannot be read is reported as a claim already."""
    model = facts.model
    lines: list[str] | None = None
    for env in model.environments.values():
        name = f"environments.{env.name}.members"
        if env.members and env.name in facts.jobs and name in facts.unavailable:
            if lines is None:
                lines = model.path.read_text(encoding="utf-8").splitlines()
            line = toml_key_line(lines, name)
            warn(
                f"{model.path}:{line or ''}",
                DeployGuideWarning.CONFIG,
                f"{name}: members = {env.members!r} gives no members: {facts.unavailable[name]}",
            )


def _outdated(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """Re-read every document that used facts when any fact changed since the last build."""
    state = get_state(env)
    key = facts_key(get_facts(env))
    stale_docs: list[str] = []
    if state.facts_key is not None and key != state.facts_key:
        stale_docs = sorted(
            doc for doc, used in state.fact_usage.items() if used and doc not in removed
        )
    state.facts_key = key
    return stale_docs


def _updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Re-write pages with checklists when the set of checklists changed (next-env links)."""
    state = get_state(env)
    key = tuple((c.docname, c.checklist_id, c.env, c.title) for c in state.all_checklists())
    if key == state.checklist_key:
        return []
    state.checklist_key = key
    return sorted(state.checklists)


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    get_state(env).purge(docname)


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    get_state(env).merge(docnames, get_state(other))


def setup_state(app: Sphinx) -> None:
    guard.connect(app, "builder-inited", resolve_build_facts)
    guard.connect(app, "env-get-outdated", _outdated, default=list)
    guard.connect(app, "env-get-updated", _updated, default=list)
    guard.connect(app, "env-purge-doc", _purge)
    guard.connect(app, "env-merge-info", _merge)
