"""The drift checks as pure functions: one test per check and per pin case, on the demo world."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from sphinx_deployguide.chartversion import compute_chart_version
from sphinx_deployguide.config import Environment, load_model, toml_key_line
from sphinx_deployguide.delay import format_duration
from sphinx_deployguide.drift import Finding
from sphinx_deployguide.drift.claims import (
    check_config_claim,
    check_file_claim,
    check_job_claim,
    check_text_claim,
)
from sphinx_deployguide.drift.coverage import ChecklistRef, check_coverage
from sphinx_deployguide.drift.hardcoded import ChartCommits, check_candidate, find_candidates
from sphinx_deployguide.drift.locate import yaml_key_line
from sphinx_deployguide.drift.pins import check_pin, pin_location
from sphinx_deployguide.factresolve import resolve_facts
from sphinx_deployguide.keypath import parse_key_path
from sphinx_deployguide.verdict import verdict_for_commit, verdict_for_version

WHERE = {"file": "docs/index.md", "line": 12}


@pytest.fixture(scope="module")
def facts(demo_world):
    return resolve_facts(load_model(demo_world.model))


@pytest.fixture(scope="module")
def chart(facts):
    return facts.charts["binderhub"]


def short(sha: str) -> str:
    return sha[:7]


# --- claim ------------------------------------------------------------------------------------


def test_file_claim_holds_and_fails_with_a_suggestion(demo_world):
    assert check_file_claim(demo_world.deploy, "deploy.py", **WHERE) is None
    found = check_file_claim(demo_world.deploy, "config/prod.yml", **WHERE)
    assert (found.subtype, found.severity, found.file, found.line) == (
        "claim",
        "error",
        "docs/index.md",
        12,
    )
    assert "'config/prod.yml' does not exist" in found.message
    assert found.fix == "point it at 'config/prod.yaml'"


def test_file_claim_refuses_paths_outside_the_deploy_repo(demo_world):
    found = check_file_claim(demo_world.deploy, "../binderhub/README.md", **WHERE)
    assert found is not None and "outside the deploy repo" in found.message


def test_config_claim(demo_world):
    assert (
        check_config_claim(demo_world.deploy, "config/prod.yaml#binderhub.replicas", **WHERE)
        is None
    )
    found = check_config_claim(demo_world.deploy, "config/prod.yaml#binderhub.replica", **WHERE)
    assert (found.subtype, found.line) == ("claim", 12)
    assert "no key 'replica'" in found.message and "replicas" in found.message
    missing = check_config_claim(demo_world.deploy, "config/canary.yaml#binderhub", **WHERE)
    assert "'config/canary.yaml' does not exist" in missing.message
    bad = check_config_claim(demo_world.deploy, "config/prod.yaml#a..b", **WHERE)
    assert "bad key path" in bad.message


def test_job_claim(demo_world):
    workflow = ".github/workflows/cd.yml"
    assert check_job_claim(demo_world.deploy, workflow, "prod-deploy", **WHERE) is None
    found = check_job_claim(demo_world.deploy, workflow, "deploy-prod", **WHERE)
    assert (found.subtype, found.severity, found.line) == ("claim", "error", 12)
    assert "job 'deploy-prod' does not exist" in found.message
    assert found.fix == "use job 'prod-deploy'"
    gone = check_job_claim(
        demo_world.deploy, ".github/workflows/deploy.yml", "prod-deploy", **WHERE
    )
    assert "workflow file '.github/workflows/deploy.yml' does not exist" in gone.message


def test_job_claim_on_a_file_without_jobs(tmp_path):
    (tmp_path / "wf.yml").write_text("name: x\non: push\n")
    found = check_job_claim(tmp_path, "wf.yml", "build", **WHERE)
    assert "has no 'jobs:' mapping" in found.message


def test_text_claim_contains_and_matches(demo_world):
    deploy = demo_world.deploy
    assert check_text_claim(deploy, "deploy.py", contains="--timeout=10m", **WHERE) is None
    assert (
        check_text_claim(deploy, "config/prod.yaml", matches=r"^\s+replicas:\s*3\s*$", **WHERE)
        is None
    )
    # REFERENCE.md: the docs said helm waits ten minutes; deploy.py passes no helm --timeout.
    found = check_text_claim(deploy, "deploy.py", contains="--timeout=10m --wait", **WHERE)
    assert (found.subtype, found.severity, found.line) == ("claim", "error", 12)
    assert "deploy.py no longer contains '--timeout=10m --wait'" in found.message
    used = [
        n
        for n, t in enumerate((deploy / "deploy.py").read_text().splitlines(), 1)
        if "--timeout=10m" in t
    ]
    assert used and f"line {used[0]}:" in found.message  # where --timeout=10m is used now
    assert "update the statement" in found.fix
    stage = check_text_claim(
        deploy, ".github/workflows/cd.yml", matches=r"Stage 3: Deploy to \w+", **WHERE
    )
    assert "no longer matches" in stage.message


def test_text_claim_malformed(demo_world):
    both = check_text_claim(demo_world.deploy, "deploy.py", contains="a", matches="b", **WHERE)
    assert "exactly one of :contains: or :matches:" in both.message
    regex = check_text_claim(demo_world.deploy, "deploy.py", matches="(", **WHERE)
    assert "invalid :matches: regular expression" in regex.message
    nofile = check_text_claim(demo_world.deploy, "", contains="x", **WHERE)
    assert "needs :file:" in nofile.message


# --- hardcoded ------------------------------------------------------------------------------


def test_candidates_of_all_four_formats_and_bare_shas():
    text = (
        "old 0.1.0-441f5ea, 0.2.0-013.dace2ee and 0.2.0-n077.hef338bc, "
        "new 1.0.0-0.dev.git.3983.h383374de; commit 4e3bafb; not 3.12.0, not cafe, not h441f5ea"
    )
    found = [(c.token, c.kind) for c in find_candidates(text)]
    assert found == [
        ("0.1.0-441f5ea", "version"),
        ("0.2.0-013.dace2ee", "version"),
        ("0.2.0-n077.hef338bc", "version"),
        ("1.0.0-0.dev.git.3983.h383374de", "version"),
        ("4e3bafb", "sha"),
    ]


def test_hardcoded_version_names_the_fact(facts, chart):
    commits = ChartCommits(facts.charts)
    [candidate] = find_candidates(f"Deploy {chart.current.version} now.")
    found = check_candidate(candidate, commits, **WHERE)
    assert (found.subtype, found.severity, found.file, found.line) == (
        "hardcoded",
        "error",
        "docs/index.md",
        12,
    )
    assert "{deploy-value}`charts.binderhub.version`" in found.fix
    assert "{deploy-historical}" in found.fix
    [pinned] = find_candidates(f"We run {chart.pinned}.")
    assert "charts.binderhub.pinned" in check_candidate(pinned, commits, **WHERE).fix


def test_hardcoded_sha_is_verified_with_git(facts, demo_world):
    commits = ChartCommits(facts.charts)
    [candidate] = find_candidates(f"built from {short(demo_world.pr_commit)}")
    found = check_candidate(candidate, commits, **WHERE)
    assert found is not None and "charts.binderhub.commit" in found.fix
    head = check_candidate(find_candidates(f"head {short(demo_world.head)}")[0], commits, **WHERE)
    assert "charts.binderhub.head" in head.fix
    # The 2017-2019 "<version>-<sha>" format is recognised through its commit.
    old_style = find_candidates(f"pinned 0.1.0-{short(demo_world.pr_commit)} then")
    assert [c.kind for c in old_style] == ["version"]
    assert "charts.binderhub.version" in check_candidate(old_style[0], commits, **WHERE).fix
    # Hex words and SHAs of other repositories are not chart commits: no finding.
    assert check_candidate(find_candidates("see deadbeef1")[0], commits, **WHERE) is None
    assert (
        check_candidate(find_candidates("version 1.0.0-0.dev.git.3.h1234567")[0], commits, **WHERE)
        is None
    )


# --- pin ------------------------------------------------------------------------------------


def pinned(chart, version, now=None):
    """``chart`` pinning ``version``, its verdict judged at ``now`` (default: resolve time)."""
    judged = now or chart.head_verdict.now
    verdict = (
        verdict_for_version(chart, version, now=judged) if version and version.strip() else None
    )
    return dataclasses.replace(chart, pinned=version, pin_verdict=verdict)


def without_current(chart):
    """``chart`` with an index that does not have the current version (yet)."""
    current = chart.version
    entries = {
        "binderhub": tuple(e for e in chart.index.entries["binderhub"] if e.version != current)
    }
    state = dataclasses.replace(chart, index=dataclasses.replace(chart.index, entries=entries))
    return state, current


def test_pin_location_is_the_line_of_the_pinned_value(demo_world, chart):
    file, line = pin_location(demo_world.deploy, chart)
    assert file == str(demo_world.deploy / "mybinder" / "Chart.yaml")
    lines = Path(file).read_text().splitlines()
    assert chart.pinned in lines[line - 1]


def test_pin_case_a_not_yet_published_then_overdue(chart):
    """Pinned before its chart appeared: wait; long after: the publish job may have failed."""
    state, current = without_current(chart)
    landed = chart.head_verdict.landed_at
    wait = chart.head_verdict.wait
    assert landed is not None and wait is not None and wait > 10 * 60
    early = check_pin(pinned(state, current, landed + timedelta(minutes=5)), **WHERE)
    assert (early.subtype, early.severity, early.line, early.state) == (
        "pin",
        "warning",
        12,
        "pending",
    )
    assert early.message == (
        f"binderhub pin: {current} is not in {chart.spec.index} yet: its chart commit "
        f"{chart.current.commit} landed on main 5 min ago, and charts usually appear within "
        f"{format_duration(wait)}"
    )
    assert early.fix == f"wait about {format_duration(wait - 300)} more"
    late = check_pin(pinned(state, current, landed + timedelta(hours=3)), **WHERE)
    assert (late.severity, late.state) == ("error", "overdue")
    assert "not in " in late.message and "3 h after its chart commit" in late.message
    assert late.message.endswith("the publish job may have failed")
    assert late.fix == f"check the publish job of ../binderhub for {chart.current.commit}"
    # With a stale index (network down), "not published" cannot be told: a warning only.
    offline = dataclasses.replace(
        state, index=dataclasses.replace(state.index, status="stale", error="connection refused")
    )
    unsure = check_pin(pinned(offline, current, landed + timedelta(hours=3)), **WHERE)
    assert (unsure.severity, unsure.state) == ("warning", "unknown")
    assert "connection refused" in unsure.message


def test_pin_case_a2_a_superseded_pr_commit_is_never_published(demo_world, chart):
    """A PR's first chart commit: main got it with the PR's later chart commit, whose chart
    was published instead; its own version never will be."""
    commit = demo_world.commits["pr6a"]
    version = compute_chart_version(chart.repo, commit, chart.spec.chartpress, "binderhub").version
    assert chart.index.find("binderhub", version) is None
    merge6 = compute_chart_version(
        chart.repo, demo_world.commits["merge6"], chart.spec.chartpress, "binderhub"
    )
    assert merge6.commit_full == demo_world.commits["pr6b"]
    assert chart.index.find("binderhub", merge6.version) is not None
    found = check_pin(pinned(chart, version), **WHERE)
    assert (found.severity, found.state) == ("error", "never")
    assert (
        f"chart commit {short(commit)} reached main with {short(demo_world.commits['merge6'])}, "
        f"whose chart commit is the newer {merge6.commit}; the chart of that push was "
        f"published as {merge6.version}"
    ) in found.message
    assert found.fix == f"pin {merge6.version}"  # newer than the pin, never older


def test_pin_case_b_merge_sha_names_the_pr_commits_version(demo_world, chart):
    """The 2018 incident: a version made from the merge SHA will never exist."""
    wrong = chart.version.rsplit(".h", 1)[0] + ".h" + short(demo_world.merge_commit)
    found = check_pin(pinned(chart, wrong), **WHERE)
    right = chart.version
    assert right.endswith(".h" + short(demo_world.pr_commit))
    assert (found.subtype, found.severity, found.file, found.line, found.state) == (
        "pin",
        "error",
        "docs/index.md",
        12,
        "never",
    )
    assert "will never be published" in found.message and "(a merge commit)" in found.message
    assert f"chart commit {short(demo_world.pr_commit)}, published as {right}" in found.message
    assert found.fix == f"pin {right}"


def test_pin_case_c_sha_not_in_the_source_is_unknown_with_no_other_version(chart):
    found = check_pin(pinned(chart, "1.0.0-0.dev.git.34.h1234abc"), **WHERE)
    assert (found.subtype, found.severity, found.state) == ("pin", "warning", "unknown")
    assert found.message == (
        "binderhub pin: 1.0.0-0.dev.git.34.h1234abc names commit 1234abc, which the local copy "
        "../binderhub lacks (deployguide never fetches a local source; it may be newer than "
        "that copy)"
    )
    assert found.fix == "update ../binderhub (`git fetch`), then check again"
    assert chart.version not in found.text()  # no advice to pin anything else


def test_pin_case_d_published_but_behind_is_info(chart, demo_world):
    found = check_pin(chart, **WHERE)
    assert chart.pinned == demo_world.pinned_version
    assert (found.subtype, found.severity, found.state) == ("pin", "info", "published")
    assert f"{len(chart.pending)} chart commits behind" in found.message and len(chart.pending) == 4
    assert "deployguide bump binderhub" in found.fix


def test_pin_case_d_fix_says_bump_now_when_the_current_version_is_published(chart):
    current = chart.version
    assert chart.index.find("binderhub", current) is not None
    found = check_pin(chart, **WHERE)
    assert found.fix == f"run `deployguide bump binderhub` to move to {current}"
    assert "once it is published" not in found.text()


def test_pin_case_d_fix_says_wait_when_the_current_version_is_not_yet_published(chart):
    state, current = without_current(chart)
    head = verdict_for_commit(state, chart.head, now=chart.head_verdict.landed_at)
    state = pinned(dataclasses.replace(state, head_verdict=head), chart.pinned)
    assert state.pin_verdict.state == "published" and head.state == "pending"
    found = check_pin(state, **WHERE)
    assert found.severity == "info"
    assert found.message.endswith(f"; pending: {head.reason}")
    assert found.fix == (
        f"run `deployguide bump binderhub` to move to {current} once it is published"
    )


@pytest.mark.parametrize("value", ["", None, "   "])
def test_pin_empty_or_null_is_an_error(chart, value):
    found = check_pin(pinned(chart, value), **WHERE)
    assert (found.subtype, found.severity, found.file, found.line) == (
        "pin",
        "error",
        "docs/index.md",
        12,
    )
    shown = "null" if value is None else "empty"
    assert found.message == (
        f"the binderhub pin ({chart.spec.pin.key}) is {shown}: "
        f"expected a chart version (the current one is {chart.version}, published)"
    )
    current = chart.version
    if value is None:  # bump edits a value in place: there is none to edit
        assert found.fix == (
            f'write "{current}" there; `deployguide bump binderhub` replaces a value, not null'
        )
    else:  # an empty pin has no order: bump refuses it without --allow-downgrade
        assert found.fix == (
            f"run `deployguide bump binderhub --allow-downgrade`, which pins {current}"
        )


def test_an_empty_pin_with_a_pending_current_chart_is_fixed_by_waiting_for_it(chart):
    state, current = without_current(chart)
    head = verdict_for_commit(state, chart.head, now=chart.head_verdict.landed_at)
    assert head.state == "pending"
    found = check_pin(pinned(dataclasses.replace(state, head_verdict=head), ""), **WHERE)
    assert found.fix == (
        f"run `deployguide bump binderhub --allow-downgrade --wait`, which pins {current} once "
        f"it is published ({head.reason})"
    )


@pytest.mark.parametrize("value", ["", None])
def test_an_empty_pin_with_an_overdue_current_chart_names_the_newest_published(
    chart, demo_world, value
):
    state, current = without_current(chart)
    head = verdict_for_commit(state, chart.head, now=chart.head_verdict.now)
    assert head.state == "overdue"  # the demo's current chart landed long ago
    found = check_pin(pinned(dataclasses.replace(state, head_verdict=head), value), **WHERE)
    # the newest the index has once the current one is gone: the one published before it
    newest = [v.version for v in demo_world.versions if v.version != current][-1]
    assert current not in found.fix.split("(the current chart is")[0]  # never offered
    assert f"the newest published version (the current chart is overdue: {head.reason})" in (
        found.fix
    )
    if value is None:
        assert found.fix.startswith(f'write "{newest}" there, the newest published version')
    else:
        assert found.fix.startswith(
            f"run `deployguide bump binderhub --to {newest} --allow-downgrade`, which pins {newest}"
        )


def test_pin_messages_never_show_source_credentials(demo_world, chart):
    """The model's source URL may carry a token; findings go to CI annotations."""
    from sphinx_deployguide.git import GitRepo

    secret_url = "https://user:s3cret@git.example.org/binderhub.git"
    state = dataclasses.replace(
        chart,
        spec=dataclasses.replace(chart.spec, source=secret_url),
        repo=GitRepo(chart.repo.path, source=secret_url),
    )
    base = chart.version.rsplit(".h", 1)[0]
    cases = {
        "merge commit": f"{base}.h{short(demo_world.merge_commit)}",  # "is a commit of SOURCE"
        "unknown sha": f"{base}.h1234abc",  # "the local copy SOURCE lacks"
    }
    for case, version in cases.items():
        found = check_pin(pinned(state, version), **WHERE)
        assert found is not None and found.severity in ("error", "warning"), case
        assert "git.example.org/binderhub.git" in found.message, case  # the source is named
        assert "s3cret" not in found.text() and "user:" not in found.text(), case


def test_pin_current_and_published_is_clean(chart):
    state = pinned(chart, chart.version)
    assert check_pin(state, **WHERE) is None


# --- coverage -----------------------------------------------------------------------------

ENVS = {
    "staging": Environment("staging"),
    "prod": Environment("prod", after="staging"),
}


def test_coverage_all_three_cases():
    refs = [
        ChecklistRef("prod", "prod", "docs/prod.md", 3),
        ChecklistRef("canary", "canary", "docs/prod.md", 9),
    ]
    found = check_coverage(
        ENVS, refs, model_file="deployguide.toml", env_line={"staging": 11, "prod": 17}.get
    )
    by_line = {(f.file, f.line): f for f in found}
    assert all(f.subtype == "coverage" and f.severity == "warning" for f in found)
    missing = by_line[("deployguide.toml", 11)]
    assert "'staging' has no deploy-checklist" in missing.message and "staging" in missing.fix
    after = by_line[("docs/prod.md", 3)]
    assert "deployed after 'staging'" in after.message
    unknown = by_line[("docs/prod.md", 9)]
    assert "'canary'" in unknown.message and "staging, prod" in unknown.fix
    assert len(found) == 3


def test_coverage_complete_is_clean():
    refs = [ChecklistRef("staging", "s", "a.md", 1), ChecklistRef("prod", "p", "a.md", 9)]
    assert check_coverage(ENVS, refs, model_file="m.toml", env_line=lambda n: None) == []


# --- helpers --------------------------------------------------------------------------------


def test_locate_yaml_and_toml_lines():
    text = "a: 1\ndeps:\n  - name: x\n    version: '1'\n  - name: y\n    version: '2'\n"
    assert yaml_key_line(text, parse_key_path("deps[name=y].version")) == 6
    assert yaml_key_line(text, parse_key_path("deps[0].version")) == 4
    assert yaml_key_line(text, parse_key_path("nope")) is None
    lines = 'x = 1\n[environments."prod"]\nurl = "u"\n'.splitlines()
    assert toml_key_line(lines, "environments.prod") == 2


def test_finding_validates_severity_and_formats():
    f = Finding("claim", "error", "a.md", 3, "gone", "restore it")
    assert f.location == "a.md:3" and f.text() == "gone; fix: restore it"
    assert f.as_json() == {
        "subtype": "claim",
        "severity": "error",
        "file": "a.md",
        "line": 3,
        "message": "gone",
        "fix": "restore it",
        "state": None,
    }
    with pytest.raises(ValueError):
        Finding("claim", "fatal", None, None, "x")
