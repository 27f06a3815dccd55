"""``deploy-checklist ENV``: a list whose top-level items are the steps of a deploy.

Syntax (MyST; RST is the same with ``.. deploy-checklist:: staging``)::

    ```{deploy-checklist} staging
    :id: staging          (optional, default: the environment name)
    :title: Deploy to staging   (optional, default "Deploy to ENV")

    - [ ] {#pin} Pin {deploy-value}`charts.binderhub.version` in ...
    - [ ] Wait {deploy-value}`charts.binderhub.delay.wait` for the chart to be published
    ```

Each top-level item is a step; a leading ``[ ]``/``[x]`` is stripped (plain text, or the
checkbox MyST's ``tasklist`` extension makes). Step ids: a leading ``{#step-id}`` right
after the box sets it explicitly; otherwise it is a slug of the step's first words, computed
from the source text with live values left out (so a new chart version keeps the id).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import get_node_line

from . import guard
from .matrix import expand_per_member
from .state import (
    ChecklistRecord,
    StepRecord,
    get_facts,
    get_state,
    note_fact_use,
)
from .valuenode import FactNode
from .warnings import DeployGuideWarning, warn

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment
    from sphinx.writers.html5 import HTML5Translator
    from sphinx.writers.latex import LaTeXTranslator
    from sphinx.writers.text import TextTranslator

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# "[ ]", "[x]" then an optional "{#step-id}" at the very start of a step.
BOX_RE = re.compile(r"^\s*\[([ xX])\]\s*")
STEP_ID_RE = re.compile(r"^\s*\{#([A-Za-z0-9][A-Za-z0-9_-]*)\}\s*")
HASH_USE = "#facts-hash"  # pseudo fact name: the page shows the facts hash


class deployguide_checklist(nodes.General, nodes.Element):
    """A checklist: attributes ``checklist_id``, ``env``, ``title``, ``facts_hash`` and,
    after the post-transform, ``next_url``/``next_title``. Children: steps."""


class deployguide_step(nodes.Part, nodes.Element):
    """One step: attributes ``step_id``, ``number``, ``checked``, ``member`` (the member a
    per-member step's copy is for, else None); children: its content."""


def checklist_id(argument: str | None) -> str:
    """Option converter: ids end up in HTML ids and localStorage keys."""
    value = directives.unchanged_required(argument).strip()
    if not ID_RE.match(value):
        raise ValueError(f"{value!r} is not a valid id (letters, digits, '-', '_')")
    return value


def slugify(text: str, words: int = 6) -> str:
    parts = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(parts[:words])


def _source_text(node: nodes.Node) -> str:
    """Text of a node without live values: what the author typed, stable across versions."""
    out: list[str] = []

    def walk(n: nodes.Node) -> None:
        if isinstance(n, FactNode):
            return
        if isinstance(n, nodes.Text):
            out.append(str(n))
            return
        for child in n.children:
            walk(child)

    walk(node)
    return "".join(out)


def _first_line(node: nodes.Node) -> int | None:
    for sub in node.findall(nodes.Element):
        line = get_node_line(sub)
        if line:
            return line
    return None


def _strip_marker(item: nodes.list_item) -> tuple[bool, str | None]:
    """Remove the leading box and ``{#id}`` of a step; return (checked, explicit id)."""
    para = item.children[0] if item.children else None
    if not isinstance(para, nodes.paragraph):
        return False, None
    checked = False
    # MyST tasklist: a raw <input type="checkbox"> node first.
    first = para.children[0] if para.children else None
    tasklist_box = isinstance(first, nodes.raw) and "task-list-item-checkbox" in first.astext()
    if tasklist_box:
        checked = "checked" in first.astext()
        para.remove(first)
    # Join the leading Text nodes, match, then cut the matched characters off them.
    leading: list[nodes.Text] = []
    for child in para.children:
        if not isinstance(child, nodes.Text):
            break
        leading.append(child)
    text = "".join(str(t) for t in leading)
    consumed = 0
    match = BOX_RE.match(text)
    if match:
        checked = checked or match.group(1) in "xX"
        consumed = match.end()
    elif tasklist_box:  # the space after MyST's box (myst-parser < 5 keeps it)
        consumed = len(text) - len(text.lstrip())
    explicit = None
    match = STEP_ID_RE.match(text[consumed:])
    if match:
        explicit = match.group(1)
        consumed += match.end()
    if consumed:
        for node in leading:
            if consumed <= 0:
                break
            value = str(node)
            cut = min(consumed, len(value))
            consumed -= cut
            rest = value[cut:]
            if rest:
                para.replace(node, nodes.Text(rest))
            else:
                para.remove(node)
    return checked, explicit


class DeployChecklist(SphinxDirective):
    required_arguments = 1
    has_content = True
    option_spec = {"id": checklist_id, "title": directives.unchanged_required}

    def run(self) -> list[nodes.Node]:
        env_name = self.arguments[0]
        cid = self.options.get("id", env_name)
        location = self.get_location()
        if not ID_RE.match(cid):
            warn(
                self.env,
                location,
                DeployGuideWarning.CHECKLIST,
                f"checklist id {cid!r} is not valid (letters, digits, '-', '_'); set :id:",
            )
            cid = slugify(cid) or "checklist"
        facts = get_facts(self.env)
        if facts is None:
            warn(
                self.env,
                location,
                DeployGuideWarning.CONFIG,
                "deploy-checklist needs deployguide_config "
                "(the path of deployguide.toml) in conf.py",
            )
        # An environment the model lacks is reported once, with its fix, by the drift
        # checks' ``coverage`` (ext/drift.py), which sees every checklist of the build.
        title = self.options.get("title", f"Deploy to {env_name}")
        note_fact_use(self.env, HASH_USE)

        node = deployguide_checklist(
            "",
            checklist_id=cid,
            env=env_name,
            title=title,
            facts_hash=facts.hash if facts is not None else "",
        )
        node["ids"] = [f"checklist-{cid}"]
        self.set_source_info(node)

        body = self.parse_content_to_nodes(allow_section_headings=False) if self.content else []
        lists = [n for n in body if isinstance(n, (nodes.bullet_list, nodes.enumerated_list))]
        others = [
            n
            for n in body
            if not isinstance(
                n,
                (
                    nodes.bullet_list,
                    nodes.enumerated_list,
                    nodes.target,
                    nodes.comment,
                    nodes.system_message,
                ),
            )
        ]
        if not self.content or not body:
            warn(
                self.env,
                location,
                DeployGuideWarning.CHECKLIST,
                f"deploy-checklist {env_name!r} is empty: its body must be a list of steps",
            )
            return [node]
        if others or len(lists) != 1:
            bad = others[0] if others else (lists[1] if len(lists) > 1 else body[0])
            what = f"a {bad.tagname}" if others or not lists else "more than one list"
            warn(
                self.env,
                _located(bad, location),
                DeployGuideWarning.CHECKLIST,
                f"the body of deploy-checklist {env_name!r} must be exactly one list "
                f"(each item a step); found {what}",
            )
            if not lists:
                node.extend(body)
                return [node]
        # Keep system messages of the body (e.g. errors inside a step) visible.
        messages = [n for n in body if isinstance(n, nodes.system_message)]
        self._add_steps(node, lists[0], location)
        self._record(node)
        return [node, *messages]

    def _add_steps(self, node: deployguide_checklist, items: nodes.Element, location: str) -> None:
        seen: dict[str, int | None] = {}
        number = 0
        for index, original in enumerate(
            (c for c in items.children if isinstance(c, nodes.list_item)), start=1
        ):
            line = _first_line(original) or self.lineno
            checked, explicit = _strip_marker(original)
            base_id = explicit or slugify(
                _source_text(original.children[0]) if original.children else ""
            )
            base_id = base_id or f"step-{index}"
            for member, item in expand_per_member(self.env, node["env"], original):
                number += 1
                step_id = f"{base_id}-{slugify(member, 12) or number}" if member else base_id
                self._add_step(node, item, step_id, number, checked, line, member, seen)
        if not len(node):
            warn(
                self.env,
                location,
                DeployGuideWarning.CHECKLIST,
                f"deploy-checklist {node['env']!r} has no steps",
            )

    def _add_step(
        self,
        node: deployguide_checklist,
        item: nodes.Element,
        step_id: str,
        number: int,
        checked: bool,
        line: int,
        member: str | None,
        seen: dict[str, int | None],
    ) -> None:
        """One step (of a per-member step: one member's copy) with its id."""
        first = step_id not in seen
        if not first:
            warn(
                self.env,
                (self.env.docname, line),
                DeployGuideWarning.CHECKLIST,
                f"duplicate step id {step_id!r} in checklist {node['checklist_id']!r} "
                f"(first used on line {seen[step_id]}); give one of them an explicit "
                "{#step-id} after the box",
            )
        seen.setdefault(step_id, line)
        step = deployguide_step("", step_id=step_id, number=number, checked=checked, member=member)
        if first:  # the first with this id owns the HTML id
            step["ids"] = [f"{node['checklist_id']}-{step_id}"]
        step.source, step.line = self.get_source_info()[0], line
        step.extend(item.children)
        node += step

    def _record(self, node: deployguide_checklist) -> None:
        steps = tuple(
            StepRecord(
                step_id=step["step_id"],
                text=step.children[0].astext() if step.children else "",
                lineno=step.line,
                checked=step["checked"],
            )
            for step in node.children
            if isinstance(step, deployguide_step)
        )
        source, line = self.get_source_info()
        get_state(self.env).add_checklist(
            ChecklistRecord(
                docname=self.env.docname,
                checklist_id=node["checklist_id"],
                env=node["env"],
                title=node["title"],
                steps=steps,
                source=source,
                lineno=line,
            )
        )


def _located(node: nodes.Node, fallback: str) -> Any:
    return node if get_node_line(node) else fallback


def link_next_checklist(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """``doctree-resolved``: link each checklist to the next environment's (the model's
    ``after``), at write time when every page's checklists are known."""
    facts = get_facts(app.env)
    if facts is None:
        return
    state = get_state(app.env)
    for node in doctree.findall(deployguide_checklist):
        next_env = facts.model.next_environment(node["env"])
        record = state.checklist_for_env(next_env) if next_env else None
        if record is None:
            continue
        try:
            uri = app.builder.get_relative_uri(docname, record.docname)
        except NotImplementedError:  # builders without URIs
            continue
        # singlehtml answers "#document-x": the checklist's own anchor is what matters.
        node["next_url"] = f"{uri.partition('#')[0]}#checklist-{record.checklist_id}"
        node["next_title"] = record.title


NATIVE_FORMATS = ("html", "text", "latex")


def degrade_for_other_builders(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """``doctree-resolved``: for builders without visitors of their own (man, texinfo, ...),
    turn checklists into a title and a plain enumerated list, which every writer knows."""
    if app.builder.format in NATIVE_FORMATS or app.builder.name == "deployguide-checklist":
        return
    for node in list(doctree.findall(deployguide_checklist)):
        items = nodes.enumerated_list(enumtype="arabic", prefix="", suffix=".")
        for step in node.children:
            item = nodes.list_item("", *step.children)
            item["ids"] = list(step.get("ids", []))
            items += item
        title = nodes.paragraph("", "", nodes.strong(node["title"], node["title"]))
        container = nodes.container("", title, items, classes=["deployguide-checklist"])
        container["ids"] = list(node["ids"])
        node.replace_self(container)


def check_duplicate_ids(app: Sphinx, env: BuildEnvironment) -> None:
    """Checklist ids key the saved checkbox state: two checklists must not share one."""
    seen: dict[str, ChecklistRecord] = {}
    for record in get_state(env).all_checklists():
        first = seen.setdefault(record.checklist_id, record)
        if first is not record:
            warn(
                env,
                (record.docname, record.lineno),
                DeployGuideWarning.CHECKLIST,
                f"checklist id {record.checklist_id!r} is also used in {first.docname} "
                "(line {}); set a distinct :id:".format(first.lineno),
            )


# --- HTML -----------------------------------------------------------------------------------


def html_visit_checklist(self: HTML5Translator, node: deployguide_checklist) -> None:
    attrs = {
        "data-deployguide-checklist": node["checklist_id"],
        "data-deployguide-env": node["env"],
        "data-deployguide-facts-hash": node["facts_hash"],
    }
    if node.get("next_url"):
        attrs["data-deployguide-next-url"] = node["next_url"]
        attrs["data-deployguide-next-title"] = node.get("next_title", "")
    self.body.append(self.starttag(node, "div", CLASS="deployguide-checklist", **attrs))
    self.body.append(
        '<p class="deployguide-checklist-title">' + self.encode(node["title"]) + "</p>\n"
    )
    self.body.append('<ol class="deployguide-steps">\n')


def html_depart_checklist(self: HTML5Translator, node: deployguide_checklist) -> None:
    self.body.append("</ol>\n</div>\n")


def html_visit_step(self: HTML5Translator, node: deployguide_step) -> None:
    base = self.attval(f"{node.parent['checklist_id']}-{node['step_id']}")
    self.body.append(
        self.starttag(
            node, "li", CLASS="deployguide-step", **{"data-deployguide-step": node["step_id"]}
        )
    )
    # The <label> is a larger click target; the step's text is the box's accessible name.
    self.body.append(
        f'<label class="deployguide-step-check" for="{base}-box">'
        f'<input type="checkbox" class="deployguide-step-box" id="{base}-box" '
        f'aria-labelledby="{base}-label"></label>'
        f'<div class="deployguide-step-body" id="{base}-label">\n'
    )


def html_depart_step(self: HTML5Translator, node: deployguide_step) -> None:
    self.body.append("</div></li>\n")


# --- text -----------------------------------------------------------------------------------


def text_visit_checklist(self: TextTranslator, node: deployguide_checklist) -> None:
    self.new_state(0)
    self.add_text(node["title"])
    self.end_state()
    self.list_counter.append(0)


def text_depart_checklist(self: TextTranslator, node: deployguide_checklist) -> None:
    self.list_counter.pop()


def _text_prefix(node: deployguide_step) -> str:
    return f"[{'x' if node['checked'] else ' '}] {node['number']}. "


def text_visit_step(self: TextTranslator, node: deployguide_step) -> None:
    self.new_state(len(_text_prefix(node)))


def text_depart_step(self: TextTranslator, node: deployguide_step) -> None:
    self.end_state(first=_text_prefix(node))


# --- LaTeX ----------------------------------------------------------------------------------


def latex_visit_checklist(self: LaTeXTranslator, node: deployguide_checklist) -> None:
    self.body.append("\n\\par\\noindent\\textbf{" + self.encode(node["title"]) + "}\n")
    self.body.append("\\begin{itemize}\n")


def latex_depart_checklist(self: LaTeXTranslator, node: deployguide_checklist) -> None:
    self.body.append("\\end{itemize}\n")


def latex_visit_step(self: LaTeXTranslator, node: deployguide_step) -> None:
    box = "$\\boxtimes$" if node["checked"] else "$\\square$"
    self.body.append(f"\\item[{box}~{node['number']}.] ")


def latex_depart_step(self: LaTeXTranslator, node: deployguide_step) -> None:
    self.body.append("\n")


def setup_checklist(app: Sphinx) -> None:
    app.add_node(
        deployguide_checklist,
        html=(html_visit_checklist, html_depart_checklist),
        text=(text_visit_checklist, text_depart_checklist),
        latex=(latex_visit_checklist, latex_depart_checklist),
    )
    app.add_node(
        deployguide_step,
        html=(html_visit_step, html_depart_step),
        text=(text_visit_step, text_depart_step),
        latex=(latex_visit_step, latex_depart_step),
    )
    app.add_directive("deploy-checklist", guard.directive(DeployChecklist))
    guard.connect(app, "doctree-resolved", link_next_checklist)
    guard.connect(app, "doctree-resolved", degrade_for_other_builders)
    guard.connect(app, "env-check-consistency", check_duplicate_ids)
