"""The runbook in the browser, in real Chromium (Debian's ``/usr/bin/chromium``, Playwright).

The docs site is built for real (``sphinx-build`` on a copy of ``docs/``) against private
copies of the demo world, and served by ``http.server`` on 127.0.0.1. All builds of a
session live under one server root, one folder per build, so they share an origin (and so
localStorage) the way two builds of the same site at the same URL do:

``base/``        the docs as they are, on the demo world;
``edited/``      the same world, one staging step's text changed in the docs;
``newchart/``    the docs as they are, on a world with a new chart commit (published);
``stale-warm/``  the index served over HTTP (this build warms the cache), then
``stale/``       the same, with the index server stopped: its port refuses connections;
``copy/``        ``tests/roots/test-browser-copy``: sessions with prompts and output lines.

The builds run in parallel subprocesses, once per session. One browser per session; each
test gets a fresh browser context (fresh storage). Without ``/usr/bin/chromium`` the
browser tests skip, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from sphinx_deployguide.chartversion import compute_chart_version
from sphinx_deployguide.demo import (
    CHART,
    CHARTPRESS,
    DemoVersion,
    DemoWorld,
    copy_demo,
    git_env,
    publish_time,
    render_index,
)
from sphinx_deployguide.ext.browser import build_time, built_at_html, stale_banner_html
from sphinx_deployguide.git import GitRepo
from tests.browsing import SCREENSHOTS, Build, ConsoleLog, Site, copy_docs, finish_all, missing
from tests.htmltree import parse_html
from tests.indexserver import IndexServer

browser_test = pytest.mark.browser


EDIT_MARK = "deliberately reworded"


def edit_last_staging_step(path: Path) -> None:
    """Change the text of the staging checklist's last step (the others stay as they are)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    opener = re.compile(r"deploy-checklist\}?:*\s+staging\b")
    start = next(i for i, line in enumerate(lines) if opener.search(line))
    end = _end_of_directive(lines, start)
    items = [i for i in range(start + 1, end) if re.match(r"\s*[-*] \[[ xX]\] ", lines[i])]
    indent = min(len(lines[i]) - len(lines[i].lstrip()) for i in items)
    last = [i for i in items if len(lines[i]) - len(lines[i].lstrip()) == indent][-1]
    lines[last] = lines[last].rstrip() + f" ({EDIT_MARK})\n"
    path.write_text("".join(lines), encoding="utf-8")


def _end_of_directive(lines: list[str], start: int) -> int:
    """The line after the fence or RST block that opens at ``start``."""
    opener = lines[start].lstrip()
    fence = re.match(r"(`{3,}|:{3,})", opener)
    for i in range(start + 1, len(lines)):
        if fence and lines[i].strip() == fence.group(1):
            return i
        if not fence and lines[i].strip() and not lines[i].startswith((" ", "\t")):
            return i
    return len(lines)


def add_chart_release(world: DemoWorld) -> str:
    """Commit a chart change on main and publish its version in the index; returns it."""
    values = world.source / "helm-chart" / CHART / "values.yaml"
    text = values.read_text(encoding="utf-8")
    values.write_text(text + "# a new chart setting\n", encoding="utf-8")
    repo = GitRepo(world.source)
    head_time = repo.commit_time("main")
    landed = head_time + timedelta(hours=1)
    stamp = f"{int(landed.timestamp())} +0000"
    env = {
        **git_env(),
        "GIT_AUTHOR_NAME": "Avery Chen",
        "GIT_AUTHOR_EMAIL": "avery@demo.invalid",
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_NAME": "Avery Chen",
        "GIT_COMMITTER_EMAIL": "avery@demo.invalid",
        "GIT_COMMITTER_DATE": stamp,
    }
    for args in (["add", "--", str(values)], ["commit", "--quiet", "-m", "chart: a new setting"]):
        subprocess.run(
            ["git", "-C", str(world.source), *args], env=env, check=True, capture_output=True
        )
    new = compute_chart_version(repo, "main", CHARTPRESS, CHART)
    assert new.version != world.current_version
    created, created_text = publish_time(landed, 9, new.version)
    release = DemoVersion(
        new.version,
        new.commit_full,
        new.commit_full,
        landed,
        created,
        created_text,
        "a new chart setting",
    )
    versions = [*world.versions, *world.service_versions, release]
    world.index.write_text(render_index(versions), encoding="utf-8")
    return new.version


def serve_index_over_http(world: DemoWorld, url: str) -> None:
    """Point the world's model at ``url`` for its index, with no cache TTL."""
    model = world.model.read_text(encoding="utf-8")
    local_index = 'index = "../helm-chart/index.yaml"'
    assert local_index in model and "[cache]\n" in model, "the demo model changed shape"
    model = model.replace(local_index, f'index = "{url}"')
    world.model.write_text(model.replace("[cache]\n", "[cache]\nttl = 0\n"), encoding="utf-8")


@dataclass
class StaleSite:
    site: Site
    warm_from: datetime  # the warm build fetched the index between these two times
    warm_to: datetime


@dataclass
class Sites:
    base: Site  # the docs on the demo world
    edited: Site  # one staging step's text changed; same world
    newchart: Site  # the docs on a world with a new chart version ...
    new_version: str  # ... this one
    copy: Site  # tests/roots/test-browser-copy: prompts and output lines
    stale: StaleSite  # the index unreachable, served from a warm cache


@pytest.fixture(scope="session")
def sites(web_root, demo_world, tmp_path_factory) -> Sites:
    """Every build of the session, made once, in parallel where they are independent."""
    tmp = tmp_path_factory.mktemp("builds")

    def docs(name: str) -> tuple[Path, DemoWorld]:
        """A copy of docs/ with its own demo world where docs/conf.py looks for it (builds
        write their cache into the world, so each build gets one)."""
        src = copy_docs(tmp / name / "docs")
        return src, copy_demo(demo_world, src / "_build" / "demo-world")

    base_docs, base_world = docs("base")
    edited_docs, edited_world = docs("edited")
    newchart_docs, newchart_world = docs("newchart")
    new_version = add_chart_release(newchart_world)
    stale_docs, stale_world = docs("stale")
    copy_src = tmp / "copy" / "src"
    shutil.copytree(Path(__file__).parent / "roots" / "test-browser-copy", copy_src)
    copy_world = copy_demo(demo_world, tmp / "copy" / "world")

    with IndexServer(stale_world.index.read_bytes()) as server:
        serve_index_over_http(stale_world, server.url)
        warm_from = datetime.now(timezone.utc).replace(microsecond=0)
        builds = [
            Build(web_root, "base", base_docs, base_world),
            Build(web_root, "newchart", newchart_docs, newchart_world),
            Build(web_root, "copy", copy_src, copy_world),
            Build(web_root, "stale-warm", stale_docs, stale_world),
        ]
        base = finish_all(builds[:1])[0]
        # Which source holds the staging checklist: the page the build put it on.
        page = base.checklist_page("staging")
        edit_last_staging_step(edited_docs / Path(page).with_suffix(".md"))
        builds.append(Build(web_root, "edited", edited_docs, edited_world))
        newchart, copy, _, edited = finish_all(builds[1:])
        warm_to = datetime.now(timezone.utc)
        assert server.request_count >= 1, "the warm build did not fetch the index over HTTP"
    # The server is stopped: its port now refuses connections, the cache is warm.
    stale = Build(web_root, "stale", stale_docs, stale_world).finish()
    return Sites(base, edited, newchart, new_version, copy, StaleSite(stale, warm_from, warm_to))


@pytest.fixture(scope="session")
def base_site(sites) -> Site:
    return sites.base


@pytest.fixture(scope="session")
def edited_site(sites) -> Site:
    return sites.edited


@pytest.fixture(scope="session")
def newchart_site(sites) -> tuple[Site, str]:
    return sites.newchart, sites.new_version


@pytest.fixture(scope="session")
def copy_site(sites) -> Site:
    return sites.copy


@pytest.fixture(scope="session")
def stale_site(sites) -> StaleSite:
    return sites.stale


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture
def context(chromium, web_root) -> Iterator[Any]:
    ctx = chromium.new_context(viewport={"width": 1100, "height": 900})
    ctx.set_default_timeout(10_000)  # a missing element fails in seconds, not half a minute
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=web_root[1])
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(context, console) -> Any:
    page = context.new_page()
    console.watch(page)
    return page


def staging(page: Any, site: Site) -> Any:
    """Open the staging checklist page; return the checklist locator."""
    page.goto(site.url(site.checklist_page("staging")))
    checklist = page.locator('div.deployguide-checklist[data-deployguide-checklist="staging"]')
    checklist.locator(".deployguide-progress").wait_for()
    return checklist


def our_keys(page: Any) -> list[str]:
    """The localStorage keys of the checklists (the theme keeps its light/dark choice under
    keys of its own)."""
    prefix = page.locator('meta[name="deployguide-storage-prefix"]').get_attribute("content")
    return [k for k in page.evaluate("Object.keys(localStorage)") if k.startswith(f"{prefix}:")]


def boxes(checklist: Any) -> Any:
    return checklist.locator("input.deployguide-step-box")


def progress(checklist: Any) -> str:
    return checklist.locator(".deployguide-progress").inner_text().strip()


def ticked(checklist: Any) -> list[bool]:
    return boxes(checklist).evaluate_all("els => els.map(e => e.checked)")


# --- checklists ----------------------------------------------------------------------------------


@browser_test
def test_ticks_survive_a_reload_and_reset_clears_them(page, base_site, console):
    checklist = staging(page, base_site)
    total = boxes(checklist).count()
    assert total >= 3, "the staging checklist needs at least three steps for these tests"
    assert progress(checklist) == f"0 of {total} done"
    boxes(checklist).nth(0).check()
    boxes(checklist).nth(1).check()
    assert progress(checklist) == f"2 of {total} done"

    page.reload()
    checklist.locator(".deployguide-progress").wait_for()
    assert ticked(checklist) == [True, True] + [False] * (total - 2)
    assert progress(checklist) == f"2 of {total} done"

    checklist.get_by_role("button", name=re.compile("^Reset")).click()
    assert ticked(checklist) == [False] * total
    assert progress(checklist) == f"0 of {total} done"
    page.reload()
    checklist.locator(".deployguide-progress").wait_for()
    assert ticked(checklist) == [False] * total
    assert console.errors == []


@browser_test
def test_storage_keys_hold_prefix_checklist_step_and_facts_hash(page, base_site):
    checklist = staging(page, base_site)
    boxes(checklist).nth(0).check()
    keys = our_keys(page)
    prefix = page.locator('meta[name="deployguide-storage-prefix"]').get_attribute("content")
    cid = checklist.get_attribute("data-deployguide-checklist")
    step = checklist.locator("li.deployguide-step").nth(0).get_attribute("data-deployguide-step")
    facts_hash = checklist.get_attribute("data-deployguide-facts-hash")
    assert prefix and cid and step and facts_hash
    assert keys == [f"{prefix}:{cid}:{step}:{facts_hash}"]


@browser_test
def test_checkboxes_have_labels_and_work_from_the_keyboard(page, base_site):
    checklist = staging(page, base_site)
    first = boxes(checklist).nth(0)
    # A real <label> for the box, and the step text as its accessible name.
    assert first.evaluate("el => el.labels.length") >= 1
    body_text = checklist.locator(".deployguide-step-body").nth(0).inner_text().strip()
    assert body_text
    name_start = " ".join(body_text.split()[:3])
    named = checklist.get_by_role("checkbox", name=re.compile("^" + re.escape(name_start)))
    assert named.count() >= 1
    first.focus()
    page.keyboard.press("Space")
    assert first.is_checked()
    assert progress(checklist).startswith("1 of")
    page.keyboard.press("Space")
    assert not first.is_checked()


@browser_test
def test_next_checklist_is_offered_when_staging_is_done(page, base_site):
    checklist = staging(page, base_site)
    nxt = checklist.locator(".deployguide-next")
    total = boxes(checklist).count()
    for i in range(total - 1):
        boxes(checklist).nth(i).check()
    assert not nxt.is_visible()
    boxes(checklist).nth(total - 1).check()
    assert nxt.is_visible()
    link = nxt.get_by_role("link")
    assert link.get_attribute("href").endswith("#checklist-prod")
    link.click()
    page.wait_for_url(re.compile(r"#checklist-prod$"))
    assert page.locator('div.deployguide-checklist[data-deployguide-checklist="prod"]').is_visible()


@browser_test
def test_editing_another_step_keeps_the_ticks(page, base_site, edited_site):
    checklist = staging(page, base_site)
    total = boxes(checklist).count()
    boxes(checklist).nth(0).check()
    boxes(checklist).nth(1).check()
    base_hash = checklist.get_attribute("data-deployguide-facts-hash")

    checklist = staging(page, edited_site)
    assert EDIT_MARK in checklist.inner_text(), "the edited build does not show the edit"
    assert checklist.get_attribute("data-deployguide-facts-hash") == base_hash
    assert boxes(checklist).count() == total
    assert ticked(checklist)[:2] == [True, True]
    assert progress(checklist) == f"2 of {total} done"


@browser_test
def test_a_new_chart_version_starts_a_fresh_checklist(page, base_site, newchart_site):
    site, version = newchart_site
    checklist = staging(page, base_site)
    boxes(checklist).nth(0).check()
    boxes(checklist).nth(1).check()
    base_hash = checklist.get_attribute("data-deployguide-facts-hash")
    assert base_site.world.current_version in page.content()

    checklist = staging(page, site)
    assert version in page.content(), "the rebuild does not show the new chart version"
    assert checklist.get_attribute("data-deployguide-facts-hash") != base_hash
    total = boxes(checklist).count()
    assert ticked(checklist) == [False] * total
    assert progress(checklist) == f"0 of {total} done"
    # Ticks saved for the old facts are dropped, not left to pile up.
    assert not [k for k in page.evaluate("Object.keys(localStorage)") if k.endswith(base_hash)]


@browser_test
def test_a_tick_in_one_tab_shows_in_another(context, base_site):
    first, second = context.new_page(), context.new_page()
    one, two = staging(first, base_site), staging(second, base_site)
    boxes(one).nth(1).check()
    second.wait_for_function(
        "() => document.querySelectorAll('input.deployguide-step-box')[1].checked"
    )
    assert progress(two).startswith("1 of")


@browser_test
def test_ticks_are_remembered_per_federation_member(page, base_site, console):
    """The prod checklist repeats its per-member steps once per member of the matrix: each
    copy is a box of its own, counted by the progress and remembered by itself."""
    workflow = base_site.world.deploy / ".github" / "workflows" / "cd.yml"
    include = yaml.safe_load(workflow.read_text())["jobs"]["prod-deploy"]["strategy"]["matrix"]
    members = [entry["federation_member"] for entry in include["include"]]
    assert len(members) >= 3

    page.goto(base_site.url(base_site.checklist_page("prod")))
    checklist = page.locator('div.deployguide-checklist[data-deployguide-checklist="prod"]')
    checklist.locator(".deployguide-progress").wait_for()
    steps = checklist.locator("li.deployguide-step")
    ids = steps.evaluate_all("els => els.map(e => e.getAttribute('data-deployguide-step'))")
    for member in members:
        assert f"deploy-{member}" in ids and f"verify-{member}" in ids
    total = boxes(checklist).count()
    assert total == len(ids)

    second = members[1]
    checklist.locator(
        f'li[data-deployguide-step="deploy-{second}"] input.deployguide-step-box'
    ).check()
    assert progress(checklist) == f"1 of {total} done"
    page.reload()
    checklist.locator(".deployguide-progress").wait_for()
    assert ticked(checklist) == [i == f"deploy-{second}" for i in ids]
    assert progress(checklist) == f"1 of {total} done"
    keys = our_keys(page)
    assert len(keys) == 1 and f":prod:deploy-{second}:" in keys[0]
    assert console.errors == []


# Storage disabled: touching window.localStorage throws (blocked site data).
# (An Error, not a DOMException: it carries the stack that tells whose script touched it.)
STORAGE_DISABLED = (
    "Object.defineProperty(window, 'localStorage', {get() {"
    " throw Object.assign(new Error('The operation is insecure.'), {name: 'SecurityError'});"
    " }});"
)
# Quota exhausted / private mode: reads work, every write throws.
STORAGE_FULL = (
    "Storage.prototype.setItem = function () {"
    " throw new DOMException('Quota exceeded', 'QuotaExceededError'); };"
)


@browser_test
@pytest.mark.parametrize("breakage", [STORAGE_DISABLED, STORAGE_FULL], ids=["disabled", "quota"])
def test_storage_failure_keeps_a_working_checklist(context, console, base_site, breakage):
    context.add_init_script(breakage)
    page = context.new_page()
    console.watch(page)
    checklist = staging(page, base_site)
    total = boxes(checklist).count()
    boxes(checklist).nth(0).check()
    boxes(checklist).nth(2).check()
    assert progress(checklist) == f"2 of {total} done"
    boxes(checklist).nth(0).uncheck()
    assert progress(checklist) == f"1 of {total} done"
    checklist.get_by_role("button", name=re.compile("^Reset")).click()
    assert ticked(checklist) == [False] * total
    assert checklist.locator(".deployguide-storage-note").is_visible()
    assert console.ours() == []
    # Others' scripts are not ours to patch: with storage disabled Sphinx's own
    # sphinx_highlight.js reads localStorage without a guard, and with a full quota the
    # theme's inline script (pydata-sphinx-theme) saves its light/dark mode unguarded (and
    # then complains it has none); they throw on every page, with or without this
    # extension. No other error is allowed.
    theirs = re.compile(
        r"uncaught (The operation is insecure|Quota exceeded)|Got invalid theme mode: undefined"
    )
    assert [e for e in console.errors if not theirs.search(e)] == []


# --- copy buttons, trust marks, print ------------------------------------------------------------


@browser_test
def test_copy_button_copies_the_filled_command_without_prompt(page, base_site):
    page.goto(base_site.url(base_site.checklist_page("staging")))
    blocks = page.locator("div.deployguide-code")
    assert blocks.count() >= 1, "the staging page has no deploy-code block"
    block = blocks.first
    shown = block.locator("pre").inner_text()
    assert base_site.world.current_version in shown and "{{" not in shown
    lines = shown.rstrip("\n").split("\n")
    prompted = [line[2:] for line in lines if line.startswith("$ ")]
    expected = "\n".join(prompted) if prompted else "\n".join(lines)
    block.hover()
    block.locator("button.copybtn").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.rstrip("\n") == expected
    assert base_site.world.current_version in copied
    assert not any(line.startswith(("$ ", ">>> ")) for line in copied.split("\n"))


@browser_test
def test_copy_button_drops_prompts_and_output_lines(page, copy_site):
    version = copy_site.world.current_version
    page.goto(copy_site.url("index.html"))
    shell, python = page.locator("div.highlight").all()
    expected = {
        0: "helm repo update\n"
        f"helm upgrade binderhub jupyterhub/binderhub --devel --version {version}",
        1: 'from sphinx_deployguide import __version__\nprint(__version__.count("."))',
    }
    for number, block in enumerate((shell, python)):
        assert "$ " in block.inner_text() or ">>> " in block.inner_text()
        block.hover()
        block.locator("button.copybtn").click()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.rstrip("\n") == expected[number]


@browser_test
def test_provenance_shows_on_hover_and_on_keyboard_focus(page, base_site):
    name = base_site.checklist_page("staging")
    raw = parse_html((base_site.out / name).read_text(encoding="utf-8"))
    served = [el.attrs["title"] for el in raw.find_all("span", cls="deployguide-value")]
    assert served and all(served), "deploy-value spans need a title with their provenance"
    page.goto(base_site.url(name))
    values = page.locator("span.deployguide-value[aria-describedby]")
    first, second = values.nth(0), values.nth(1)
    tip = page.locator("#" + first.get_attribute("aria-describedby"))
    assert tip.get_attribute("role") == "tooltip"
    assert first.get_attribute("tabindex") == "0"  # reachable with Tab
    assert first.get_attribute("title") is None  # the popup replaces the native tooltip
    assert not tip.is_visible()
    first.focus()
    assert tip.is_visible() and tip.inner_text() == served[0]
    page.keyboard.press("Escape")
    assert not tip.is_visible()
    page.evaluate("document.activeElement.blur()")
    second.hover()
    other = page.locator("#" + second.get_attribute("aria-describedby"))
    assert other.is_visible() and other.inner_text() == served[1]
    page.mouse.move(0, 0)
    other.wait_for(state="hidden")


@browser_test
def test_status_rows_show_published_and_overdue_in_words_and_colour(page, base_site):
    """The demo's two charts: binderhub's head is in the index, binderhub-service's publish
    job "failed" (the demo's index lacks its head version, landed long ago)."""
    world = base_site.world
    listed = {
        chart: {entry["version"] for entry in entries}
        for chart, entries in yaml.safe_load(world.index.read_bytes())["entries"].items()
    }
    assert world.current_version in listed["binderhub"]
    assert world.service_current_version not in listed["binderhub-service"]
    page.goto(base_site.url(base_site.checklist_page("staging")))
    edges = {}
    for chart, version, state in (
        ("binderhub", world.current_version, "published"),
        ("binderhub-service", world.service_current_version, "overdue"),
    ):
        stage = page.locator(
            f'ol.deployguide-status[data-deployguide-status="{chart}"]'
            ' > li[data-deployguide-stage="published"]'
        )
        stage.scroll_into_view_if_needed()
        assert stage.get_attribute("data-deployguide-state") == state
        word = stage.locator(".deployguide-stage-state .deployguide-value")
        assert word.is_visible() and word.inner_text() == state
        assert (
            stage.locator(".deployguide-value[data-deployguide-kind=version]").inner_text()
            == version
        )
        edges[state] = stage.evaluate("li => getComputedStyle(li).borderLeftColor")
        # the state word is a value like any other: its provenance (the index) on focus
        word.focus()
        tip = page.locator("#" + word.get_attribute("aria-describedby"))
        assert tip.is_visible() and "index.yaml" in tip.inner_text()
        page.keyboard.press("Escape")
    assert edges["published"] != edges["overdue"]


@browser_test
def test_stale_build_shows_a_banner_with_the_time_of_the_cached_values(page, stale_site, base_site):
    site = stale_site.site
    assert "[deployguide.stale]" in site.warnings
    page.goto(site.url(site.checklist_page("staging")))
    banner = page.locator(".deployguide-stale-banner")
    assert banner.is_visible()
    stamp = banner.locator("time").get_attribute("datetime")
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert stale_site.warm_from <= when <= stale_site.warm_to
    assert when.strftime("%Y-%m-%d %H:%M UTC") in banner.inner_text()
    assert page.locator("span.deployguide-value.deployguide-stale").count() >= 1

    page.goto(base_site.url(base_site.checklist_page("staging")))
    assert page.locator(".deployguide-stale-banner").count() == 0


@browser_test
def test_runbook_pages_say_when_they_were_built_and_how_old_the_facts_are(page, base_site):
    page.goto(base_site.url(base_site.checklist_page("staging")))
    line = page.locator(".deployguide-built-at")
    assert line.is_visible()
    when = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"
    assert re.search(f"Built at {when} · facts as of {when}", line.inner_text())
    page.goto(base_site.url("genindex.html"))
    assert page.locator(".deployguide-built-at").count() == 0


@browser_test
def test_print_shows_boxes_and_values_but_no_buttons(page, base_site):
    checklist = staging(page, base_site)
    boxes(checklist).nth(0).check()
    page.emulate_media(media="print")
    assert boxes(checklist).nth(0).is_visible() and boxes(checklist).nth(0).is_checked()
    assert page.locator("span.deployguide-value").first.is_visible()
    assert not checklist.locator(".deployguide-reset").is_visible()
    assert not page.locator("button.copybtn").first.is_visible()
    page.emulate_media(media="screen")
    assert checklist.locator(".deployguide-reset").is_visible()


@browser_test
def test_no_console_errors_on_any_page(page, base_site, console):
    pages = base_site.pages()
    assert len(pages) >= 3
    for name in pages:
        page.goto(base_site.url(name))
        # Let the page's own timers (e.g. Sphinx's search-term highlighting) run too.
        page.evaluate("() => new Promise(done => setTimeout(done, 50))")
    assert console.errors == []


@browser_test
def test_screenshot_of_the_staging_checklist(page, base_site):
    checklist = staging(page, base_site)
    boxes(checklist).nth(0).check()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / "staging.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- server side, without a browser --------------------------------------------------------------


def test_assets_and_meta_only_on_runbook_pages(base_site):
    staging_html = (base_site.out / base_site.checklist_page("staging")).read_text(encoding="utf-8")
    assert "_static/deployguide.js" in staging_html and "_static/deployguide.css" in staging_html
    assert 'name="deployguide-facts-hash"' in staging_html
    genindex = (base_site.out / "genindex.html").read_text(encoding="utf-8")
    assert "deployguide.js" not in genindex and "deployguide-facts-hash" not in genindex
    assert (base_site.out / "_static" / "deployguide.js").is_file()


def test_trust_mark_html_is_escaped():
    banner = stale_banner_html('2024-01-01T00:00:00Z"><script>')
    assert "<script>" not in banner and "&quot;&gt;&lt;script&gt;" in banner
    line = built_at_html("<b>", "2024-03-26T15:33:27Z", stale=True)
    assert "&lt;b&gt;" in line and "2024-03-26 15:33 UTC" in line and "stale" in line


def test_a_missing_browser_skips_but_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        missing("no chromium")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        missing("no chromium")


def test_built_at_honours_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1711467207")  # 2024-03-26T15:33:27Z
    assert build_time() == "2024-03-26 15:33 UTC"


def test_copybutton_defaults_strip_prompts_and_respect_the_project(make_app, tmp_path, demo_world):
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        'extensions = ["sphinx_deployguide"]\nproject = "Ops <runbook>"\n'
        'copybutton_prompt_text = "PS> "\n',
        encoding="utf-8",
    )
    (src / "index.rst").write_text(
        "Runbook\n=======\n\nVersion :deploy-value:`charts.binderhub.version`.\n"
    )
    app = make_app("html", srcdir=src, confoverrides={"deployguide_config": str(demo_world.model)})
    try:
        app.build()
        assert app.config.copybutton_prompt_text == "PS> "  # the project's own setting wins
        # ... and stays literal: the regexp default comes only with the default prompts.
        assert app.config.copybutton_prompt_is_regexp is False
        assert app.config.copybutton_only_copy_prompt_lines is True
        html = (app.outdir / "index.html").read_text(encoding="utf-8")
        assert '<meta name="deployguide-storage-prefix" content="Ops &lt;runbook&gt;">' in html
        assert "deployguide.js" in html
    finally:
        app.cleanup()
