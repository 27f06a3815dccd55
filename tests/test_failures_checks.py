"""Live checks: pure decisions, and the real thing against the demo world's git history and
a real HTTP index server on 127.0.0.1."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from sphinx_deployguide.chartindex import IndexEntry
from sphinx_deployguide.config import load_model
from sphinx_deployguide.delay import DelayStats
from sphinx_deployguide.factresolve import resolve_facts
from sphinx_deployguide.failures import (
    LazyFacts,
    clean_log,
    diagnose_lines,
    load_catalog,
    read_log_tail,
)
from sphinx_deployguide.failures.chart_published import (
    FailureEvidence,
    decide_chart_published,
    split_chart_ref,
)
from sphinx_deployguide.failures.log_checks import decide_chart_repository, decide_rollout
from sphinx_deployguide.verdict import Evidence, Verdict, decide
from sphinx_deployguide.versionparse import parse_version

T0 = datetime(2024, 3, 26, 15, 33, tzinfo=timezone.utc)


def verdict(**changes) -> Verdict:
    """The verdict on a chart commit that landed at T0 and is not in the index (10 min ago)."""
    base = dict(
        chart="binderhub",
        asked="1.0.0-0.dev.git.34.habc1234",
        kind="version",
        now=T0 + timedelta(minutes=10),
        parsed=parse_version("1.0.0-0.dev.git.34.habc1234"),
        commit="abc1234" + "0" * 33,
        commit_short="abc1234",
        chart_commit="abc1234" + "0" * 33,
        chart_commit_short="abc1234",
        count=34,
        predicted="1.0.0-0.dev.git.34.habc1234",
        landed_by="abc1234" + "0" * 33,
        landed_by_short="abc1234",
        landed_at=T0,
        delay=DelayStats(count=20, median=7 * 60, p90=29.5 * 60, p95=31 * 60),
        branch="main",
        source="src",
        index_source="idx",
    )
    base.update(changes)
    return decide(Evidence(**base))


FAILURE = FailureEvidence("log line 3")


def test_not_published_within_delay_waits_the_rest_of_the_advised_wait():
    result = decide_chart_published(verdict(), FAILURE)
    assert result.verdict == "spurious"
    assert result.data["state"] == "pending" and result.data["wait_minutes"] == 20
    assert result.action == "Wait about 20 min more, then rerun the deploy job."


def test_not_published_long_after_the_wait_is_legitimate():
    result = decide_chart_published(verdict(now=T0 + timedelta(hours=3)), FAILURE)
    assert result.verdict == "legitimate" and result.data["state"] == "overdue"
    assert "the publish job may have failed" in result.summary


def test_published_after_failure_is_spurious():
    failed = T0 + timedelta(minutes=5)
    listed = IndexEntry(
        "1.0.0-0.dev.git.34.habc1234", failed + timedelta(minutes=4, seconds=30), None
    )
    result = decide_chart_published(
        verdict(listed=listed), FailureEvidence("log line 3", failed, "--failed-at")
    )
    assert result.verdict == "spurious"
    assert "published 4.5 min after the deploy failed" in result.summary


def test_unknown_sha_cannot_decide_and_no_version_is_legitimate():
    unknown = decide_chart_published(
        verdict(commit=None, chart_commit=None, landed_at=None), FAILURE
    )
    assert unknown.verdict is None and unknown.data["state"] == "unknown"
    assert "names commit abc1234, which the local copy src lacks" in unknown.summary
    junk = verdict(asked="not-a-version", parsed=None)
    assert decide_chart_published(junk, FAILURE).verdict == "legitimate"


def test_not_a_chart_commit_names_the_right_version():
    result = decide_chart_published(
        verdict(
            chart_commit="def5678" + "0" * 33,
            chart_commit_short="def5678",
            predicted="1.0.0-0.dev.git.33.hdef5678",
            is_merge=True,
        ),
        FAILURE,
    )
    assert result.verdict == "legitimate"
    assert result.data["correct_version"] == "1.0.0-0.dev.git.33.hdef5678"
    assert "Pin 1.0.0-0.dev.git.33.hdef5678" in result.action
    assert "abc1234 (a merge commit) is a commit of src but not a chart commit" in result.summary


def test_no_delay_statistics_cannot_decide():
    result = decide_chart_published(verdict(delay=None), FAILURE)
    assert result.verdict is None and "no publish history" in result.summary


def test_chart_repository_decisions():
    url = "https://charts.example.org"
    assert (
        decide_chart_repository(url, "x : 503 Service Unavailable", 1, None).verdict == "spurious"
    )
    assert (
        decide_chart_repository(url, "x : 404 Not Found", 1, [url + "/index.yaml"]).verdict
        == "legitimate"
    )
    assert (
        decide_chart_repository(url + "s", "x : 503", 1, [url + "/index.yaml"]).verdict
        == "legitimate"
    )
    assert decide_chart_repository(url, "cannot be reached", 1, [url]).verdict == "spurious"
    assert decide_chart_repository(url, "cannot be reached", 1, None).verdict is None


def test_rollout_decisions():
    lines = clean_log(read_log_tail(io.BytesIO(b"error: timed out waiting for the condition\n")))
    assert decide_rollout(lines).verdict == "spurious"
    lines = clean_log(read_log_tail(io.BytesIO(b"pod-1 0/1 ImagePullBackOff\nerror: timed out\n")))
    result = decide_rollout(lines)
    assert result.verdict == "legitimate" and result.data["reasons"] == ["ImagePullBackOff"]


def test_split_chart_ref():
    assert split_chart_ref("binderhub-0.1.0-441f5ea", ["binderhub"]) == (
        "binderhub",
        "0.1.0-441f5ea",
    )
    assert split_chart_ref("jupyterhub-ssh-1.0.0-0.dev.git.3.habc1234", []) == (
        "jupyterhub-ssh",
        "1.0.0-0.dev.git.3.habc1234",
    )
    assert split_chart_ref("binderhub", ["binderhub"]) == ("binderhub", None)


# --------------------------------------------------------------------------- live, end to end


def _without(index_text: str, version: str) -> str:
    data = yaml.safe_load(index_text)
    data["entries"]["binderhub"] = [
        e for e in data["entries"]["binderhub"] if e["version"] != version
    ]
    return yaml.safe_dump(data)


@pytest.fixture
def served_world(demo_copy, index_server):
    """The demo world with its index served over HTTP, the newest version not yet in it."""
    newest = demo_copy.versions[-1]
    full = demo_copy.index.read_text()
    index_server.set_body(_without(full, newest.version))
    model = demo_copy.model
    text = model.read_text()
    assert 'index = "../helm-chart/index.yaml"' in text
    model.write_text(
        text.replace('index = "../helm-chart/index.yaml"', f'index = "{index_server.url}"')
    )
    return demo_copy, newest, full


def _diagnose(world, log_text: str, now: datetime, failed_at: datetime | None = None):
    model = load_model(world.model)
    lines = clean_log(read_log_tail(io.BytesIO(log_text.encode())))
    facts = LazyFacts(lambda: resolve_facts(model, refresh=True))
    return diagnose_lines(
        load_catalog(tuple(model.failures), model.path),
        lines,
        now=now,
        facts=facts,
        failed_at=failed_at,
    )


def _log(version: str, stamp: datetime) -> str:
    ts = stamp.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    return (
        f"{ts} ##[group]Run python ./deploy.py staging\n"
        f'{ts} ##[error]Error: chart "binderhub" version "{version}" not found in '
        f"https://demo.invalid/helm-chart repository\n"
    )


def test_live_not_yet_published_then_published(served_world, index_server):
    world, newest, full = served_world
    failed = newest.landed_at + timedelta(minutes=2)
    diagnosis = _diagnose(world, _log(newest.version, failed), now=failed + timedelta(minutes=1))
    check = diagnosis.winner.check
    assert diagnosis.verdict == "spurious", check
    assert check.data["wait_minutes"] >= 1
    assert index_server.request_count >= 1  # the index really came over HTTP

    # Much later, still not published: publishing failed -> legitimate.
    late = _diagnose(world, _log(newest.version, failed), now=newest.landed_at + timedelta(days=2))
    assert late.verdict == "legitimate" and "the publish job may have failed" in late.winner.summary

    # Now the chart appears in the index: published after the failure -> rerun.
    index_server.set_body(full)
    after = _diagnose(
        world, _log(newest.version, failed), now=newest.created + timedelta(minutes=1)
    )
    assert after.verdict == "spurious"
    assert after.winner.check.data["published_at"] == newest.created.isoformat()
    assert "after the deploy failed" in after.winner.summary


def test_live_merge_sha_is_legitimate_with_correct_version(served_world):
    world, newest, _full = served_world
    from sphinx_deployguide.git import GitRepo

    repo = GitRepo(world.source)
    merge_short = repo.run("rev-parse", "--short", world.merge_commit)
    pr_short = repo.run("rev-parse", "--short", world.pr_commit)
    wrong = newest.version.replace(f"h{pr_short}", f"h{merge_short}")
    assert newest.commit == world.pr_commit and wrong != newest.version
    diagnosis = _diagnose(
        world,
        _log(wrong, newest.landed_at + timedelta(minutes=30)),
        now=newest.landed_at + timedelta(hours=1),
    )
    assert diagnosis.verdict == "legitimate"
    assert diagnosis.winner.check.data["correct_version"] == newest.version


def test_live_index_unreachable_check_could_not_run(served_world, index_server):
    """offline = "error" and the server down: the check says why it could not run."""
    world, newest, _full = served_world
    world.model.write_text(
        world.model.read_text().replace(
            'deploy_repo = "."',
            'deploy_repo = "."\noffline = "error"\n\n[network]\nretries = 0\n',
            1,
        )
    )
    index_server.stop()
    diagnosis = _diagnose(world, _log(newest.version, newest.landed_at), now=newest.landed_at)
    assert diagnosis.verdict == "undetermined"
    assert diagnosis.winner.check.summary.startswith("could not run:")
