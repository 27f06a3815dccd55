"""Facts of the demo world: computed from real git, the index file and the deploy repo."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from sphinx_deployguide.chartversion import compute_chart_version
from sphinx_deployguide.cli import main
from sphinx_deployguide.config import load_model
from sphinx_deployguide.delay import format_duration, percentile
from sphinx_deployguide.errors import FactError
from sphinx_deployguide.factresolve import resolve_facts
from sphinx_deployguide.git import GitRepo
from sphinx_deployguide.versionparse import parse_version


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def facts(demo_world):
    return resolve_facts(load_model(demo_world.model))


def test_version_is_the_chart_commit_not_the_merge(facts, demo_world) -> None:
    repo = GitRepo(demo_world.source)
    expected = compute_chart_version(repo, "main", "helm-chart/chartpress.yaml", "binderhub")
    version = facts.get("charts.binderhub.version").value
    assert version == expected.version
    commit = facts.get("charts.binderhub.commit").value
    head = facts.get("charts.binderhub.head").value
    # The incident pattern: the last chart change came in through a TREESAME merge and
    # docs-only commits followed; the chart commit is the PR's commit, not the head or the merge.
    assert demo_world.pr_commit.startswith(commit)
    assert not demo_world.merge_commit.startswith(commit)
    assert commit != head
    assert _git(demo_world.source, "rev-parse", "--short", "main") == head
    assert parse_version(version).sha == commit
    assert version.endswith(f".h{commit}")


def test_publication_pin_and_pending(facts, demo_world) -> None:
    assert facts.get("charts.binderhub.published").value is True
    assert facts.get("charts.binderhub.published_at").value.endswith("Z")
    pinned = facts.get("charts.binderhub.pinned").value
    chart_yaml = (demo_world.deploy / "mybinder" / "Chart.yaml").read_text()
    assert pinned in chart_yaml
    assert pinned != facts.get("charts.binderhub.version").value
    pending = facts.get("charts.binderhub.pending").value
    pin_sha = parse_version(pinned).sha
    listed = _git(
        demo_world.source,
        "log",
        "--reverse",
        "--format=%h %s",
        f"{pin_sha}..{facts.get('charts.binderhub.commit').value}",
        "--",
        *facts.charts["binderhub"].current.paths,
    )
    assert pending == listed.splitlines()
    assert pending and pending[-1].split()[0] == facts.get("charts.binderhub.commit").value


def test_delay_facts(facts) -> None:
    median = facts.get("charts.binderhub.delay.median")
    p90 = facts.get("charts.binderhub.delay.p90")
    wait = facts.get("charts.binderhub.delay.wait")
    assert (
        median.kind == "duration"
        and 0 < median.value <= p90.value <= facts.get("charts.binderhub.delay.p95").value
    )
    assert wait.value % 60 == 0 and p90.value <= wait.value < p90.value + 60
    assert median.display().endswith(" min")
    assert facts.charts["binderhub"].delay.count >= 12


def test_environment_and_config_facts(facts, demo_world) -> None:
    model = load_model(demo_world.model)
    assert facts.get("environments.staging.job").value == model.environments["staging"].job
    assert facts.get("environments.prod.after").value == "staging"
    assert facts.get("environments.staging.values").value == list(
        model.environments["staging"].values
    )
    pinned = facts.get("config:mybinder/Chart.yaml#dependencies[name=binderhub].version")
    assert pinned.value == facts.get("charts.binderhub.pinned").value
    assert pinned.provenance.source == "mybinder/Chart.yaml"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        (
            "charts.binderhub.versoin",
            "unknown fact 'charts.binderhub.versoin'; known facts under it",
        ),
        (
            "config:mybinder/Chart.yaml#dependencies[name=nope].version",
            "no item with name = 'nope'",
        ),
        ("config:nope.yaml#a", "'nope.yaml' does not exist in the deploy repo"),
        ("config:../../etc/passwd#a", "is outside the deploy repo"),
        ("config:mybinder/Chart.yaml", 'expected "config:FILE#KEY.PATH"'),
    ],
)
def test_unknown_facts_are_clear_errors(facts, name: str, words: str) -> None:
    with pytest.raises(FactError, match=words.replace("(", r"\(").replace("[", r"\[")):
        facts.get(name)


def test_hash_is_stable_and_follows_values(facts, demo_world) -> None:
    again = resolve_facts(load_model(demo_world.model))
    assert again.hash == facts.hash and len(facts.hash) == 12
    assert not facts.stale
    assert {f.provenance.status for f in facts.facts.values()} <= {"live", "cached"}


def test_new_chart_commit_changes_version_and_hash(demo_copy) -> None:
    before = resolve_facts(load_model(demo_copy.model))
    chart = demo_copy.source / "helm-chart" / "binderhub" / "values.yaml"
    chart.write_text(chart.read_text() + "\n# a new chart change\n")
    _git(
        demo_copy.source,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.org",
        "commit",
        "-qam",
        "chart change",
    )
    after = resolve_facts(load_model(demo_copy.model))
    new = _git(demo_copy.source, "rev-parse", "--short", "HEAD")
    assert after.get("charts.binderhub.commit").value == new
    assert (
        after.get("charts.binderhub.version").value != before.get("charts.binderhub.version").value
    )
    assert after.get("charts.binderhub.published").value is False
    assert after.hash != before.hash


def test_facts_json_cli(demo_world, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(demo_world.model), "facts", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    facts = data["facts"]
    version = facts["charts.binderhub.version"]
    assert version["status"] in ("live", "cached") and version["source"]
    assert demo_world.pr_commit.startswith(facts["charts.binderhub.commit"]["value"])
    assert isinstance(facts["charts.binderhub.delay.median"]["value"], (int, float))
    assert isinstance(facts["charts.binderhub.published"]["value"], bool)
    assert isinstance(facts["charts.binderhub.pending"]["value"], list)
    for fact in facts.values():
        assert isinstance(fact["value"], (str, int, float, bool, list))


def test_facts_table_cli(demo_world, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(demo_world.model), "facts", "charts.binderhub.delay"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["fact", "value", "provenance"]
    assert {line.split()[0] for line in out[1:]} == {
        "charts.binderhub.delay.median",
        "charts.binderhub.delay.p90",
        "charts.binderhub.delay.p95",
        "charts.binderhub.delay.wait",
        "charts.binderhub.delay.samples",
    }


def test_delay_samples_are_the_measured_delays_of_each_version(demo_world) -> None:
    """What the delay chart draws: created minus landed for each version the demo world
    published from a commit (the first release is a tag), oldest first."""
    facts = resolve_facts(load_model(demo_world.model))
    expected = [
        round((v.created - v.landed_at).total_seconds())
        for v in sorted(demo_world.versions, key=lambda v: v.created)
        if v.version != "0.1.0"
    ]
    samples = facts.get("charts.binderhub.delay.samples")
    assert samples.kind == "durations" and samples.value == expected
    # the statistics summarise these samples (seconds, rounded apart)
    median = facts.get("charts.binderhub.delay.median").value
    assert abs(median - percentile(expected, 50)) <= 1
    assert samples.display().startswith(format_duration(expected[0]) + ", ")


def _serve_demo_index(demo_copy, index_server) -> None:
    """Point the demo model at the real HTTP server, which serves the demo index."""
    index_server.set_body(demo_copy.index.read_bytes())
    model = demo_copy.model
    text = model.read_text()
    local = 'index = "../helm-chart/index.yaml"'
    assert local in text
    text = text.replace(local, f'index = "{index_server.url}"')
    text = (
        text.replace("[cache]", "[cache]\nttl = 0", 1)
        if "[cache]" in text
        else text + "\n[cache]\nttl = 0\n"
    )
    model.write_text(text + "\n[network]\nretries = 0\n")


def test_network_failure_serves_stale_facts_and_marks_them(demo_copy, index_server) -> None:
    from sphinx_deployguide.errors import NetworkError

    _serve_demo_index(demo_copy, index_server)
    live = resolve_facts(load_model(demo_copy.model))
    assert live.get("charts.binderhub.published").provenance.status == "live"
    assert index_server.request_count == 1
    index_server.stop()  # the network goes down: the port now refuses connections

    stale = resolve_facts(load_model(demo_copy.model))
    assert stale.stale
    published = stale.get("charts.binderhub.published")
    assert published.value is True and published.provenance.status == "stale"
    # git facts are still live; only what came from the index is stale
    assert stale.get("charts.binderhub.version").provenance.status == "live"
    assert stale.get("charts.binderhub.version").value == live.get("charts.binderhub.version").value
    # "facts as of" is when the cached index was last confirmed: by the live run's fetch
    assert (
        stale.as_of
        == published.provenance.time
        == live.get("charts.binderhub.published").provenance.time
    )

    with pytest.raises(NetworkError, match=index_server.url.replace(".", r"\.")):
        resolve_facts(load_model(demo_copy.model), offline="error")


def test_remote_source_is_mirrored_and_served_stale_when_unreachable(demo_copy) -> None:
    from sphinx_deployguide.errors import GitError

    model_file = demo_copy.model
    text = model_file.read_text()
    local = 'source = "../binderhub"'
    assert local in text
    model_file.write_text(text.replace(local, f'source = "{demo_copy.source.as_uri()}"'))
    live = resolve_facts(load_model(model_file))
    mirror = live.charts["binderhub"].repo
    assert mirror.path != demo_copy.source and mirror.is_bare()
    assert live.get("charts.binderhub.version").provenance.status == "live"

    demo_copy.source.rename(demo_copy.source.with_name("moved"))  # the remote is gone
    stale = resolve_facts(load_model(model_file), refresh=True)
    version = stale.get("charts.binderhub.version")
    assert version.value == live.get("charts.binderhub.version").value
    assert version.provenance.status == "stale" and stale.stale
    with pytest.raises(GitError):
        resolve_facts(load_model(model_file), refresh=True, offline="error")


def _pin(demo_copy, version: str) -> None:
    chart = demo_copy.deploy / "mybinder" / "Chart.yaml"
    text = chart.read_text()
    assert demo_copy.pinned_version in text
    chart.write_text(text.replace(demo_copy.pinned_version, version))


@pytest.mark.parametrize(
    ("pin", "missing", "reason"),
    [
        (  # a local copy that lacks the pinned commit offers no chart to deploy
            "1.0.0-0.dev.git.3.hdeadbee",
            ["pending", "version", "state", "verdict", "published"],
            "the local copy ../binderhub lacks commit deadbee, which the pinned version "
            "1.0.0-0.dev.git.3.hdeadbee names: the copy is behind the pin",
        ),
        ("1.2.3", ["pending"], "names tag 1.2.3, which the local copy ../binderhub lacks"),
        (
            "",
            ["pinned", "pending"],
            "nothing is pinned at mybinder/Chart.yaml#dependencies[name=binderhub].version",
        ),
    ],
)
def test_facts_that_cannot_be_computed_are_absent_with_a_reason(
    demo_copy, pin, missing, reason
) -> None:
    _pin(demo_copy, pin)
    facts = resolve_facts(load_model(demo_copy.model))
    for key in missing:
        name = f"charts.binderhub.{key}"
        assert name not in facts.facts  # never rendered as "none" or []
        with pytest.raises(
            FactError, match=f"{name} could not be computed: .*" + re.escape(reason)
        ):
            facts.get(name)
    assert facts.get("charts.binderhub.commit").value  # the rest is still there


def test_delay_ignores_versions_whose_commit_is_not_in_the_source(demo_copy) -> None:
    before = resolve_facts(load_model(demo_copy.model)).charts["binderhub"].delay
    # A version from another history (its sha is in no commit here), published last.
    index = demo_copy.index.read_text()
    entry = index.index("  - apiVersion")
    alien = (
        '  - apiVersion: v2\n    created: "2030-01-01T00:00:00.000000000Z"\n'
        "    digest: 00\n    name: binderhub\n    urls: [https://demo.invalid/x.tgz]\n"
        "    version: 1.0.0-0.dev.git.99.h0123abc\n"
    )
    demo_copy.index.write_text(index[:entry] + alien + index[entry:])
    after = resolve_facts(load_model(demo_copy.model)).charts["binderhub"].delay
    assert after == before and after.count >= 12
