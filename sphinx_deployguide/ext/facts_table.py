"""``deploy-facts [PREFIX]``: a table of facts (all, or those under PREFIX) with value and
provenance, so a reader can see what the page was built from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from . import guard
from .state import get_facts, note_fact_use
from .values import fact_links, value_nodes
from .warnings import DeployGuideWarning, warn

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def build_table(
    header: tuple[str, ...], rows: list[list[list[nodes.Node]]], widths: tuple[int, ...]
) -> nodes.table:
    """A plain docutils table: every builder renders it, every cell escaped."""
    table = nodes.table()
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for title in header:
        row += nodes.entry("", nodes.paragraph(title, title))
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            para = nodes.paragraph()
            para.extend(cell)
            row += nodes.entry("", para)
        body += row
    return table


class DeployFacts(SphinxDirective):
    optional_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        prefix = self.arguments[0] if self.arguments else ""
        facts = get_facts(self.env)
        if facts is None:
            warn(
                self.env,
                self.get_location(),
                DeployGuideWarning.CONFIG,
                "deploy-facts needs deployguide_config (the path of deployguide.toml) in conf.py",
            )
            return []
        names = facts.names(prefix)
        if not names:
            warn(
                self.env,
                self.get_location(),
                DeployGuideWarning.FACT,
                f"deploy-facts: no fact starts with {prefix!r}",
            )
            return []
        rows = []
        for name in names:
            note_fact_use(self.env, name)
            fact = facts.facts[name]
            rows.append(
                [
                    [nodes.literal(name, name)],
                    value_nodes(fact, links=fact_links(facts, fact)),
                    [nodes.Text(fact.provenance.describe())],
                ]
            )
        table = build_table(("Fact", "Value", "Provenance"), rows, (30, 30, 40))
        table["classes"] += ["deployguide-facts"]
        self.set_source_info(table)
        return [table]


def setup_facts_table(app: Sphinx) -> None:
    app.add_directive("deploy-facts", guard.directive(DeployFacts))
