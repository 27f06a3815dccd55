"""Facts: values computed from the real world, each with its provenance.

A :class:`Fact` is a value with its :class:`Provenance` (where it came from, when, and
whether it is live, cached or stale); a :class:`FactSet` holds every fact of a model, with
the :class:`ChartState` of each chart that drift checks, ``bump`` and ``diagnose`` read.
Front ends never compute a value themselves: they look it up here by name
(``charts.binderhub.version``, ``config:config/prod.yaml#binderhub.enabled``) and render it
with its provenance. The facts are resolved once per build or command by
:func:`~sphinx_deployguide.factresolve.resolve_facts`, the one place that asks git, the
chart index and the deploy repo.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .delay import format_duration
from .errors import FactError
from .files import inside, not_a_file
from .git import GitRepo
from .keypath import load_data_file, parse_key_path, resolve_key_path
from .links import SourceLinks, source_links
from .redact import redact_value

if TYPE_CHECKING:  # the types of a chart's state; its values are made by .chartresolve
    from .chartindex import IndexSnapshot
    from .chartversion import ChartVersion
    from .config import ChartSpec, Model
    from .delay import DelayStats
    from .errors import DeployGuideError
    from .verdict import Verdict
    from .workflow import JobMatrix

__all__ = [
    "FOLD_OVER",
    "SHOWN",
    "STATUSES",
    "ChartState",
    "Fact",
    "FactSet",
    "Provenance",
    "deploy_file",
    "fold_text",
    "lookup_config",
]

STATUSES = ("live", "cached", "stale")
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
    """One computed value with its kind and provenance."""

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
    """Every fact of a model, what could not be computed and why, and the chart states
    they come from."""

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
