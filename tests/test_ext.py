"""The Sphinx extension, built for real with ``sphinx.testing`` on the demo world.

Roots: ``tests/roots/test-deployguide-{myst,rst,bad,escape}``; ``deployguide_config`` is
pointed at the session's demo world (or a private copy when a test changes it).
"""

from __future__ import annotations

import difflib
import itertools
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from sphinx.errors import ConfigError
from sphinx.util.console import strip_colors

from sphinx_deployguide.config import MODEL_KEYS, load_model
from sphinx_deployguide.ext.state import get_state
from sphinx_deployguide.ext.warnings import DeployGuideWarning
from sphinx_deployguide.factresolve import resolve_facts
from tests.driftfixtures import pin
from tests.htmltree import parse_html
from tests.indexserver import IndexServer

ROOTS = Path(__file__).parent / "roots"


@pytest.fixture(scope="session")
def demo_facts(demo_world):
    """The facts the extension should render, resolved independently of Sphinx."""
    return resolve_facts(load_model(demo_world.model))


@pytest.fixture
def build(make_app, tmp_path, demo_world):
    """Copy a root to a fresh folder, build it against a model, return the app."""
    counter = itertools.count()

    def _build(
        root: str,
        buildername: str = "html",
        *,
        model: Path | None = None,
        srcdir: Path | None = None,
        confoverrides: dict | None = None,
        **kwargs,
    ):
        if srcdir is None:
            srcdir = tmp_path / f"{root}-{buildername}-{next(counter)}"
            shutil.copytree(ROOTS / f"test-{root}", srcdir)
        overrides = {"deployguide_config": str(model or demo_world.model)}
        overrides.update(confoverrides or {})
        app = make_app(buildername, srcdir=srcdir, confoverrides=overrides, **kwargs)
        try:
            app.build()
        finally:
            app.cleanup()  # unregister nodes/roles now: a test may build twice
        return app

    return _build


def warnings_of(app) -> str:
    return strip_colors(app.warning.getvalue())


def page(app, name: str):
    return parse_html((Path(app.outdir) / f"{name}.html").read_text(encoding="utf-8"))


def steps_of(checklist) -> list[str]:
    return [
        li.attrs["data-deployguide-step"] for li in checklist.find_all("li", "deployguide-step")
    ]


# --- MyST -----------------------------------------------------------------------------------


def test_myst_html_checklist_values_and_code(build, demo_world, demo_facts):
    app = build("deployguide-myst")
    assert "WARNING" not in warnings_of(app), warnings_of(app)
    version = demo_facts.get("charts.binderhub.version").value
    assert version == demo_world.current_version  # the demo's own record agrees

    doc = page(app, "staging")
    (checklist,) = doc.find_all("div", "deployguide-checklist")
    assert checklist.attrs["id"] == "checklist-staging"
    assert checklist.attrs["data-deployguide-checklist"] == "staging"
    assert checklist.attrs["data-deployguide-env"] == "staging"
    assert checklist.attrs["data-deployguide-facts-hash"] == demo_facts.hash
    # prod is `after = "staging"` in the model, and prod.md has its checklist.
    assert checklist.attrs["data-deployguide-next-url"] == "prod.html#checklist-prod"
    assert checklist.attrs["data-deployguide-next-title"] == "Deploy to prod"
    assert checklist.find_all("p", "deployguide-checklist-title")[0].text() == "Staging checklist"

    # explicit id, then slugs of the words without the live values
    assert steps_of(checklist) == [
        "pin",
        "wait-for-the-chart-to-be",
        "check-the-staging-deploy-job-of",
    ]
    first = checklist.find_all("li", "deployguide-step")[0]
    assert first.attrs["id"] == "staging-pin"
    (box,) = first.find_all("input", "deployguide-step-box")
    assert box.attrs["id"] == "staging-pin-box"
    assert box.attrs["aria-labelledby"] == "staging-pin-label"
    body = first.find_all("div", "deployguide-step-body")[0]
    assert body.attrs["id"] == "staging-pin-label"
    assert body.text().strip() == f"Pin {version} in mybinder/Chart.yaml"

    # the value spans: fact name, provenance on hover, keyboard-focusable
    values = {
        v.attrs["data-deployguide-fact"]: v for v in doc.find_all("span", "deployguide-value")
    }
    fact = demo_facts.get("charts.binderhub.commit")
    assert values["charts.binderhub.commit"].text() == fact.value
    assert values["charts.binderhub.commit"].attrs["title"].startswith(fact.provenance.source)
    assert values["charts.binderhub.commit"].attrs["tabindex"] == "0"
    assert values["charts.binderhub.head"].text() == demo_facts.get("charts.binderhub.head").value
    assert (
        values["charts.binderhub.delay.wait"].text()
        == demo_facts.get("charts.binderhub.delay.wait").display()
    )
    assert values["charts.binderhub.delay.wait"].text().endswith(" min")
    assert values["config:config/staging.yaml#binderhub.replicas"].text() == "2"

    # nested content stays inside its step: the code block and the admonition
    second, third = checklist.find_all("li", "deployguide-step")[1:]
    (code,) = second.find_all("div", "deployguide-code")
    assert "highlight-bash" in code.classes
    assert f"--version {version}" in code.text()
    assert third.find_all("div", "admonition")
    # the deploy-code outside the checklist, with caption and emphasized line
    codes = doc.find_all("div", "deployguide-code")
    assert len(codes) == 2
    (emphasized,) = [  # the emphasized line (its pieces keep Pygments' `hll` highlight)
        line
        for line in codes[1].find_all("span", "deployguide-line")
        if line.find_all("span", "hll")
    ]
    assert emphasized.text().strip().startswith(f"--version {version}")
    assert doc.find_all("span", "caption-text")[0].text() == "Install the chart"
    assert "{{" not in doc.text()


def test_myst_colon_fence_and_facts_table(build, demo_facts):
    app = build("deployguide-myst")
    (checklist,) = page(app, "prod").find_all("div", "deployguide-checklist")
    assert checklist.attrs["data-deployguide-env"] == "prod"
    assert "data-deployguide-next-url" not in checklist.attrs  # nothing comes after prod
    assert steps_of(checklist) == ["open-a-pull-request-that-pins", "watch-the-prod-deploy-job"]
    assert demo_facts.get("charts.binderhub.version").value in checklist.text()
    assert "prod-deploy" in checklist.text()

    (table,) = page(app, "facts").find_all("table", "deployguide-facts")
    rows = {
        tr.find_all("td")[0].text(): tr.find_all("td")
        for tr in table.find_all("tr")
        if tr.find_all("td")
    }
    assert sorted(rows) == demo_facts.names("charts.binderhub")
    for name, cells in rows.items():
        fact = demo_facts.get(name)
        folded = cells[1].find_all("div", "deployguide-list")
        if folded:  # a list block: every item, in order, the ones after "and N more" too
            items = [li.text().strip() for li in folded[0].find_all("li")]
            assert items == fact.display().split(", ") or items == fact.value, name
        else:
            assert cells[1].text() == fact.display()
        assert cells[2].text().startswith(fact.provenance.source)


def test_myst_text_output(build, demo_facts):
    app = build("deployguide-myst", "text")
    assert "WARNING" not in warnings_of(app), warnings_of(app)
    text = (Path(app.outdir) / "staging.txt").read_text()
    version = demo_facts.get("charts.binderhub.version").value
    wait = demo_facts.get("charts.binderhub.delay.wait").display()
    assert "Staging checklist" in text
    assert f"[ ] 1. Pin {version} in" in text
    assert f"[ ] 2. Wait {wait} for the chart" in text
    assert "[x] 3. Check the" in text  # "[x]" in the source is kept in the text output
    assert f"--version {version}" in text


def test_myst_tasklist_extension_gives_the_same_steps(build, demo_facts):
    plain = build("deployguide-myst")
    tasks = build(
        "deployguide-myst",
        confoverrides={"myst_enable_extensions": ["colon_fence", "tasklist"]},
        srcdir=None,
    )
    assert "WARNING" not in warnings_of(tasks), warnings_of(tasks)
    a = page(plain, "staging").find_all("div", "deployguide-checklist")[0]
    b = page(tasks, "staging").find_all("div", "deployguide-checklist")[0]
    assert steps_of(a) == steps_of(b)
    assert [s.text() for s in a.find_all("li")] == [s.text() for s in b.find_all("li")]
    assert not b.find_all("input", "task-list-item-checkbox")  # MyST's box was replaced by ours
    state = get_state(tasks.env)
    (record,) = [c for c in state.all_checklists() if c.env == "staging"]
    assert [s.checked for s in record.steps] == [False, False, True]


def test_claims_and_checklists_recorded(build):
    app = build("deployguide-myst")
    state = get_state(app.env)
    claims = [(c.kind, c.target, c.docname, c.lineno, c.env) for c in state.all_claims()]
    assert ("file", "mybinder/Chart.yaml", "staging", 9, None) in claims
    assert ("job", ".github/workflows/cd.yml#staging-deploy", "staging", 15, "staging") in claims
    assert ("job", ".github/workflows/cd.yml#staging-deploy", "staging", 15, None) in claims
    assert ("config", "config/staging.yaml#binderhub.replicas", "staging", 18, None) in claims
    assert ("job", ".github/workflows/cd.yml#prod-deploy", "prod", 5, "prod") in claims
    for claim in state.all_claims():
        assert Path(claim.source).is_file()
    (record,) = [c for c in state.all_checklists() if c.env == "staging"]
    assert record.docname == "staging" and record.lineno == 6
    assert [s.lineno for s in record.steps] == [9, 10, 15]
    assert "charts.binderhub.version" in state.fact_usage["staging"]


# --- RST and LaTeX ----------------------------------------------------------------------------


def test_rst_html_and_references(build, demo_facts):
    app = build("deployguide-rst")
    assert "WARNING" not in warnings_of(app), warnings_of(app)
    doc = page(app, "index")
    checklist, prod = doc.find_all("div", "deployguide-checklist")
    assert checklist.attrs["id"] == "checklist-staging-rst"
    assert checklist.attrs["data-deployguide-next-url"] == "#checklist-prod"
    assert steps_of(prod) == ["pin-for-prod"]
    assert steps_of(checklist) == ["pin", "run-the-staging-deploy-job", "check-replicas"]
    version = demo_facts.get("charts.binderhub.version").value
    assert f"--version {version}" in checklist.find_all("li")[1].text()
    assert doc.find_all(
        "span", "deployguide-value", data_deployguide_fact="charts.binderhub.delay.median"
    )
    (table,) = doc.find_all("table", "deployguide-facts")
    assert "staging-deploy" in table.text()
    model_table = doc.find_all("table", "deployguide-model-reference")[0].text()
    for key in MODEL_KEYS:
        assert key in model_table
    warnings_table = doc.find_all("table", "deployguide-warnings-reference")[0].text()
    for subtype in DeployGuideWarning:
        assert f"deployguide.{subtype.value}" in warnings_table


def test_rst_text_and_latex(build, demo_facts):
    version = demo_facts.get("charts.binderhub.version").value
    text = (Path(build("deployguide-rst", "text").outdir) / "index.txt").read_text()
    assert "Staging (RST)" in text
    assert f"[ ] 1. Pin {version} in" in text
    assert '[ ] 3. Check "2" replicas' in text
    app = build("deployguide-rst", "latex")
    (tex,) = Path(app.outdir).glob("*.tex")
    source = tex.read_text().replace(r"\sphinxhyphen{}", "-")
    assert r"\item[$\square$~1.]" in source
    assert r"\textbf{Staging (RST)}" in source
    assert version in source


# --- bad input --------------------------------------------------------------------------------

EXPECTED_WARNINGS = [
    # (file, line, subtype, words in the message)
    ("unknown-env.md", 3, "coverage", "environment 'staging2', which the model does not have"),
    ("unknown-fact.md", 4, "fact", "charts.binderhub.verison"),
    ("duplicate.md", 7, "checklist", "duplicate step id 'same'"),
    ("empty.md", 3, "checklist", "is empty"),
    ("not-a-list.md", 6, "checklist", "must be exactly one list"),
    ("placeholder.md", 5, "code", "charts.binderhub.nope"),
    ("claims.md", 3, "claim", "unknown environment 'nowhere'"),
    ("claims.md", 3, "claim", "binderhub.nope does not resolve"),
    ("bad-rst.rst", 8, "checklist", "duplicate step id 'x'"),
    ("bad-rst.rst", 10, "fact", "nope.nope"),
]


def test_bad_input_warns_with_file_and_line(build):
    app = build("deployguide-bad")
    warnings = warnings_of(app)
    lines = warnings.splitlines()
    for file, line, subtype, words in EXPECTED_WARNINGS:
        hits = [
            w
            for w in lines
            if re.search(rf"{re.escape(file)}:{line}: (WARNING|ERROR)", w)
            and f"[deployguide.{subtype}]" in w
            and words in w
        ]
        assert hits, f"no {subtype} warning at {file}:{line} with {words!r} in:\n{warnings}"
    # bad options: docutils/MyST report them at the directive (MyST: at the option line)
    assert re.search(
        r'bad-rst\.rst:12: ERROR: Error in "deploy-checklist" directive:\s+unknown option: "bogus"',
        warnings,
    ), warnings
    # (myst-parser 4 names the file as a docname, so Sphinx shows it as bad-option.md.rst)
    assert re.search(r"bad-option\.md(\.rst)?:[34]: (WARNING|ERROR).*not a valid id", warnings), (
        warnings
    )

    # problems stay visible on the page, never silently empty
    unknown = page(app, "unknown-fact")
    assert unknown.find_all("span", "problematic")[0].text().endswith("`charts.binderhub.verison`")
    text = (Path(app.outdir) / "placeholder.html").read_text()
    assert "charts.binderhub.nope" in text


def test_bad_input_fails_under_warningiserror(build):
    app = build("deployguide-bad", warningiserror=True)
    assert app.statuscode == 1


def test_no_config_is_a_located_warning(make_app, tmp_path):
    srcdir = tmp_path / "src"
    shutil.copytree(ROOTS / "test-deployguide-rst", srcdir)
    app = make_app("html", srcdir=srcdir)
    app.build()
    warnings = warnings_of(app)
    assert re.search(
        r"index\.rst:4: WARNING: .*deployguide_config.*\[deployguide\.config\]", warnings
    ), warnings


def test_bad_model_is_a_config_error_naming_the_file(make_app, tmp_path, demo_world):
    srcdir = tmp_path / "src"
    shutil.copytree(ROOTS / "test-deployguide-rst", srcdir)
    model = tmp_path / "deployguide.toml"
    model.write_text('deploy_repo = "."\n[charts.x]\nsource = 3\n')
    with pytest.raises(ConfigError) as info:
        make_app("html", srcdir=srcdir, confoverrides={"deployguide_config": str(model)})
    assert str(model) in str(info.value)
    assert "charts.x" in str(info.value)


# --- parallel, incremental --------------------------------------------------------------------


def _normalized_pages(outdir: Path) -> dict[str, str]:
    """HTML pages with today's times cut out: facts are resolved "now" by each build (the
    demo world's own dates are in 2024, so they stay)."""
    today = datetime.now(timezone.utc).date().isoformat()
    stamp = re.compile(re.escape(today) + r"[T ]\d\d:\d\d(:\d\d)?Z?( UTC)?")
    pages = {}
    for path in sorted(Path(outdir).rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        pages[str(path.relative_to(outdir))] = stamp.sub("NOW", text)
    return pages


def _add_pages(srcdir: Path, count: int) -> None:
    """More pages (Sphinx reads in parallel only above 5 documents), each using facts."""
    names = []
    for i in range(count):
        names.append(f"extra{i}")
        (srcdir / f"extra{i}.md").write_text(
            f"# Extra {i}\n\nVersion {{deploy-value}}`charts.binderhub.version`.\n\n"
            f"```{{deploy-checklist}} staging\n:id: extra{i}\n\n- [ ] Step {i} for "
            "{deploy-value}`charts.binderhub.commit`\n```\n"
        )
    index = srcdir / "index.md"
    index.write_text(
        index.read_text().replace("facts\n```", "facts\n" + "\n".join(names) + "\n```")
    )


def test_parallel_build_gives_the_same_html(build, make_app, demo_world, tmp_path):
    # the same folder name: it is the storage prefix of a site without a project name
    serial_src, parallel_src = tmp_path / "serial" / "site", tmp_path / "parallel" / "site"
    for src in (serial_src, parallel_src):
        shutil.copytree(ROOTS / "test-deployguide-myst", src)
        _add_pages(src, 6)
    serial = build("deployguide-myst", srcdir=serial_src)
    merged: list[str] = []
    parallel = make_app(
        "html",
        srcdir=parallel_src,
        parallel=2,
        confoverrides={"deployguide_config": str(demo_world.model)},
    )
    parallel.connect("env-merge-info", lambda app, env, docnames, other: merged.extend(docnames))
    try:
        parallel.build()
    finally:
        parallel.cleanup()
    assert "WARNING" not in warnings_of(parallel), warnings_of(parallel)
    assert len(merged) == 10  # every page was read by a worker and merged back
    a, b = _normalized_pages(serial.outdir), _normalized_pages(parallel.outdir)
    assert sorted(a) == sorted(b)
    for name in a:
        diff = "\n".join(
            difflib.unified_diff(a[name].splitlines(), b[name].splitlines(), lineterm="", n=1)
        )
        assert not diff, f"{name} differs:\n{diff}"

    # the cross-document state was merged from the readers
    def located_elsewhere(records):  # the two builds read the same pages from two folders
        return [r._replace(source=Path(r.source).name) for r in records]

    for records in ("all_checklists", "all_claims"):
        assert located_elsewhere(getattr(get_state(serial.env), records)()) == located_elsewhere(
            getattr(get_state(parallel.env), records)()
        )
    assert get_state(serial.env).fact_usage == get_state(parallel.env).fact_usage
    assert len(get_state(parallel.env).all_checklists()) == 8


def _commit_chart_change(source: Path) -> None:
    from sphinx_deployguide.demo import git_env

    env = {
        **git_env(),
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "t@demo.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "t@demo.invalid",
        "GIT_AUTHOR_DATE": "2024-04-01T12:00:00Z",
        "GIT_COMMITTER_DATE": "2024-04-01T12:00:00Z",
    }
    values = source / "helm-chart" / "binderhub" / "values.yaml"
    values.write_text(values.read_text() + "\n# a new chart setting\n")
    subprocess.run(
        ["git", "-C", str(source), "commit", "-q", "-a", "-m", "Change the chart"],
        check=True,
        env=env,
    )


def _rebuilder(make_app, demo_copy, tmp_path):
    """A function that builds the MyST test root on ``demo_copy`` again (same folders) and
    returns the app and the documents it read."""
    srcdir = tmp_path / "src"
    shutil.copytree(ROOTS / "test-deployguide-myst", srcdir)
    overrides = {"deployguide_config": str(demo_copy.model)}

    def rebuild():
        read: list[str] = []
        app = make_app("html", srcdir=srcdir, confoverrides=overrides)
        app.connect(
            "env-before-read-docs", lambda app, env, docnames: read.extend(sorted(docnames))
        )
        try:
            app.build()
        finally:
            app.cleanup()
        return app, read

    return rebuild


def _shown_values(app, name: str) -> dict[str, str]:
    """The rendered facts of a page: fact name -> text shown."""
    return {
        v.attrs["data-deployguide-fact"]: v.text()
        for v in page(app, name).find_all("span", "deployguide-value")
    }


def test_incremental_build_after_a_new_chart_commit(build, make_app, demo_copy, tmp_path):
    rebuild = _rebuilder(make_app, demo_copy, tmp_path)
    first, read = rebuild()
    assert read == ["facts", "index", "prod", "staging"]
    old = resolve_facts(load_model(demo_copy.model)).get("charts.binderhub.version").value
    assert old in (Path(first.outdir) / "staging.html").read_text()

    _, read = rebuild()
    assert read == []  # a no-op rebuild re-reads nothing

    _commit_chart_change(demo_copy.source)
    new = resolve_facts(load_model(demo_copy.model)).get("charts.binderhub.version").value
    assert new != old
    app, read = rebuild()
    assert read == ["facts", "prod", "staging"]  # every page that uses facts, not the index
    for name in ("staging", "prod", "facts"):
        html = (Path(app.outdir) / f"{name}.html").read_text()
        assert new in html, name
        assert old not in html, name

    _, read = rebuild()
    assert read == []


def test_incremental_build_after_a_new_pin_and_an_index_change(make_app, demo_copy, tmp_path):
    """The pin file and the index are read again by every build: a no-op rebuild re-reads no
    page, and one after the pin or the index changed re-reads every page that shows facts,
    which then show the new values."""
    rebuild = _rebuilder(make_app, demo_copy, tmp_path)
    app, read = rebuild()
    assert read == ["facts", "index", "prod", "staging"]
    before = _shown_values(app, "facts")
    assert before["charts.binderhub.pinned"] == demo_copy.pinned_version
    assert before["charts.binderhub.state"] == "published"
    _, read = rebuild()
    assert read == []

    pin(demo_copy, demo_copy.current_version)
    app, read = rebuild()
    assert read == ["facts", "prod", "staging"]
    assert _shown_values(app, "facts")["charts.binderhub.pinned"] == demo_copy.current_version
    _, read = rebuild()
    assert read == []

    # the index no longer lists the current version (its publish was rolled back)
    index = yaml.safe_load(demo_copy.index.read_text(encoding="utf-8"))
    entries = index["entries"]["binderhub"]
    index["entries"]["binderhub"] = [
        e for e in entries if e["version"] != demo_copy.current_version
    ]
    assert len(index["entries"]["binderhub"]) == len(entries) - 1
    demo_copy.index.write_text(yaml.safe_dump(index), encoding="utf-8")
    state = resolve_facts(load_model(demo_copy.model)).get("charts.binderhub.state").value
    assert state != "published"
    app, read = rebuild()
    assert read == ["facts", "prod", "staging"]
    assert _shown_values(app, "facts")["charts.binderhub.state"] == state
    _, read = rebuild()
    assert read == []


def test_model_change_rereads_the_pages_that_use_it(build, make_app, demo_copy, tmp_path):
    """The model file is a dependency of every page that renders facts."""
    srcdir = tmp_path / "src"
    shutil.copytree(ROOTS / "test-deployguide-rst", srcdir)
    overrides = {"deployguide_config": str(demo_copy.model)}
    app = make_app("html", srcdir=srcdir, confoverrides=overrides)
    app.build()
    app.cleanup()
    model = demo_copy.model
    model.write_text(
        model.read_text().replace("https://staging.demo.invalid", "https://staging2.demo.invalid")
    )
    read: list[str] = []
    app = make_app("html", srcdir=srcdir, confoverrides=overrides)
    app.connect("env-before-read-docs", lambda app, env, docnames: read.extend(docnames))
    app.build()
    app.cleanup()
    assert read == ["index"]
    assert "https://staging2.demo.invalid" in (Path(app.outdir) / "index.html").read_text()


# --- escaping ---------------------------------------------------------------------------------


def test_values_with_markup_render_as_text(build, demo_copy):
    """A pinned chart version holding <script> (from the deploy repo) is shown, not run."""
    chart = demo_copy.deploy / "mybinder" / "Chart.yaml"
    evil = "1.0.0<script>alert(1)</script>"
    text = chart.read_text()
    assert f'"{demo_copy.pinned_version}"' in text
    chart.write_text(text.replace(f'"{demo_copy.pinned_version}"', f'"{evil}"'))
    app = build("deployguide-escape", model=demo_copy.model)
    html = (Path(app.outdir) / "index.html").read_text()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<i>Staging</i>" not in html
    assert "&lt;i&gt;Staging&lt;/i&gt; &amp; co" in html
    doc = page(app, "index")
    values = doc.find_all(
        "span", "deployguide-value", data_deployguide_fact="charts.binderhub.pinned"
    )
    assert len(values) == 3  # prose, checklist step, facts table
    assert all(v.text() == evil for v in values)
    (config,) = doc.find_all("span", "deployguide-config")
    assert config.text() == evil
    (code,) = doc.find_all("div", "deployguide-code")
    assert evil in code.text()


# --- stale values -----------------------------------------------------------------------------


def test_stale_values_are_marked_and_error_policy_stops(make_app, demo_copy, tmp_path):
    """The index over real HTTP; once it is down, cached values render with a stale mark."""
    model = demo_copy.model
    srcdir = tmp_path / "src"
    shutil.copytree(ROOTS / "test-deployguide-myst", srcdir)
    overrides = {"deployguide_config": str(model)}
    with IndexServer(demo_copy.index.read_bytes()) as server:
        url = server.url
        text = model.read_text()
        model.write_text(
            text.replace('index = "../helm-chart/index.yaml"', f'index = "{url}"').replace(
                "[cache]\n", "[cache]\nttl = 0\n"
            )
        )
        assert url in model.read_text() and "ttl = 0" in model.read_text()
        app = make_app("html", srcdir=srcdir, confoverrides=overrides)
        app.build()
        app.cleanup()
        assert "deployguide.stale" not in warnings_of(app)
        assert "deployguide-stale" not in (Path(app.outdir) / "staging.html").read_text()
    # the server is down now: the index comes from the cache, marked stale
    app = make_app("html", srcdir=srcdir, confoverrides=overrides)
    app.build()
    app.cleanup()
    assert re.search(
        re.escape(str(model)) + r":?: WARNING: facts served from the cache.*\[deployguide\.stale\]",
        warnings_of(app),
    ), warnings_of(app)
    doc = page(app, "staging")
    (wait,) = [
        s
        for s in doc.find_all("span", "deployguide-value")
        if s.attrs["data-deployguide-fact"] == "charts.binderhub.delay.wait"
    ]
    assert "deployguide-stale" in wait.classes
    assert "stale" in wait.attrs["title"]
    marks = doc.find_all("span", "deployguide-stale-mark")
    assert marks and all(m.text() == " (stale)" for m in marks)
    # git-derived values are not stale
    version = doc.find_all(
        "span", "deployguide-value", data_deployguide_fact="charts.binderhub.version"
    )[0]
    assert "deployguide-stale" not in version.classes

    with pytest.raises(ConfigError) as info:
        make_app("html", srcdir=srcdir, confoverrides={**overrides, "deployguide_offline": "error"})
    assert url.split("/index.yaml")[0] in str(info.value)


@pytest.mark.parametrize("buildername", ["man", "texinfo"])
def test_other_builders_get_a_plain_list(build, buildername, demo_facts):
    app = build("deployguide-rst", buildername)
    output = "".join(
        p.read_text()
        for p in Path(app.outdir).rglob("*")
        if p.is_file() and p.suffix in (".1", ".texi")
    )
    assert "Staging (RST)" in output
    assert demo_facts.get("charts.binderhub.version").value.split("-")[0] in output


def test_bad_offline_value_is_a_config_error(make_app, tmp_path, demo_world):
    srcdir = tmp_path / "src"
    shutil.copytree(ROOTS / "test-deployguide-rst", srcdir)
    with pytest.raises(ConfigError, match="deployguide_offline"):
        make_app(
            "html",
            srcdir=srcdir,
            confoverrides={
                "deployguide_config": str(demo_world.model),
                "deployguide_offline": "maybe",
            },
        )


def test_a_new_checklist_relinks_the_previous_environment(make_app, demo_world, tmp_path):
    """Adding prod's checklist re-writes (not re-reads) staging with its next-link."""
    srcdir = tmp_path / "src"
    shutil.copytree(ROOTS / "test-deployguide-myst", srcdir)
    prod = srcdir / "prod.md"
    with_checklist = prod.read_text()
    prod.write_text("# Deploy to prod\n\nNot written yet.\n")
    overrides = {"deployguide_config": str(demo_world.model)}

    def rebuild():
        read: list[str] = []
        app = make_app("html", srcdir=srcdir, confoverrides=overrides)
        app.connect("env-before-read-docs", lambda app, env, docnames: read.extend(docnames))
        try:
            app.build()
        finally:
            app.cleanup()
        (checklist,) = page(app, "staging").find_all("div", "deployguide-checklist")
        return checklist, read

    checklist, _ = rebuild()
    assert "data-deployguide-next-url" not in checklist.attrs
    prod.write_text(with_checklist)
    checklist, read = rebuild()
    assert read == ["prod"]
    assert checklist.attrs["data-deployguide-next-url"] == "prod.html#checklist-prod"
