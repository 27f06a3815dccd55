"""The text translators of the checklist builder (:mod:`.checklist_builder`): plain text
without wrapping (JSON) and GitHub Markdown (a PR body). Imported when a checklist is
rendered: ``sphinx.writers.text`` is a tenth of a second no other build needs.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from sphinx.writers.text import TextTranslator

from ..escape import markdown_code, markdown_fence, markdown_text, terminal_text
from .plaintext import PLAIN_NODES
from .valuenode import FactNode

__all__ = ["GithubTranslator", "TextTranslator", "UnwrappedTranslator"]


class UnwrappedTranslator(TextTranslator):
    """Text output that keeps the source's line breaks instead of wrapping at 70 columns:
    for machines (JSON) and Markdown, which reflows paragraphs itself. Wrapping breaks at
    hyphens, inside names: `prod-deploy` would read "prod- deploy" on GitHub."""

    def end_state(self, wrap: bool = True, end: Any = ("",), first: str | None = None) -> None:
        super().end_state(False, end, first)


_SOFT_BREAK = re.compile(r"[ \t]*\n[ \t]*")


class GithubTranslator(UnwrappedTranslator):
    """Markdown for a PR body: fenced code, backticks, bold and italics (the text builder's
    plain emphasis does not apply here), links; never wrapped (a wrapped line would break a
    URL inside a link), and every value from outside (facts, config values) escaped so that
    it renders as the text it is (:func:`~sphinx_deployguide.escape.markdown_text`).
    """

    #: Nodes whose Markdown this class writes itself, whatever text visitors are registered.
    own_nodes = frozenset(node.__name__ for node in PLAIN_NODES)
    _values = 0  # depth inside fact nodes (values, lists): their text is escaped

    def visit_Text(self, node: nodes.Text) -> None:
        # GitHub renders a newline of a PR body as a line break: the source's soft breaks
        # join with spaces, so paragraphs flow (code blocks are written whole, elsewhere)
        text = _SOFT_BREAK.sub(" ", node.astext())
        self.add_text(markdown_text(text) if self._values else text)

    def dispatch_visit(self, node: nodes.Node) -> None:
        if isinstance(node, FactNode):
            self._values += 1
        super().dispatch_visit(node)

    def dispatch_departure(self, node: nodes.Node) -> None:
        super().dispatch_departure(node)
        if isinstance(node, FactNode):
            self._values -= 1

    def visit_literal_block(self, node: nodes.Element) -> None:
        language = node.get("language", "")
        if language in ("default", "none", "text") or not re.fullmatch(r"[\w+.-]*", language):
            language = ""
        text = terminal_text(node.astext()).rstrip("\n")  # its lines as written, no blank tail
        fence = markdown_fence(text)
        self.new_state(0)
        self.add_text(f"{fence}{language}\n{text}\n{fence}")
        self.end_state(wrap=False)
        raise nodes.SkipNode

    def visit_rubric(self, node: nodes.Element) -> None:  # e.g. sphinx-design tab labels
        self.new_state(0)
        self.add_text("**")

    def depart_rubric(self, node: nodes.Element) -> None:
        self.add_text("**")
        self.end_state()

    def visit_reference(self, node: nodes.Element) -> None:
        super().visit_reference(node)
        if self._external(node):
            self.add_text("[")

    def depart_reference(self, node: nodes.Element) -> None:
        if self._external(node):
            uri = re.sub(r"[\s()<>]", lambda m: f"%{ord(m.group(0)):02X}", node["refuri"])
            self.add_text(f"]({uri})")

    @staticmethod
    def _external(node: nodes.Element) -> bool:
        """Links out of the site survive in a PR body; links between its pages cannot."""
        uri = node.get("refuri", "")
        return uri.startswith(("http://", "https://")) and node.astext() != uri

    def visit_literal(self, node: nodes.Element) -> None:
        self.add_text(markdown_code(node.astext()))
        raise nodes.SkipNode
