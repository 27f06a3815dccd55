"""``deployguide checklist`` and ``render_checklist``: the same steps and values as the page."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from sphinx_deployguide.cli import main
from sphinx_deployguide.config import load_model
from sphinx_deployguide.errors import DeployGuideError
from sphinx_deployguide.ext.checklist_builder import render_checklist
from sphinx_deployguide.factresolve import resolve_facts
from tests.htmltree import parse_html

ROOTS = Path(__file__).parent / "roots"


@pytest.fixture
def docs(tmp_path):
    src = tmp_path / "docs"
    shutil.copytree(ROOTS / "test-deployguide-myst", src)
    return src


@pytest.fixture
def staging_page(make_app, docs, demo_world, tmp_path):
    """The staging checklist as the HTML page shows it: [(step id, first paragraph text)]."""
    app = make_app(
        "html",
        srcdir=docs,
        builddir=tmp_path / "html-build",
        confoverrides={"deployguide_config": str(demo_world.model)},
    )
    try:
        app.build()
    finally:
        app.cleanup()
    doc = parse_html((Path(app.outdir) / "staging.html").read_text())
    (checklist,) = doc.find_all("div", "deployguide-checklist")
    return [
        (li.attrs["data-deployguide-step"], " ".join(li.find_all("p")[0].text().split()))
        for li in checklist.find_all("li", "deployguide-step")
    ]


def test_github_task_list_matches_the_page(docs, demo_world, staging_page, capsys):
    output = render_checklist(docs, "staging", "github", config_path=demo_world.model)
    lines = output.splitlines()
    assert lines[0] == "**Staging checklist**"
    items = [line for line in lines if line.startswith("- [")]
    assert len(items) == len(staging_page) == 3
    for item, (_, text) in zip(items, staging_page, strict=True):
        assert re.sub(r"^- \[[ x]\] ", "", item).replace("`", "") == text
    assert items[2].startswith("- [x] ")  # checked in the source
    # nested content stays under its item, indented, as a fenced block
    version = resolve_facts(load_model(demo_world.model)).get("charts.binderhub.version").value
    at = lines.index(items[1])
    assert lines[at + 1 : at + 5] == [
        "",
        "  ```bash",
        f"  helm search repo binderhub --devel --version {version}",
        "  ```",
    ]
    assert version in items[0]

    # the command prints exactly the same
    code = main(
        [
            "--config",
            str(demo_world.model),
            "checklist",
            "staging",
            "--format",
            "github",
            "--docs",
            str(docs),
        ]
    )
    assert code == 0
    assert capsys.readouterr().out == output


def test_github_paragraphs_flow_and_code_blocks_keep_their_lines(tmp_path, demo_world):
    """GitHub renders each newline of a PR body as a line break: a paragraph's soft breaks
    join with spaces (nothing is wrapped either), a code block keeps its lines."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text('extensions = ["sphinx_deployguide", "myst_parser"]\n')
    (docs / "index.md").write_text(
        "# Runbook\n\n````{deploy-checklist} staging\n"
        "- [ ] Pin {deploy-value}`charts.binderhub.version`\n  in the chart,\n  then commit.\n\n"
        "  A second paragraph that the author\n  wrapped by hand, **mid\n  emphasis**.\n\n"
        "  ```bash\n  first line\n  second line\n  ```\n"
        "````\n"
    )
    out = render_checklist(docs, "staging", "github", config_path=demo_world.model)
    version = resolve_facts(load_model(demo_world.model)).get("charts.binderhub.version").value
    assert out.splitlines()[2:] == [
        f"- [ ] Pin {version} in the chart, then commit.",
        "",
        "  A second paragraph that the author wrapped by hand, **mid emphasis**.",
        "",
        "  ```bash",
        "  first line",
        "  second line",
        "  ```",
    ]


def test_json_and_text_formats(docs, demo_world, staging_page):
    data = json.loads(render_checklist(docs, "staging", "json", config_path=demo_world.model))
    (checklist,) = data["checklists"]
    assert checklist["id"] == "staging" and checklist["env"] == "staging"
    assert checklist["facts_hash"] == resolve_facts(load_model(demo_world.model)).hash
    assert [s["id"] for s in checklist["steps"]] == [step_id for step_id, _ in staging_page]
    assert [s["checked"] for s in checklist["steps"]] == [False, False, True]
    text = render_checklist(docs, "staging", "text", config_path=demo_world.model)
    assert text.startswith("Staging checklist\n")
    assert (
        "[ ] 1. " + staging_page[0][1].replace("mybinder/Chart.yaml", '"mybinder/Chart.yaml"')
        in text
    )


def test_unknown_environment_is_a_clear_error(docs, demo_world, capsys):
    code = main(["--config", str(demo_world.model), "checklist", "qa", "--docs", str(docs)])
    assert code == 2
    err = capsys.readouterr().err
    assert "no deploy-checklist for environment 'qa'" in err
    assert "prod, staging" in err
    assert "Traceback" not in err


def test_a_value_that_cannot_be_computed_is_an_error(tmp_path, demo_world):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text('extensions = ["sphinx_deployguide", "myst_parser"]\n')
    (docs / "index.md").write_text(
        "# Runbook\n\n```{deploy-checklist} staging\n"
        "- [ ] Pin {deploy-value}`charts.binderhub.nope`\n```\n"
    )
    with pytest.raises(DeployGuideError, match="could not be computed"):
        render_checklist(docs, "staging", config_path=demo_world.model, warning_stream=None)


def test_docs_dir_without_conf_is_an_error(tmp_path, demo_world, capsys):
    code = main(
        ["--config", str(demo_world.model), "checklist", "staging", "--docs", str(tmp_path)]
    )
    assert code == 2
    assert "no conf.py" in capsys.readouterr().err
