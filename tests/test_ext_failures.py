"""`deploy-failures` in a real sphinx.testing build (tests/roots/test-failures)."""

from __future__ import annotations

import pytest

from sphinx_deployguide.failures import load_catalog


@pytest.mark.sphinx("html", testroot="failures")
def test_catalog_page(app, warning):
    app.build()
    assert warning.getvalue() == ""
    html = (app.outdir / "index.html").read_text()
    for entry in load_catalog():
        assert f'id="failure-{entry.id}"' in html  # diagnose links here
    # Verdict badges are sphinx-design badges.
    assert (
        '<span class="sd-sphinx-override sd-badge sd-bg-danger sd-bg-text-danger">legitimate</span>'
        in html
    )
    assert 'sd-bg-success sd-bg-text-success">spurious</span>' in html
    assert 'sd-bg-warning sd-bg-text-warning">depends</span>' in html
    # Signatures are literals, escaped.
    assert "&quot;&lt;CHART&gt;&quot;" in html
    # The {ref} to an entry resolves to its anchor.
    assert 'href="#failure-release-locked"' in html
    stage = (app.outdir / "rollout.html").read_text()
    assert 'id="failure-rollout-timeout"' in stage
    assert 'id="failure-release-locked"' not in stage


@pytest.mark.sphinx("text", testroot="failures")
def test_text_builder(app):
    app.build()
    text = (app.outdir / "index.txt").read_text()
    assert "Another Helm operation is in progress" in text
    assert "legitimate" in text


def test_model_entries_come_first(make_app, tmp_path, demo_copy, rootdir):
    import shutil

    srcdir = tmp_path / "src"
    shutil.copytree(rootdir / "test-failures", srcdir)
    demo_copy.model.write_text(
        demo_copy.model.read_text()
        + """
[[failures]]
id = "quota-exceeded"
title = "Namespace quota exceeded"
patterns = ['exceeded quota: (?P<quota>[\\w-]{1,100})']
stage = "helm-upgrade"
verdict = "legitimate"
explanation = "Too much CPU asked."
remedy = "Lower the requests."
"""
    )
    app = make_app(
        "html", srcdir=srcdir, confoverrides={"deployguide_config": str(demo_copy.model)}
    )
    app.build()
    html = (app.outdir / "index.html").read_text()
    assert html.index('id="failure-quota-exceeded"') < html.index(
        'id="failure-chart-version-not-found"'
    )


def test_bad_stage_warns(make_app, tmp_path, rootdir):
    import shutil

    srcdir = tmp_path / "src"
    shutil.copytree(rootdir / "test-failures", srcdir)
    (srcdir / "rollout.md").write_text("# Rollout\n\n```{deploy-failures}\n:stage: moon\n```\n")
    app = make_app("html", srcdir=srcdir)
    app.build()
    warnings = app._warning.getvalue()
    assert "rollout.md:3" in warnings and "unknown stage 'moon'" in warnings
    assert "[deployguide.failures]" in warnings
