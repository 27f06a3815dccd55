"""``deploy-status CHART``: where a change is, between its merge and prod.

A row of stages: **merged** (the chart commit, how long ago it landed) → **published** (the
verdict's state: published, pending, overdue, never, unknown) → **pinned** (the version the
deploy repo pins, how many chart commits behind) → each environment in deploy order (its URL
and the job that deploys it). Every stage shows its live value (a rendered fact, with its
provenance popup), a state as a coloured mark *and* a word (never colour alone), and links
to the commit, the index and the workflow where there are pages for them. Text, LaTeX and
man output print one line per stage.

Every word comes from a fact (``charts.CHART.commit``, ``.age``, ``.state``, ``.version``,
``.pinned``, ``.pending``; ``environments.ENV.url``, ``.job``); a fact that could not be
computed shows its stage as ``unknown`` with the reason, never a guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from ..config import is_remote
from ..errors import DeployGuideError
from . import guard
from .state import get_facts, note_fact_use
from .values import PASS_THROUGH, FactNode, fact_links, message_of, value_nodes
from .warnings import DeployGuideWarning, warn

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.writers.html5 import HTML5Translator

    from ..facts import Fact

#: The words of the stage states, as the page shows them (the colour only repeats them).
STATE_WORDS = {
    "merged": "landed",
    "published": "published",
    "pending": "pending",
    "overdue": "overdue",
    "never": "never published",
    "unknown": "unknown",
    "current": "up to date",
    "behind": "behind",
    "unpinned": "not pinned",
    "deploys": "deploys the pin",
}


class deployguide_status(FactNode, nodes.General, nodes.Element):
    """Attribute ``chart``; children: :class:`deployguide_stage` nodes in pipeline order."""


class deployguide_stage(nodes.General, nodes.Element):
    """Attributes ``stage`` (merged, published, pinned, or an environment) and ``state``
    (a key of :data:`STATE_WORDS`); child: one paragraph, its text readable alone."""


class DeployStatus(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        chart = self.arguments[0].strip()
        facts = get_facts(self.env)
        if facts is None:
            warn(
                self.get_location(),
                DeployGuideWarning.CONFIG,
                "deploy-status needs deployguide_config (the path of deployguide.toml) in conf.py",
            )
            return []
        if chart not in facts.charts:
            known = ", ".join(facts.charts) or "none"
            message = f"deploy-status: unknown chart {chart!r} (charts of the model: {known})"
            warn(self.get_location(), DeployGuideWarning.FACT, message)
            return [nodes.paragraph(message, message, classes=["deployguide-problem"])]
        self.facts = facts
        node = deployguide_status("", chart=chart)
        node += self.merged(chart)
        node += self.published(chart)
        node += self.pinned(chart)
        for env in facts.model.environment_order():
            node += self.environment(env)
        self.set_source_info(node)
        return [node]

    # --- the stages -----------------------------------------------------------------------

    def fact(self, name: str) -> Fact | str:
        """The fact, or why it could not be computed."""
        note_fact_use(self.env, name)
        try:
            return self.facts.get(name)
        except DeployGuideError as error:
            return message_of(error)

    def merged(self, chart: str) -> deployguide_stage:
        commit, age = self.fact(f"charts.{chart}.commit"), self.fact(f"charts.{chart}.age")
        if isinstance(commit, str):
            return stage("merged", "Merged", "unknown", [nodes.Text(commit)])
        body: list[nodes.Node] = [*self.value(commit), nodes.Text(" (the chart commit)")]
        if not isinstance(age, str):
            body += [nodes.Text(", landed "), *self.value(age), nodes.Text(" ago")]
        links = self.facts.charts[chart].links
        url = links.commit(commit.value) if links is not None else None
        return stage("merged", "Merged", "merged", body, [("commit", url)] if url else [])

    def published(self, chart: str) -> deployguide_stage:
        state, version = self.fact(f"charts.{chart}.state"), self.fact(f"charts.{chart}.version")
        word = state.value if not isinstance(state, str) and state.value in STATE_WORDS else None
        body: list[nodes.Node]
        if isinstance(version, str):
            body = [nodes.Text(version)]
        else:
            body = self.value(version)
        index = self.facts.charts[chart].spec.index
        url = index if is_remote(index) and index.startswith(("http://", "https://")) else None
        return stage(
            "published", "Published", word or "unknown", body, [("index", url)] if url else []
        )

    def pinned(self, chart: str) -> deployguide_stage:
        pinned, pending = self.fact(f"charts.{chart}.pinned"), self.fact(f"charts.{chart}.pending")
        if isinstance(pinned, str):
            return stage("pinned", "Pinned", "unpinned", [nodes.Text(pinned)])
        body = self.value(pinned)
        if isinstance(pending, str):
            state = "unknown"
            body.append(nodes.Text(f" ({pending})"))
        elif pending.value:
            state = "behind"
            count = len(pending.value)
            body.append(nodes.Text(f", {count} chart commit{'s' if count != 1 else ''} behind"))
        else:
            state = "current"
        spec = self.facts.charts[chart].spec
        url = self.facts.deploy_links.file(spec.pin.file) if self.facts.deploy_links else None
        return stage("pinned", "Pinned", state, body, [("pin file", url)] if url else [])

    def environment(self, env: str) -> deployguide_stage:
        url, job = self.fact(f"environments.{env}.url"), self.fact(f"environments.{env}.job")
        body: list[nodes.Node] = []
        if not isinstance(url, str):
            body += self.value(url)
        if not isinstance(job, str):
            body += [nodes.Text(", by the " if body else "by the "), *self.value(job)]
            body.append(nodes.Text(" job"))
        workflow = self.facts.model.environments[env].workflow
        links = self.facts.deploy_links
        link = links.workflow(workflow) if links is not None and workflow else None
        return stage(env, env.capitalize(), "deploys", body, [("workflow", link)] if link else [])

    def value(self, fact: Fact) -> list[nodes.Node]:
        return value_nodes(fact, links=fact_links(self.facts, fact))


def stage(
    name: str,
    title: str,
    state: str,
    body: list[nodes.Node],
    links: list[tuple[str, str | None]] | None = None,
) -> deployguide_stage:
    """One stage: "Title — state: value, detail (links)" as one paragraph."""
    para = nodes.paragraph()
    para += nodes.strong(title, title)
    para += nodes.Text(" ")
    word = STATE_WORDS[state]
    para += nodes.inline(word, word, classes=["deployguide-stage-state"])
    para += nodes.Text(": ")
    para.extend(body)
    for label, url in links or []:
        para += nodes.Text(" (")
        para += nodes.reference(label, label, refuri=url, internal=False)
        para += nodes.Text(")")
    return deployguide_stage("", para, stage=name, state=state)


def html_visit_status(self: HTML5Translator, node: deployguide_status) -> None:
    chart = node["chart"]
    self.body.append(
        self.starttag(
            node,
            "ol",
            CLASS="deployguide-status",
            **{"data-deployguide-status": chart, "aria-label": f"Where the {chart} chart is"},
        )
    )


def html_depart_status(self: HTML5Translator, node: deployguide_status) -> None:
    self.body.append("</ol>\n")


def html_visit_stage(self: HTML5Translator, node: deployguide_stage) -> None:
    attrs = {"data-deployguide-stage": node["stage"], "data-deployguide-state": node["state"]}
    classes = f"deployguide-stage deployguide-state-{node['state']}"
    self.body.append(self.starttag(node, "li", CLASS=classes, **attrs))


def html_depart_stage(self: HTML5Translator, node: deployguide_stage) -> None:
    self.body.append("</li>\n")


def setup_status(app: Sphinx) -> None:
    app.add_node(deployguide_status, html=(html_visit_status, html_depart_status), **PASS_THROUGH)
    app.add_node(deployguide_stage, html=(html_visit_stage, html_depart_stage), **PASS_THROUGH)
    app.add_directive("deploy-status", guard.directive(DeployStatus))
