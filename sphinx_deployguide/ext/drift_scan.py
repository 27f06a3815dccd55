"""Finding typed chart versions and commits in a doctree (the ``hardcoded`` check's reading half).

Runs per document while reading (also in ``-j`` reader processes): it records every token
that looks like a version or a commit with its source line; whether a token belongs to a
configured chart is decided once per build with git (:mod:`sphinx_deployguide.drift.hardcoded`).
Text the extension rendered from facts or claims is skipped, and so is a ``deploy-code``
block's filled-in output: its template, as typed, is read instead.
"""

from __future__ import annotations

from docutils import nodes

from ..drift.hardcoded import find_candidates
from .code import TEMPLATE_ATTR
from .state import Spot
from .valuenode import FactNode

#: Rendered by the extension from facts or claims, never typed: the hardcoded scan skips them.
SKIP_CLASSES = frozenset(
    {
        "deployguide-historical",
        "deployguide-facts",
        "deployguide-file",
        "deployguide-job",
        "deployguide-member",
        "deployguide-step-name",
        "deployguide-config",
        "deployguide-failures",
    }
)
_SKIP_NODES: tuple[type, ...] = (
    FactNode,
    nodes.comment,
    nodes.raw,
    nodes.system_message,
    nodes.problematic,
)


def _skipped(node: nodes.Node) -> bool:
    return isinstance(node, _SKIP_NODES) or bool(
        isinstance(node, nodes.Element) and SKIP_CLASSES.intersection(node.get("classes", ()))
    )


def _texts(node: nodes.Node) -> list[tuple[str, bool]]:
    """``(text, scan)`` pieces of ``node`` in order; ``scan`` is False inside skipped nodes."""
    out: list[tuple[str, bool]] = []

    def walk(n: nodes.Node, skip: bool) -> None:
        skip = skip or _skipped(n)
        if isinstance(n, nodes.Text):
            out.append((str(n), not skip))
            return
        for child in n.children:
            walk(child, skip)

    walk(node, False)
    return out


def _ancestor_skipped(node: nodes.Node) -> bool:
    parent = node.parent
    while parent is not None:
        if _skipped(parent):
            return True
        parent = parent.parent
    return False


def _block_line(node: nodes.Element) -> tuple[str | None, int | None]:
    current: nodes.Node | None = node
    while current is not None:
        if getattr(current, "line", None):
            return current.source, current.line
        current = current.parent
    return getattr(node, "source", None), None


class SourceLines:
    """Finds the source line of a line of a code block (MyST and rST give only the line of
    the directive, and options sit between it and the content)."""

    def __init__(self) -> None:
        self._cache: dict[str, list[str]] = {}

    def lines(self, source: str) -> list[str]:
        if source not in self._cache:
            try:
                with open(source, encoding="utf-8") as handle:
                    self._cache[source] = handle.read().splitlines()
            except (OSError, UnicodeDecodeError):
                self._cache[source] = []
        return self._cache[source]

    def locate(
        self, source: str, start: int | None, texts: list[str], window: int = 200
    ) -> list[int | None]:
        """Line numbers of ``texts`` (consecutive block lines) searched from ``start``."""
        lines = self.lines(source)
        cursor = (start or 1) - 1
        found: list[int | None] = []
        for number, text in enumerate(texts):
            needle = text.strip()
            end = min(len(lines), cursor + window)
            hit = next((i for i in range(cursor, end) if needle and needle in lines[i]), None)
            if hit is None:
                found.append(start + number if start else None)
            else:
                found.append(hit + 1)
                cursor = hit + 1
        return found


def scan_doctree(docname: str, default_source: str, doctree: nodes.document) -> list[Spot]:
    """Every version- or SHA-shaped token typed into the document, with its line."""
    spots: list[Spot] = []
    sources = SourceLines()
    for block in doctree.findall(nodes.TextElement):
        if isinstance(block, nodes.Inline) or _skipped(block) or _ancestor_skipped(block):
            continue
        source, line = _block_line(block)
        source = source or default_source
        if isinstance(block, nodes.literal_block):
            template = block.get(TEMPLATE_ATTR)
            where = "a deploy-code template" if template is not None else "a code block"
            texts = list(template) if template is not None else block.astext().splitlines()
            numbers = sources.locate(source, line, texts)
            for text, lineno in zip(texts, numbers, strict=True):
                spots += [
                    Spot(c.token, c.kind, where, docname, source, lineno)
                    for c in find_candidates(text)
                ]
            continue
        # Prose keeps its soft line breaks: count them to find the token's line.
        newlines = 0
        for text, scan in _texts(block):
            if scan:
                for candidate in find_candidates(text):
                    offset = newlines + text.count("\n", 0, candidate.offset)
                    spots.append(
                        Spot(
                            candidate.token,
                            candidate.kind,
                            "prose",
                            docname,
                            source,
                            line + offset if line else None,
                        )
                    )
            newlines += text.count("\n")
    return spots
