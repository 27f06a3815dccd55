"""The verdict: the pure decision on plain evidence, then gathered from the demo world's git
history and its index (a file, or a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sphinx_deployguide.chartindex import IndexEntry
from sphinx_deployguide.chartresolve import resolve_chart
from sphinx_deployguide.chartversion import compute_chart_version
from sphinx_deployguide.config import load_model
from sphinx_deployguide.delay import DelayStats, format_duration
from sphinx_deployguide.demo import CHARTPRESS
from sphinx_deployguide.factresolve import resolve_facts
from sphinx_deployguide.verdict import (
    STATES,
    Evidence,
    advised_wait,
    decide,
    steady_until,
    verdict_for_commit,
    verdict_for_version,
)
from sphinx_deployguide.versionparse import parse_version
from tests.gitfixtures import git, merge_chart_change
from tests.htmltree import parse_html

T0 = datetime(2024, 3, 26, 15, 33, tzinfo=timezone.utc)
C = "c0ffee1" + "1" * 33  # the chart commit
M = "4e3bafb" + "2" * 33  # a merge that landed it
STATS = DelayStats(count=20, median=7 * 60, p90=20.5 * 60, p95=30 * 60)  # advised wait 21 min


def evidence(**changes) -> Evidence:
    """A landed, unpublished chart commit, asked about by its own (predicted) version."""
    base = dict(
        chart="binderhub",
        asked="1.0.0-0.dev.git.34.hc0ffee1",
        kind="version",
        now=T0 + timedelta(minutes=10),
        source="https://github.com/jupyterhub/binderhub.git",
        source_is_mirror=True,
        source_fetched_at=T0 + timedelta(minutes=9),
        index_source="https://charts.example.org/index.yaml",
        parsed=parse_version("1.0.0-0.dev.git.34.hc0ffee1"),
        commit=C,
        commit_short="c0ffee1",
        chart_commit=C,
        chart_commit_short="c0ffee1",
        count=34,
        predicted="1.0.0-0.dev.git.34.hc0ffee1",
        predicted_era="chartpress-2",
        landed_by=M,
        landed_by_short="4e3bafb",
        landed_at=T0,
        delay=STATS,
    )
    base.update(changes)
    return Evidence(**base)


def entry(version: str, created: datetime = T0 + timedelta(minutes=8)) -> IndexEntry:
    return IndexEntry(version, created, None)


# --------------------------------------------------------------------------- decide (pure)


def test_pending_within_the_advised_wait_then_overdue():
    pending = decide(evidence())
    assert (pending.state, pending.name, pending.predicted) == (
        "pending",
        "1.0.0-0.dev.git.34.hc0ffee1",
        True,
    )
    assert pending.reason == (
        "1.0.0-0.dev.git.34.hc0ffee1 is not in https://charts.example.org/index.yaml yet: its "
        "chart commit c0ffee1 landed on main 10 min ago, and charts usually appear within 21 min"
    )
    assert pending.fix == "wait about 11 min more" and pending.age == 600
    overdue = decide(evidence(now=T0 + timedelta(days=225, hours=1)))
    assert overdue.state == "overdue"
    assert overdue.reason.endswith(
        "225 days after its chart commit c0ffee1 landed on main (charts usually appear within "
        "21 min): the publish job may have failed"
    )
    assert overdue.fix == (
        "check the publish job of https://github.com/jupyterhub/binderhub.git for c0ffee1"
    )
    # a cached index that could not be refreshed cannot tell late from missing
    unsure = decide(evidence(now=T0 + timedelta(hours=3), index_stale="connection refused"))
    assert unsure.state == "unknown" and "(connection refused)" in unsure.reason


def _reading(ev: Evidence, at: datetime) -> tuple[object, ...]:
    verdict = decide(dataclasses.replace(ev, now=at))
    return verdict.state, verdict.reason, verdict.fix, format_duration(round(verdict.age or 0))


def _changes_at(ev: Evidence, moment: datetime) -> bool:
    """``steady_until`` finds ``moment`` (to the second; ages are shown rounded)."""
    until = steady_until(ev, T0 + timedelta(days=400))
    return abs(moment - until) <= timedelta(seconds=1.5)


def test_a_verdict_reads_the_same_until_its_next_minute_day_or_state():
    far = T0 + timedelta(days=400)
    pending = evidence()  # 10 min after landing: "10 min ago", "wait about 11 min more"
    assert _changes_at(pending, T0 + timedelta(minutes=10.5))
    nearly = evidence(now=T0 + timedelta(minutes=20, seconds=40))  # overdue at 21 min
    changes = steady_until(nearly, far)
    assert _reading(nearly, changes)[0] == "pending"
    assert _reading(nearly, changes + timedelta(seconds=1))[0] == "overdue"
    overdue = evidence(now=T0 + timedelta(days=225, hours=1))
    assert _changes_at(overdue, T0 + timedelta(days=226))
    assert steady_until(overdue, T0 + timedelta(days=225, hours=2)) == T0 + timedelta(
        days=225, hours=2
    )
    published = evidence(listed=entry("1.0.0-0.dev.git.34.hc0ffee1"), now=T0 + timedelta(days=3))
    assert _changes_at(published, T0 + timedelta(days=4))


@given(
    after=st.floats(min_value=0, max_value=400 * 86400),
    span=st.floats(min_value=1, max_value=30 * 86400),
)
def test_steady_until_is_the_last_moment_that_reads_the_same(after, span):
    ev = evidence(now=T0 + timedelta(seconds=after))
    limit = ev.now + timedelta(seconds=span)
    until = steady_until(ev, limit)
    assert ev.now <= until <= limit
    assert _reading(ev, until) == _reading(ev, ev.now)
    if until < limit:  # the reading changes within the next second
        assert _reading(ev, min(limit, until + timedelta(seconds=1.01))) != _reading(ev, ev.now)


def test_the_index_cache_time_is_part_of_the_wait():
    wait, basis = advised_wait(STATS, 600)
    assert wait == 21 * 60 + 600
    assert basis == (
        "p90 publish delay over 20 recent versions, plus the index's Cache-Control max-age of "
        "10 min"
    )
    assert advised_wait(None, 600) == (None, None)
    # 25 min after landing: overdue without the cache, pending with it
    late = T0 + timedelta(minutes=25)
    assert decide(evidence(now=late)).state == "overdue"
    cached = decide(evidence(now=late, max_age=600))
    assert cached.state == "pending" and cached.wait == 31 * 60
    assert "within 31 min, counting the index's 10 min cache" in cached.reason


def test_published_is_what_the_index_lists_and_whose_archive_answers():
    listed = entry("1.0.0-0.dev.git.34.hc0ffee1")
    published = decide(evidence(listed=listed))
    assert published.state == "published" and published.published
    assert published.published_at == listed.created and not published.predicted
    assert published.reason == (
        "1.0.0-0.dev.git.34.hc0ffee1 is published in https://charts.example.org/index.yaml "
        "(created 2024-03-26T15:41:00Z)"
    )
    problem = "https://charts.example.org/binderhub-1.tgz does not answer (HTTP 404 Not Found)"
    broken = decide(evidence(listed=listed, archive_problem=problem))
    assert broken.state == "pending" and not broken.published
    assert f"but its archive {problem}: it cannot be installed yet" in broken.reason


def test_observed_names_win_over_predicted_ones():
    """The index has the chart commit under its 7-digit name: that is the name; the 8-digit
    one a clone gives today will never be published."""
    seven = entry("1.0.0-0.dev.git.34.hc0ffee")
    by_commit = decide(evidence(kind="commit", asked=C, parsed=None, observed=seven))
    assert (by_commit.state, by_commit.name, by_commit.predicted) == (
        "published",
        seven.version,
        False,
    )
    eight = "1.0.0-0.dev.git.34.hc0ffee11"
    wrong = decide(evidence(asked=eight, parsed=parse_version(eight), observed=seven))
    assert wrong.state == "never" and wrong.fix == f"pin {seven.version}"
    assert wrong.reason == (
        f"{eight} will never be published: the index publishes chart commit c0ffee1 as "
        f"{seven.version}"
    )


def test_a_wrong_count_or_base_is_never_but_another_hash_length_is_the_same_commit():
    wrong = "1.0.0-0.dev.git.35.hc0ffee1"
    never = decide(evidence(asked=wrong, parsed=parse_version(wrong)))
    assert never.state == "never" and never.count == 35
    assert "chartpress names chart commit c0ffee1 1.0.0-0.dev.git.34.hc0ffee1" in never.reason
    longer = "1.0.0-0.dev.git.34.hc0ffee11"  # 8 digits of the same commit: not a lie
    assert decide(evidence(asked=longer, parsed=parse_version(longer))).state == "pending"


def test_a_merge_sha_is_never_and_names_the_chart_commits_version():
    merge = "1.0.0-0.dev.git.35.h4e3bafb"
    verdict = decide(
        evidence(
            asked=merge,
            parsed=parse_version(merge),
            commit=M,
            commit_short="4e3bafb",
            is_merge=True,
            observed=entry("1.0.0-0.dev.git.34.hc0ffee1"),
        )
    )
    assert (verdict.state, verdict.is_chart_commit, verdict.chart_commit) == ("never", False, C)
    assert verdict.reason == (
        f"{merge} will never be published: 4e3bafb (a merge commit) is a commit of "
        "https://github.com/jupyterhub/binderhub.git but not a chart commit; the chart there "
        "comes from chart commit c0ffee1, published as 1.0.0-0.dev.git.34.hc0ffee1"
    )
    assert verdict.fix == "pin 1.0.0-0.dev.git.34.hc0ffee1"


def test_a_superseded_pr_commit_is_never_and_names_the_newer_version():
    verdict = decide(
        evidence(superseded_by="beef123", superseded_name="1.0.0-0.dev.git.36.hbeef123")
    )
    assert verdict.state == "never"
    assert (
        "chart commit c0ffee1 reached main with 4e3bafb, whose chart commit is the newer "
        "beef123; the chart of that push was published as 1.0.0-0.dev.git.36.hbeef123"
    ) in verdict.reason
    assert verdict.fix == "pin 1.0.0-0.dev.git.36.hbeef123"


def test_unknown_commits_say_where_they_were_looked_for_and_advise_no_version():
    mirror = decide(evidence(commit=None, chart_commit=None, landed_at=None))
    assert mirror.state == "unknown"
    assert mirror.reason == (
        "1.0.0-0.dev.git.34.hc0ffee1 names commit c0ffee1, which is not in "
        "https://github.com/jupyterhub/binderhub.git (fetched 2024-03-26T15:42:00Z)"
    )
    local = decide(
        evidence(commit=None, chart_commit=None, source="../binderhub", source_is_mirror=False)
    )
    assert "which the local copy ../binderhub lacks" in local.reason
    assert local.fix == "update ../binderhub (`git fetch`), then check again"
    failed = decide(evidence(commit=None, chart_commit=None, fetch_problem="exit 128"))
    assert "and fetching it failed: exit 128" in failed.reason
    for verdict in (mirror, local, failed):
        assert verdict.fix and "pin" not in verdict.fix


def test_pending_without_landing_or_history():
    unmerged = decide(evidence(landed_at=None, landed_by=None))
    assert unmerged.state == "pending" and unmerged.fix == "merge c0ffee1 into main first"
    assert "is not on main of https://github.com/jupyterhub/binderhub.git (fetched " in (
        unmerged.reason
    )
    unmeasured = decide(evidence(delay=None))
    assert unmeasured.state == "pending" and "no publish history" in unmeasured.reason


def test_not_a_version_is_never():
    verdict = decide(evidence(asked="nightly", parsed=None, commit=None, chart_commit=None))
    assert verdict.state == "never" and "is not a chart version of any format" in verdict.reason


VERSIONS = st.sampled_from(
    ["1.0.0-0.dev.git.34.hc0ffee1", "1.0.0-0.dev.git.35.h4e3bafb", "0.1.0-c0ffee1", "x"]
)


@given(
    asked=VERSIONS,
    commit=st.sampled_from([C, M, None]),
    listed=st.booleans(),
    observed=st.sampled_from([None, "1.0.0-0.dev.git.34.hc0ffee", "0.1.0-c0ffee1"]),
    superseded=st.booleans(),
    landed=st.booleans(),
    minutes=st.integers(0, 10**6),
    stale=st.booleans(),
)
def test_every_verdict_is_one_state_with_words_and_never_advises_another_commit(
    asked, commit, listed, observed, superseded, landed, minutes, stale
):
    """Whatever the evidence: one of the five states, a sentence, and a fix that pins only
    the name of the chart commit asked about (or of the newer one that superseded it)."""
    verdict = decide(
        evidence(
            asked=asked,
            parsed=parse_version(asked),
            commit=commit,
            chart_commit=C if commit else None,
            listed=entry(asked) if listed else None,
            observed=entry(observed) if observed else None,
            superseded_by="beef123" if superseded else None,
            superseded_name="1.0.0-0.dev.git.36.hbeef123" if superseded else None,
            landed_at=T0 if landed else None,
            now=T0 + timedelta(minutes=minutes),
            index_stale="down" if stale else None,
        )
    )
    assert verdict.state in STATES and verdict.reason
    pinned = re.findall(r"\bpin (\d\S*)", verdict.fix or "")
    assert set(pinned) <= {verdict.name, "1.0.0-0.dev.git.36.hbeef123"}
    if verdict.state == "unknown":
        assert not pinned


# --------------------------------------------------------------------------- on the demo world


@pytest.fixture(scope="module")
def chart(demo_world):
    model = load_model(demo_world.model)
    return resolve_chart(model, model.charts["binderhub"], refresh=False, offline="stale")


def test_head_of_the_demo(chart, demo_world):
    head = chart.head_verdict
    assert (head.state, head.name, head.predicted) == (
        "published",
        demo_world.current_version,
        False,
    )
    assert (head.commit, head.chart_commit, head.is_chart_commit) == (
        demo_world.head,
        demo_world.pr_commit,
        False,  # the head is a docs commit: its chart commit is the PR's
    )
    assert head.landed_by == demo_world.merge_commit
    merge_time = chart.repo.commit_times([demo_world.merge_commit])[demo_world.merge_commit]
    assert head.landed_at == merge_time and head.age == (head.now - merge_time).total_seconds()


def test_the_incident_by_version(chart, demo_world):
    merge = chart.repo.short(demo_world.merge_commit)
    wrong = demo_world.current_version.rsplit(".h", 1)[0] + ".h" + merge
    verdict = verdict_for_version(chart, wrong, now=chart.head_verdict.now)
    assert (verdict.state, verdict.commit, verdict.is_chart_commit) == (
        "never",
        demo_world.merge_commit,
        False,
    )
    assert (verdict.chart_commit, verdict.name) == (
        demo_world.pr_commit,
        demo_world.current_version,
    )


def test_the_service_chart_is_overdue(demo_world):
    model = load_model(demo_world.model)
    spec = model.charts["binderhub-service"]
    service = resolve_chart(model, spec, refresh=False, offline="stale")
    head = service.head_verdict
    assert (head.state, head.name, head.predicted) == (
        "overdue",
        demo_world.service_current_version,
        True,
    )
    assert head.age > 365 * 86400 and head.reason.endswith("the publish job may have failed")
    pin = service.pin_verdict
    assert (pin.state, pin.asked) == ("published", demo_world.service_pinned_version)


def _rewrite_index(world, change) -> None:
    data = yaml.safe_load(world.index.read_bytes())
    data["entries"]["binderhub"] = [change(e) for e in data["entries"]["binderhub"]]
    world.index.write_text(yaml.safe_dump(data))


def test_a_name_published_with_a_longer_hash_is_found_by_prefix_and_count(demo_copy):
    """CI's clone may abbreviate differently from ours: the index's name is the name."""
    current = demo_copy.current_version
    longer = current + demo_copy.pr_commit[len(current.rsplit(".h", 1)[1]) :][:2]
    assert demo_copy.pr_commit.startswith(longer.rsplit(".h", 1)[1])

    def lengthen(e):
        return {**e, "version": longer} if e["version"] == current else e

    _rewrite_index(demo_copy, lengthen)
    facts = resolve_facts(load_model(demo_copy.model))
    assert facts.get("charts.binderhub.version").value == longer
    assert facts.get("charts.binderhub.state").value == "published"
    assert "the name the index publishes" in facts.get("charts.binderhub.version").provenance.note
    chart = facts.charts["binderhub"]
    ours = verdict_for_version(chart, current, now=chart.head_verdict.now)
    assert ours.state == "never" and ours.fix == f"pin {longer}"
    # same sha prefix but another count: not that commit's name
    miscounted = longer.replace(".git.", ".git.9", 1)
    _rewrite_index(
        demo_copy, lambda e: {**e, "version": miscounted} if e["version"] == longer else e
    )
    again = resolve_facts(load_model(demo_copy.model))
    assert again.get("charts.binderhub.version").value == current
    assert again.get("charts.binderhub.state").value == "overdue"


def test_unpublished_names_follow_their_neighbours_unless_the_scheme_says(demo_copy):
    """With a legacy index (0.1.0-<sha>), an unpublished chart is named the legacy way."""
    current = demo_copy.current_version
    chart_yaml_base = "0.0.1"  # the demo Chart.yaml's version up to '-'

    def legacy(e):
        return {**e, "version": f"{chart_yaml_base}-{parse_version(e['version']).sha}"}

    data = yaml.safe_load(demo_copy.index.read_bytes())
    data["entries"]["binderhub"] = [
        legacy(e) for e in data["entries"]["binderhub"] if e["version"] != current
    ]
    demo_copy.index.write_text(yaml.safe_dump(data))
    expected = compute_chart_version(
        load_chart_repo(demo_copy), "main", CHARTPRESS, "binderhub", "sha"
    ).version
    assert expected.startswith(f"{chart_yaml_base}-")
    facts = resolve_facts(load_model(demo_copy.model))
    version = facts.get("charts.binderhub.version")
    assert version.value == expected and version.provenance.note.startswith("predicted")
    assert facts.get("charts.binderhub.state").value == "overdue"
    # scheme = "chartpress" overrides what the neighbours say
    model = demo_copy.model
    model.write_text(
        model.read_text().replace(
            'pin = "mybinder/Chart.yaml#dependencies[name=binderhub].version"',
            'pin = "mybinder/Chart.yaml#dependencies[name=binderhub].version"\nscheme = "chartpress"',
        )
    )
    forced = resolve_facts(load_model(model))
    assert forced.get("charts.binderhub.version").value == current


def load_chart_repo(world):
    from sphinx_deployguide.git import GitRepo

    return GitRepo(world.source)


def test_a_local_source_is_never_fetched(demo_copy):
    before = git(demo_copy.source, "for-each-ref")
    model = load_model(demo_copy.model)
    chart = resolve_chart(model, model.charts["binderhub"], refresh=False, offline="stale")
    verdict = verdict_for_version(chart, "1.0.0-0.dev.git.40.h1234abc", now=chart.head_verdict.now)
    assert verdict.state == "unknown" and "the local copy ../binderhub lacks" in verdict.reason
    assert git(demo_copy.source, "for-each-ref") == before


def test_a_merge_pushed_after_the_mirror_was_filled_is_fetched_before_judging(demo_copy):
    """Within the cache TTL, a pin on a new merge is judged on the fetched history: pending,
    not "unknown" nor "not on main"."""
    model_file = demo_copy.model
    text = model_file.read_text()
    model_file.write_text(
        text.replace('source = "../binderhub"', f'source = "{demo_copy.source.as_uri()}"', 1)
    )
    first = resolve_facts(load_model(model_file))  # fills the mirror
    mirror = first.charts["binderhub"].repo
    assert mirror.is_mirror() and first.get("charts.binderhub.state").value == "published"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    pr, merge = merge_chart_change(demo_copy.source, int((now - timedelta(minutes=2)).timestamp()))
    new = compute_chart_version(load_chart_repo(demo_copy), merge, CHARTPRESS, "binderhub")
    assert new.commit_full == pr  # the incident pattern again: the PR commit names it
    chart_yaml = demo_copy.deploy / "mybinder" / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace(demo_copy.pinned_version, new.version))
    assert mirror.resolve(new.commit) is None  # the cache predates the merge

    facts = resolve_facts(load_model(model_file))  # ttl 600 s: only the pin makes it fetch
    state = facts.charts["binderhub"]
    assert state.repo.resolve("main") == merge
    pin = state.pin_verdict
    assert (pin.state, pin.commit, pin.landed_by) == ("pending", pr, merge)
    assert pin.reason.startswith(f"{new.version} is not in ../helm-chart/index.yaml yet: ")
    assert facts.get("charts.binderhub.version").value == new.version
    assert facts.get("charts.binderhub.state").value == "pending"
    assert format_duration(pin.age) in pin.reason


def test_archives_are_probed_on_the_index_host(demo_copy, index_server):
    """Listed is not installable: an archive that does not answer keeps a version pending;
    relative archive URLs are resolved against the index URL."""
    current = demo_copy.current_version
    data = yaml.safe_load(demo_copy.index.read_bytes())
    for chart_entries in data["entries"].values():
        for e in chart_entries:
            e["urls"] = [e["urls"][0].rsplit("/", 1)[1]]  # relative, as helm repo index writes
    index_server.set_body(yaml.safe_dump(data))
    index_server.headers = {"Cache-Control": "max-age=300"}
    text = demo_copy.model.read_text()
    demo_copy.model.write_text(
        text.replace('index = "../helm-chart/index.yaml"', f'index = "{index_server.url}"')
    )
    missing = resolve_facts(load_model(demo_copy.model))
    archive = f"{index_server.base_url}/binderhub-{current}.tgz"
    assert missing.get("charts.binderhub.state").value == "pending"
    assert missing.get("charts.binderhub.published").value is False
    assert missing.get("charts.binderhub.verdict").value == (
        f"{current} is listed in {index_server.url} but its archive {archive} does not answer "
        "(HTTP 404 Not Found): it cannot be installed yet"
    )
    heads = [r for r in index_server.requests if r.method == "HEAD"]
    assert heads and heads[0].path == f"/binderhub-{current}.tgz"
    index_server.add_file(f"/binderhub-{current}.tgz", b"\x1f\x8b")
    found = resolve_facts(load_model(demo_copy.model), refresh=True)
    assert found.get("charts.binderhub.state").value == "published"
    # the index's max-age is part of the advised wait, and its provenance says so
    wait = found.get("charts.binderhub.delay.wait")
    stats = found.charts["binderhub"].delay
    assert wait.value == stats.wait + 300
    assert "Cache-Control max-age of 5 min" in wait.provenance.describe()


def test_verdicts_on_a_copy_of_state_use_its_index(chart, demo_world):
    """bump judges against a fresh snapshot: the verdict follows the snapshot it is given."""
    current = demo_world.current_version
    entries = {
        "binderhub": tuple(e for e in chart.index.entries["binderhub"] if e.version != current)
    }
    without = dataclasses.replace(chart, index=dataclasses.replace(chart.index, entries=entries))
    assert verdict_for_commit(without, chart.head, now=chart.head_verdict.now).state == "overdue"
    assert verdict_for_commit(chart, chart.head, now=chart.head_verdict.now).state == "published"


# --------------------------------------------------------------------------- one state everywhere


def _cli(world, capsys, *args: str) -> tuple[int, str]:
    from sphinx_deployguide.cli import main

    code = main(["--config", str(world.model), *args])
    return code, capsys.readouterr().out


def _states(world, capsys, chart: str, version: str, older: str) -> dict[str, str]:
    """What lint (``version`` pinned), bump --to (from ``older``) and diagnose (a log
    naming it) say of ``version``."""
    chart_yaml = world.deploy / "mybinder" / "Chart.yaml"
    text = chart_yaml.read_text()
    key = f"- name: {chart}\n    version: "
    start = text.index(key) + len(key)
    end = text.index("\n", start)

    def pin(value: str) -> None:
        chart_yaml.write_text(text[:start] + f'"{value}"' + text[end:])

    pin(version)
    _, out = _cli(world, capsys, "lint", "--format", "json")
    mine = [f for f in json.loads(out) if f["subtype"] == "pin" and f"{chart} pin" in f["message"]]
    said = {"lint": mine[0]["state"] if mine else "published"}
    pin(older)
    _, out = _cli(world, capsys, "bump", chart, "--to", version, "--dry-run", "--json")
    said["bump"] = json.loads(out)["state"]
    log = world.root / "deploy.log"
    log.write_text(
        '2026-11-20T10:00:25.0000000Z ##[error]Error: chart "'
        f'{chart}" version "{version}" not found in https://demo.invalid/helm-chart repository\n'
    )
    _, out = _cli(world, capsys, "diagnose", str(log), "--json")
    said["diagnose"] = json.loads(out)["findings"][0]["check"]["data"]["state"]
    pin(version)
    return said


def test_every_front_end_says_the_same_state_on_the_demo(demo_copy, capsys):
    """The demo's cases through facts, its built runbook page, lint, bump and diagnose."""
    from sphinx.cmd.build import build_main

    world = demo_copy
    merge = load_chart_repo(world).short(world.merge_commit)
    cases = {
        "published": ("binderhub", world.current_version, world.pinned_version),
        "overdue": (
            "binderhub-service",
            world.service_current_version,
            world.service_pinned_version,
        ),
        "never": (
            "binderhub",
            world.current_version.rsplit(".h", 1)[0] + ".h" + merge,
            world.pinned_version,
        ),
        "unknown": ("binderhub", "1.0.0-0.dev.git.34.h1234abc", world.pinned_version),
    }
    docs, html = world.deploy / "docs" / "source", world.root / "html"
    for state, (chart, version, older) in cases.items():
        said = _states(world, capsys, chart, version, older)  # leaves ``version`` pinned
        # the pinned version's verdict: its fact, and the pinned stage of the page's
        # deploy-status row (binderhub's)
        _, out = _cli(world, capsys, "facts", "--json", f"charts.{chart}.pinned_state")
        said["facts (pin)"] = json.loads(out)["facts"][f"charts.{chart}.pinned_state"]["value"]
        capsys.readouterr()
        assert build_main(["-q", "-E", "-b", "html", str(docs), str(html)]) == 0
        page = parse_html((html / "staging.html").read_text())
        (row,) = page.find_all("ol", "deployguide-status", data_deployguide_status="binderhub")
        stages = {li.attrs["data-deployguide-stage"]: li for li in row.find_all("li")}
        if chart == "binderhub":
            (word,) = stages["pinned"].find_all(
                data_deployguide_fact="charts.binderhub.pinned_state"
            )
            said["status (pin)"] = word.text()
            if state != "published":  # a pin that will not install colours its stage
                said["status (pin stage)"] = stages["pinned"].attrs["data-deployguide-state"]
        if state in ("published", "overdue"):  # what the branch head is: facts and page
            _, out = _cli(world, capsys, "facts", "--json", f"charts.{chart}.state")
            said["facts"] = json.loads(out)["facts"][f"charts.{chart}.state"]["value"]
            (value, *_) = page.find_all("span", data_deployguide_fact=f"charts.{chart}.state")
            said["page"] = value.text()
            if chart == "binderhub":
                said["status"] = stages["published"].attrs["data-deployguide-state"]
        assert set(said.values()) == {state}, (state, said)
