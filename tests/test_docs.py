"""The project's docs site builds with -n -W on its own demo world, and its runbook agrees
with ``deployguide checklist`` and with the model code."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sphinx.util.console import strip_colors

from sphinx_deployguide.config import MODEL_KEYS, load_model
from sphinx_deployguide.ext.checklist_builder import render_checklist
from sphinx_deployguide.factresolve import resolve_facts
from tests.htmltree import parse_html

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A copy of docs/ (without _build: conf.py builds its demo world into the copy)."""
    from sphinx.testing.util import SphinxTestApp

    src = tmp_path_factory.mktemp("docs") / "docs"
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns("_build"))
    app = SphinxTestApp("html", srcdir=src, warningiserror=True, confoverrides={"nitpicky": True})
    try:
        app.build()
    finally:
        app.cleanup()
    return app


def test_docs_build_without_warnings(site):
    assert strip_colors(site.warning.getvalue()) == ""
    assert site.statuscode == 0


def test_staging_page_shows_the_computed_version(site):
    model = Path(site.srcdir) / "_build" / "demo-world" / "deploy" / "deployguide.toml"
    facts = resolve_facts(load_model(model))
    doc = parse_html((Path(site.outdir) / "runbook" / "staging.html").read_text())
    (checklist,) = doc.find_all("div", "deployguide-checklist")
    assert checklist.attrs["data-deployguide-facts-hash"] == facts.hash
    assert checklist.attrs["data-deployguide-next-url"] == "prod.html#checklist-prod"
    rendered = {
        span.attrs["data-deployguide-fact"]: span.text()
        for span in checklist.find_all("span", "deployguide-value")
    }
    assert rendered["charts.binderhub.version"] == facts.get("charts.binderhub.version").value
    assert rendered["charts.binderhub.commit"] == facts.get("charts.binderhub.commit").value
    assert rendered["charts.binderhub.head"] == facts.get("charts.binderhub.head").value
    assert rendered["charts.binderhub.commit"] != rendered["charts.binderhub.head"]

    # `deployguide checklist staging --format github` prints the same steps and values
    github = render_checklist(Path(site.srcdir), "staging", "github")
    items = [line for line in github.splitlines() if line.startswith("- [ ] ")]
    steps = checklist.find_all("li", "deployguide-step")
    assert len(items) == len(steps)
    for item, step in zip(items, steps, strict=True):
        first_paragraph = " ".join(step.find_all("p")[0].text().split())
        assert first_paragraph.startswith(item[len("- [ ] ") :].replace("`", ""))


def test_model_reference_lists_every_key(site):
    text = parse_html((Path(site.outdir) / "guide" / "model.html").read_text()).text()
    for key in MODEL_KEYS:
        assert key in text


def test_no_version_or_sha_is_typed_in_the_docs():
    """Values come from roles: no chart version of the demo world appears in the sources."""
    version = re.compile(r"\d+\.\d+\.\d+-0\.dev\.git\.\d+\.h[0-9a-f]{7,}")
    for path in DOCS.rglob("*.md"):
        if "_build" in path.parts:
            continue
        assert not version.search(path.read_text()), path
