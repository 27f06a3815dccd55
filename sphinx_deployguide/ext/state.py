"""The extension's one store: the ``deployguide`` domain, and the build's runtime on it.

Two kinds of state, kept apart on purpose:

* :attr:`DeployGuideDomain.data` (``env.domaindata["deployguide"]``) is pickled with the
  environment: what each document used, claimed and warned about. It is cleared and merged
  per document (``clear_doc``, ``merge_domaindata``), the way ``sphinx.ext.todo`` keeps its
  todos, so ``-j`` readers and incremental builds see every document's records.
* :attr:`DeployGuideDomain.runtime` (a :class:`BuildRuntime`) holds what this build worked
  out once: the :class:`~sphinx_deployguide.facts.FactSet` (resolved in ``builder-inited``,
  before any document is read), the model's path, the build time, the parts of the runbook
  pages and the findings of the whole build. Sphinx never pickles a domain object, so it
  stays in memory; forked ``-j`` processes inherit it.

Record formats (the drift checks read these; keep them simple). They are named tuples:
the environment pickles every document's records, and a tuple pickles as its class and its
values (a dataclass also as a dict of its field names) and loads faster.

``Claim(kind, target, docname, lineno, source, text)``
    ``kind`` is ``"file"`` (``target`` = a path in the deploy repo), ``"config"``
    (``target`` = ``FILE#KEY.PATH``), ``"job"`` (``target`` = ``WORKFLOW#JOB``; ``env``
    is set when the role named an environment), ``"step"`` (``target`` = ``ENV#STEP NAME``)
    or ``"member"`` (``target`` = ``ENV#MEMBER``). ``source``/``lineno`` locate the role (the
    role's own line, not its paragraph's). Roles never warn about a claim that does not
    hold: the drift checks report it once, with its fix.
``TextClaim(file, contains, matches, docname, source, lineno)``
    a ``deploy-claim`` directive.
``Spot(token, kind, where, docname, source, lineno)``
    a typed token that looks like a chart version or commit (the ``hardcoded`` check).
``ChecklistRecord(docname, checklist_id, env, title, steps, source, lineno)``
    ``steps`` is a tuple of ``StepRecord(step_id, text, lineno, checked)`` in page order.
``fact_usage[docname]``
    the set of fact names a document rendered (``deploy-value``, ``deploy-code``, ...).
``findings[docname]``
    the warnings logged while reading the document, as :class:`~sphinx_deployguide.drift.Finding`.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from sphinx.domains import Domain

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

    from ..drift import Finding
    from ..facts import FactSet

DOMAIN = "deployguide"
_Record = TypeVar("_Record")


class Claim(NamedTuple):
    """A statement in the docs about the deploy repo, checked by the drift checks."""

    kind: str  # "file" | "config" | "job" | "step" | "member"
    target: str  # path | "FILE#KEY.PATH" | "WORKFLOW#JOB" | "ENV#STEP NAME" | "ENV#MEMBER"
    docname: str
    lineno: int | None
    source: str  # absolute path of the document (for file:line messages)
    text: str  # the role's text as written
    env: str | None = None  # for deploy-job given as an environment name


class TextClaim(NamedTuple):
    """A ``deploy-claim`` directive: ``file`` must contain ``contains`` / match ``matches``."""

    file: str
    contains: str | None
    matches: str | None
    docname: str
    source: str
    lineno: int | None


class Spot(NamedTuple):
    """A token in a document that looks like a chart version or commit."""

    token: str
    kind: str  # "version" | "sha"
    where: str  # "prose" | "a code block" | "a deploy-code template"
    docname: str
    source: str
    lineno: int | None


class StepRecord(NamedTuple):
    """One step of a rendered checklist, as the checklist builder and the CLI list it."""

    step_id: str
    text: str  # the step's first paragraph as plain text (values filled)
    lineno: int | None
    checked: bool = False


class ChecklistRecord(NamedTuple):
    """One rendered checklist of a document, kept across documents (purged and merged)."""

    docname: str
    checklist_id: str
    env: str
    title: str
    steps: tuple[StepRecord, ...]
    source: str
    lineno: int | None


@dataclass
class BuildRuntime:
    """What one build works out once and keeps in memory only (never pickled)."""

    model_path: Path | None = None
    built_at: datetime | None = None  # when this HTML build started (pages show it)
    page_parts: tuple[str, str, str] | None = None  # meta tags, stale banner, built-at line
    #: Findings of the whole build (model problems, drift checks), not of one document.
    findings: list[Finding] = field(default_factory=list)
    #: What this build's facts depend on, with their ``facts_key``
    #: (:func:`~sphinx_deployguide.factinputs.record_inputs`; None: it cannot be recorded).
    inputs: dict[str, Any] | None = None
    #: Set by ``builder-inited`` when every input of the last build's facts is unchanged:
    #: it resolves them, on first use of :attr:`facts` (a no-op rebuild never asks).
    resolve_later: Callable[[], None] | None = field(default=None, repr=False)
    #: Whether this build reads documents (``env-before-read-docs``).
    reads: bool = False
    _facts: FactSet | None = field(default=None, repr=False)

    @property
    def facts(self) -> FactSet | None:
        """The facts of this build (None when ``deployguide_config`` is not set)."""
        if self.resolve_later is not None:
            resolve, self.resolve_later = self.resolve_later, None
            resolve()
        return self._facts

    @facts.setter
    def facts(self, facts: FactSet | None) -> None:
        self._facts = facts

    @property
    def facts_unchanged(self) -> bool:
        """The facts are the last build's and have not been resolved again."""
        return self.resolve_later is not None


#: The per-document tables of :attr:`DeployGuideDomain.data`.
PER_DOCUMENT = ("fact_usage", "checklists", "claims", "text_claims", "spots", "findings")


class DeployGuideDomain(Domain):
    """Cross-document records, cleared and merged per document, and the build's runtime.

    It registers no directives or roles of its own (those are ``deploy-*``, outside any
    domain); it is where the extension keeps what it learns about the documents.
    """

    name = DOMAIN
    label = "Deploy guide"
    # Bump when a record changes shape: an environment pickled with the old shape is dropped.
    data_version = 2
    initial_data = {
        **{table: {} for table in PER_DOCUMENT},
        "facts_key": None,  # facts hash + stale names at the last read
        "checklist_key": (),  # checklists of the last build (next-links depend on it)
    }

    def __init__(self, env: BuildEnvironment) -> None:
        super().__init__(env)
        self.runtime = BuildRuntime()

    def clear_doc(self, docname: str) -> None:
        for table in PER_DOCUMENT:
            self.data[table].pop(docname, None)

    def merge_domaindata(self, docnames: Set[str], otherdata: dict[str, Any]) -> None:
        for table in PER_DOCUMENT:
            ours, theirs = self.data[table], otherdata[table]
            for docname in docnames:
                if docname in theirs:
                    ours[docname] = theirs[docname]

    # --- per document -------------------------------------------------------------------

    @property
    def fact_usage(self) -> dict[str, set[str]]:
        table: dict[str, set[str]] = self.data["fact_usage"]
        return table

    @property
    def checklists(self) -> dict[str, list[ChecklistRecord]]:
        table: dict[str, list[ChecklistRecord]] = self.data["checklists"]
        return table

    def note_fact(self, docname: str, name: str) -> None:
        # Interned: pages name the same facts, and the environment's pickle stores one
        # object once (a 200-page runbook's table: 30 KB of copies, 5 KB interned).
        self.fact_usage.setdefault(docname, set()).add(sys.intern(name))

    def add_claim(self, claim: Claim) -> None:
        self._add("claims", claim.docname, claim)

    def add_text_claim(self, claim: TextClaim) -> None:
        self._add("text_claims", claim.docname, claim)

    def add_checklist(self, record: ChecklistRecord) -> None:
        self._add("checklists", record.docname, record)

    def set_spots(self, docname: str, spots: list[Spot]) -> None:
        if spots:
            self.data["spots"][docname] = spots
        else:
            self.data["spots"].pop(docname, None)

    def add_finding(self, docname: str | None, finding: Finding) -> None:
        """Keep a logged finding: a document's while it is read, else the build's."""
        if docname:
            self._add("findings", docname, finding)
        else:
            self.runtime.findings.append(finding)

    def _add(self, table: str, docname: str, record: object) -> None:
        self.data[table].setdefault(docname, []).append(record)

    # --- every document, in a stable order (docname, then page order) --------------------

    def all_checklists(self) -> list[ChecklistRecord]:
        return self._all("checklists", ChecklistRecord)

    def all_claims(self) -> list[Claim]:
        return self._all("claims", Claim)

    def all_text_claims(self) -> list[TextClaim]:
        return self._all("text_claims", TextClaim)

    def spots_by_doc(self) -> list[tuple[str, list[Spot]]]:
        table: dict[str, list[Spot]] = self.data["spots"]
        return sorted(table.items())

    def read_findings(self) -> list[Finding]:
        """The findings logged while reading the documents (not the build's own)."""
        table: dict[str, list[Finding]] = self.data["findings"]
        return [f for doc in sorted(table) for f in table[doc]]

    def _all(self, table: str, kind: type[_Record]) -> list[_Record]:
        records: dict[str, list[_Record]] = self.data[table]
        return [r for doc in sorted(records) for r in records[doc] if isinstance(r, kind)]

    def checklist_for_env(self, env: str) -> ChecklistRecord | None:
        """The main checklist of ``env``: the one whose id is the env name, else the first."""
        records = [r for r in self.all_checklists() if r.env == env]
        for record in records:
            if record.checklist_id == env:
                return record
        return records[0] if records else None

    # --- what the last build saw -------------------------------------------------------

    def changed_facts(self, key: str | None, removed: Iterable[str]) -> list[str]:
        """The documents that used facts, when the facts changed since the last build
        (``key``: :func:`facts_key` of this build's facts, remembered for the next)."""
        last, self.data["facts_key"] = self.data["facts_key"], key
        if last is None or key == last:
            return []
        gone = set(removed)
        return sorted(doc for doc, used in self.fact_usage.items() if used and doc not in gone)

    def changed_checklists(self) -> list[str]:
        """The documents with checklists, when the set of checklists changed since the last
        build (each links to the next environment's)."""
        key = tuple((c.docname, c.checklist_id, c.env, c.title) for c in self.all_checklists())
        if key == self.data["checklist_key"]:
            return []
        self.data["checklist_key"] = key
        return sorted(self.checklists)


def get_state(env: BuildEnvironment) -> DeployGuideDomain:
    domain = env.get_domain(DOMAIN)
    assert isinstance(domain, DeployGuideDomain)
    return domain


def get_runtime(env: BuildEnvironment) -> BuildRuntime:
    return get_state(env).runtime


def get_facts(env: BuildEnvironment) -> FactSet | None:
    """The facts of this build, or None when ``deployguide_config`` is not set."""
    return get_runtime(env).facts


def reading_docname(env: BuildEnvironment) -> str | None:
    """The document being read, or None between documents (Sphinx 8 has no current
    document then; Sphinx 9 an empty one)."""
    try:
        return env.docname or None
    except KeyError:
        return None


def facts_key(runtime: BuildRuntime) -> str | None:
    """What a rendered page depends on: every value as displayed, and which ones are stale
    (the last build's key while the facts are unchanged and unresolved)."""
    if runtime.facts_unchanged and runtime.inputs is not None:
        key: str = runtime.inputs["facts_key"]
        return key
    facts = runtime.facts
    if facts is None:
        return None
    stale = sorted(name for name, f in facts.facts.items() if f.provenance.status == "stale")
    return hashlib.sha256((facts.render_key + "|" + ",".join(stale)).encode()).hexdigest()[:16]


def note_fact_use(env: BuildEnvironment, name: str) -> None:
    """Record that the current document rendered fact ``name``: it depends on the model
    file, and a ``config:FILE#KEY`` lookup on that file of the deploy repo (lookups are
    not part of the facts hash, so the file's mtime is what triggers a re-read)."""
    state = get_state(env)
    state.note_fact(env.docname, name)
    runtime = state.runtime
    if runtime.model_path is not None:
        env.note_dependency(str(runtime.model_path))
    facts = runtime.facts
    if facts is not None and name.startswith("config:"):
        file = name[len("config:") :].partition("#")[0]
        target = (facts.model.deploy_repo / file).resolve()
        if file and target.is_file() and target.is_relative_to(facts.model.deploy_repo.resolve()):
            env.note_dependency(str(target))


def setup_state(app: Sphinx) -> None:
    app.add_domain(DeployGuideDomain)
