"""The node of a rendered fact, and what every node rendered from a fact carries.

Kept apart from the roles (:mod:`.values`) so that the nodes built from facts (folded lists,
sentence tokens, filled code) and the readers that skip them need no role.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from docutils import nodes

from .tooltip import tooltip_html, tooltip_target_attrs

if TYPE_CHECKING:
    from docutils.nodes import Node
    from sphinx.writers.html5 import HTML5Translator

    from ..facts import Fact


class FactNode:
    """Mixin of the nodes rendered from facts: never typed by a person, so the drift checks'
    hardcoded scan and the step-id slugs skip them."""


class deployguide_value(FactNode, nodes.Inline, nodes.TextElement):
    """A rendered fact: attributes ``fact``, ``kind``, ``provenance``, ``stale``; children:
    the value."""


def fact_attributes(fact: Fact) -> dict[str, object]:
    """What every node rendered from ``fact`` carries (and smart quotes leave alone: a
    commit subject or a config value is shown exactly as computed)."""
    return {
        "fact": fact.name,
        "kind": fact.kind,
        "provenance": fact.provenance.describe(),
        "stale": fact.provenance.status == "stale",
        "support_smartquotes": False,
    }


def value_attrs(self: HTML5Translator, node: nodes.Element) -> dict[str, str]:
    """The HTML attributes of a rendered fact: class, hooks, and its provenance popup
    (``title`` for pages without JavaScript; the script turns it into the popup)."""
    return {
        "CLASS": "deployguide-value" + (" deployguide-stale" if node.get("stale") else ""),
        "data-deployguide-fact": node["fact"],
        "data-deployguide-kind": node.get("kind", "text"),
        "title": node["provenance"],
        **tooltip_target_attrs(self),
    }


def html_visit_value(self: HTML5Translator, node: deployguide_value) -> None:
    self.body.append(self.starttag(node, "span", "", False, **value_attrs(self, node)))


def html_depart_value(self: HTML5Translator, node: deployguide_value) -> None:
    self.body.append("</span>" + tooltip_html(self, node["provenance"]))


def pass_node(self: object, node: Node) -> None:
    """A visitor that writes nothing: the node's children are rendered as they are."""


#: The visitors of a node that only HTML renders in its own way (every other writer shows
#: its children).
PASS_THROUGH = {name: (pass_node, pass_node) for name in ("text", "latex", "man", "texinfo")}
