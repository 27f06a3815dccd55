"""Emphasis in text output reads as text.

Sphinx's text builder marks ``*emphasis*`` and ``**strong**`` with asterisks, so a runbook
step printed for a terminal reads "It does **not** name the branch head". A terminal has no
bold: the words alone read right. (The GitHub task list that ``deployguide checklist
--format github`` prints keeps its Markdown: it is rendered where bold exists.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from docutils import nodes

from .valuenode import pass_node

if TYPE_CHECKING:
    from sphinx.application import Sphinx

#: The nodes whose text-builder visitors this module replaces.
PLAIN_NODES = (nodes.emphasis, nodes.strong)


def setup_plaintext(app: Sphinx) -> None:
    for node in PLAIN_NODES:
        app.add_node(node, override=True, text=(pass_node, pass_node))
