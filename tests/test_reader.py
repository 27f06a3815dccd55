"""What an operator reads: folded lists with commit links, commands that wrap, the
provenance popup's HTML, the delay chart, plain text output, server-rendered labels.

Built for real with Sphinx (``tests/roots/test-deployguide-reader``) once per builder, on a
copy of the demo world whose pin is old (18 chart commits pending) and whose chart source
has a GitHub ``origin``. The browser side is in ``test_themes.py``.
"""

from __future__ import annotations

import html as html_lib
import re
import shutil
import subprocess
from datetime import datetime, timezone
from io import StringIO
from pathlib import Path

import pytest
import yaml
from sphinx.testing.util import SphinxTestApp

from sphinx_deployguide.config import load_model
from sphinx_deployguide.delay import format_duration
from sphinx_deployguide.delaychart import (
    CHAR_WIDTH,
    FONT,
    DelayPicture,
    choose_axis,
    render_svg,
    summary,
)
from sphinx_deployguide.demo import copy_demo, git_env
from sphinx_deployguide.ext.codewrap import wrap_highlighted, wrap_line
from sphinx_deployguide.ext.status import STATE_WORDS
from sphinx_deployguide.factresolve import resolve_facts
from sphinx_deployguide.facts import FOLD_OVER, SHOWN
from sphinx_deployguide.links import BARE_REF, SourceLinks, github_repo, qualify_refs, source_links
from tests.gitfixtures import git
from tests.htmltree import Element, parse_html

ROOT = Path(__file__).parent / "roots" / "test-deployguide-reader"
OLD_PIN = "1.0.0-0.dev.git.3.hb2ef662"
ORIGIN = "https://github.com/example-org/binderhub.git"
DEPLOY_ORIGIN = "git@github.com:example-org/deploy.git"


@pytest.fixture(scope="module")
def world(demo_world, tmp_path_factory):
    """The demo world pinned at an old version, its chart source cloned from GitHub."""
    world = copy_demo(demo_world, tmp_path_factory.mktemp("reader") / "world")
    chart = world.deploy / "mybinder" / "Chart.yaml"
    text = chart.read_text(encoding="utf-8")
    assert world.pinned_version in text
    chart.write_text(text.replace(world.pinned_version, OLD_PIN), encoding="utf-8")
    for repo, origin in ((world.source, ORIGIN), (world.deploy, DEPLOY_ORIGIN)):
        subprocess.run(
            ["git", "-C", str(repo), "remote", "add", "origin", origin],
            check=True,
            capture_output=True,
            env=git_env(),
        )
    return world


@pytest.fixture(scope="module")
def facts(world):
    return resolve_facts(load_model(world.model))


@pytest.fixture(scope="module")
def built(world, tmp_path_factory):
    """``built(builder)``: the output folder and warnings of one build (made once)."""
    done: dict[str, tuple[Path, str]] = {}

    def _built(builder: str) -> tuple[Path, str]:
        if builder not in done:
            src = tmp_path_factory.mktemp(f"reader-{builder}") / "runbook-site"
            shutil.copytree(ROOT, src)
            warnings = StringIO()
            app = SphinxTestApp(
                builder,
                srcdir=src,
                confoverrides={"deployguide_config": str(world.model)},
                status=StringIO(),
                warning=warnings,
            )
            try:
                app.build()
            finally:
                app.cleanup()
            done[builder] = (Path(app.outdir), warnings.getvalue())
        return done[builder]

    return _built


def html(built, name: str = "index"):
    out, _ = built("html")
    return parse_html((out / f"{name}.html").read_text(encoding="utf-8"))


def commits_of(facts) -> list[tuple[str, str]]:
    return [tuple(e.split(" ", 1)) for e in facts.get("charts.binderhub.pending").value]


# --- links ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/jupyterhub/binderhub.git",
        "https://github.com/jupyterhub/binderhub",
        "https://user:ghp_secret@github.com/jupyterhub/binderhub.git",
        "git@github.com:jupyterhub/binderhub.git",
        "ssh://git@github.com/jupyterhub/binderhub.git",
    ],
)
def test_github_sources_link_to_commit_and_pull_pages(url):
    links = source_links(None, url)
    assert links == SourceLinks("jupyterhub", "binderhub")
    assert links.commit("441f5ea") == "https://github.com/jupyterhub/binderhub/commit/441f5ea"
    assert links.pull(395) == "https://github.com/jupyterhub/binderhub/pull/395"
    assert "secret" not in links.home


def test_other_sources_have_no_pages_and_only_shas_are_linked():
    assert source_links("/srv/binderhub", "https://gitlab.com/a/b.git", None) is None
    assert github_repo("https://github.com.evil.example/a/b") is None
    assert SourceLinks("a", "b").commit('441f5ea"><script>') is None


@pytest.mark.parametrize(
    ("subject", "qualified"),
    [
        ("Merge pull request #395 from minrk/chart", "Merge pull request o/r#395 from minrk/chart"),
        ("Add a network policy (#1234)", "Add a network policy (o/r#1234)"),
        ("Fix #12 and jupyterhub/other#3", "Fix o/r#12 and jupyterhub/other#3"),
        ("Add a network policy", "Add a network policy"),
        ("colour &#35; and issue#4", "colour &#35; and issue#4"),  # no reference GitHub sees
    ],
)
def test_references_of_a_github_source_are_qualified(subject, qualified):
    assert qualify_refs(subject, ("o", "r")) == qualified
    assert qualify_refs(subject, None) == subject


# --- folded lists ----------------------------------------------------------------------------


def test_a_long_pending_list_is_folded_with_every_commit_linked(built, facts):
    commits = commits_of(facts)
    assert len(commits) > FOLD_OVER, "the fixture must pin far enough back"
    lists = html(built).find_all("div", "deployguide-list", data_deployguide_kind="commits")
    assert len(lists) == 2  # the paragraph and the table cell
    for block in lists:
        assert block.attrs["data-deployguide-fact"] == "charts.binderhub.pending"
        assert block.attrs["data-deployguide-kind"] == "commits"
        assert block.attrs["data-deployguide-count"] == str(len(commits))
        shown = block.find_all("ul")[0].find_all("li")
        (more,) = block.find_all("details", "deployguide-more")
        hidden = more.find_all("li")
        assert len(shown) == SHOWN and len(hidden) == len(commits) - SHOWN
        assert more.find_all("summary")[0].text() == f"and {len(hidden)} more"
        assert more.attrs["data-deployguide-more"] == str(len(hidden))
        for li, (sha, subject) in zip([*shown, *hidden], commits, strict=True):
            (link, *pr) = li.find_all("a")
            assert link.attrs["href"] == f"https://github.com/example-org/binderhub/commit/{sha}"
            assert link.text() == sha
            assert subject in li.text()  # exactly as computed: no smart quotes
            numbers = [m.group("n") for m in BARE_REF.finditer(subject)]
            assert [a.text() for a in pr] == [f"#{n}" for n in numbers]
            for a, number in zip(pr, numbers, strict=True):
                assert a.attrs["href"].endswith(f"/example-org/binderhub/pull/{number}")


def test_a_list_block_leaves_its_paragraph_and_keeps_the_text_around_it(built):
    out, _ = built("html")
    page = (out / "index.html").read_text(encoding="utf-8")
    # never a block inside a <p> (the HTML parser would tear the paragraph apart)
    for paragraph in re.findall(r"<p\b.*?</p>", page, flags=re.S):
        assert "<div" not in paragraph and "<details" not in paragraph
    before = page.index("Pending:")
    block = page.index('class="deployguide-value deployguide-list"', before)
    after = page.index("and that is all.", block)
    assert before < block < after
    # nested in emphasis: the block follows the paragraph, the sentence stays whole
    sentence = html(built).find_all("em")[-1].text()
    assert sentence.startswith("one by") and sentence.endswith("one")


def test_a_list_in_a_title_is_shortened_inline(built, facts):
    title = html(built, "title").find_all("h1")[0]
    shas = [sha for sha, _ in commits_of(facts)]
    assert shas[0] in title.text() and shas[-1] not in title.text()
    assert f"and {len(shas) - SHOWN} more" in title.text()
    assert not title.find_all("details")


def test_text_output_lists_every_commit(built, facts):
    out, _ = built("text")
    text = (out / "index.txt").read_text(encoding="utf-8")
    for sha, subject in commits_of(facts):
        assert f"{sha} {subject}" in text
    assert "more" not in text.split("Pending:")[1].split("that is all")[0]


# --- commands that wrap --------------------------------------------------------------------


def test_a_code_block_with_live_values_is_wrapped_by_line_and_word(built, facts):
    version = facts.get("charts.binderhub.version").value
    page = html(built)
    live = page.find_all("div", "deployguide-code-live")
    assert len(live) == 1
    (pre,) = live[0].find_all("pre")
    lines = pre.find_all("span", "deployguide-line")
    assert [line.text() for line in lines] == [
        "$ helm upgrade --install binderhub binderhub-charts/binderhub --devel --version "
        f"{version}\n",
        "$ helm list\n",
    ]
    words = [w.text() for w in lines[0].find_all("span", "deployguide-word")]
    assert words == [
        "$",
        "helm",
        "upgrade",
        "--install",
        "binderhub",
        "binderhub-charts/binderhub",
        "--devel",
        "--version",
        version,
    ]
    (value,) = pre.find_all("span", "deployguide-code-value")
    assert value.text() == version
    assert value.attrs["data-deployguide-fact"] == "charts.binderhub.version"
    assert value.attrs["data-deployguide-kind"] == "version"
    # Pygments' colours are kept: the prompt is still a prompt
    assert lines[0].find_all("span", "gp")[0].text() == "$"
    # a code block without a live value is left as it was
    plain = [d for d in page.find_all("div", "highlight-console") if d not in live]
    assert len(plain) == 1 and not plain[0].find_all("span", "deployguide-line")


def test_wrapping_keeps_the_text_the_colours_and_the_escaping():
    line = (
        '<span class="hll"><span class="gp">$ </span><span class="nb">echo</span>'
        '<span class="w"> </span><span class="s1">&#39;&lt;b&gt; &amp; 1.0-abc&#39;</span>'
        "</span>"
    )
    out = wrap_line(line, [("1.0-abc", "charts.x.version", "version")])
    assert parse_html(out).text() == parse_html(line).text() == "$ echo '<b> & 1.0-abc'"
    assert "<b>" not in out and "&lt;b&gt;" in out and "&amp;" in out
    assert out.count('<span class="deployguide-word">') == 5  # $, echo, '<b>, &, 1.0-abc'
    assert '<span class="hll"><span class="s1">' in out  # each piece keeps its tags
    value = parse_html(out).find_all("span", "deployguide-code-value")[0]
    assert value.text() == "1.0-abc" and value.attrs["data-deployguide-fact"] == "charts.x.version"
    block = '<div class="highlight"><pre><span></span>' + line + "\n</pre></div>"
    wrapped = wrap_highlighted(block, [])
    assert wrapped.count('class="deployguide-line"') == 1
    assert parse_html(wrapped).text() == parse_html(block).text()


# --- values and their popups ---------------------------------------------------------------


def test_values_name_their_kind_and_their_popup(built, facts):
    page = html(built)
    (body,) = page.find_all("div", "body")  # not the sidebar's copies of titles
    values = body.find_all("span", "deployguide-value")
    kinds = {v.attrs["data-deployguide-fact"]: v.attrs["data-deployguide-kind"] for v in values}
    assert kinds["charts.binderhub.version"] == "version"
    assert kinds["charts.binderhub.commit"] == "sha"
    assert kinds["charts.binderhub.delay.wait"] == "duration"
    ids = []
    for value in values + body.find_all("div", "deployguide-list"):
        tip_id = value.attrs["aria-describedby"]
        (tip,) = page.find_all(id=tip_id)
        assert tip.attrs["role"] == "tooltip" and "hidden" in tip.attrs
        fact = facts.get(value.attrs["data-deployguide-fact"])
        where = f"{fact.provenance.source} @ {fact.provenance.ref} ({fact.provenance.status}, "
        assert tip.children[0].startswith(where)  # the time is the build's own
        assert value.attrs["title"] == tip.children[0]  # for pages without JavaScript
        assert value.attrs["tabindex"] == "0"
        ids.append(tip_id)
    assert len(ids) == len(set(ids))


def test_checkbox_labels_are_in_the_html(built):
    (step,) = html(built).find_all("li", "deployguide-step")
    (label,) = step.find_all("label", "deployguide-step-check")
    (box,) = label.find_all("input")
    assert label.attrs["for"] == box.attrs["id"]
    assert (
        box.attrs["aria-labelledby"] == step.find_all("div", "deployguide-step-body")[0].attrs["id"]
    )


def test_storage_prefix_falls_back_to_the_docs_folder(built):
    out, _ = built("html")
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<meta name="deployguide-storage-prefix" content="runbook-site">' in page


# --- plain text ----------------------------------------------------------------------------


def test_text_builder_renders_emphasis_as_text(built):
    out, _ = built("text")
    text = (out / "index.txt").read_text(encoding="utf-8")
    assert "It does not name the branch head." in text
    assert "**not**" not in text and "*branch*" not in text


# --- the delay chart -----------------------------------------------------------------------


def picture_of(facts) -> DelayPicture:
    get = facts.get
    return DelayPicture(
        "binderhub",
        tuple(get("charts.binderhub.delay.samples").value),
        get("charts.binderhub.delay.median").value,
        get("charts.binderhub.delay.p90").value,
        get("charts.binderhub.delay.wait").value,
    )


def test_delay_chart_html_is_an_accessible_svg_of_the_facts(built, facts):
    picture = picture_of(facts)
    (figure,) = html(built).find_all("figure", "deployguide-delay-chart")
    assert figure.attrs["data-deployguide-chart"] == "binderhub"
    assert figure.attrs["data-deployguide-fact"] == "charts.binderhub.delay.samples"
    (svg,) = figure.find_all("svg")
    assert svg.attrs["role"] == "img"
    title, desc = svg.find_all("title")[0], svg.find_all("desc")[0]
    assert svg.attrs["aria-labelledby"] == f"{title.attrs['id']} {desc.attrs['id']}"
    for number in (picture.median, picture.p90, picture.wait):
        assert format_duration(number) in title.text()
    assert f"{picture.within_wait} of {picture.count} versions" in desc.text()
    marks = {
        g.attrs["data-deployguide-mark"]: g.text()
        for g in svg.find_all("g")
        if "data-deployguide-mark" in g.attrs
    }
    assert marks == {
        "median": f"median {format_duration(picture.median)}",
        "p90": f"90% within {format_duration(picture.p90)}",
        "wait": f"advised wait {format_duration(picture.wait)}",
    }
    assert summary(picture) in figure.find_all("figcaption")[0].text()


@pytest.mark.parametrize(("builder", "name"), [("text", "index.txt"), ("man", None)])
def test_delay_chart_is_one_line_elsewhere(built, facts, builder, name):
    out, _ = built(builder)
    path = out / name if name else next(out.glob("*.1"))
    text = path.read_text(encoding="utf-8")
    line = summary(picture_of(facts))
    flat = re.sub(r"\s+", " ", text.replace("\\-", "-").replace("\\(aq", "'"))
    assert line in flat
    assert "<svg" not in text


def test_delay_chart_in_latex(built, facts):
    out, _ = built("latex")
    tex = next(out.glob("*.tex")).read_text(encoding="utf-8")
    flat = re.sub(r"\s+", " ", tex)
    picture = picture_of(facts)
    assert f"median {format_duration(picture.median)}" in flat
    assert "svg" not in tex.lower().split("\\begin{document}")[1]


def test_delay_chart_of_an_unknown_chart_warns_and_draws_nothing(built):
    out, warnings = built("html")
    assert re.search(r"title\.md:\d+: WARNING: deploy-delay-chart 'nosuchchart'", warnings)
    assert "[deployguide.fact]" in warnings
    page = (out / "title.html").read_text(encoding="utf-8")
    assert "<svg" not in page
    assert "<p class=\"deployguide-problem\">deploy-delay-chart 'nosuchchart': unknown fact" in page


def test_delay_axis_puts_outliers_in_one_bar():
    minutes = [4, 5, 5, 6, 7, 9, 12, 600]  # one re-published entry, ten hours late
    picture = DelayPicture("x", tuple(m * 60.0 for m in minutes), 390, 660, 720)
    axis = choose_axis(picture)
    assert axis.cap == 24 and axis.step == 1  # twice the advised wait, not ten hours
    svg = render_svg(picture, "t")
    assert "&gt;24" in svg and "the slowest took 10 h" in svg
    # every sample is a bar's worth: the bar heights add up to the count
    heights = [el for el in re.findall(r"<rect [^>]*><title>(\d+)</title>", svg)]
    assert sum(int(h) for h in heights) == len(minutes)


def _marks(svg: str) -> list[dict]:
    """Each marker of a delay SVG: its line and its label, with the label's box estimated
    from its characters (the browser test measures the real glyphs)."""
    found = []
    pattern = (
        r'<line x1="([\d.]+)" y1="([\d.]+)" x2="[\d.]+" y2="([\d.]+)"[^>]*/>'
        r'<text x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)">([^<]*)</text>'
    )
    for px, y1, y2, tx, ty, anchor, text in re.findall(pattern, svg):
        width = len(html_lib.unescape(text)) * CHAR_WIDTH
        left = {"start": 0.0, "middle": width / 2, "end": width}[anchor]
        found.append(
            {
                "line": (float(px), float(y1), float(y2)),
                "box": (
                    float(tx) - left,
                    float(ty) - FONT,
                    float(tx) - left + width,
                    float(ty) + 3,
                ),
                "text": text,
            }
        )
    return found


@pytest.mark.parametrize(
    ("median", "p90", "wait", "samples"),
    [
        (7.1, 8.1, 9, (4, 5, 6, 7, 7.2, 8, 8.1, 9, 12)),  # the labels that were struck through
        (7.1, 22, 23, (4.4, 7.9, 12, 5.7, 4, 9.6, 6, 18, 7.1, 4.8, 25, 6.9, 41, 4.2, 8.9)),
        (1, 1, 1, (1, 1, 1)),  # three lines in one place
        (2, 3, 4, (1, 2, 3, 4, 600)),  # near the left edge, an outlier on the right
        (50, 55, 58, (48, 50, 52, 55, 58)),  # near the right edge
        (3, 40, 45, (2, 3, 3, 40, 44)),  # far apart
    ],
)
def test_no_delay_marker_line_strikes_through_a_label(median, p90, wait, samples):
    picture = DelayPicture("x", tuple(m * 60.0 for m in samples), median * 60, p90 * 60, wait * 60)
    marks = _marks(render_svg(picture, "t"))
    assert len(marks) == 3
    for mark in marks:
        left, top, right, bottom = mark["box"]
        assert 0 <= left and right <= 360, f"{mark['text']!r} leaves the picture"
        for other in marks:
            if other is mark:
                continue
            px, y1, y2 = other["line"]
            crosses = y1 <= bottom and y2 >= top and left <= px <= right
            assert not crosses, f"the line at x={px} strikes through {mark['text']!r}"
            o_left, o_top, o_right, o_bottom = other["box"]
            apart = o_bottom <= top or o_top >= bottom or o_right <= left or o_left >= right
            assert apart, f"{mark['text']!r} overlaps {other['text']!r}"


def test_delay_svg_escapes_the_chart_name():
    picture = DelayPicture('a<b>"', (60.0, 120.0), 90, 114, 120)
    svg = render_svg(picture, "t")
    assert "<b>" not in svg and "a&lt;b&gt;&quot;" in svg


# --- where a change is ---------------------------------------------------------------------


STAGES = ["merged", "published", "pinned", "staging", "prod"]


def status_rows(built) -> dict[str, dict[str, Element]]:
    """Each ``deploy-status`` row of the page: chart -> stage name -> its ``li``."""
    rows = {}
    for row in html(built).find_all("ol", "deployguide-status"):
        stages = row.find_all("li", "deployguide-stage")
        rows[row.attrs["data-deployguide-status"]] = {
            li.attrs["data-deployguide-stage"]: li for li in stages
        }
    return rows


def fact_text(li: Element, name: str) -> str:
    (span,) = li.find_all("span", "deployguide-value", data_deployguide_fact=name)
    return span.text()


def landing_age(repo: Path, commit: str) -> float:
    """Seconds since ``commit`` landed on main: the committer time of the oldest first-parent
    commit of main that contains it (plain git, not the verdict's code)."""
    first_parent = git(repo, "rev-list", "--first-parent", "main").splitlines()
    full = git(repo, "rev-parse", "--verify", f"{commit}^{{commit}}")
    after = set(git(repo, "rev-list", "--ancestry-path", f"{full}..main").splitlines())
    landing = full if full in first_parent else [c for c in first_parent if c in after][-1]
    landed = int(git(repo, "show", "-s", "--format=%ct", landing))
    return datetime.now(timezone.utc).timestamp() - landed


def listed(world, chart: str) -> set[str]:
    """The versions of ``chart`` the demo index lists (read with yaml, not the project)."""
    entries = yaml.safe_load(world.index.read_bytes())["entries"]
    return {entry["version"] for entry in entries[chart]}


def test_deploy_status_shows_each_stage_with_its_value_state_and_links(built, facts, world):
    rows = status_rows(built)
    assert list(rows) == ["binderhub", "binderhub-service"]
    for stages in rows.values():
        assert list(stages) == STAGES
        for li in stages.values():  # the state in words, not colour alone
            state = li.attrs["data-deployguide-state"]
            (word,) = li.find_all("span", "deployguide-stage-state")
            assert word.text() == STATE_WORDS.get(state, state)
            assert f"deployguide-state-{state}" in li.classes
    by = rows["binderhub"]
    commit = facts.get("charts.binderhub.commit").value
    merged = by["merged"]
    assert fact_text(merged, "charts.binderhub.commit") == commit
    assert (
        merged.find_all("a")[-1].attrs["href"].endswith(f"/example-org/binderhub/commit/{commit}")
    )
    pinned = by["pinned"]
    behind = len(facts.get("charts.binderhub.pending").value)
    assert pinned.attrs["data-deployguide-state"] == "behind"
    assert f"{behind} chart commits behind" in pinned.text()
    assert fact_text(pinned, "charts.binderhub.pinned") == OLD_PIN
    assert pinned.find_all("a")[-1].attrs["href"] == (
        "https://github.com/example-org/deploy/blob/HEAD/mybinder/Chart.yaml"
    )
    model = load_model(world.model)
    for env in ("staging", "prod"):
        li = by[env]
        assert model.environments[env].url in li.text() and model.environments[env].job in li.text()
        workflow = Path(model.environments[env].workflow).name
        assert li.find_all("a")[-1].attrs["href"] == (
            f"https://github.com/example-org/deploy/actions/workflows/{workflow}"
        )


@pytest.mark.parametrize(
    ("chart", "version", "state"),
    [
        ("binderhub", "current_version", "published"),  # its publish job ran
        ("binderhub-service", "service_current_version", "overdue"),  # its job "failed"
    ],
)
def test_deploy_status_says_the_verdict_and_the_age(built, facts, world, chart, version, state):
    stages = status_rows(built)[chart]
    version = getattr(world, version)
    # the state, from the index itself: listed, or not listed long after landing
    commit = facts.get(f"charts.{chart}.commit").value
    age = landing_age(world.source, commit)
    assert (version in listed(world, chart)) == (state == "published")
    assert state == "published" or age > facts.get(f"charts.{chart}.delay.wait").value
    published = stages["published"]
    assert published.attrs["data-deployguide-state"] == state
    assert f"deployguide-state-{state}" in published.classes
    (word,) = published.find_all("span", "deployguide-stage-state")
    assert fact_text(word, f"charts.{chart}.state") == state  # the fact, with its popup
    assert fact_text(published, f"charts.{chart}.version") == version
    (reason,) = published.find_all("span", "deployguide-stage-reason")
    assert reason.text() == facts.get(f"charts.{chart}.verdict").value
    assert version in reason.text()
    # inside the sentence, the version (and the durations) are tokens that never break
    tokens = {
        (span.text(), span.attrs["data-deployguide-kind"])
        for span in reason.find_all("span", "deployguide-token")
    }
    assert (version, "version") in tokens
    if state == "overdue":
        assert "the publish job may have failed" in reason.text()
        wait = facts.get(f"charts.{chart}.delay.wait").display()
        assert (wait, "duration") in tokens and (commit, "sha") in tokens
    # the merged stage: how long ago the chart commit landed, as git says (the build ran a
    # moment ago: the same whole days, unless a day ended in between)
    shown = fact_text(stages["merged"], f"charts.{chart}.age")
    assert shown in {format_duration(age), format_duration(age - 600)}
    assert re.fullmatch(r"\d+ days", shown)
    # the pin: published (the demo pins published versions), its own verdict in words
    pinned_version = OLD_PIN if chart == "binderhub" else world.service_pinned_version
    assert pinned_version in listed(world, chart)
    assert fact_text(stages["pinned"], f"charts.{chart}.pinned_state") == "published"
    assert f"{pinned_version} (published)" in stages["pinned"].text()


def test_deploy_status_is_one_paragraph_per_stage_in_text(built, facts, world):
    out, _ = built("text")
    text = (out / "index.txt").read_text(encoding="utf-8")
    # the text writer wraps paragraphs at 70 columns (breaking after hyphens): unwrap them
    paragraphs = [re.sub(r"(?<=-)\n", "", para).replace("\n", " ") for para in text.split("\n\n")]
    stages = [p for p in paragraphs if p.startswith(("Merged ", "Published ", "Pinned "))]
    commit = facts.get("charts.binderhub.commit").value
    age = facts.get("charts.binderhub.age").display()
    version, service = world.current_version, world.service_current_version
    verdict = facts.get("charts.binderhub-service.verdict").value
    assert stages[:3] == [
        f"Merged landed: {commit} (the chart commit), {age} ago (commit)",
        f"Published published: {version}. {facts.get('charts.binderhub.verdict').value}",
        f"Pinned behind: {OLD_PIN} (published), "
        f"{len(facts.get('charts.binderhub.pending').value)} chart commits behind (pin file)",
    ]
    assert f"Published overdue: {service}. {verdict}" in stages
    staging = r"Staging deploys the pin: https://\S+, by the staging-deploy job \(workflow\)"
    assert any(re.fullmatch(staging, p) for p in paragraphs)


def test_deploy_status_is_one_line_per_stage_in_man_and_latex(built, world):
    out, _ = built("man")
    man = next(out.glob("*.1")).read_text(encoding="utf-8").replace("\\-", "-")
    lines = man.splitlines()
    overdue = next(i for i, line in enumerate(lines) if line.startswith(r"\fBPublished\fP overdue"))
    assert world.service_current_version in lines[overdue]
    stages = [
        i for i, line in enumerate(lines) if re.match(r"\\fB(Merged|Published|Pinned)\\fP", line)
    ]
    assert len(stages) == 6  # two rows of three chart stages
    assert all(lines[i - 1] == ".sp" for i in stages), "a stage runs into the line before it"
    out, _ = built("latex")
    tex = next(out.glob("*.tex")).read_text(encoding="utf-8").replace(r"\sphinxhyphen{}", "-")
    assert re.search(
        r"\\sphinxstylestrong\{Published\} \\DUrole\{deployguide-stage-state\}\{overdue\}: "
        + re.escape(world.service_current_version),
        tex,
    )
