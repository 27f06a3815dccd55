"""Commands that wrap instead of scrolling: the HTML of a ``deploy-code`` block with live
values, rewritten line by line.

The issue it solves: ``helm search ... --version 1.0.0-0.dev.git.3958.haf9ca8b1`` was cut
off before the version, the one value the step is about, behind a sideways scroll. Wrapping
the ``<pre>`` alone (``pre-wrap``) breaks lines at every hyphen, so ``--version`` could
end a row as ``--``. Instead, after Pygments has highlighted the block, each source line
becomes a ``span.deployguide-line`` (the stylesheet indents and marks its continuation
rows) and each word a ``span.deployguide-word``, an inline block: rows break between words
only, and inside a word only when the word alone is longer than a row. Each live value is a
``span.deployguide-code-value`` with its ``data-deployguide-fact``. Only tags are added: the
text, and so what the copy button copies, is unchanged.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from docutils import nodes

from .valuenode import PASS_THROUGH

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.writers.html5 import HTML5Translator

_PRE = re.compile(r"(<pre\b[^>]*>)(.*?)(</pre>)", re.S)
_TAG = re.compile(r"(<[^>]+>)")

Context = tuple[str, ...]  # the open tags (Pygments token spans) around a character


class deployguide_code_lines(nodes.General, nodes.Element):
    """Wraps the literal block of a ``deploy-code`` with live values; attribute ``values``:
    ``[(text, fact name, kind), ...]`` as filled in."""


def _characters(line: str) -> list[tuple[Context, str]]:
    """Each character of a highlighted line with the tags open around it.

    Pygments closes every token span at the end of its line and never nests them (a
    highlighted line adds one ``hll`` span around), so a stack is all it takes.
    """
    stack: list[str] = []
    out: list[tuple[Context, str]] = []
    for part in _TAG.split(line):
        if not part:
            continue
        if part.startswith("</"):
            if stack:
                stack.pop()
        elif part.startswith("<"):
            if not part.endswith("/>"):
                stack.append(part)
        else:
            out.extend((tuple(stack), ch) for ch in html.unescape(part))
    return out


def _emit(chars: list[tuple[Context, str]]) -> str:
    """Characters back to HTML, each run in the tags it had."""
    out: list[str] = []
    run: list[str] = []
    context: Context | None = None
    for ctx, ch in [*chars, (("\0",), "")]:
        if ctx != context and run:
            out.append("".join(context or ()) + html.escape("".join(run), quote=False))
            out.append("</span>" * len(context or ()))
            run = []
        context = ctx
        run.append(ch)
    return "".join(out)


def _value_spans(text: str, values: list[tuple[str, str, str]]) -> list[tuple[int, int, str, str]]:
    """Where the live values are in a line's text: (start, end, fact, kind), longest first."""
    taken = [False] * len(text)
    spans = []
    for value, name, kind in sorted(values, key=lambda v: -len(v[0])):
        start = text.find(value) if value else -1
        while start >= 0:
            end = start + len(value)
            if not any(taken[start:end]):
                spans.append((start, end, name, kind))
                taken[start:end] = [True] * len(value)
            start = text.find(value, end)
    return sorted(spans)


def wrap_line(line: str, values: list[tuple[str, str, str]]) -> str:
    """One highlighted line as words (inline blocks) with its live values marked."""
    chars = _characters(line)
    text = "".join(ch for _, ch in chars)
    spans = _value_spans(text, values)
    in_value = [None] * len(text)
    for span in spans:
        in_value[span[0] : span[1]] = [span] * (span[1] - span[0])
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i].isspace() and in_value[i] is None:
            j = i
            while j < len(text) and text[j].isspace() and in_value[j] is None:
                j += 1
            out.append(_emit(chars[i:j]))
            i = j
            continue
        j = i  # a word: non-space characters and whole values
        while j < len(text) and (in_value[j] is not None or not text[j].isspace()):
            j += 1
        word = []
        k = i
        while k < j:
            span = in_value[k]
            if span is None:
                end = k
                while end < j and in_value[end] is None:
                    end += 1
                word.append(_emit(chars[k:end]))
                k = end
            else:
                start, end, name, kind = span
                word.append(
                    f'<span class="deployguide-code-value" '
                    f'data-deployguide-fact="{html.escape(name)}" '
                    f'data-deployguide-kind="{html.escape(kind)}">{_emit(chars[start:end])}</span>'
                )
                k = end
        out.append('<span class="deployguide-word">' + "".join(word) + "</span>")
        i = j
    return "".join(out)


def wrap_highlighted(block: str, values: list[tuple[str, str, str]]) -> str:
    """The HTML of a highlighted block with its ``<pre>`` lines and words wrapped."""
    match = _PRE.search(block)
    if match is None:
        return block
    lines = match.group(2).split("\n")
    body = []
    for number, line in enumerate(lines):
        last = number == len(lines) - 1
        if last and not _characters(line):
            body.append(line)  # the end of the block (or Pygments' leading empty span)
            continue
        newline = "" if last else "\n"
        body.append(f'<span class="deployguide-line">{wrap_line(line, values)}{newline}</span>')
    return block[: match.start(2)] + "".join(body) + block[match.end(2) :]


def html_visit_lines(self: HTML5Translator, node: deployguide_code_lines) -> None:
    node["_start"] = len(self.body)


def html_depart_lines(self: HTML5Translator, node: deployguide_code_lines) -> None:
    start = node.attributes.pop("_start")
    written = "".join(self.body[start:])
    del self.body[start:]
    self.body.append(wrap_highlighted(written, [tuple(v) for v in node["values"]]))


def setup_codewrap(app: Sphinx) -> None:
    app.add_node(deployguide_code_lines, html=(html_visit_lines, html_depart_lines), **PASS_THROUGH)
