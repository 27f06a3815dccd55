"""A chart-only model: the chart source's own docs (binderhub's) show the chart's version,
commit and publish delay with no deploy repo, no pin and no environments, and build with
no warning. (The 2018 postmortem asked for the publish delay to be documented "in the helm
chart repo as well as mybinder.org-deploy".)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sphinx.cmd.build import build_main
from sphinx.util.console import strip_colors

from sphinx_deployguide.cli import main
from sphinx_deployguide.config import load_model
from sphinx_deployguide.errors import FactError
from sphinx_deployguide.factresolve import resolve_facts
from tests.htmltree import parse_html

FACTS = ("version", "commit", "head", "published", "delay.median", "delay.p90", "delay.wait")

PAGE = """\
# Publishing the chart

Every merge to `main` that touches the chart publishes
{deploy-value}`charts.binderhub.version` (chart commit {deploy-value}`charts.binderhub.commit`;
the branch head is {deploy-value}`charts.binderhub.head`). Published:
{deploy-value}`charts.binderhub.published`.

A new version usually appears {deploy-value}`charts.binderhub.delay.median` after its merge
(90% within {deploy-value}`charts.binderhub.delay.p90`); wait up to
{deploy-value}`charts.binderhub.delay.wait` before asking why.
"""


@pytest.fixture
def chart_docs(demo_world, tmp_path) -> Path:
    """The chart source's docs folder with a model naming only the chart."""
    docs = tmp_path / "binderhub-docs"
    docs.mkdir()
    (docs / "deployguide.toml").write_text(
        "[charts.binderhub]\n"
        f'source = "{demo_world.source}"\n'
        f'index = "{demo_world.index}"\n'
        "\n[cache]\n"
        'dir = "_build/cache"\n',
        encoding="utf-8",
    )
    (docs / "conf.py").write_text(
        'extensions = ["sphinx_deployguide", "myst_parser"]\n'
        'deployguide_config = "deployguide.toml"\n'
        'exclude_patterns = ["_build"]\n',
        encoding="utf-8",
    )
    (docs / "index.md").write_text(PAGE, encoding="utf-8")
    return docs


def test_chart_only_model_loads(chart_docs):
    model = load_model(chart_docs / "deployguide.toml")
    assert model.charts["binderhub"].pin is None
    assert model.environments == {}


def test_chart_facts_without_pin_facts(chart_docs, demo_world):
    facts = resolve_facts(load_model(chart_docs / "deployguide.toml"))
    # the same chart facts as the deploy repo's model computes for the same chart
    full = resolve_facts(load_model(demo_world.model))
    for name in FACTS:
        assert (
            facts.get(f"charts.binderhub.{name}").value
            == full.get(f"charts.binderhub.{name}").value
        )
    assert facts.get("charts.binderhub.version").value == demo_world.current_version
    assert not facts.names("charts.binderhub.pin") and not facts.names("charts.binderhub.pending")
    assert not facts.names("environments.")
    with pytest.raises(FactError, match=r"pins no version of binderhub \(charts.binderhub.pin"):
        facts.get("charts.binderhub.pinned")


def test_chart_docs_build_with_no_warning(chart_docs, capsys):
    out = chart_docs / "_build" / "html"
    capsys.readouterr()
    code = build_main(["-n", "-W", "--keep-going", "-q", "-b", "html", str(chart_docs), str(out)])
    err = strip_colors(capsys.readouterr().err)
    assert code == 0, err
    assert err.strip() == ""
    facts = resolve_facts(load_model(chart_docs / "deployguide.toml"))
    doc = parse_html((out / "index.html").read_text(encoding="utf-8"))
    shown = {
        s.attrs["data-deployguide-fact"]: s.text()
        for s in doc.find_all("span", "deployguide-value")
    }
    assert shown == {
        f"charts.binderhub.{n}": facts.get(f"charts.binderhub.{n}").display() for n in FACTS
    }


def test_lint_and_facts_cli_on_a_chart_only_model(chart_docs, capsys, monkeypatch):
    monkeypatch.chdir(chart_docs)  # deployguide.toml here, conf.py here: found as they are
    capsys.readouterr()
    assert main(["lint", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # not even a pin info line
    assert main(["facts", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert "charts.binderhub.version" in document["facts"]
    assert "charts.binderhub.pinned" not in document["facts"]  # listed as not computed:
    assert document["unavailable"]["charts.binderhub.pinned"] == (
        "the model pins no version of binderhub (charts.binderhub.pin is not set)"
    )


def test_bump_says_there_is_no_pin(chart_docs, capsys, monkeypatch):
    monkeypatch.chdir(chart_docs)
    capsys.readouterr()
    assert main(["bump", "binderhub", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "deployguide.toml" in err and "charts.binderhub.pin" in err
    assert "nothing to bump" in err and "Traceback" not in err
