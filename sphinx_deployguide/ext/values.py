"""Roles that put real values and real references into prose.

* ``{deploy-value}`charts.binderhub.version``` renders a fact, with its provenance in a
  popup (``role="tooltip"``, on hover and keyboard focus) and a visible "stale" mark when it
  came from the cache after a network failure. Long lists fold (:mod:`.lists`).
* ``{deploy-file}`PATH``` , ``{deploy-config}`FILE#KEY.PATH``` and
  ``{deploy-job}`WORKFLOW#JOB``` / ``{deploy-job}`ENV``` render as literals and are recorded
  as :class:`~sphinx_deployguide.ext.state.Claim` s for the drift checks.

Values go into docutils Text nodes only, so every builder escapes them. The HTML carries
``data-deployguide-fact`` (the name) and ``data-deployguide-kind`` (version, sha, duration,
...): stable hooks for user CSS and tests.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.util.docutils import SphinxRole

from ..errors import DeployGuideError
from . import guard
from .lists import is_block_list, list_node
from .state import Claim, get_facts, get_state, note_fact_use
from .tokens import sentence_nodes
from .valuenode import (
    PASS_THROUGH,
    deployguide_value,
    fact_attributes,
    html_depart_value,
    html_visit_value,
)
from .warnings import DeployGuideWarning, warn

if TYPE_CHECKING:
    from docutils.nodes import Node, system_message
    from sphinx.application import Sphinx

    from ..config import Environment
    from ..facts import Fact, FactSet
    from ..links import SourceLinks


STALE_MARK = " (stale)"
#: Kinds of value shown as one token (never broken, see the CSS), or not to be split
#: (a URL, a path); a value of any other kind is a sentence or a list whose versions, SHAs
#: and durations are kept whole one by one (:mod:`.tokens`).
WHOLE_KINDS = ("version", "sha", "duration", "time", "bool", "url", "path")


def fact_links(facts: FactSet, fact: Fact) -> SourceLinks | None:
    """Web pages of the chart source a ``charts.NAME.*`` fact came from, if it has them."""
    parts = fact.name.split(".")
    state = facts.charts.get(parts[1]) if len(parts) > 2 and parts[0] == "charts" else None
    return state.links if state is not None else None


def value_nodes(
    fact: Fact,
    *,
    literal: bool = False,
    classes: list[str] | None = None,
    links: SourceLinks | None = None,
) -> list[Node]:
    """The nodes for one fact: the value (escaped) and, when stale, a visible mark.

    Lists of commits, and other lists longer than a few items, become a folded list block
    (:func:`.lists.list_node`) that a transform lifts out of its paragraph.
    """
    stale = fact.provenance.status == "stale"
    node: Node
    if is_block_list(fact):
        node = list_node(fact, links, classes=list(classes or []))
    else:
        text = fact.display()
        node = deployguide_value("", classes=list(classes or []), **fact_attributes(fact))
        if literal:
            node += nodes.literal(text, text)
        elif fact.kind in WHOLE_KINDS:  # one token already (the CSS keeps it whole)
            node += nodes.Text(text)
        else:  # a sentence, a list: the versions, SHAs and durations in it stay whole
            node.extend(sentence_nodes(text))
    result: list[Node] = [node]
    if stale:
        result.append(nodes.inline(STALE_MARK, STALE_MARK, classes=["deployguide-stale-mark"]))
    return result


@lru_cache(maxsize=64)
def _source_lines(path: str, mtime: float) -> tuple[str, ...]:
    try:
        return tuple(Path(path).read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def exact_line(source: str | None, line: int | None, rawtext: str) -> int | None:
    """The line of a role itself: parsers report the first line of its paragraph.

    The role is looked for as written, name and text (``{deploy-file}`x``` in MyST,
    ``:deploy-file:`x``` in RST), so two roles with the same text in one paragraph are told
    apart; then by its text alone."""
    if not source or not line:
        return line
    try:
        lines = _source_lines(source, os.stat(source).st_mtime)
    except OSError:
        return line
    # MyST hands roles an RST-style rawtext (":name:`text`"): match from the backtick on.
    body = rawtext[rawtext.find("`") :] if "`" in rawtext else rawtext
    first = body.splitlines()[0].strip() if body.strip() else ""
    if not first:
        return line
    role = _ROLE_NAME.match(rawtext)
    needles = [f"{{{role.group(1)}}}{first}", f":{role.group(1)}:{first}"] if role else []
    for needle in [*needles, first]:
        for number in range(line, min(line + 200, len(lines) + 1)):
            if needle in lines[number - 1]:
                return number
    return line


_ROLE_NAME = re.compile(r"^:([\w.+-]+):`")


def message_of(error: Exception) -> str:
    return getattr(error, "message", None) or str(error)


class _Role(SphinxRole):
    def source_line(self) -> tuple[str, int | None]:
        source, line = self.get_source_info()
        return source, exact_line(source, line, self.rawtext)

    def location(self) -> str:
        source, line = self.source_line()
        return f"{source}:{line}" if line else f"{source}:"

    def problem(
        self, subtype: DeployGuideWarning, message: str
    ) -> tuple[list[Node], list[system_message]]:
        """Warn at the role's line and render its source visibly as problematic."""
        warn(self.env, self.location(), subtype, message)
        return [nodes.problematic(self.rawtext, self.rawtext)], []

    def deploy_job_of(
        self, env_name: str, role: str
    ) -> Environment | tuple[list[Node], list[system_message]]:
        """The model's environment ``env_name`` with its workflow and job, or the problem
        to return (located warning, role shown as written)."""
        facts = get_facts(self.env)
        if facts is None:
            return self.problem(
                DeployGuideWarning.CONFIG,
                f"cannot resolve {self.text.strip()!r}: deployguide_config is not set",
            )
        environment = facts.model.environments.get(env_name)
        if environment is None:
            known = ", ".join(facts.model.environments) or "none"
            return self.problem(
                DeployGuideWarning.CLAIM,
                f"{role}: unknown environment {env_name!r} (known: {known})",
            )
        if not environment.workflow or not environment.job:
            return self.problem(
                DeployGuideWarning.CLAIM,
                f"{role}: environment {env_name!r} has no workflow/job in {facts.model.path.name}",
            )
        # The page shows what the workflow says: read it again when the workflow changes.
        self.env.note_dependency(str(facts.model.deploy_repo / environment.workflow))
        return environment

    def claim(self, kind: str, target: str, env: str | None = None) -> None:
        source, line = self.source_line()
        get_state(self.env).add_claim(
            Claim(
                kind=kind,
                target=target,
                docname=self.env.docname,
                lineno=line,
                source=source,
                text=self.text,
                env=env,
            )
        )


class DeployValue(_Role):
    """``deploy-value``: a fact by name (``charts.NAME.version``, ``config:FILE#KEY``, ...)."""

    def run(self) -> tuple[list[Node], list[system_message]]:
        name = self.text.strip()
        note_fact_use(self.env, name)
        facts = get_facts(self.env)
        if facts is None:
            return self.problem(
                DeployGuideWarning.CONFIG,
                f"cannot render {name!r}: deployguide_config is not set in conf.py",
            )
        try:
            fact = facts.get(name)
        except DeployGuideError as error:
            return self.problem(DeployGuideWarning.FACT, message_of(error))
        return value_nodes(fact, links=fact_links(facts, fact)), []


class DeployFile(_Role):
    """``deploy-file``: a path in the deploy repo (the drift check verifies it exists)."""

    def run(self) -> tuple[list[Node], list[system_message]]:
        path = self.text.strip()
        if not path or path.startswith(("/", "\\")) or ".." in path.split("/"):
            return self.problem(
                DeployGuideWarning.CLAIM,
                f"deploy-file expects a path relative to the deploy repo, got {path!r}",
            )
        self.claim("file", path)
        return [nodes.literal(path, path, classes=["deployguide-file"])], []


class DeployConfig(_Role):
    """``deploy-config``: ``FILE#KEY.PATH`` in the deploy repo, rendered as its live value."""

    def run(self) -> tuple[list[Node], list[system_message]]:
        spec = self.text.strip()
        file, sep, key = spec.partition("#")
        if not sep or not file or not key:
            return self.problem(
                DeployGuideWarning.CLAIM, f"deploy-config expects FILE#KEY.PATH, got {spec!r}"
            )
        name = f"config:{spec}"
        note_fact_use(self.env, name)
        facts = get_facts(self.env)
        if facts is None:
            return self.problem(
                DeployGuideWarning.CONFIG,
                f"cannot read {spec!r}: deployguide_config is not set in conf.py",
            )
        try:
            fact = facts.get(name)
        except DeployGuideError:
            # The drift checks report it once, with the fix (ext/drift.py); here it is only
            # shown as a problem, never as an empty value.
            self.claim("config", spec)
            return [nodes.problematic(self.rawtext, self.rawtext)], []
        self.claim("config", spec)
        return value_nodes(fact, literal=True, classes=["deployguide-config"]), []


class DeployJob(_Role):
    """``deploy-job``: ``WORKFLOW#JOB``, or an environment whose workflow and job are known."""

    def run(self) -> tuple[list[Node], list[system_message]]:
        from ..config import Environment

        text = self.text.strip()
        env_name: str | None = None
        if "#" in text:
            workflow, _, job = text.partition("#")
            if not workflow or not job:
                return self.problem(
                    DeployGuideWarning.CLAIM,
                    f"deploy-job expects WORKFLOW#JOB or an environment, got {text!r}",
                )
        else:
            env_name = text
            note_fact_use(self.env, f"environments.{env_name}.job")
            environment = self.deploy_job_of(env_name, "deploy-job")
            if not isinstance(environment, Environment):
                return environment
            assert environment.workflow and environment.job
            workflow, job = environment.workflow, environment.job
        self.claim("job", f"{workflow}#{job}", env=env_name)
        return [nodes.literal(job, job, classes=["deployguide-job"])], []


def setup_values(app: Sphinx) -> None:
    app.add_node(deployguide_value, html=(html_visit_value, html_depart_value), **PASS_THROUGH)
    app.add_role("deploy-value", guard.role(DeployValue()))
    app.add_role("deploy-file", guard.role(DeployFile()))
    app.add_role("deploy-config", guard.role(DeployConfig()))
    app.add_role("deploy-job", guard.role(DeployJob()))
