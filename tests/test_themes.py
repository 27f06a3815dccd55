"""How the runbook reads at 3 a.m.: in each theme it will be used with, on a desktop and on
a phone, with values of real size. In Debian's Chromium (Playwright).

The docs site (``docs/``) is built once per theme for the session: alabaster, furo and
jupyterhub-sphinx-theme (pydata-sphinx-theme in JupyterHub's colours, the theme of
mybinder.org-deploy's docs). Its model points at the real binderhub history
(``../shared/data/binderhub.bundle``, cloned with a GitHub ``origin``) and the real
2024-10 chart index, with the newest binderhub version of that index pinned: 270 chart
commits pending, a 30-character version, and the real chart repository in the helm
commands. Without the real data these tests skip, saying so.

Screenshots of the staging page, its ``deploy-status`` row first (each theme at 1280 and
390 px, light; furo and pydata also dark) go to ``docs/_build/screenshots/``, an ignored
build folder.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sphinx_deployguide.config import load_model
from sphinx_deployguide.demo import DemoWorld, copy_demo, git_env
from sphinx_deployguide.factresolve import resolve_facts
from sphinx_deployguide.facts import SHOWN, FactSet
from sphinx_deployguide.indexcache import load_index
from tests.browsing import SCREENSHOTS, Build, ConsoleLog, Site, copy_docs, finish_all

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BUNDLE = DATA / "binderhub.bundle"
INDEX = DATA / "jupyterhub-helm-index.yaml"
ORIGIN = "https://github.com/jupyterhub/binderhub.git"
REPOSITORY = "https://jupyterhub.github.io/helm-chart/"
THEMES = ("alabaster", "furo", "jupyterhub_sphinx_theme")
DARK_THEMES = ("furo", "jupyterhub_sphinx_theme")  # alabaster has no dark mode
WIDTHS = (1280, 390)
STAGING, DELAY = "runbook/staging.html", "runbook/publish-delay.html"
#: The kinds of value that are one token: never broken across lines.
TOKENS = ", ".join(
    f'{element}[data-deployguide-kind="{kind}"]'
    for element in (".deployguide-value", ".deployguide-token")  # alone, or inside a sentence
    for kind in ("version", "sha", "duration")
)

#: How many lines an element's text is laid out in (the distinct tops of its text boxes).
LINES = """el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
}"""

#: The delay chart's marker labels that another marker's line crosses, or that leave the
#: picture (in the SVG's own units, from the rendered text's box).
STRUCK_LABELS = """s => {
    const marks = [...s.querySelectorAll("[data-deployguide-mark]")].map(
        g => ({line: g.querySelector("line"), text: g.querySelector("text")}));
    const struck = [];
    for (const m of marks) {
        const b = m.text.getBBox();
        if (b.x < 0 || b.x + b.width > s.viewBox.baseVal.width) struck.push(m.text.textContent);
        for (const o of marks) {
            if (o === m) continue;
            const x = o.line.x1.baseVal.value;
            const [y1, y2] = [o.line.y1.baseVal.value, o.line.y2.baseVal.value];
            if (y1 <= b.y + b.height && y2 >= b.y && x >= b.x && x <= b.x + b.width)
                struck.push(`${m.text.textContent} (by the ${o.text.textContent} line)`);
        }
    }
    return struck;
}"""

browser_test = pytest.mark.browser


# --- the sites -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def real_data() -> None:
    if not BUNDLE.is_file() or not INDEX.is_file():
        pytest.skip(f"the real binderhub data is absent ({BUNDLE}, {INDEX})")


def real_world(demo_world: DemoWorld, dest: Path, clone: Path, pinned: str) -> DemoWorld:
    """A demo deploy repo whose model points at the real history and index."""
    world = copy_demo(demo_world, dest)
    model = world.model.read_text(encoding="utf-8")
    for old, new in (  # binderhub only: binderhub-service stays the demo's (it is not real)
        ('source = "../binderhub"', f'source = "{clone}"'),
        ('index = "../helm-chart/index.yaml"', f'index = "{INDEX}"'),
    ):
        assert old in model, "the demo model changed shape"
        model = model.replace(old, new, 1)
    world.model.write_text(model, encoding="utf-8")
    chart = world.deploy / "mybinder" / "Chart.yaml"
    text = chart.read_text(encoding="utf-8")
    assert world.pinned_version in text and "https://demo.invalid/helm-chart" in text
    text = text.replace(world.pinned_version, pinned)
    chart.write_text(text.replace("https://demo.invalid/helm-chart", REPOSITORY), encoding="utf-8")
    return world


@dataclass
class ThemedSites:
    sites: dict[str, Site]
    facts: FactSet  # what the pages must show, resolved without Sphinx


@pytest.fixture(scope="session")
def themed(real_data, demo_world, web_root, tmp_path_factory) -> ThemedSites:
    """The docs built once per theme, in parallel, each on its own copy of the real world
    (a build writes its cache into its world); one clone of the real history, whose
    ``origin`` is GitHub as in a checkout of binderhub."""
    tmp = tmp_path_factory.mktemp("themes")
    clone = tmp / "binderhub"
    for args in (
        ["clone", "--quiet", "--", str(BUNDLE), str(clone)],
        ["-C", str(clone), "remote", "set-url", "origin", ORIGIN],
    ):
        subprocess.run(["git", *args], check=True, capture_output=True, env=git_env())
    index = load_index(str(INDEX), base_dir=tmp, cache_dir=tmp / "cache", ttl=0, offline="error")
    newest = max(index.entries["binderhub"], key=lambda entry: entry.created)
    builds = []
    for theme in THEMES:
        src = copy_docs(tmp / theme / "docs")
        copy_demo(demo_world, src / "_build" / "demo-world")  # what docs/conf.py looks for
        world = real_world(demo_world, tmp / theme / "world", clone, newest.version)
        # html_favicon: jupyterhub-sphinx-theme would load one from github.com
        extra = ("-D", f"html_theme={theme}", "-D", "html_favicon=")
        builds.append(Build(web_root, f"theme-{theme}", src, world, extra))
    sites = dict(zip(THEMES, finish_all(builds), strict=True))
    facts = resolve_facts(load_model(sites[THEMES[0]].world.model))
    assert len(facts.get("charts.binderhub.pending").value) >= 270, "not real-size values"
    return ThemedSites(sites, facts)


# --- pages ---------------------------------------------------------------------------------------


@dataclass
class View:
    """One theme at one width (and colour scheme): opens pages, watching the console.

    ``shown(name)`` keeps one loaded page per name for the checks that only look (each
    leaves it as it found it, scrolled to the top); ``open(name)`` loads a fresh one.
    """

    site: Site
    theme: str
    width: int
    context: Any
    console: ConsoleLog
    loaded: dict[str, Any] = field(default_factory=dict)

    def open(self, name: str) -> Any:
        page = self.context.new_page()
        self.console.watch(page)
        page.goto(self.site.url(name))
        page.wait_for_load_state("load")
        return page

    def shown(self, name: str) -> Any:
        if name not in self.loaded:
            self.loaded[name] = self.open(name)
        page = self.loaded[name]
        page.evaluate("window.scrollTo(0, 0)")
        return page


def make_view(chromium, web_root, themed, theme, width, scheme="light") -> Iterator[View]:
    context = chromium.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    context.set_default_timeout(10_000)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web_root[1])
    try:
        yield View(themed.sites[theme], theme, width, context, ConsoleLog())
    finally:
        context.close()


@pytest.fixture(
    scope="module",
    params=[(t, w) for t in THEMES for w in WIDTHS],
    ids=lambda tw: f"{tw[0]}-{tw[1]}px",
)
def view(request, chromium, web_root, themed) -> Iterator[View]:
    yield from make_view(chromium, web_root, themed, *request.param)


def visible_rects(page: Any, selector: str) -> list[dict[str, Any]]:
    """Per rendered element: how many boxes it was laid out in, and where."""
    return page.eval_on_selector_all(
        selector,
        """els => els.filter(e => e.getClientRects().length).map(e => {
            const r = e.getBoundingClientRect();
            let clipped = false;  // cut off by a box that scrolls or hides its overflow
            for (let a = e.parentElement; a; a = a.parentElement) {
                if (getComputedStyle(a).overflowX === "visible") continue;
                const left = a.getBoundingClientRect().left + a.clientLeft;
                clipped ||= r.left < left - 0.5 || r.right > left + a.clientWidth + 0.5;
            }
            return {text: e.textContent, rects: e.getClientRects().length, clipped,
                    left: r.left, right: r.right, top: r.top, bottom: r.bottom};
        })""",
    )


# --- the checks ----------------------------------------------------------------------------------


@browser_test
def test_versions_shas_and_durations_never_break(view, themed):
    page = view.shown(STAGING)
    tokens = visible_rects(page, TOKENS)
    version = themed.facts.get("charts.binderhub.version").value
    assert sum(t["text"] == version for t in tokens) >= 2, "the page shows the version"
    # the verdict is a sentence: the version and the durations in it are tokens too
    verdict = page.locator('.deployguide-value[data-deployguide-fact="charts.binderhub.verdict"]')
    inside = verdict.first.locator(".deployguide-token").all_text_contents()
    assert version in inside and len(inside) >= 3, inside
    for token in tokens:
        assert token["rects"] == 1, f"{token['text']!r} breaks across lines"
        assert token["right"] <= view.width + 0.5, f"{token['text']!r} runs off the screen"
        assert not token["clipped"], f"{token['text']!r} needs a sideways scroll"
    # the prose around them still wraps: the paragraph naming the chart commit spans lines
    prose = page.locator(".deployguide-step-body p", has_text="It names chart commit").first
    assert prose.evaluate(LINES) >= 2


@browser_test
def test_commands_with_live_values_wrap_instead_of_scrolling(view, themed):
    page = view.shown(STAGING)
    version = themed.facts.get("charts.binderhub.version").value
    blocks = page.locator("div.deployguide-code-live pre")
    shown = [blocks.nth(i) for i in range(blocks.count()) if blocks.nth(i).is_visible()]
    assert any(version in pre.inner_text() for pre in shown)
    for pre in shown:
        width = pre.evaluate("p => [p.scrollWidth, p.clientWidth]")
        assert width[0] <= width[1], f"a command scrolls sideways ({width[0]} > {width[1]} px)"
    # the version is shown whole inside the block, not cut off at its edge
    for value in page.locator("pre .deployguide-code-value[data-deployguide-kind=version]").all():
        if value.is_visible():
            inside = value.evaluate(
                "v => { const p = v.closest('pre').getBoundingClientRect();"
                " return [...v.getClientRects()].every(r => r.left >= p.left && r.right <= p.right); }"
            )
            assert inside, "the version runs past the edge of its code block"
    # the long `helm repo add ... https://jupyterhub.github.io/helm-chart/` line: at 390 px
    # it wraps, and its continuation is marked (a bar in the gutter of its second row)
    line = page.locator("div.deployguide-code-live .deployguide-line", has_text=REPOSITORY).first
    if view.width < 500:
        assert line.evaluate(LINES) >= 2
        gutter = line.evaluate("l => getComputedStyle(l).backgroundImage")
        assert gutter.startswith("linear-gradient")


@browser_test
def test_copy_button_copies_the_wrapped_command_exactly(view, themed):
    page = view.shown(STAGING)
    version = themed.facts.get("charts.binderhub.version").value
    block = page.locator("div.deployguide-code-live", has_text="helm search").first
    block.scroll_into_view_if_needed()
    block.hover()
    block.locator("button.copybtn").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    page.mouse.move(0, 0)
    assert copied.rstrip("\n").split("\n") == [
        f"helm repo add binderhub-charts {REPOSITORY}",
        "helm repo update",
        f"helm search repo binderhub-charts/binderhub --devel --version {version}",
    ]


@browser_test
def test_popup_opens_on_focus_inside_the_viewport_and_closes_on_escape(view):
    page = view.shown(STAGING)
    values = page.locator("span.deployguide-value[aria-describedby]")
    boxes = values.evaluate_all("els => els.map(e => e.getBoundingClientRect().right)")
    rightmost = max(range(len(boxes)), key=boxes.__getitem__)
    for index in sorted({0, rightmost}):
        value = values.nth(index)
        tip = page.locator("#" + value.get_attribute("aria-describedby"))
        value.focus()
        assert tip.is_visible() and tip.get_attribute("role") == "tooltip"
        box = tip.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= view.width
        assert box["y"] >= 0 and box["y"] + box["height"] <= 900
        page.keyboard.press("Escape")
        assert not tip.is_visible()
        page.evaluate("document.activeElement.blur()")
    # at the bottom edge of the window it opens above the value (the last one on the page,
    # far enough down to be scrolled to that edge)
    value = values.last
    value.evaluate("v => v.scrollIntoView({block: 'end'})")
    value.evaluate("v => v.focus({preventScroll: true})")
    tip = page.locator("#" + value.get_attribute("aria-describedby"))
    assert tip.get_attribute("data-deployguide-placement") == "top"
    assert tip.bounding_box()["y"] + tip.bounding_box()["height"] <= value.bounding_box()["y"]


@browser_test
def test_the_pending_list_is_folded(view, themed):
    page = view.shown(STAGING)
    pending = themed.facts.get("charts.binderhub.pending").value
    block = page.locator(
        'div.deployguide-list[data-deployguide-fact="charts.binderhub.pending"]'
    ).first
    assert block.get_attribute("data-deployguide-count") == str(len(pending))
    more = block.locator("details.deployguide-more")
    assert more.locator("summary").inner_text() == f"and {len(pending) - SHOWN} more"
    assert block.locator("li:visible").count() == SHOWN
    assert block.bounding_box()["height"] < 400  # it was 4,000 px as one paragraph
    links = block.locator("a[href*='/commit/']")
    first_sha = pending[0].split()[0]
    assert (
        links.first.get_attribute("href")
        == f"https://github.com/jupyterhub/binderhub/commit/{first_sha}"
    )
    more.locator("summary").click()
    assert block.locator("li:visible").count() == len(pending)
    more.locator("summary").click()  # folded again, for the next check


#: Per stage of a ``deploy-status`` row: its state, the word it shows, how it is laid out
#: and the colour of its edge.
STAGES = """row => [...row.querySelectorAll(":scope > li")].map(li => {
    const r = li.getBoundingClientRect(), style = getComputedStyle(li);
    return {stage: li.dataset.deployguideStage, state: li.dataset.deployguideState,
            word: li.querySelector(".deployguide-stage-state").innerText,
            top: Math.round(r.top), right: r.right, wide: li.scrollWidth <= li.clientWidth,
            edge: style.borderLeftColor, edgeWidth: parseFloat(style.borderLeftWidth)};
})"""


@browser_test
def test_status_row_comes_first_and_says_each_state_in_words(view, themed):
    page = view.shown(STAGING)
    # the first thing under the page's title
    first = page.locator("h1").first.evaluate("h => h.nextElementSibling.dataset.deployguideStatus")
    assert first == "binderhub"
    for chart in ("binderhub", "binderhub-service"):  # real history; the demo's failed job
        row = page.locator(f'ol.deployguide-status[data-deployguide-status="{chart}"]')
        row.scroll_into_view_if_needed()
        stages = {s["stage"]: s for s in row.evaluate(STAGES)}
        assert list(stages) == ["merged", "published", "pinned", "staging", "prod"]
        state = themed.facts.get(f"charts.{chart}.state").value
        published = stages["published"]
        assert published["state"] == state and published["word"] == state
        assert state == "overdue"  # neither head is in the index: the words say so
        reason = row.locator(".deployguide-stage-reason")
        assert "the publish job may have failed" in reason.inner_text()
        age = themed.facts.get(f"charts.{chart}.age").display()
        assert row.locator(f'[data-deployguide-fact="charts.{chart}.age"]').inner_text() == age
        assert stages["pinned"]["state"] == "behind" and stages["pinned"]["word"] == "behind"
        behind = len(themed.facts.get(f"charts.{chart}.pending").value)
        pinned = row.locator('li[data-deployguide-stage="pinned"]').inner_text()
        assert f"(published), {behind} chart commit" in pinned
        # colour repeats the word: a visible edge, one colour per state
        assert all(s["edgeWidth"] >= 3 for s in stages.values())
        edges = {s["state"]: s["edge"] for s in stages.values()}
        assert len(set(edges.values())) == len(edges), edges
        # every stage fits the window without a sideways scroll; at the top of the page, side
        # by side on a desktop; one under the other on a phone
        for s in stages.values():
            assert s["right"] <= view.width + 0.5 and s["wide"], s
        tops = [s["top"] for s in stages.values()]
        if view.width < 500:
            assert len(set(tops)) == len(tops), "the stages do not stack on a phone"
        elif chart == "binderhub":
            assert tops[0] == tops[1], "the stages do not sit side by side at 1280 px"


@browser_test
def test_delay_chart_has_a_title_and_fits(view, themed):
    page = view.shown(DELAY)
    figure = page.locator("figure.deployguide-delay-chart")
    svg = figure.locator("svg")
    title = svg.locator("title").first.text_content()
    median = themed.facts.get("charts.binderhub.delay.median").display()
    assert f"median {median}" in title
    fit = svg.evaluate(
        "s => [s.getBoundingClientRect().width, s.parentElement.getBoundingClientRect().width,"
        " s.getBoundingClientRect().right]"
    )
    assert 0 < fit[0] <= fit[1] and fit[2] <= view.width
    # no marker line strikes through a label, measured on the glyphs the theme's font drew
    struck = svg.evaluate(STRUCK_LABELS)
    assert struck == [], f"labels struck through or cut off: {struck}"


@browser_test
def test_console_is_clean(view):
    for name in (STAGING, DELAY):
        page = view.open(name)
        page.evaluate("() => new Promise(done => setTimeout(done, 50))")
    assert view.console.errors == []


@browser_test
@pytest.mark.parametrize("theme", DARK_THEMES)
def test_dark_mode_keeps_chart_values_and_status_readable(chromium, web_root, themed, theme):
    for view in make_view(chromium, web_root, themed, theme, 1280, "dark"):
        page = view.open(DELAY)
        assert contrast(page, "figure.deployguide-delay-chart svg text") >= 4.5
        assert contrast(page, "span.deployguide-value") >= 4.5
        value = page.locator("span.deployguide-value[aria-describedby]").first
        value.focus()
        assert contrast(page, ".deployguide-tooltip:not([hidden])") >= 4.5
        page = view.open(STAGING)
        for part in (".deployguide-stage-state", ".deployguide-stage-reason", "strong"):
            assert contrast(page, f"ol.deployguide-status {part}") >= 4.5, part


def contrast(page: Any, selector: str) -> float:
    """WCAG contrast of an element's text (or SVG fill) with the background behind it."""
    return page.locator(selector).first.evaluate(
        """el => {
            const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
            const lum = ([r, g, b]) => {
                const f = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
                return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
            };
            const style = getComputedStyle(el);
            const fg = rgb(el instanceof SVGElement ? style.fill : style.color);
            let node = el, bg = null;
            while (node && node.nodeType === 1) {
                const c = rgb(getComputedStyle(node).backgroundColor);
                if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) { bg = c; break; }
                node = node.parentElement;
            }
            bg = bg || [255, 255, 255];
            const [a, b] = [lum(fg), lum(bg.slice(0, 3))].sort((x, y) => y - x);
            return (a + 0.05) / (b + 0.05);
        }"""
    )


@browser_test
@pytest.mark.parametrize("theme", THEMES)
def test_screenshots_of_the_staging_page(chromium, web_root, themed, theme):
    """Written for people to look at (docs/_build/screenshots/); the checks are above."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = [(1280, "light"), (390, "light")]
    if theme in DARK_THEMES:
        shots += [(1280, "dark"), (390, "dark")]
    for width, scheme in shots:
        for view in make_view(chromium, web_root, themed, theme, width, scheme):
            page = view.open(STAGING)
            target = (
                SCREENSHOTS / f"staging-{theme}-{width}{'-dark' if scheme == 'dark' else ''}.png"
            )
            page.screenshot(path=str(target), full_page=True)
            assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
