"""The facts of a build: the model loaded and every fact resolved once, before reading.

``builder-inited`` resolves them into the build's runtime (:mod:`.state`); what the model
names but cannot be read is a located warning, and the site still builds. When every input
of the last build's facts is unchanged (:mod:`.lastbuild`), they are resolved only if
something asks for them: a no-op rebuild reads no page and writes none, so it never does.
Between builds, a change of the facts re-reads every page that rendered one, and a change
of the set of checklists re-writes every page with a checklist (each links to the next
environment's).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sphinx.errors import ConfigError

from ..errors import DeployGuideError
from . import guard
from .lastbuild import FACTS_FILE, read_record, write_record
from .state import facts_key, get_state
from .warnings import DeployGuideWarning, warn

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

    from ..facts import FactSet


def resolve_build_facts(app: Sphinx) -> None:
    """``builder-inited``: load the model and resolve every fact, once, before reading; or,
    when every input of the last build's facts is unchanged (:mod:`.lastbuild`), only
    when something asks for them."""
    runtime = get_state(app.env).runtime
    runtime.facts = runtime.model_path = runtime.inputs = runtime.resolve_later = None
    runtime.reads = False
    runtime.findings.clear()
    name = app.config.deployguide_config
    if not name:
        return
    path = (Path(app.confdir) / name).resolve()
    offline = app.config.deployguide_offline or None
    if offline not in (None, "stale", "error"):
        raise ConfigError(
            f'deployguide_offline must be "stale" or "error" (or empty for the model\'s '
            f"policy), got {offline!r}"
        )
    runtime.model_path = path
    options = {"config": str(path), "offline": offline}
    if not app.config.deployguide_refresh:
        from ..factinputs import inputs_unchanged

        recorded = read_record(app, FACTS_FILE)
        if recorded is not None and inputs_unchanged(recorded, options):
            runtime.inputs = recorded
            runtime.resolve_later = lambda: _resolve(app, path, offline, options)
            return
    _resolve(app, path, offline, options)


def _resolve(app: Sphinx, path: Path, offline: str | None, options: dict[str, Any]) -> None:
    """Resolve the facts into the build's runtime, say what the model names but cannot be
    read (located warnings: the site still builds), and record the inputs for the next
    build when nothing of this resolution needs saying again."""
    from ..config import load_model
    from ..factinputs import record_inputs
    from ..factresolve import resolve_facts

    env = app.env
    runtime = get_state(env).runtime
    try:
        model = load_model(path)
        facts = resolve_facts(model, refresh=bool(app.config.deployguide_refresh), offline=offline)
    except DeployGuideError as error:
        write_record(app, FACTS_FILE, None)
        # A user mistake (bad model, unreachable index with offline="error"): one clear
        # message naming the file and key, no traceback.
        raise ConfigError(f"deployguide: {error}") from error
    runtime.facts = facts
    for problem in facts.problems:  # a missing or unreadable file: a warning, the site builds
        where = f"{problem.file}:{problem.line or ''}" if problem.file else f"{path}:"
        key = f"{problem.key}: " if problem.key else ""
        warn(env, where, DeployGuideWarning.FILE, f"{key}{problem.message}")
    warned = _warn_members(env, facts)
    if facts.stale:
        stale = sorted(n for n, f in facts.facts.items() if f.provenance.status == "stale")
        warn(
            env,
            f"{path}:",
            DeployGuideWarning.STALE,
            f"facts served from the cache (as of {facts.as_of}) because the network failed: "
            + ", ".join(stale[:5])
            + (" ..." if len(stale) > 5 else ""),
        )
    inputs = None if warned else record_inputs(facts, options)
    if inputs is not None:
        inputs["facts_key"] = facts_key(runtime)
    runtime.inputs = inputs
    write_record(app, FACTS_FILE, inputs)


def _warn_members(env: BuildEnvironment, facts: FactSet) -> bool:
    """``members = "KEY"`` of the model that yields no members from a job that was read:
    said once, at that key, whether or not a page lists them (a page that does says it
    again, where it is). A job that cannot be read is reported as a claim already."""
    from ..config import toml_key_line  # here: a no-op rebuild loads no model

    model = facts.model
    warned = False
    lines: list[str] | None = None
    for environment in model.environments.values():
        name = f"environments.{environment.name}.members"
        if environment.members and environment.name in facts.jobs and name in facts.unavailable:
            if lines is None:
                lines = model.path.read_text(encoding="utf-8").splitlines()
            line = toml_key_line(lines, name)
            warn(
                env,
                f"{model.path}:{line or ''}",
                DeployGuideWarning.CONFIG,
                f"{name}: members = {environment.members!r} gives no members: "
                f"{facts.unavailable[name]}",
            )
            warned = True
    return warned


def _outdated(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """``env-get-outdated``: re-read every document that used facts when any fact changed
    since the last build."""
    state = get_state(env)
    return state.changed_facts(facts_key(state.runtime), removed)


def _before_reading(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """``env-before-read-docs``: documents to read need the facts: resolve them here, in
    the main process, before parallel readers start (each would resolve its own)."""
    runtime = get_state(env).runtime
    runtime.reads = bool(docnames)
    if docnames:
        runtime.facts  # noqa: B018 - resolves them if builder-inited left them for later


def _updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """``env-get-updated``: re-write pages with checklists when the set of checklists changed
    (next-environment links)."""
    return get_state(env).changed_checklists()


def setup_build_facts(app: Sphinx) -> None:
    # "env": a different model means different facts on every page.
    app.add_config_value("deployguide_config", "", "env", types=(str,))
    # "" = the model's `offline` policy; "stale" or "error" override it.
    app.add_config_value("deployguide_offline", "", "env", types=(str,))
    # Fetch the chart sources and the index again, ignoring the cache TTL.
    app.add_config_value("deployguide_refresh", False, "", types=(bool,))
    guard.connect(app, "builder-inited", resolve_build_facts)
    guard.connect(app, "env-get-outdated", _outdated, default=list)
    guard.connect(app, "env-before-read-docs", _before_reading)
    guard.connect(app, "env-get-updated", _updated, default=list)
