"""Matrix deploy jobs in prose: per-member checklist steps and workflow step names.

* ``{deploy-member}`KEY``` (``federation_member``, ``cluster_name``): inside a checklist
  step, the step is repeated once per member of the checklist's environment (the model's
  ``members = "KEY"``, read from the job's matrix) and the role renders that member's value
  of KEY. A member lacking KEY renders the default the job itself uses
  (``${{ matrix.cluster_name || matrix.federation_member }}``), else a located warning.
  Outside a checklist step it is a located warning.
* ``{deploy-member}`ENV#MEMBER```: a member named in prose, rendered as written; a claim
  the drift checks verify (the member is still in the matrix).
* ``{deploy-step}`ENV#STEP NAME```: the name of a step of the environment's job, rendered
  as written (inside a per-member step, its ``${{ matrix.KEY }}`` expressions are filled in
  for the member); a claim the drift checks verify against the workflow.

Step copies are made by :func:`expand_per_member`, which the checklist directive calls for
each of its steps; each copy has the step's id plus the member, so ticks are kept per member.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from docutils import nodes

from . import guard
from .state import get_facts
from .values import _Role
from .warnings import DeployGuideWarning, warn

if TYPE_CHECKING:
    from docutils.nodes import Node, system_message
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

MEMBER_CLASS = "deployguide-member"
STEP_CLASS = "deployguide-step-name"
#: Attribute of a ``deploy-step`` literal: its name as written (matrix expressions kept).
TEMPLATE_ATTR = "deployguide_step_template"


class deployguide_member(nodes.Inline, nodes.Element):
    """Where a member's value of matrix key ``key`` goes; replaced when the checklist step
    is expanded (never reaches a writer). Attributes: ``key``, ``rawtext``, ``location``."""


class DeployMember(_Role):
    """``deploy-member``: ``KEY`` (a per-member placeholder) or ``ENV#MEMBER`` (a claim)."""

    def run(self) -> tuple[list[Node], list[system_message]]:
        from ..config import Environment

        text = self.text.strip()
        if "#" in text:
            env_name, _, member = (part.strip() for part in text.partition("#"))
            if not env_name or not member:
                return self.problem(
                    DeployGuideWarning.CLAIM,
                    f"deploy-member expects a matrix key or ENV#MEMBER, got {text!r}",
                )
            environment = self.deploy_job_of(env_name, "deploy-member")
            if not isinstance(environment, Environment):
                return environment
            if not environment.members:
                return self.problem(
                    DeployGuideWarning.CLAIM,
                    f"deploy-member: environment {env_name!r} has no members; set "
                    f'members = "KEY" under [environments.{env_name}] in the model',
                )
            self.claim("member", f"{env_name}#{member}", env=env_name)
            return [nodes.literal(member, member, classes=[MEMBER_CLASS])], []
        if not text or any(c.isspace() for c in text):
            return self.problem(
                DeployGuideWarning.CHECKLIST,
                f"deploy-member expects a matrix key (e.g. federation_member), got {text!r}",
            )
        return [deployguide_member(key=text, rawtext=self.rawtext, location=self.location())], []


class DeployStep(_Role):
    """``deploy-step``: ``ENV#STEP NAME``, a named step of the environment's deploy job."""

    def run(self) -> tuple[list[Node], list[system_message]]:
        from ..config import Environment

        text = self.text.strip()
        env_name, sep, name = (part.strip() for part in text.partition("#"))
        if not sep or not env_name or not name:
            return self.problem(
                DeployGuideWarning.CLAIM,
                f"deploy-step expects ENV#STEP NAME (e.g. staging#Stage 4: Deploy), got {text!r}",
            )
        environment = self.deploy_job_of(env_name, "deploy-step")
        if not isinstance(environment, Environment):
            return environment
        self.claim("step", f"{env_name}#{name}", env=env_name)
        literal = nodes.literal(name, name, classes=[STEP_CLASS])
        literal[TEMPLATE_ATTR] = name
        literal["deployguide_env"] = env_name
        return [literal], []


def _problematic(node: deployguide_member) -> nodes.problematic:
    return nodes.problematic(node["rawtext"], node["rawtext"])


def _give_up(env: BuildEnvironment, placeholders: list[deployguide_member], message: str) -> None:
    for node in placeholders:
        warn(env, node["location"], DeployGuideWarning.CHECKLIST, message)
        node.replace_self(_problematic(node))


def expand_per_member(
    env: BuildEnvironment, env_name: str, item: nodes.Element
) -> list[tuple[str | None, nodes.Element]]:
    """``[(None, item)]`` for a step without ``deploy-member``; else one ``(member, copy)``
    per member of ``env_name``, with each copy's members and step names filled in."""
    from ..redact import redact_url

    placeholders = list(item.findall(deployguide_member))
    if not placeholders:
        return [(None, item)]
    facts = get_facts(env)
    if facts is None:
        _give_up(env, placeholders, "deploy-member needs deployguide_config in conf.py")
        return [(None, item)]
    environment = facts.model.environments.get(env_name)
    fact_name = f"environments.{env_name}.members"
    if environment is None:
        _give_up(env, placeholders, f"deploy-member: the model has no environment {env_name!r}")
        return [(None, item)]
    if not environment.members:
        _give_up(
            env,
            placeholders,
            f"deploy-member: environment {env_name!r} has no members; set "
            f'members = "KEY" under [environments.{env_name}] in {facts.model.path.name}',
        )
        return [(None, item)]
    if fact_name not in facts.facts:
        reason = facts.unavailable.get(fact_name, "unknown")
        _give_up(env, placeholders, f"deploy-member: {fact_name} could not be computed: {reason}")
        return [(None, item)]
    job = facts.jobs[env_name]
    assert environment.workflow is not None
    env.note_dependency(str(facts.model.deploy_repo / environment.workflow))
    copies: list[tuple[str | None, nodes.Element]] = []
    for entry, member in zip(job.entries, facts.facts[fact_name].value, strict=True):
        copy = item.deepcopy()
        for node in list(copy.findall(deployguide_member)):
            value = job.member_value(entry, node["key"])
            if value is None:
                warn(
                    env,
                    node["location"],
                    DeployGuideWarning.CHECKLIST,
                    f"member {member!r} of {env_name} has no {node['key']!r} in the matrix of "
                    f"job {job.job!r} ({job.workflow}), and the job gives no default "
                    f"(as in ${{{{ matrix.{node['key']} || ... }}}}); add it to the matrix",
                )
                node.replace_self(_problematic(node))
            else:
                shown = redact_url(value)
                node.replace_self(nodes.inline(shown, shown, classes=[MEMBER_CLASS]))
        for literal in list(copy.findall(nodes.literal)):
            if TEMPLATE_ATTR in literal and literal.get("deployguide_env") == env_name:
                name = job.expand(literal[TEMPLATE_ATTR], entry)
                del literal[:]
                literal += nodes.Text(name)
        copies.append((member, copy))
    return copies


def report_stray_members(app: Sphinx, doctree: nodes.document) -> None:
    """``doctree-read``: a ``deploy-member`` KEY left over was not inside a checklist step."""
    for node in list(doctree.findall(deployguide_member)):
        warn(
            app.env,
            node["location"],
            DeployGuideWarning.CHECKLIST,
            f"deploy-member `{node['key']}` is only meaningful inside a deploy-checklist step "
            "(the step is repeated once per member); outside one, name a member with "
            "ENV#MEMBER or list them with {deploy-value}`environments.ENV.members`",
        )
        node.replace_self(_problematic(node))


def setup_matrix(app: Sphinx) -> None:
    app.add_node(deployguide_member)
    app.add_role("deploy-member", guard.role(DeployMember()))
    app.add_role("deploy-step", guard.role(DeployStep()))
    guard.connect(app, "doctree-read", report_stray_members)
