"""Versions, SHAs, durations and times inside sentences, kept whole.

A single value (``{deploy-value}`charts.binderhub.version```) is one token that never
breaks (``data-deployguide-kind``, :mod:`.values`, and the CSS). A sentence holds them too:
``charts.NAME.verdict`` says "1.0.0-0.dev.git.3983.h383374de is not in ... 600 days after
its chart commit 383374de landed"; at 390 px the version broke at its hyphen. So the text of
a sentence is split into plain text and :class:`deployguide_token` nodes, which HTML
renders as ``<span class="deployguide-token" data-deployguide-kind="version">`` (the same
no-break rule as a single value) and every other builder as their text.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from docutils import nodes

from .valuenode import PASS_THROUGH

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.writers.html5 import HTML5Translator


@functools.cache
def token_pattern() -> re.Pattern[str]:
    """The pieces of a sentence that are one token each, by kind (times before versions,
    which a date would otherwise start; a SHA has a digit, so that no word is taken for
    one). Compiled on first use: a build that writes no page splits no sentence."""
    return re.compile(
        r"""
        (?P<time>\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)
        | (?P<version>\b\d+\.\d+\.\d+(?:-[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)?(?:\+[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)?)
        | (?P<duration>\b\d+(?:\.\d+)?\x20(?:h\x20\d+\x20min|days?|day|min|h|s)\b)
        | (?P<sha>\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b)
        """,
        re.VERBOSE,
    )


class deployguide_token(nodes.Inline, nodes.TextElement):
    """A version, SHA, duration or time inside a sentence (attribute ``kind``)."""


def split_tokens(text: str) -> list[tuple[str, str | None]]:
    """``text`` as ``(piece, kind)`` pairs: kind None for plain text (pure)."""
    pieces: list[tuple[str, str | None]] = []
    done = 0
    for match in token_pattern().finditer(text):
        if match.start() > done:
            pieces.append((text[done : match.start()], None))
        pieces.append((match.group(0), match.lastgroup))
        done = match.end()
    if done < len(text):
        pieces.append((text[done:], None))
    return pieces


def sentence_nodes(text: str) -> list[nodes.Node]:
    """The nodes of a sentence: text, with each version, SHA, duration or time a token."""
    return [
        nodes.Text(piece) if kind is None else deployguide_token(piece, piece, kind=kind)
        for piece, kind in split_tokens(text)
    ]


def html_visit_token(self: HTML5Translator, node: deployguide_token) -> None:
    attrs = {"CLASS": "deployguide-token", "data-deployguide-kind": node["kind"]}
    self.body.append(self.starttag(node, "span", "", **attrs))


def html_depart_token(self: HTML5Translator, node: deployguide_token) -> None:
    self.body.append("</span>")


def setup_tokens(app: Sphinx) -> None:
    app.add_node(deployguide_token, html=(html_visit_token, html_depart_token), **PASS_THROUGH)
