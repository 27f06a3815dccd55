"""Long list facts, folded: the first items, then an "and N more" disclosure.

``charts.binderhub.pending`` on the real binderhub history is 270 commits; as one paragraph
it was 4,000 px tall. A list of commits (or any list longer than
:data:`~sphinx_deployguide.facts.FOLD_OVER` items) renders as a block: a bulleted list of
the first :data:`~sphinx_deployguide.facts.SHOWN` items and a ``<details>`` holding the rest.
Each commit links to its page when the chart source is on GitHub, and each pull request or
issue its subject names (``#N``) to that page.

A role can only put inline nodes in a paragraph, so :class:`LiftLists` moves each list block
out of its paragraph after parsing (the text around it stays where it was). Text, LaTeX and
man output print every item: they have no disclosure to fold into.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.transforms import SphinxTransform

from .tokens import sentence_nodes
from .tooltip import tooltip_html
from .valuenode import (
    PASS_THROUGH,
    FactNode,
    deployguide_value,
    fact_attributes,
    value_attrs,
)

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.writers.html5 import HTML5Translator

    from ..facts import Fact
    from ..links import SourceLinks

LIST_KINDS = ("list", "commits", "durations")


class deployguide_list(FactNode, nodes.General, nodes.Element):
    """A list fact as a block: attributes of a value plus ``count``; children: a bullet list
    of the first items and, when folded, a :class:`deployguide_more`."""


class deployguide_more(nodes.General, nodes.Element):
    """The folded rest of a list: attribute ``count``; child: a bullet list."""


def is_block_list(fact: Fact) -> bool:
    from ..facts import FOLD_OVER

    value = fact.value
    if fact.kind not in LIST_KINDS or not isinstance(value, (list, tuple)) or not value:
        return False
    return fact.kind == "commits" or len(value) > FOLD_OVER


def list_node(
    fact: Fact, links: SourceLinks | None, classes: list[str] | None = None
) -> deployguide_list:
    from ..facts import FOLD_OVER, SHOWN

    entries = [str(v) for v in fact.shown]
    if fact.kind == "durations":
        entries = fact.display().split(", ")
    make = _commit_item if fact.kind == "commits" else _plain_item
    items = [make(entry, links) for entry in entries]
    node = deployguide_list("", count=len(items), classes=list(classes or []))
    node.update_all_atts(fact_attributes(fact))
    shown = items if len(items) <= FOLD_OVER else items[:SHOWN]
    node += nodes.bullet_list("", *shown, bullet="-")
    if len(shown) < len(items):
        rest = items[len(shown) :]
        more = deployguide_more("", count=len(rest))
        more += nodes.bullet_list("", *rest, bullet="-")
        node += more
    return node


def _plain_item(entry: str, links: SourceLinks | None) -> nodes.list_item:
    return nodes.list_item("", nodes.paragraph(entry, "", *sentence_nodes(entry)))


def _commit_item(entry: str, links: SourceLinks | None) -> nodes.list_item:
    """``SHA SUBJECT``: the SHA linked to its commit page, and each ``#N`` the subject names
    (its pull request, an issue) linked to that page of the chart source."""
    from ..links import BARE_REF

    sha, _, subject = entry.partition(" ")
    para = nodes.paragraph()
    code = nodes.inline(sha, sha, classes=["deployguide-sha"])
    url = links.commit(sha) if links is not None else None
    para += nodes.reference("", "", code, refuri=url, internal=False) if url else code
    para += nodes.Text(" ")
    done = 0
    for ref in BARE_REF.finditer(subject) if links is not None else ():
        label = ref.group(0)
        if ref.start() > done:
            para.extend(sentence_nodes(subject[done : ref.start()]))
        para += nodes.reference(
            label, label, refuri=links.pull(int(ref.group("n"))), internal=False
        )
        done = ref.end()
    if done < len(subject):
        para.extend(sentence_nodes(subject[done:]))
    return nodes.list_item("", para)


def inline_fallback(node: deployguide_list) -> nodes.Node:
    """Where no block can go (a title, a term): the first items and "and N more", inline."""
    from ..facts import fold_text

    text = fold_text([li.astext() for li in node.findall(nodes.list_item)])
    attributes = {k: node[k] for k in ("fact", "kind", "provenance", "stale")}
    return deployguide_value(
        "", nodes.Text(text), classes=list(node["classes"]), support_smartquotes=False, **attributes
    )


class LiftLists(SphinxTransform):
    """Move list blocks out of the paragraphs their roles were written in."""

    default_priority = 500

    def apply(self, **kwargs: object) -> None:
        for node in list(self.document.findall(deployguide_list)):
            para = node.parent
            while para is not None and not isinstance(para, nodes.paragraph):
                if not isinstance(para, nodes.Inline):
                    break
                para = para.parent
            if not isinstance(para, nodes.paragraph) or para.parent is None:
                node.replace_self(inline_fallback(node))
                continue
            _lift(para, node)


def _lift(para: nodes.paragraph, node: deployguide_list) -> None:
    """Split ``para`` around ``node`` (a direct child), or move ``node`` after it."""
    container = para.parent
    index = container.index(para)
    if node.parent is not para:  # inside emphasis, a link, ...: the block follows the paragraph
        node.parent.remove(node)
        container.insert(index + 1, node)
        return
    at = para.index(node)
    before, after = para.children[:at], para.children[at + 1 :]
    parts: list[nodes.Node] = []
    if "".join(c.astext() for c in before).strip():
        first = para.copy()  # keeps the paragraph's ids, classes and source line
        first.extend(before)
        parts.append(first)
    parts.append(node)
    if "".join(c.astext() for c in after).strip():  # e.g. the text after it, a stale mark
        rest = nodes.paragraph()
        rest.extend(after)
        if isinstance(rest[0], nodes.Text):  # it began mid-sentence, after the list
            rest[0] = nodes.Text(rest[0].lstrip())
        parts.append(rest)
    container[index : index + 1] = parts


# --- HTML ------------------------------------------------------------------------------------


def html_visit_list(self: HTML5Translator, node: deployguide_list) -> None:
    attrs = value_attrs(self, node)
    attrs["CLASS"] += " deployguide-list"
    attrs["data-deployguide-count"] = str(node["count"])
    self.body.append(self.starttag(node, "div", **attrs))


def html_depart_list(self: HTML5Translator, node: deployguide_list) -> None:
    self.body.append("</div>\n" + tooltip_html(self, node["provenance"]) + "\n")


def html_visit_more(self: HTML5Translator, node: deployguide_more) -> None:
    count = node["count"]
    self.body.append(
        self.starttag(node, "details", CLASS="deployguide-more", **{"data-deployguide-more": count})
    )
    self.body.append(f"<summary>and {count} more</summary>\n")


def html_depart_more(self: HTML5Translator, node: deployguide_more) -> None:
    self.body.append("</details>\n")


def setup_lists(app: Sphinx) -> None:
    app.add_node(deployguide_list, html=(html_visit_list, html_depart_list), **PASS_THROUGH)
    app.add_node(deployguide_more, html=(html_visit_more, html_depart_more), **PASS_THROUGH)
    app.add_transform(LiftLists)
