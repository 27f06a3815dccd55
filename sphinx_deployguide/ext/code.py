"""``deploy-code LANG``: a code block whose ``{{ fact.name }}`` placeholders are filled at
build time, so the command an operator copies already holds the right version.

Everything else is ``code-block`` (``:caption:``, ``:linenos:``, ``:emphasize-lines:``,
``:name:``, ``:class:``, highlighting). An unknown name is a located warning and the
placeholder stays visible, never silently emptied.

A block holding a live value gets the class ``deployguide-code-live`` and, in HTML, its
lines and words wrapped (:mod:`.codewrap`), so a long command wraps between words with a
visible continuation instead of hiding the version behind a sideways scroll. The text is
unchanged: the copy button still copies the command exactly. (Not with ``:linenos:``: the
numbers would no longer line up with wrapped lines, so such a block scrolls as before.)

Each literal block keeps the template as typed (``deployguide_template``), so the drift
checks' hardcoded scan (:mod:`.drift_scan`) reads what the author wrote rather than the
values filled in from facts.
"""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.directives.code import CodeBlock

from ..errors import DeployGuideError
from . import guard
from .codewrap import deployguide_code_lines
from .state import get_facts, note_fact_use
from .warnings import DeployGuideWarning, warn

if TYPE_CHECKING:
    from sphinx.application import Sphinx

    from ..facts import FactSet

PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
#: The literal block attribute holding a deploy-code block's lines as typed.
TEMPLATE_ATTR = "deployguide_template"


class DeployCode(CodeBlock):
    required_arguments = 1
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        template = list(self.content)
        facts = get_facts(self.env)
        self._filled: list[tuple[str, str, str]] = []  # (value, fact, kind) as filled in
        lines: list[str] = []
        for index, line in enumerate(self.content):
            lineno = self._line_of(index)
            lines.append(PLACEHOLDER_RE.sub(partial(self._fill, facts=facts, lineno=lineno), line))
        self.content = StringList(lines, items=list(self.content.items))
        live = bool(self._filled) and "linenos" not in self.options
        extra = ["deployguide-code-live"] if live else []
        self.options["class"] = [*self.options.get("class", []), "deployguide-code", *extra]
        result = super().run()
        if live:
            result = [self._wrap(node) for node in result]
        for node in result:
            for block in node.findall(nodes.literal_block):
                block[TEMPLATE_ATTR] = template
        return result

    def _wrap(self, node: nodes.Node) -> nodes.Node:
        """Put each literal block of ``node`` (a block, or a captioned container) in a
        :class:`deployguide_code_lines`, which rewrites its HTML."""
        values = sorted(set(self._filled))
        if isinstance(node, nodes.literal_block):
            return deployguide_code_lines("", node, values=values)
        for block in list(node.findall(nodes.literal_block)):
            block.replace_self(deployguide_code_lines("", block.deepcopy(), values=values))
        return node

    def _line_of(self, index: int) -> int:
        """The source line of content line ``index``.

        docutils gives absolute 0-based offsets; MyST gives offsets relative to the
        directive (``content_offset`` counts the lines between fence and body).
        """
        if type(self.state).__module__.startswith("myst_parser"):
            return self.lineno + self.content_offset + 1 + index
        try:
            return int(self.content.items[index][1]) + 1
        except (IndexError, TypeError, ValueError):
            return self.lineno

    def _fill(self, match: re.Match[str], *, facts: FactSet | None, lineno: int) -> str:
        name = match.group(1)
        note_fact_use(self.env, name)
        location = (self.env.docname, lineno)
        if facts is None:
            warn(
                self.env,
                location,
                DeployGuideWarning.CONFIG,
                f"cannot fill {{{{ {name} }}}}: deployguide_config is not set in conf.py",
            )
            return match.group(0)
        try:
            fact = facts.get(name)
        except DeployGuideError as error:
            warn(
                self.env,
                location,
                DeployGuideWarning.CODE,
                f"deploy-code placeholder {match.group(0)!r} left unfilled: {error.message}",
            )
            return match.group(0)
        value: str = fact.display()
        self._filled.append((value, fact.name, fact.kind))
        return value


def setup_code(app: Sphinx) -> None:
    app.add_directive("deploy-code", guard.directive(DeployCode))
