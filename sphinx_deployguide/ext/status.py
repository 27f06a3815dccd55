"""``deploy-status CHART``: where a change is, between its merge and prod.

A row of stages: **merged** (the chart commit, how long ago it landed) → **published** (the
verdict's state: published, pending, overdue, never, unknown, and its sentence) → **pinned**
(the version the deploy repo pins, the verdict on it, how many chart commits behind) → each
environment in deploy order (its URL and the job that deploys it). Every stage shows its
live value (a rendered fact, with its provenance popup), a state as a coloured mark *and* a
word (never colour alone), and links to the commit, the index and the workflow where there
are pages for them. Text, LaTeX and man output print one line per stage.

Every word comes from a fact (``charts.CHART.commit``, ``.age``, ``.state``, ``.verdict``,
``.version``, ``.pinned``, ``.pinned_state``, ``.pending``; ``environments.ENV.url``,
``.job``): the verdict states are the verdict's own (:mod:`sphinx_deployguide.verdict`), the
directive only says which stage each belongs to. A fact that could not be computed shows
its stage as ``unknown`` with the reason, never a guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from ..errors import DeployGuideError
from . import guard
from .state import get_facts, note_fact_use
from .tokens import sentence_nodes
from .valuenode import PASS_THROUGH, FactNode, pass_node
from .values import fact_links, message_of, value_nodes
from .warnings import DeployGuideWarning, warn

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.writers.html5 import HTML5Translator
    from sphinx.writers.manpage import ManualPageTranslator

    from ..facts import Fact

#: The words of the stage states that are not a verdict's, as the page shows them (the
#: colour only repeats them). A verdict's state is shown as its fact, in its own words.
STATE_WORDS = {
    "merged": "landed",
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
    (a key of :data:`STATE_WORDS` or a verdict's state); child: one paragraph, its text
    readable alone."""


class DeployStatus(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        chart = self.arguments[0].strip()
        facts = get_facts(self.env)
        if facts is None:
            warn(
                self.env,
                self.get_location(),
                DeployGuideWarning.CONFIG,
                "deploy-status needs deployguide_config (the path of deployguide.toml) in conf.py",
            )
            return []
        if chart not in facts.charts:
            known = ", ".join(facts.charts) or "none"
            message = f"deploy-status: unknown chart {chart!r} (charts of the model: {known})"
            warn(self.env, self.get_location(), DeployGuideWarning.FACT, message)
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
            return stage("merged", "Merged", "unknown", sentence_nodes(commit))
        body: list[nodes.Node] = [*self.value(commit), nodes.Text(" (the chart commit)")]
        if not isinstance(age, str):
            body += [nodes.Text(", "), *self.value(age), nodes.Text(" ago")]
        links = self.facts.charts[chart].links
        url = links.commit(commit.value) if links is not None else None
        return stage("merged", "Merged", "merged", body, [("commit", url)] if url else [])

    def published(self, chart: str) -> deployguide_stage:
        from ..config import is_remote
        from ..redact import redact_url

        state, version = self.fact(f"charts.{chart}.state"), self.fact(f"charts.{chart}.version")
        verdict = self.fact(f"charts.{chart}.verdict")
        index = self.facts.charts[chart].spec.index
        # no link to an index whose URL carries credentials (a page never shows them)
        web = is_remote(index) and index.startswith(("http://", "https://"))
        url = index if web and redact_url(index) == index else None
        links = [("index", url)] if url else []
        if isinstance(state, str):
            return stage("published", "Published", "unknown", sentence_nodes(state), links)
        body = sentence_nodes(version) if isinstance(version, str) else self.value(version)
        if not isinstance(verdict, str):
            reason = nodes.inline("", classes=["deployguide-stage-reason"])
            reason.extend(self.value(verdict))
            body += [nodes.Text(". "), reason]
        return stage(
            "published", "Published", verdict_key(state), body, links, word=self.value(state)
        )

    def pinned(self, chart: str) -> deployguide_stage:
        pinned, pending = self.fact(f"charts.{chart}.pinned"), self.fact(f"charts.{chart}.pending")
        verdict = self.fact(f"charts.{chart}.pinned_state")
        if isinstance(pinned, str):
            return stage("pinned", "Pinned", "unpinned", sentence_nodes(pinned))
        # a pin that will not install says so first, in the verdict's word; an installable
        # one says how far behind it is, and that it is published
        installable = not isinstance(verdict, str) and verdict.value == "published"
        body = self.value(pinned)
        if isinstance(verdict, str):
            body += sentence_nodes(f" ({verdict})")
        elif installable:
            body += [nodes.Text(" ("), *self.value(verdict), nodes.Text(")")]
        if isinstance(pending, str):
            state = "unknown"
            body += sentence_nodes(f" ({pending})")
        elif pending.value:
            state = "behind"
            count = len(pending.value)
            body.append(nodes.Text(f", {count} chart commit{'s' if count != 1 else ''} behind"))
        else:
            state = "current"
        spec = self.facts.charts[chart].spec
        url = self.facts.deploy_links.file(spec.pin.file) if self.facts.deploy_links else None
        links = [("pin file", url)] if url else []
        if installable or isinstance(verdict, str):
            return stage("pinned", "Pinned", state, body, links)
        return stage("pinned", "Pinned", verdict_key(verdict), body, links, self.value(verdict))

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


def verdict_key(state: Fact) -> str:
    """The stage state of a verdict's state fact: itself (``unknown`` if it is none)."""
    from ..verdict import STATES

    return state.value if state.value in STATES else "unknown"


def stage(
    name: str,
    title: str,
    state: str,
    body: list[nodes.Node],
    links: list[tuple[str, str | None]] | None = None,
    word: list[nodes.Node] | None = None,
) -> deployguide_stage:
    """One stage: "Title state: value, detail (links)" as one paragraph. ``word``: the
    state as rendered fact nodes (a verdict's), else :data:`STATE_WORDS` says it."""
    para = nodes.paragraph()
    para += nodes.strong(title, title)
    para += nodes.Text(" ")
    mark = nodes.inline("", classes=["deployguide-stage-state"])
    mark.extend(word or [nodes.Text(STATE_WORDS[state])])
    para += mark
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


def man_visit_stage(self: ManualPageTranslator, node: deployguide_stage) -> None:
    """A stage's paragraph is the first child of its node, which the man writer runs into
    the text before it: start each stage on a line of its own."""
    self.ensure_eol()
    self.body.append(".sp\n")


def setup_status(app: Sphinx) -> None:
    app.add_node(deployguide_status, html=(html_visit_status, html_depart_status), **PASS_THROUGH)
    app.add_node(
        deployguide_stage,
        html=(html_visit_stage, html_depart_stage),
        **{**PASS_THROUGH, "man": (man_visit_stage, pass_node)},
    )
    app.add_directive("deploy-status", guard.directive(DeployStatus))
