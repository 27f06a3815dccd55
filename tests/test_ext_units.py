"""Pure parts of the extension: step markers and ids, role line lookup, the warning list."""

from __future__ import annotations

import pytest
from docutils import nodes

from sphinx_deployguide.ext.checklist import _source_text, _strip_marker, slugify
from sphinx_deployguide.ext.tokens import split_tokens
from sphinx_deployguide.ext.valuenode import deployguide_value
from sphinx_deployguide.ext.values import exact_line
from sphinx_deployguide.ext.warnings import DeployGuideWarning, warning_table


def item(*children: nodes.Node) -> nodes.list_item:
    return nodes.list_item("", nodes.paragraph("", "", *children))


@pytest.mark.parametrize(
    ("text", "checked", "explicit", "rest"),
    [
        ("[ ] Pin the chart", False, None, "Pin the chart"),
        ("[x] Pin", True, None, "Pin"),
        ("[X] {#pin} Pin", True, "pin", "Pin"),
        ("{#pin-2} Pin", False, "pin-2", "Pin"),
        ("Pin [ ] later", False, None, "Pin [ ] later"),
        ("[ ]{#a_b}x", False, "a_b", "x"),
        ("{#bad id} Pin", False, None, "{#bad id} Pin"),
    ],
)
def test_strip_marker(text, checked, explicit, rest):
    node = item(nodes.Text(text))
    assert _strip_marker(node) == (checked, explicit)
    assert node.astext() == rest


def test_strip_marker_across_split_text_nodes_and_myst_checkbox():
    node = item(nodes.Text("["), nodes.Text(" ] {#"), nodes.Text("id} Go"), nodes.literal("x", "x"))
    assert _strip_marker(node) == (False, "id")
    assert node.astext() == "Gox"
    raw = nodes.raw(
        "",
        '<input class="task-list-item-checkbox" checked="checked" type="checkbox">',
        format="html",
    )
    node = item(raw, nodes.Text(" {#done} Done"))
    assert _strip_marker(node) == (True, "done")
    assert node.astext() == "Done"


def test_slug_leaves_live_values_out():
    para = nodes.paragraph(
        "",
        "",
        nodes.Text("Pin "),
        deployguide_value("", nodes.Text("1.2.3-abc")),
        nodes.Text(" in the Chart.yaml file of the repo now"),
    )
    assert slugify(_source_text(para)) == "pin-in-the-chart-yaml-file"
    assert slugify("!!!") == ""


def test_exact_line_finds_the_role_in_its_paragraph(tmp_path):
    source = tmp_path / "page.md"
    source.write_text("# T\n\nFirst line of a paragraph\nthen {deploy-value}`a.b` here.\n")
    assert exact_line(str(source), 3, ":deploy-value:`a.b`") == 4
    assert exact_line(str(source), 3, ":deploy-value:`missing`") == 3
    assert exact_line(None, 3, "x") == 3
    assert exact_line(str(tmp_path / "gone.md"), 3, "x") == 3


def test_exact_line_tells_apart_two_roles_with_the_same_text(tmp_path):
    source = tmp_path / "page.md"
    source.write_text(
        "# T\n\nSee {deploy-file}`a/b.yaml`\nand {deploy-value}`a/b.yaml`\n"
        "and :deploy-config:`a/b.yaml` too.\n"
    )
    assert exact_line(str(source), 3, ":deploy-file:`a/b.yaml`") == 3
    assert exact_line(str(source), 3, ":deploy-value:`a/b.yaml`") == 4
    assert exact_line(str(source), 3, ":deploy-config:`a/b.yaml`") == 5  # RST spelling
    assert exact_line(str(source), 3, ":deploy-job:`a/b.yaml`") == 3  # by its text alone


def test_warning_subtypes_are_listed_once_with_descriptions():
    rows = warning_table()
    assert len({name for name, _ in rows}) == len(rows) == len(DeployGuideWarning)
    assert all(name.startswith("deployguide.") and text for name, text in rows)
    assert DeployGuideWarning("fact") is DeployGuideWarning.FACT
    with pytest.raises(ValueError):
        DeployGuideWarning("nope")


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        (
            "1.0.0-0.dev.git.3983.h383374de is not in x 600 days after its chart commit "
            "383374de landed (charts usually appear within 9 min).",
            [
                ("1.0.0-0.dev.git.3983.h383374de", "version"),
                ("600 days", "duration"),
                ("383374de", "sha"),
                ("9 min", "duration"),
            ],
        ),
        (
            "0.1.0-441f5ea (created 2024-03-26T15:42:24Z)",
            [("0.1.0-441f5ea", "version"), ("2024-03-26T15:42:24Z", "time")],
        ),
        ("wait about 2 h 10 min more, or 45 s", [("2 h 10 min", "duration"), ("45 s", "duration")]),
        ("a decade of cafe 1234567 seconds", []),  # words and plain numbers are no tokens
    ],
)
def test_the_versions_shas_and_durations_of_a_sentence(text, tokens):
    pieces = split_tokens(text)
    assert "".join(piece for piece, _ in pieces) == text  # nothing lost or added
    assert [(piece, kind) for piece, kind in pieces if kind] == tokens
