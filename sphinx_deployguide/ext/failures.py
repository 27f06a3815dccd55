"""``deploy-failures``: the failure catalog as the runbook's "when a deploy fails" page.

The page is rendered from the same catalog ``deployguide diagnose`` matches (the model's
``[[failures]]`` entries first, then the shipped ones), so the two cannot disagree. Every
entry gets the HTML id ``failure-<id>`` (``diagnose`` prints links to it) and a reference
label of the same name (``{ref}`failure-chart-version-not-found```), its signatures as
literals (readable forms of the patterns, see :mod:`..failures.signature`), a sphinx-design badge for the verdict, the explanation and the remedy.

Options: ``:stage: NAME`` renders only the entries of one stage.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective
from sphinx_design.badges_buttons import create_bdg_classes

from ..errors import DeployGuideError
from . import guard
from .state import get_runtime
from .warnings import DeployGuideWarning, warn

if TYPE_CHECKING:
    from sphinx.application import Sphinx

    from ..failures.catalog import Catalog, FailureEntry

try:  # sphinx-design >= 0.7: a badge node class of its own
    from sphinx_design.badges_buttons import sd_badge
except ImportError:  # sphinx-design 0.6 (the declared floor): badges are plain inline nodes
    sd_badge = nodes.inline  # type: ignore[misc,assignment]  # (the class, under its name)

#: verdict -> (sphinx-design colour, badge text)
VERDICT_BADGES = {
    "legitimate": ("danger", "legitimate"),
    "spurious": ("success", "spurious"),
    "depends": ("warning", "depends"),
}
_CODE_RE = re.compile(r"`([^`\n]+)`")


def verdict_badge(verdict: str) -> nodes.Element:
    """A badge node built the way sphinx-design's ``bdg-*`` roles build theirs."""
    color, text = VERDICT_BADGES[verdict]
    badge = sd_badge(text, text, classes=create_bdg_classes(color, False))
    return badge


def inline_text(text: str) -> list[nodes.Node]:
    """Plain text with ```code``` spans as literals (everything else escaped as text)."""
    result: list[nodes.Node] = []
    position = 0
    for found in _CODE_RE.finditer(text):
        if found.start() > position:
            result.append(nodes.Text(text[position : found.start()]))
        result.append(nodes.literal(found.group(1), found.group(1)))
        position = found.end()
    if position < len(text):
        result.append(nodes.Text(text[position:]))
    return result


def _field(label: str, content: list[nodes.Node]) -> nodes.paragraph:
    para = nodes.paragraph()
    para += nodes.strong(label, label)
    para += nodes.Text(" ")
    para.extend(content)
    return para


def entry_nodes(entry: FailureEntry) -> nodes.container:
    """One catalog entry: anchor, title, badge and stage, signatures, explanation, remedy."""
    from ..failures.signature import readable_signature

    box = nodes.container(classes=["deployguide-failure", f"deployguide-failure-{entry.verdict}"])
    box["ids"].append(entry.anchor)
    box += nodes.rubric(entry.title, entry.title, classes=["deployguide-failure-title"])
    meta = nodes.paragraph(classes=["deployguide-failure-meta"])
    meta += verdict_badge(entry.verdict)
    meta += nodes.Text(" stage ")
    meta += nodes.literal(entry.stage, entry.stage)
    if entry.check:
        meta += nodes.Text(", live check ")
        meta += nodes.literal(entry.check, entry.check)
        meta += nodes.Text(" (deployguide diagnose decides)")
    meta += nodes.Text(", id ")
    meta += nodes.literal(entry.id, entry.id)
    box += meta
    label = "Signature:" if len(entry.patterns) == 1 else "Signatures:"
    box += nodes.paragraph(label, "", nodes.strong(label, label))
    signatures = nodes.bullet_list(classes=["deployguide-failure-signatures"])
    for pattern in entry.patterns:
        flags = " (any case)" if entry.ignore_case else ""
        item = nodes.paragraph()
        readable = readable_signature(pattern)
        item += nodes.literal(readable, readable)
        if flags:
            item += nodes.Text(flags)
        signatures += nodes.list_item("", item)
    box += signatures
    box += _field("Why:", inline_text(entry.explanation))
    box += _field("What to do:", inline_text(entry.remedy))
    return box


class DeployFailures(SphinxDirective):
    """Render the failure catalog (or one stage of it)."""

    has_content = False
    option_spec = {"stage": directives.unchanged_required}

    def _catalog(self) -> Catalog:
        from ..failures.catalog import load_catalog

        runtime = get_runtime(self.env)
        facts, path = runtime.facts, runtime.model_path
        if facts is None:
            return load_catalog()
        if path is not None:
            self.env.note_dependency(str(path))
        return load_catalog(tuple(facts.model.failures), facts.model.path)

    def run(self) -> list[nodes.Node]:
        from ..failures.catalog import STAGES  # here: most pages have no failure catalog

        stage = self.options.get("stage")
        if stage is not None and stage not in STAGES:
            warn(
                self.env,
                self.get_location(),
                DeployGuideWarning.FAILURES,
                f"deploy-failures: unknown stage {stage!r}; expected one of: {', '.join(STAGES)}",
            )
            return []
        try:
            catalog = self._catalog()
        except DeployGuideError as exc:
            warn(
                self.env,
                self.get_location(),
                DeployGuideWarning.FAILURES,
                f"deploy-failures: {exc}",
            )
            return []
        entries = catalog.for_stage(stage) if stage else catalog.entries
        if not entries:
            warn(
                self.env,
                self.get_location(),
                DeployGuideWarning.FAILURES,
                f"deploy-failures: no catalog entry has stage {stage!r}",
            )
            return []
        std = self.env.domains.standard_domain
        result: list[nodes.Node] = []
        for entry in entries:
            box = entry_nodes(entry)
            self.set_source_info(box)
            known = std.anonlabels.get(entry.anchor)
            if known is None or known[0] == self.env.docname:
                std.note_hyperlink_target(entry.anchor, self.env.docname, entry.anchor, entry.title)
            result.append(box)
        wrapper = nodes.container(classes=["deployguide-failures"])
        wrapper.extend(result)
        return [wrapper]


def setup_failures(app: Sphinx) -> None:
    # The verdict badges are sphinx-design nodes: make sure their visitors are registered.
    app.setup_extension("sphinx_design")
    app.add_directive("deploy-failures", guard.directive(DeployFailures))
