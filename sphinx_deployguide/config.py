"""The deploy model: ``deployguide.toml``, read once and checked whole.

The model names the deploy repo, the charts it pins and the environments it deploys to.
Both the Sphinx extension and the CLI read it through :func:`load_model`, so a mistake in it
is reported the same way everywhere: one :class:`~sphinx_deployguide.errors.ModelError`
naming the file, the line where it can be found, the key and what was expected.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ModelError
from .files import FileProblem, inside, not_a_file, read_text
from .keypath import Segment, parse_key_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

OFFLINE_POLICIES = ("stale", "error")
#: Files a pin may live in: ``bump`` edits them byte-preserving (JSON is YAML to it).
PIN_SUFFIXES = (".yaml", ".yml", ".json")
#: The longest ``network.timeout`` accepted (seconds).
MAX_TIMEOUT = 3600
SCHEMES = ("chartpress", "sha")
DEFAULT_TTL = 600

# Every key of the model with its type and meaning. The docs' reference table is generated
# from this (``deploy-model-reference``), and validation below uses it, so neither can drift.
MODEL_KEYS: dict[str, tuple[str, str]] = {
    "deploy_repo": ("path", 'The deploy repo checkout, relative to this file. Default ".".'),
    "offline": (
        "string",
        'What to do when the chart index cannot be reached: "stale" (default) serves cached '
        'values and marks them stale; "error" fails.',
    ),
    "cache.dir": (
        "path",
        "Cache folder for git mirrors and the index. Default: the user cache dir.",
    ),
    "cache.ttl": (
        "integer",
        f"Seconds before a mirror or index is fetched again. Default {DEFAULT_TTL}.",
    ),
    "network.retries": ("integer", "Retries (with backoff) of a failed index request. Default 3."),
    "network.timeout": (
        "number",
        "Deadline in seconds for a whole fetch of the chart index: connecting, every read, "
        "redirects and the retries with their backoff together. A server that answers slowly "
        "(even one byte at a time) is cut off then, and the offline policy decides. Default 30.",
    ),
    "charts.NAME.source": (
        "string",
        "The chart source: a git URL or a local path (work tree or bare).",
    ),
    "charts.NAME.branch": ("string", 'The branch whose head is deployed. Default "main".'),
    "charts.NAME.chartpress": (
        "string",
        'Path of chartpress.yaml inside the source repo. Default "helm-chart/chartpress.yaml".',
    ),
    "charts.NAME.index": ("string", "The Helm chart index: an http(s) URL or a local path."),
    "charts.NAME.pin": (
        "string",
        "Where the deploy repo pins the chart: FILE#KEY.PATH, "
        'e.g. "mybinder/Chart.yaml#dependencies[name=binderhub].version": a YAML or JSON '
        "file inside the deploy repo (`bump` edits it in place). Leave it out in a chart-only "
        "model (the chart source's own docs): no pin facts, no pin check.",
    ),
    "charts.NAME.scheme": (
        "string",
        'Forces how unpublished versions are named: "chartpress" (>= 2) or "sha" (the '
        "2017-2019 <version>-<sha> format). Default: the format of the published versions "
        "around the chart commit in the index.",
    ),
    "environments.ENV.url": ("string", "The public URL of the environment."),
    "environments.ENV.values": (
        "list of paths",
        "Helm values files of the environment, in the deploy repo (a missing one is a "
        "warning, not an error: the rest of the runbook still builds).",
    ),
    "environments.ENV.workflow": (
        "path",
        "The CI workflow file that deploys it, in the deploy repo.",
    ),
    "environments.ENV.job": ("string", "The job id in that workflow."),
    "environments.ENV.members": (
        "string",
        'A matrix key of the job, e.g. "federation_member": the environment is deployed to '
        "one member per matrix combination (strategy.matrix.include or a plain list), and "
        "checklist steps with deploy-member are repeated once per member.",
    ),
    "environments.ENV.after": (
        "string",
        "The environment that must be deployed first (e.g. staging).",
    ),
    "failures": (
        "array of tables",
        "Extra failure-catalog entries for `deployguide diagnose`, tried first.",
    ),
}

_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)


def is_remote(location: str) -> bool:
    """True for URLs (``https://``, ``file://``, ``git@host:``), false for local paths."""
    return bool(_REMOTE.match(location))


@dataclass(frozen=True)
class PinSpec:
    """``FILE#KEY.PATH``: where the deploy repo pins a chart version."""

    file: str
    key: str
    segments: tuple[Segment, ...]

    def __str__(self) -> str:
        return f"{self.file}#{self.key}"


@dataclass(frozen=True)
class ChartSpec:
    """One ``[charts.NAME]`` of the model: where the chart comes from, where it is
    published, where it is pinned."""

    name: str
    source: str
    branch: str
    chartpress: str
    index: str
    pin: PinSpec | None  # None in a chart-only model (the chart source's own docs)
    scheme: str | None = None  # None: follow the versions the index publishes around it


@dataclass(frozen=True)
class Environment:
    """One ``[environments.NAME]`` of the model: where it is served and how it is deployed."""

    name: str
    url: str | None = None
    values: tuple[str, ...] = ()
    workflow: str | None = None
    job: str | None = None
    after: str | None = None
    members: str | None = None  # the matrix key whose values are the members


@dataclass(frozen=True)
class Model:
    """The model file, read and checked: its charts, environments, cache and network
    settings, and the problems found in the files it names."""

    path: Path
    base_dir: Path
    deploy_repo: Path
    charts: dict[str, ChartSpec]
    environments: dict[str, Environment]
    cache_dir: Path
    cache_ttl: int = DEFAULT_TTL
    offline: str = "stale"
    retries: int = 3
    timeout: float = 30.0
    failures: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    #: Files the model names that are missing: warnings, not errors (the rest still works).
    problems: tuple[ModelError, ...] = field(default_factory=tuple)

    def environment_order(self) -> list[str]:
        """Environments in deploy order: each after the one it names in ``after``."""
        order: list[str] = []

        def visit(name: str) -> None:
            if name in order:
                return
            after = self.environments[name].after
            if after:
                visit(after)
            order.append(name)

        for name in self.environments:
            visit(name)
        return order

    def named_files(self) -> dict[str, str]:
        """Each file of the deploy repo the model names (a values, workflow or pin file),
        normalized, with the key naming it (``environments.staging.values``)."""
        named: dict[str, str] = {}
        for env in self.environments.values():
            prefix = f"environments.{env.name}"
            for file in env.values:
                named.setdefault(posixpath.normpath(file), f"{prefix}.values")
            if env.workflow:
                named.setdefault(posixpath.normpath(env.workflow), f"{prefix}.workflow")
        for chart in self.charts.values():
            if chart.pin is not None:
                named.setdefault(posixpath.normpath(chart.pin.file), f"charts.{chart.name}.pin")
        return named

    def next_environment(self, name: str) -> str | None:
        """The environment deployed right after ``name`` (the one whose ``after`` is it)."""
        for env in self.environments.values():
            if env.after == name:
                return env.name
        return None


def parse_pin(text: str) -> PinSpec:
    """Parse ``FILE#KEY.PATH``; ``ValueError`` says what is wrong."""
    file, sep, key = text.partition("#")
    if not sep or not file.strip() or not key.strip():
        raise ValueError(
            f'expected "FILE#KEY.PATH", e.g. "mybinder/Chart.yaml#dependencies[name=binderhub].version", got {text!r}'
        )
    return PinSpec(file.strip(), key.strip(), parse_key_path(key.strip()))


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "deployguide"


def toml_key_line(lines: list[str], dotted: str) -> int | None:
    """The line of ``a.b.key = ...`` or of the table ``[a.b.key]`` in a TOML file's lines
    (quotes and spaces in headers ignored); else the line of its table ``[a.b]``."""
    *table, key = dotted.split(".")
    header = ".".join(table)
    current = ""
    table_line = None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", stripped)
        if m:
            current = m.group(1).replace('"', "").replace(" ", "")
            if current == dotted:
                return number
            if current == header:
                table_line = number
            continue
        if current == header and re.match(rf'^"?{re.escape(key)}"?\s*=', stripped):
            return number
    return table_line


class _Reader:
    """Validates one table of the TOML document against the schema, with locations."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, dotted: str) -> int | None:
        return toml_key_line(self.lines, dotted)

    def error(self, key: str, message: str) -> ModelError:
        return ModelError(message, file=self.path, line=self.line_of(key), key=key)

    def table(self, data: Any, key: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.error(key, f"expected a table, got {_type_name(data)}")
        return data

    def check_keys(self, data: dict[str, Any], prefix: str, allowed: tuple[str, ...]) -> None:
        for name in data:
            if name not in allowed:
                where = f"{prefix}.{name}" if prefix else name
                raise self.error(where, f"unknown key; expected one of: {', '.join(allowed)}")

    def string(
        self,
        data: dict[str, Any],
        prefix: str,
        key: str,
        default: str | None = None,
        *,
        required: bool = False,
    ) -> str | None:
        where = f"{prefix}.{key}" if prefix else key
        if key not in data:
            if required:
                raise self.error(
                    where.rsplit(".", 1)[0] if prefix else where, f"missing required key {key!r}"
                )
            return default
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(where, f"expected a non-empty string, got {_type_name(value)}")
        return value.strip()

    def choice(
        self,
        data: dict[str, Any],
        prefix: str,
        key: str,
        choices: tuple[str, ...],
        default: str | None,
    ) -> str | None:
        value = self.string(data, prefix, key, default)
        if value is not None and value not in choices:
            where = f"{prefix}.{key}" if prefix else key
            raise self.error(
                where, f"expected one of {', '.join(repr(c) for c in choices)}, got {value!r}"
            )
        return value

    def existing(
        self, base: Path, relative: str, key: str, what: str, *, directory: bool = False
    ) -> Path:
        path = (base / relative).resolve()
        ok = path.is_dir() if directory else path.exists()
        if not ok:
            raise self.error(key, f"{what} {relative!r} does not exist (looked for {path})")
        return path

    def repo_file(
        self, repo: Path, relative: str, key: str, what: str, problems: list[ModelError]
    ) -> Path:
        """A file of the deploy repo: one that leaves it (``..``, a symlink out) is an
        error; a missing one, or one that is no regular file (a folder, a FIFO), is a
        problem (a located warning) added to ``problems``: the rest of the site builds."""
        path = inside(repo, relative)
        if path is None:
            raise self.error(
                key,
                f"{what} {relative!r} is outside the deploy repo {repo} (a path that climbs out "
                "of it, or a symlink to elsewhere): only files of the deploy repo are read",
            )
        kind = not_a_file(path)
        if kind is not None:
            problems.append(self.error(key, f"{what} {relative!r} is {kind}, expected a file"))
        elif not path.is_file():
            problems.append(
                self.error(key, f"{what} {relative!r} does not exist (looked for {path})")
            )
        return path


def _type_name(value: Any) -> str:
    return {
        dict: "a table",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a float",
    }.get(type(value), type(value).__name__)


def _check_strings(r: _Reader, data: dict[str, Any] | list[Any], prefix: str = "") -> None:
    """No key or value of the model may hold a NUL or another control character (a path
    or a URL with one can only be a mistake, and would fail later, far from here)."""
    items = enumerate(data) if isinstance(data, list) else data.items()
    for name, value in items:
        if isinstance(data, list):
            key = f"{prefix}[{name}]"
        else:
            key = f"{prefix}.{name}" if prefix else str(name)
        for text in (name, value):
            found = _CONTROL.search(text) if isinstance(text, str) else None
            if found:
                raise ModelError(
                    f"contains the control character {found.group(0)!r}; expected printable text",
                    file=r.path,
                    line=r.line_of(re.sub(r"\[\d+\]", "", key)),
                    key=key,
                )
        if isinstance(value, (dict, list)):
            _check_strings(r, value, key)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def load_model(path: Path | str) -> Model:
    """Read and validate ``deployguide.toml``; every problem is one :class:`ModelError`.

    Files the model names in the deploy repo must stay inside it; a missing values,
    workflow or pin file is not an error but one of :attr:`Model.problems`.
    """
    path = Path(path).resolve()
    try:
        text = read_text(path)
    except FileProblem as exc:
        message = f"cannot read the model file: {exc.message}"
        if exc.message == "the file does not exist":
            message = (
                "the model file does not exist; create a deployguide.toml (see the README) "
                "or pass --config"
            )
        raise ModelError(message, file=path, line=exc.line) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"not valid TOML: {exc}", file=path) from None

    r = _Reader(path, text)
    _check_strings(r, data)
    problems: list[ModelError] = []
    base = path.parent
    r.check_keys(
        data,
        "",
        ("deploy_repo", "offline", "cache", "network", "charts", "environments", "failures"),
    )

    deploy_rel = r.string(data, "", "deploy_repo", ".")
    assert deploy_rel is not None
    deploy_repo = r.existing(
        base, deploy_rel, "deploy_repo", "the deploy repo folder", directory=True
    )
    offline = r.choice(data, "", "offline", OFFLINE_POLICIES, "stale") or "stale"

    cache = r.table(data.get("cache", {}), "cache")
    r.check_keys(cache, "cache", ("dir", "ttl"))
    cache_rel = r.string(cache, "cache", "dir")
    cache_dir = (base / cache_rel).resolve() if cache_rel else default_cache_dir()
    ttl = cache.get("ttl", DEFAULT_TTL)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
        raise r.error(
            "cache.ttl", f"expected a non-negative integer number of seconds, got {ttl!r}"
        )

    network = r.table(data.get("network", {}), "network")
    r.check_keys(network, "network", ("retries", "timeout"))
    retries = network.get("retries", 3)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise r.error("network.retries", f"expected an integer from 0 to 10, got {retries!r}")
    timeout = network.get("timeout", 30.0)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not math.isfinite(timeout)
        or not 0 < timeout <= MAX_TIMEOUT
    ):
        raise r.error(
            "network.timeout",
            f"expected a number of seconds above 0 and at most {MAX_TIMEOUT}, got {timeout!r}",
        )

    charts_data = r.table(data.get("charts", {}), "charts")
    if not charts_data:
        raise r.error("charts", "expected at least one [charts.NAME] table")
    charts: dict[str, ChartSpec] = {}
    for name, table in charts_data.items():
        prefix = f"charts.{name}"
        table = r.table(table, prefix)
        r.check_keys(table, prefix, ("source", "branch", "chartpress", "index", "pin", "scheme"))
        source = r.string(table, prefix, "source", required=True)
        index = r.string(table, prefix, "index", required=True)
        pin_text = r.string(table, prefix, "pin")
        assert source and index
        if not is_remote(source):
            r.existing(base, source, f"{prefix}.source", "the chart source", directory=True)
        if not is_remote(index):
            r.existing(base, index, f"{prefix}.index", "the chart index file")
        pin = None
        if pin_text is not None:
            try:
                pin = parse_pin(pin_text)
            except ValueError as exc:
                raise r.error(f"{prefix}.pin", str(exc)) from None
            if Path(pin.file).suffix.lower() not in PIN_SUFFIXES:
                raise r.error(
                    f"{prefix}.pin",
                    f"the pin file {pin.file!r} must be YAML or JSON ({', '.join(PIN_SUFFIXES)}): "
                    "`deployguide bump` edits the version in place, which it cannot do in TOML",
                )
            r.repo_file(deploy_repo, pin.file, f"{prefix}.pin", "the pin file", problems)
        charts[name] = ChartSpec(
            name=name,
            source=source,
            branch=r.string(table, prefix, "branch", "main") or "main",
            chartpress=r.string(table, prefix, "chartpress", "helm-chart/chartpress.yaml") or "",
            index=index,
            pin=pin,
            scheme=r.choice(table, prefix, "scheme", SCHEMES, None),
        )

    envs_data = r.table(data.get("environments", {}), "environments")
    environments: dict[str, Environment] = {}
    for name, table in envs_data.items():
        prefix = f"environments.{name}"
        table = r.table(table, prefix)
        r.check_keys(table, prefix, ("url", "values", "workflow", "job", "after", "members"))
        values = table.get("values", [])
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise r.error(f"{prefix}.values", f"expected a list of file paths, got {values!r}")
        for value_file in values:
            r.repo_file(deploy_repo, value_file, f"{prefix}.values", "the values file", problems)
        workflow = r.string(table, prefix, "workflow")
        if workflow:
            r.repo_file(deploy_repo, workflow, f"{prefix}.workflow", "the workflow file", problems)
        environments[name] = Environment(
            name=name,
            url=r.string(table, prefix, "url"),
            values=tuple(values),
            workflow=workflow,
            job=r.string(table, prefix, "job"),
            after=r.string(table, prefix, "after"),
            members=r.string(table, prefix, "members"),
        )
        if environments[name].members and not (workflow and environments[name].job):
            raise r.error(
                f"{prefix}.members",
                "members are read from the matrix of the environment's job: "
                "set workflow and job too",
            )
    for env in environments.values():
        if env.after and env.after not in environments:
            known = ", ".join(environments) or "none"
            raise r.error(
                f"environments.{env.name}.after",
                f"names no environment: {env.after!r} (environments: {known})",
            )
    for env in environments.values():
        seen = [env.name]
        current = env
        while current.after:
            if current.after in seen:
                cycle = " -> ".join([*seen, current.after])
                raise r.error(f"environments.{env.name}.after", f"'after' makes a cycle: {cycle}")
            seen.append(current.after)
            current = environments[current.after]

    failures = data.get("failures", [])
    if not isinstance(failures, list) or not all(isinstance(f, dict) for f in failures):
        raise r.error("failures", "expected an array of tables ([[failures]])")
    if failures:  # the catalog (and RE2) only for a model that adds entries to it
        from .failures.catalog import validate_entries  # (the catalog imports the facts)

        validate_entries(failures, origin=str(path), text=text)  # patterns compile (RE2) now

    return Model(
        path=path,
        base_dir=base,
        deploy_repo=deploy_repo,
        charts=charts,
        environments=environments,
        cache_dir=cache_dir,
        cache_ttl=ttl,
        offline=offline,
        retries=retries,
        timeout=float(timeout),
        failures=tuple(failures),
        problems=tuple(problems),
    )
