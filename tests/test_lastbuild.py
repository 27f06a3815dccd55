"""A no-op rebuild resolves no fact and runs no drift check, and anything its facts or
findings depend on makes the next build resolve and check again (``ext.lastbuild``,
``factinputs``). Real Sphinx builds on a copy of the demo world."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from sphinx.util.console import strip_colors

from sphinx_deployguide.ext.lastbuild import CHECKS_FILE, FACTS_FILE
from sphinx_deployguide.ext.state import facts_key, get_state
from tests.driftfixtures import install_docs, pin
from tests.indexserver import IndexServer
from tests.test_ext import _commit_chart_change, _shown_values

ROOTS = Path(__file__).parent / "roots"


def _builder(make_app, srcdir: Path, model: Path, **conf):
    """Build ``srcdir`` again and again into the same folders: (app, documents read,
    warnings, whether the facts were resolved)."""
    overrides = {"deployguide_config": str(model), **conf}

    def build(**more):
        read: list[str] = []
        app = make_app("html", srcdir=srcdir, confoverrides={**overrides, **more})
        app.connect("env-before-read-docs", lambda app, env, docs: read.extend(sorted(docs)))
        try:
            app.build()
        finally:
            app.cleanup()
        runtime = get_state(app.env).runtime
        warnings = strip_colors(app._warning.getvalue())
        return app, read, warnings, not runtime.facts_unchanged

    return build


def _myst(make_app, demo_copy, tmp_path, **conf):
    srcdir = tmp_path / "src"
    shutil.copytree(ROOTS / "test-deployguide-myst", srcdir)
    return _builder(make_app, srcdir, demo_copy.model, **conf)


def _findings(warnings: str) -> list[str]:
    return sorted(line for line in warnings.splitlines() if "[deployguide." in line)


def test_noop_rebuild_resolves_nothing_and_says_the_same(make_app, demo_copy, tmp_path):
    docs = install_docs(demo_copy, "drift-clean")  # a claim, a pin that is behind (info)
    build = _builder(make_app, docs, demo_copy.model)
    app, read, warnings, resolved = build()
    assert read and resolved
    first = get_state(app.env).runtime
    key, findings = facts_key(first), list(first.findings)
    assert findings and (Path(app.doctreedir) / FACTS_FILE).is_file()

    app, read, again, resolved = build()
    assert read == [] and not resolved  # nothing read, nothing resolved
    runtime = get_state(app.env).runtime
    assert runtime.findings == findings  # the last check run's findings, said again
    assert _findings(again) == _findings(warnings)
    assert runtime.facts is not None and facts_key(runtime) == key  # on demand: the same


def test_each_input_of_the_facts_makes_the_next_build_resolve(make_app, demo_copy, tmp_path):
    build = _myst(make_app, demo_copy, tmp_path)
    assert build()[3]
    assert not build()[3]

    pin(demo_copy, demo_copy.current_version)  # the pin file (the same length)
    app, read, _, resolved = build()
    assert resolved and read == ["facts", "prod", "staging"]
    assert _shown_values(app, "facts")["charts.binderhub.pinned"] == demo_copy.current_version
    assert not build()[3]

    _commit_chart_change(demo_copy.source)  # the chart source's state
    assert build()[3]
    assert not build()[3]

    index = demo_copy.index  # a local index file
    index.write_bytes(index.read_bytes() + b"\n")
    assert build()[3]
    assert not build()[3]

    assert build(deployguide_refresh=True)[3]  # asked for
    assert build(deployguide_offline="error")[3]  # another option


def test_an_edited_page_is_read_with_facts_resolved_first(make_app, demo_copy, tmp_path):
    build = _myst(make_app, demo_copy, tmp_path)
    app, *_ = build()
    shown = _shown_values(app, "staging")
    staging = Path(app.srcdir) / "staging.md"
    staging.write_text(staging.read_text() + "\nOne more line.\n")
    app, read, _, resolved = build()
    assert read == ["staging"] and resolved
    assert _shown_values(app, "staging") == shown
    assert "One more line." in (Path(app.outdir) / "staging.html").read_text()


def test_unreadable_or_foreign_records_mean_a_resolution(make_app, demo_copy, tmp_path):
    build = _myst(make_app, demo_copy, tmp_path)
    app, *_ = build()
    facts_file = Path(app.doctreedir) / FACTS_FILE
    for broken in (b"", b"[1, 2]", b'{"valid_until": "soon"}', b"\xff\xfe"):
        facts_file.write_bytes(broken)
        app, read, warnings, resolved = build()
        assert resolved and read == [] and "Traceback" not in warnings
        assert json.loads(facts_file.read_bytes())["facts_key"] == facts_key(
            get_state(app.env).runtime
        )


def test_the_index_ttl_and_a_stale_index_bound_the_record(make_app, demo_copy, tmp_path):
    """Over HTTP, the record holds while the cached index is fresh (``cache.ttl``), not a
    moment longer; facts served stale are never recorded: the next build tries again."""
    model = demo_copy.model
    with IndexServer(demo_copy.index.read_bytes()) as server:
        text = model.read_text()
        model.write_text(
            text.replace('index = "../helm-chart/index.yaml"', f'index = "{server.url}"').replace(
                "[cache]\n", "[cache]\nttl = 600\n"
            )
        )
        build = _myst(make_app, demo_copy, tmp_path)
        before = time.time()
        app, *_ = build()
        assert len(server.requests) == 1
        facts_file = Path(app.doctreedir) / FACTS_FILE
        record = json.loads(facts_file.read_bytes())
        assert before < record["valid_until"] <= time.time() + 600
        assert not build()[3]
        record["valid_until"] = time.time() - 1  # as when the TTL has passed
        facts_file.write_text(json.dumps(record))
        assert build()[3]
        assert len(server.requests) == 1  # the index itself is still fresh: not asked
    app, _, warnings, resolved = build(deployguide_refresh=True)  # the server is gone
    assert resolved and "[deployguide.stale]" in warnings
    assert not facts_file.exists()
    assert build()[3]


def test_a_claimed_file_is_checked_again_without_resolving(make_app, demo_copy, tmp_path):
    docs = install_docs(demo_copy, "drift-clean")
    build = _builder(make_app, docs, demo_copy.model)
    app, _, warnings, _ = build()
    assert "no longer matches" not in warnings
    prod = demo_copy.deploy / "config" / "prod.yaml"
    original = prod.read_bytes()
    prod.write_bytes(original.replace(b"replicas: 3", b"replicas: 4"))
    app, read, warnings, resolved = build()
    assert read == [] and "config/prod.yaml no longer matches" in warnings
    prod.write_bytes(original)
    app, read, warnings, resolved = build()
    assert "no longer matches" not in warnings
    checks = json.loads((Path(app.doctreedir) / CHECKS_FILE).read_bytes())
    assert [f["subtype"] for f in checks["findings"]] == ["pin", "pin"]
    app, read, again, resolved = build()
    assert not resolved and _findings(again) == _findings(warnings)


def test_a_mirrored_source_bounds_the_record_by_its_ttl(demo_copy):
    """A URL source is a mirror fetched again after ``cache.ttl``: the record ends then."""
    from sphinx_deployguide.config import load_model
    from sphinx_deployguide.factinputs import inputs_unchanged, record_inputs
    from sphinx_deployguide.factresolve import resolve_facts

    model = demo_copy.model
    url = demo_copy.source.resolve().as_uri()
    model.write_text(
        model.read_text()
        .replace('source = "../binderhub"', f'source = "{url}"')
        .replace("[cache]\n", "[cache]\nttl = 300\n")
    )
    facts = resolve_facts(load_model(model))
    [fetched] = {chart.repo.fetched_at for chart in facts.charts.values()}
    record = record_inputs(facts, {})
    assert record is not None and fetched is not None
    assert record["valid_until"] <= fetched.timestamp() + 300
    assert inputs_unchanged(record, {})
    assert not inputs_unchanged(record, {"offline": "error"})
    record["valid_until"] = time.time() - 1  # as if the TTL had passed
    assert not inputs_unchanged(record, {})


def test_the_records_hold_no_credential(make_app, demo_copy, tmp_path, monkeypatch):
    """The source state covers the ``GIT_*`` variables, which may carry a token; the records
    lie beside the doctrees (inside the HTML output with ``sphinx-build SRC OUT``)."""
    secret = "s3cr3t-deploy-token"
    monkeypatch.setenv(
        "GIT_CONFIG_PARAMETERS", f"'http.extraheader'='Authorization: Bearer {secret}'"
    )
    build = _myst(make_app, demo_copy, tmp_path)
    app, *_ = build()
    assert not build()[3]
    for name in (FACTS_FILE, CHECKS_FILE):
        path = Path(app.doctreedir) / name
        assert not path.exists() or secret not in path.read_text()
    assert (Path(app.doctreedir) / FACTS_FILE).exists()
