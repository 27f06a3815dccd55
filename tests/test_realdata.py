"""Issue 10's cases on the real history: the binderhub bundle and the real jupyterhub index.

Every front end (``facts``, a built page, ``lint``, ``bump``, ``diagnose``) is driven on the
same cases and must say the same state. Expected values come from elsewhere than the code
under test: the index file read with PyYAML, git itself, chartpress itself, and the pins
mybinder.org-deploy really made (``mybinder-binderhub-pins.csv``).

The bundle is cloned once per session (about a second); every deploy repo here is a few
small files beside it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from sphinx_deployguide.cli import main
from sphinx_deployguide.config import load_model
from sphinx_deployguide.delay import format_duration
from sphinx_deployguide.factresolve import resolve_facts
from sphinx_deployguide.git import GitRepo
from sphinx_deployguide.versionparse import parse_version
from tests.gitfixtures import git, merge_chart_change
from tests.htmltree import parse_html

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BUNDLE = DATA / "binderhub.bundle"
INDEX = DATA / "jupyterhub-helm-index.yaml"
PINS = DATA / "mybinder-binderhub-pins.csv"
CHARTPRESS = "helm-chart/chartpress.yaml"
PIN_KEY = "dependencies[name=binderhub].version"

pytestmark = pytest.mark.skipif(
    not (BUNDLE.is_file() and INDEX.is_file() and PINS.is_file()),
    reason=f"the real binderhub history, index and pins are not in {DATA}",
)


# --------------------------------------------------------------------------- the real data


@pytest.fixture(scope="session")
def binderhub(tmp_path_factory) -> Path:
    """A clone of the real binderhub history, with branches at the commits of the cases."""
    path = tmp_path_factory.mktemp("real") / "binderhub"
    subprocess.run(
        ["git", "clone", "--quiet", "--", str(BUNDLE), str(path)], check=True, capture_output=True
    )
    git(path, "branch", "at-a8a2e197", "a8a2e197")
    git(path, "branch", "at-4e3bafb", "4e3bafb")
    return path


@pytest.fixture(scope="session")
def index_versions() -> list[dict]:
    """binderhub's entries, read with PyYAML (all scalars strings), not with our parser."""
    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    return yaml.load(INDEX.read_bytes(), Loader=loader)["entries"]["binderhub"]  # noqa: S506


def published_name(entries: list[dict], sha: str) -> str:
    """The one version of the index whose hash is a prefix of ``sha``."""
    [name] = [
        e["version"]
        for e in entries
        if (p := parse_version(e["version"])) and p.sha and sha.startswith(p.sha)
    ]
    return name


@pytest.fixture(scope="session")
def pins() -> list[dict]:
    with PINS.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def chartpress_at(binderhub, tmp_path_factory):
    """chartpress itself (``--no-build``) at a revision of the real history."""
    chartpress = pytest.importorskip("chartpress", reason="chartpress is not installed")
    root = tmp_path_factory.mktemp("chartpress")
    done: dict[str, str] = {}

    def version(repo: Path, rev: str) -> str:
        key = f"{repo}@{rev}"
        if key not in done:
            tree = root / f"wt{len(done)}"
            git(repo, "worktree", "add", "--quiet", "--detach", str(tree), rev)
            for obj in vars(chartpress).values():  # its git helpers are cached per process
                if hasattr(obj, "cache_clear"):
                    obj.cache_clear()
            quiet = io.StringIO()
            with pytest.MonkeyPatch.context() as mp, redirect_stdout(quiet), redirect_stderr(quiet):
                mp.chdir(tree / "helm-chart")
                chartpress.main(["--no-build"])
            chart = yaml.safe_load((tree / "helm-chart/binderhub/Chart.yaml").read_text())
            done[key] = chart["version"]
        return done[key]

    return version


# --------------------------------------------------------------------------- a deploy repo


CHART_YAML = """\
apiVersion: v2
name: mybinder
version: 0.1.0
dependencies:
  # the binderhub chart, as mybinder.org-deploy pins it
  - name: binderhub
    version: "{pin}"
    repository: https://jupyterhub.github.io/helm-chart
"""

PAGE = """\
Deploy
======

Chart version: :deploy-value:`charts.binderhub.version`

State: :deploy-value:`charts.binderhub.state`

Verdict: :deploy-value:`charts.binderhub.verdict`
"""


@dataclass
class Deploy:
    root: Path

    @property
    def model(self) -> Path:
        return self.root / "deployguide.toml"

    @property
    def pin_file(self) -> Path:
        return self.root / "mybinder" / "Chart.yaml"


def make_deploy(path: Path, *, source: str, pin: str, branch: str = "main") -> Deploy:
    """A deploy repo in the mybinder layout pinning ``pin``, with a one-page runbook."""
    (path / "mybinder").mkdir(parents=True)
    (path / "mybinder" / "Chart.yaml").write_text(CHART_YAML.format(pin=pin))
    (path / "deployguide.toml").write_text(
        f'deploy_repo = "."\n\n[charts.binderhub]\nsource = "{source}"\nbranch = "{branch}"\n'
        f'chartpress = "{CHARTPRESS}"\nindex = "{INDEX}"\npin = "mybinder/Chart.yaml#{PIN_KEY}"\n'
        '\n[cache]\ndir = ".cache"\n'
    )
    (path / "docs").mkdir()
    (path / "docs" / "conf.py").write_text(
        'extensions = ["sphinx_deployguide"]\ndeployguide_config = "../deployguide.toml"\n'
        'exclude_patterns = ["_build"]\n'
    )
    (path / "docs" / "index.rst").write_text(PAGE)
    return Deploy(path)


def run(deploy: Deploy, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(deploy.model), *args])
    out, err = capsys.readouterr()
    return code, out, err


def facts_of(deploy: Deploy, capsys) -> dict:
    code, out, err = run(deploy, capsys, "facts", "--json", "charts.binderhub.")
    assert code == 0, err
    return json.loads(out)["facts"]


def pin_findings(deploy: Deploy, capsys) -> list[dict]:
    code, out, err = run(deploy, capsys, "lint", "--format", "json", str(deploy.root / "docs"))
    assert code in (0, 1), err
    return [f for f in json.loads(out) if f["subtype"] == "pin"]


def lint_state(deploy: Deploy, capsys) -> str:
    """The pin's state as lint says it: its [pin] finding's, or published when it has none
    (lint is silent about a current, published pin)."""
    findings = pin_findings(deploy, capsys)
    return findings[0]["state"] if findings else "published"


def page_values(deploy: Deploy) -> dict[str, str]:
    """The built page: each rendered fact's text (a real Sphinx HTML build)."""
    from sphinx.cmd.build import build_main

    out = deploy.root / "docs" / "_build" / "html"
    assert build_main(["-q", "-E", "-b", "html", str(deploy.root / "docs"), str(out)]) == 0
    page = parse_html((out / "index.html").read_text())
    return {
        span.attrs["data-deployguide-fact"]: span.text()
        for span in page.find_all("span", "deployguide-value")
    }


def bump_json(deploy: Deploy, capsys, *args: str) -> tuple[int, dict]:
    code, out, _ = run(deploy, capsys, "bump", "binderhub", "--json", "--no-checklist", *args)
    return code, json.loads(out)


def diagnose_json(deploy: Deploy, capsys, version: str) -> tuple[int, dict]:
    log = deploy.root / "deploy.log"
    log.write_text(
        "2026-11-20T10:00:21.0000000Z ##[group]Run python ./deploy.py staging\n"
        '2026-11-20T10:00:25.0000000Z ##[error]Error: chart "binderhub" version '
        f'"{version}" not found in https://jupyterhub.github.io/helm-chart repository\n'
    )
    code, out, err = run(deploy, capsys, "diagnose", str(log), "--json")
    assert code in (0, 1, 2), err
    finding = json.loads(out)["findings"][0]
    return code, {**finding["check"], "action": finding["action"]}


# --------------------------------------------------------------------------- the cases


def test_case1_the_seven_digit_name_is_the_version_at_a8a2e197(
    binderhub, index_versions, tmp_path, capsys
):
    """Published before 2024-08 with 7 hex digits; a clone today abbreviates to 8."""
    full = git(binderhub, "rev-parse", "a8a2e197")
    name = published_name(index_versions, full)
    assert len(parse_version(name).sha) == 7 < len(git(binderhub, "rev-parse", "--short", full))
    deploy = make_deploy(tmp_path / "deploy", source=str(binderhub), branch="at-a8a2e197", pin=name)
    facts = facts_of(deploy, capsys)
    assert facts["charts.binderhub.version"]["value"] == name
    assert facts["charts.binderhub.version"]["note"] == "the name the index publishes"
    assert facts["charts.binderhub.published"]["value"] is True
    assert facts["charts.binderhub.state"]["value"] == "published"
    page = page_values(deploy)
    assert (page["charts.binderhub.version"], page["charts.binderhub.state"]) == (name, "published")
    assert pin_findings(deploy, capsys) == []  # the pin is the current, published version
    # the name a clone gives today is not the index's: it will never be published
    today = name + full[7]
    deploy.pin_file.write_text(CHART_YAML.format(pin=today))
    [finding] = pin_findings(deploy, capsys)
    assert (finding["severity"], finding["state"]) == ("error", "never")
    assert finding["message"] == (
        f"binderhub pin: {today} will never be published: the index publishes chart commit "
        f"{full[:8]} as {name}"
    )
    assert finding["fix"] == f"pin {name}"


def test_case1_bump_to_a_real_published_version_rolls_back(
    binderhub, index_versions, tmp_path, capsys
):
    """bump --to 1.0.0-0.dev.git.3020.h694f8cd: a rollback to a published version."""
    target = published_name(index_versions, git(binderhub, "rev-parse", "694f8cd"))
    assert target == "1.0.0-0.dev.git.3020.h694f8cd"  # the version, in the index
    newer = published_name(index_versions, git(binderhub, "rev-parse", "a8a2e197"))
    deploy = make_deploy(tmp_path / "deploy", source=str(binderhub), pin=newer)
    before = deploy.pin_file.read_bytes()
    code, refused = bump_json(deploy, capsys, "--to", target)
    assert (code, refused["reason"]) == (1, "downgrade")  # backwards only when asked
    assert deploy.pin_file.read_bytes() == before
    code, result = bump_json(deploy, capsys, "--to", target, "--allow-downgrade")
    assert code == 0, result
    assert (result["status"], result["to"], result["state"]) == ("bumped", target, "published")
    assert deploy.pin_file.read_bytes() == before.replace(newer.encode(), target.encode())
    assert result["published_at"] == "2023-02-23T13:26:43Z"  # its created, in the index
    assert result["notes"] == ["this is a downgrade (--allow-downgrade)"]
    assert "after its chart commit landed on main" in result["message"]


def test_case2_the_2018_merge_is_0_1_0_441f5ea_with_no_scheme(
    binderhub, index_versions, tmp_path, capsys
):
    pr_commit = git(binderhub, "rev-parse", "4e3bafb^2")  # the PR the merge brought in
    name = published_name(index_versions, pr_commit)
    assert name == "0.1.0-441f5ea"
    deploy = make_deploy(
        tmp_path / "deploy", source=str(binderhub), branch="at-4e3bafb", pin="0.1.0-4e3bafb"
    )
    assert load_model(deploy.model).charts["binderhub"].scheme is None
    facts = facts_of(deploy, capsys)
    assert (
        facts["charts.binderhub.version"]["value"],
        facts["charts.binderhub.state"]["value"],
    ) == (
        name,
        "published",
    )
    # the incident's pin: never, and the fix is the version the operators pinned next
    [finding] = pin_findings(deploy, capsys)
    assert (finding["severity"], finding["state"], finding["fix"]) == (
        "error",
        "never",
        f"pin {name}",
    )
    assert "4e3bafb8 (a merge commit) is a commit of" in finding["message"]
    code, check = diagnose_json(deploy, capsys, "0.1.0-4e3bafb")
    assert (code, check["data"]["state"], check["data"]["correct_version"]) == (1, "never", name)
    assert check["action"].startswith(f"Pin {name} instead of 0.1.0-4e3bafb")


def test_case3_a_pin_the_source_lacks_is_unknown_never_a_downgrade(
    binderhub, pins, tmp_path, capsys
):
    """mybinder pins 3983.h383374de; the bundle stops at 3958: the pin is newer, not wrong."""
    newest_pin = pins[-1]["binderhub_chart_version"]
    sha = parse_version(newest_pin).sha
    assert GitRepo(binderhub).resolve(sha) is None
    deploy = make_deploy(tmp_path / "deploy", source=str(binderhub), pin=newest_pin)
    [finding] = pin_findings(deploy, capsys)
    assert (finding["severity"], finding["state"]) == ("warning", "unknown")
    assert finding["message"] == (
        f"binderhub pin: {newest_pin} names commit {sha}, which the local copy {binderhub} "
        "lacks (deployguide never fetches a local source; it may be newer than that copy)"
    )
    assert finding["fix"] == f"update {binderhub} (`git fetch`), then check again"
    facts = facts_of(deploy, capsys)
    assert facts["charts.binderhub.pinned"]["value"] == newest_pin
    assert "charts.binderhub.pending" not in facts
    before = deploy.pin_file.read_bytes()
    code, refused = bump_json(deploy, capsys)
    assert (code, refused["reason"], refused["state"]) == (1, "unknown-order", "unknown")
    assert "pin 1.0.0" not in refused["error"] and deploy.pin_file.read_bytes() == before
    code, check = diagnose_json(deploy, capsys, newest_pin)
    assert (code, check["verdict"], check["data"]["state"]) == (2, None, "unknown")


def test_case3_a_mirror_is_fetched_once_then_the_pin_is_still_unknown(
    binderhub, pins, tmp_path, capsys
):
    newest_pin = pins[-1]["binderhub_chart_version"]
    url = binderhub.as_uri()
    deploy = make_deploy(tmp_path / "deploy", source=url, pin=newest_pin)
    facts_of(deploy, capsys)  # fills the mirror
    [stamp] = (deploy.root / ".cache" / "git").glob("*/deployguide-fetched")
    filled = stamp.stat().st_mtime
    os.utime(stamp, (filled - 60, filled - 60))  # a minute old: well within the 600 s TTL
    [finding] = pin_findings(deploy, capsys)
    assert stamp.stat().st_mtime > filled - 60  # fetched again, TTL or not
    fetched = datetime.fromtimestamp(stamp.stat().st_mtime, timezone.utc)
    assert (finding["severity"], finding["state"]) == ("warning", "unknown")
    assert finding["message"].endswith(
        f"names commit {parse_version(newest_pin).sha}, which is not in {url} "
        f"(fetched {fetched.strftime('%Y-%m-%dT%H:%M:%SZ')})"
    )


@pytest.fixture
def upstream(binderhub, tmp_path) -> Path:
    """A copy of the real history playing GitHub: merges land there after we mirrored it."""
    path = tmp_path / "upstream"
    subprocess.run(
        ["git", "clone", "--quiet", "--local", "--", str(binderhub), str(path)],
        check=True,
        capture_output=True,
    )
    return path


def test_case3_a_merge_pushed_after_the_cache_is_fetched_before_lint_judges(
    upstream, tmp_path, capsys, chartpress_at
):
    url = upstream.as_uri()
    deploy = make_deploy(tmp_path / "deploy", source=url, pin="1.0.0-0.dev.git.3503.ha8a2e19")
    assert facts_of(deploy, capsys)["charts.binderhub.state"]["value"] == "overdue"  # cached
    landed = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=3)
    pr, merge = merge_chart_change(upstream, int(landed.timestamp()))
    new = chartpress_at(upstream, merge)  # chartpress itself, on the upstream checkout
    assert new.endswith(f".h{GitRepo(upstream).short(pr)}")
    deploy.pin_file.write_text(CHART_YAML.format(pin=new))
    [finding] = pin_findings(deploy, capsys)  # within the TTL: only the pin makes it fetch
    assert (finding["severity"], finding["state"]) == ("warning", "pending")
    assert finding["message"].startswith(
        f"binderhub pin: {new} is not in {INDEX} yet: its chart commit "
        f"{GitRepo(upstream).short(pr)} landed on main "
    )
    assert "not on main" not in finding["message"] and "lacks" not in finding["message"]
    facts = facts_of(deploy, capsys)
    assert facts["charts.binderhub.version"]["value"] == new
    assert facts["charts.binderhub.state"]["value"] == "pending"


def test_case4_the_head_of_the_bundle_is_overdue_everywhere(
    binderhub, index_versions, tmp_path, capsys, chartpress_at
):
    """The head (2026-04) is not in the 2024-10 index: facts, page, lint and bump say
    overdue, in the same words."""
    head_version = chartpress_at(binderhub, "main")
    assert head_version not in {e["version"] for e in index_versions}
    newest = max(index_versions, key=lambda e: e["created"])["created"]
    assert newest.startswith("2024-08-08")
    deploy = make_deploy(tmp_path / "deploy", source=str(binderhub), pin=head_version)
    facts = facts_of(deploy, capsys)
    verdict = facts["charts.binderhub.verdict"]["value"]
    assert facts["charts.binderhub.version"]["value"] == head_version
    assert facts["charts.binderhub.version"]["note"].startswith("predicted")
    assert facts["charts.binderhub.state"]["value"] == "overdue"
    landed = datetime.fromtimestamp(
        int(git(binderhub, "log", "-1", "--format=%ct", "main")), timezone.utc
    )
    age = (datetime.now(timezone.utc) - landed).total_seconds()
    assert facts["charts.binderhub.age"]["value"] == pytest.approx(age, abs=120)
    days = format_duration(facts["charts.binderhub.age"]["value"])
    assert days.endswith(" days") and int(days.split()[0]) >= 200
    chart_commit = parse_version(head_version).sha  # chartpress's %h of the chart commit
    wait = format_duration(facts["charts.binderhub.delay.wait"]["value"])
    assert verdict == (
        f"{head_version} is not in {INDEX} {days} after its chart commit {chart_commit} landed "
        f"on main (charts usually appear within {wait}): the publish job may have failed"
    )
    page = page_values(deploy)
    assert page["charts.binderhub.state"] == "overdue"
    assert page["charts.binderhub.verdict"] == verdict
    [finding] = pin_findings(deploy, capsys)
    assert (finding["severity"], finding["state"]) == ("error", "overdue")
    assert finding["message"] == f"binderhub pin: {verdict}"
    # bump from an older published pin: refuses to pin it, saying why in the same words
    older = published_name(index_versions, git(binderhub, "rev-parse", "a8a2e197"))
    deploy.pin_file.write_text(CHART_YAML.format(pin=older))
    code, refused = bump_json(deploy, capsys)
    assert (code, refused["reason"], refused["state"]) == (3, "unpublished", "overdue")
    assert f"overdue: {verdict[:1].upper()}{verdict[1:]}." in refused["error"]


# --------------------------------------------------------------------------- one state everywhere


def head_front_ends(deploy: Deploy, capsys) -> dict[str, str]:
    return {
        "facts": facts_of(deploy, capsys)["charts.binderhub.state"]["value"],
        "page": page_values(deploy)["charts.binderhub.state"],
    }


def version_front_ends(deploy: Deploy, capsys, version: str, older: str) -> dict[str, str]:
    """lint (the pin is ``version``), bump --to it (from ``older``), diagnose a log naming it."""
    deploy.pin_file.write_text(CHART_YAML.format(pin=version))
    states = {"lint": lint_state(deploy, capsys)}
    deploy.pin_file.write_text(CHART_YAML.format(pin=older))
    code, result = bump_json(deploy, capsys, "--to", version, "--dry-run")
    states["bump"] = result["state"]
    states["diagnose"] = diagnose_json(deploy, capsys, version)[1]["data"]["state"]
    return states


@pytest.mark.parametrize("state", ["published", "pending", "overdue", "never", "unknown"])
def test_every_front_end_says_the_same_state(
    state, binderhub, upstream, index_versions, pins, tmp_path, capsys, chartpress_at
):
    older = "1.0.0-0.dev.git.3500.hf2f1272"
    assert older in {e["version"] for e in index_versions}
    source, branch = str(binderhub), "main"
    if state == "published":
        version = published_name(index_versions, git(binderhub, "rev-parse", "a8a2e197"))
        branch = "at-a8a2e197"
    elif state == "pending":
        landed = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=2)
        _, merge = merge_chart_change(upstream, int(landed.timestamp()))
        source, version = str(upstream), chartpress_at(upstream, merge)
    elif state == "overdue":
        version = chartpress_at(binderhub, "main")
    elif state == "never":
        version = "1.0.0-0.dev.git.3958.hb9fad995"  # the head merge's own SHA: not a chart commit
        assert git(binderhub, "rev-parse", "main").startswith("b9fad995")
    else:
        version = pins[-1]["binderhub_chart_version"]
    deploy = make_deploy(tmp_path / "deploy", source=source, pin=version, branch=branch)
    said = version_front_ends(deploy, capsys, version, older)
    if state in ("published", "pending", "overdue"):  # a branch head can be in these states
        deploy.pin_file.write_text(CHART_YAML.format(pin=version))
        said |= head_front_ends(deploy, capsys)
    assert set(said.values()) == {state}, said


def test_every_pin_mybinder_made_gets_a_verdict_and_its_mistakes_are_never(
    binderhub, index_versions, pins, tmp_path
):
    """All 464 real pins: listed ones are published, ones the bundle lacks are unknown, and
    each one called never was replaced by its author within 15 minutes (the mistakes the tool
    exists to catch), never with advice to go back before it."""
    deploy = make_deploy(tmp_path / "deploy", source=str(binderhub), pin="0.1.0-441f5ea")
    state = resolve_facts(load_model(deploy.model)).charts["binderhub"]
    from sphinx_deployguide.verdict import verdict_for_version

    listed = {e["version"] for e in index_versions}
    repo = GitRepo(binderhub)
    seen: dict[str, list[int]] = {}
    for number, row in enumerate(pins):
        version = row["binderhub_chart_version"]
        if version in listed and number % 40:
            continue  # listed: published (a sample of them is judged below)
        verdict = verdict_for_version(state, version, now=state.head_verdict.now, probe=False)
        seen.setdefault(verdict.state, []).append(number)
        if version in listed:
            assert verdict.state == "published", version
        elif repo.resolve(parse_version(version).sha) is None:
            assert verdict.state == "unknown" and "pin " not in (verdict.fix or ""), version
        elif verdict.state == "never":
            when = datetime.fromisoformat(row["committer_date"])
            replaced = datetime.fromisoformat(pins[number + 1]["committer_date"])
            assert replaced - when < timedelta(minutes=15), version
            advised = verdict.fix.removeprefix("pin ")
            assert advised in listed, version
            # never backwards: the advised chart commit contains the pinned commit's chart
            assert repo.is_ancestor(verdict.chart_commit, repo.resolve(parse_version(advised).sha))
        else:
            assert verdict.state == "overdue", (version, verdict.reason)  # newer than the index
    assert len(seen["never"]) >= 2 and len(seen["unknown"]) >= 1 and seen["published"]
