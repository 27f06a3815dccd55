"""The log corpus: every log in tests/logs gets the verdict tests/logs/expected.toml names.

Logs are CI job excerpts written from the Helm/kubectl strings of REFERENCE.md, inside the
noise of a real GitHub Actions log (timestamps, ANSI colours, ##[group] markers). Logs that
need live checks run against a copy of the demo world (real git, real index file).
"""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from sphinx_deployguide.chartversion import compute_chart_version
from sphinx_deployguide.cli import main
from sphinx_deployguide.demo import CHART, CHARTPRESS, copy_demo
from sphinx_deployguide.git import GitRepo

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

LOGS = Path(__file__).parent / "logs"
EXPECTED = tomllib.loads((LOGS / "expected.toml").read_text(encoding="utf-8"))
EXIT = {"spurious": 0, "legitimate": 1, "undetermined": 2, "unknown": 2}


@pytest.fixture(scope="module")
def world(demo_world, tmp_path_factory):
    """A private copy: diagnose writes its index/git cache inside the deploy repo."""
    return copy_demo(demo_world, tmp_path_factory.mktemp("corpus") / "world")


@pytest.fixture(scope="module")
def placeholders(world) -> dict[str, str]:
    repo = GitRepo(world.source)
    correct = compute_chart_version(repo, world.merge_commit, CHARTPRESS, CHART)
    # The incident pattern: the merge's chart version names the PR commit, not the merge.
    assert correct.commit_full == world.pr_commit
    merge_short = subprocess.run(
        ["git", "-C", str(world.source), "rev-parse", "--short", world.merge_commit],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    wrong = correct.version.replace(f"h{correct.commit}", f"h{merge_short}")
    assert wrong != correct.version
    race = world.versions[-2]
    failed_at = race.created - timedelta(minutes=4, seconds=30)
    return {
        "MERGE_VERSION": wrong,
        "MERGE_SHORT": merge_short,
        "PR_VERSION": correct.version,
        "PUBLISHED_VERSION": world.current_version,
        "PINNED_VERSION": world.pinned_version,
        "RACE_VERSION": race.version,
        "RACE_FAILED_AT": failed_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    assert "{{" not in text, f"unfilled placeholder in {text[:200]!r}"
    return text


def run_diagnose(args: list[str], capsys) -> tuple[int, str]:
    code = main(args)
    out = capsys.readouterr().out
    return code, out


@pytest.mark.parametrize("name", sorted(EXPECTED["logs"]))
def test_corpus_log(name, world, placeholders, tmp_path, monkeypatch, capsys):
    spec = EXPECTED["logs"][name]
    log = tmp_path / name
    log.write_text(fill((LOGS / name).read_text(encoding="utf-8"), placeholders), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no deployguide.toml here: "none" really has no model
    args = ["diagnose", str(log), "--now", EXPECTED["defaults"]["now"]]
    if spec["model"] == "demo":
        args = ["--config", str(world.model), *args]
    if "failed_at" in spec:
        args += ["--failed-at", fill(spec["failed_at"], placeholders)]

    code, text = run_diagnose(args, capsys)
    assert code == EXIT[spec["verdict"]], text
    for mention in spec.get("mentions", []):
        assert fill(mention, placeholders) in text, text

    code_json, out = run_diagnose([*args, "--json"], capsys)
    result = json.loads(out)
    assert code_json == code
    assert result["verdict"] == spec["verdict"]
    ids = [f["id"] for f in result["findings"]]
    if "entry" in spec:
        assert ids[0] == spec["entry"], ids
        assert result["findings"][0]["runbook"] == f"failures.html#failure-{spec['entry']}"
        assert result["findings"][0]["lines"], "matched lines must be reported"
    else:
        assert ids == []
        assert result["error_lines"], "an unknown failure shows the last error-looking lines"
    for other in spec.get("also", []):
        assert other in ids[1:], ids


def test_incident_names_the_correct_version(world, placeholders, tmp_path, capsys):
    """The 2018-01-04 incident, on the demo world: a pin built from the merge SHA."""
    log = tmp_path / "incident.log"
    log.write_text(
        fill((LOGS / "incident-merge-sha.log").read_text(encoding="utf-8"), placeholders)
    )
    code, out = run_diagnose(["--config", str(world.model), "diagnose", str(log), "--json"], capsys)
    winner = json.loads(out)["findings"][0]
    assert code == 1
    assert winner["check"]["data"]["version"] == placeholders["MERGE_VERSION"]
    assert winner["check"]["data"]["correct_version"] == placeholders["PR_VERSION"]
    # The matched line is reported with its line number in the file.
    number = next(
        i for i, line in enumerate(log.read_text().splitlines(), 1) if "not found in" in line
    )
    assert winner["lines"][0]["line"] == number


def test_race_published_four_and_a_half_minutes_after_failure(
    world, placeholders, tmp_path, capsys
):
    log = tmp_path / "race.log"
    log.write_text(fill((LOGS / "race-2018-05.log").read_text(encoding="utf-8"), placeholders))
    code, out = run_diagnose(
        [
            "--config",
            str(world.model),
            "diagnose",
            str(log),
            "--json",
            "--failed-at",
            placeholders["RACE_FAILED_AT"],
        ],
        capsys,
    )
    winner = json.loads(out)["findings"][0]
    assert code == 0
    assert winner["check"]["data"]["version"] == placeholders["RACE_VERSION"]
    race = world.versions[-2]
    assert winner["check"]["data"]["published_at"] == race.created.isoformat()
    assert "published 4.5 min after the deploy failed" in winner["summary"]
    # Without --failed-at (and no timestamps in the log) the check still finds it published.
    code, out = run_diagnose(["--config", str(world.model), "diagnose", str(log)], capsys)
    assert code == 0 and "failure time is unknown" in out


def test_now_judges_on_the_index_as_it_was_then(world, placeholders, tmp_path, capsys):
    """``--now`` a minute after the failure, before the chart appeared (4.5 min later): as of
    then it was pending, and a later entry of the index is not used."""
    log = tmp_path / "race.log"
    log.write_text(fill((LOGS / "race-2018-05.log").read_text(encoding="utf-8"), placeholders))
    race = world.versions[-2]
    failed_at = race.created - timedelta(minutes=4, seconds=30)
    then = (failed_at + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    args = ["--config", str(world.model), "diagnose", str(log), "--json"]
    code, out = run_diagnose(
        [*args, "--failed-at", placeholders["RACE_FAILED_AT"], "--now", then], capsys
    )
    winner = json.loads(out)["findings"][0]
    assert winner["check"]["data"]["state"] == "pending", winner
    assert "published_at" not in winner["check"]["data"]
    assert "after the deploy failed" not in winner["summary"]
    assert winner["summary"].startswith(f"{race.version} is not in ")
    assert code == 0  # pending within the publish delay: a rerun after the wait


def test_incident_without_model_is_undetermined(placeholders, tmp_path, monkeypatch, capsys):
    """No deployguide.toml: the catalog still matches, the live check says it could not run."""
    log = tmp_path / "incident.log"
    log.write_text(
        fill((LOGS / "incident-merge-sha.log").read_text(encoding="utf-8"), placeholders)
    )
    monkeypatch.chdir(tmp_path)
    code, out = run_diagnose(["diagnose", str(log)], capsys)
    assert code == 2
    assert "UNDETERMINED" in out and "could not run" in out
    assert placeholders["MERGE_VERSION"] in out  # evidence from the log alone
