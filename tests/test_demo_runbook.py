"""The demo deploy repo's own runbook (``deploy/docs``): it is part of the repo's history, it
builds with ``-n -W``, and ``deployguide checklist`` and ``deployguide bump`` run from the
deploy repo use it, with the values the facts engine computes."""

from __future__ import annotations

import re
import subprocess
from importlib import resources
from pathlib import Path

import yaml
from sphinx.cmd.build import build_main

from sphinx_deployguide.cli import main
from sphinx_deployguide.config import load_model
from sphinx_deployguide.demo import git_env
from sphinx_deployguide.factresolve import resolve_facts
from tests.htmltree import parse_html

RUNBOOK = resources.files("sphinx_deployguide") / "demo_runbook"
#: Where the deploy repo keeps it: Sphinx's separate source folder, as mybinder.org-deploy.
DOCS = "docs/source"
#: An explicit step id in a page, and the step's text: ``- [ ] {#step-id} ...``.
STEP = re.compile(r"^- \[ \] \{#([a-z0-9-]+)\}(.*?)(?=^- \[|^`````)", re.MULTILINE | re.DOTALL)
#: A per-member placeholder (a matrix key, not ENV#MEMBER).
PER_MEMBER = re.compile(r"\{deploy-member\}`[^`#]+`")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=git_env()
    ).stdout.rstrip("\n")


def members(deploy: Path, env: str) -> list[str]:
    """The federation members of ``env``, read from the workflow's matrix (not by the code)."""
    jobs = yaml.safe_load((deploy / ".github/workflows/cd.yml").read_text())["jobs"]
    return [e["federation_member"] for e in jobs[f"{env}-deploy"]["strategy"]["matrix"]["include"]]


def step_ids(page: str, deploy: Path) -> list[str]:
    """The step ids of a page: its explicit ids, a per-member step's once per member."""
    ids = []
    for step_id, text in STEP.findall(RUNBOOK.joinpath(page).read_text(encoding="utf-8")):
        if PER_MEMBER.search(text):
            ids += [f"{step_id}-{m}" for m in members(deploy, Path(page).stem)]
        else:
            ids.append(step_id)
    return ids


def checklist_cli(capsys, *args: str, config: Path | None = None) -> str:
    capsys.readouterr()
    code = main([*(["--config", str(config)] if config else []), "checklist", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_runbook_is_one_commit_of_the_deploy_repo(demo_world):
    deploy = demo_world.deploy
    tracked = git(deploy, "ls-files", "--", "docs").splitlines()
    assert sorted(tracked) == sorted(f"{DOCS}/{p.name}" for p in RUNBOOK.iterdir() if p.is_file())
    for path in tracked:  # the package's sources, byte for byte, at the repo's head
        committed = subprocess.run(
            ["git", "-C", str(deploy), "show", f"HEAD:{path}"],
            check=True,
            capture_output=True,
            env=git_env(),
        ).stdout
        assert committed == RUNBOOK.joinpath(Path(path).name).read_bytes()
    commits = git(deploy, "log", "--format=%H", "--", "docs").splitlines()
    assert commits == [git(deploy, "rev-parse", "HEAD")]
    assert "_build/" in git(deploy, "show", "HEAD:.gitignore").splitlines()
    # conf.py points at the repo's model, two levels up; MyST without colon_fence, as mybinder
    conf = (deploy / DOCS / "conf.py").read_text()
    assert 'deployguide_config = "../../deployguide.toml"' in conf
    assert (deploy / DOCS / "../../deployguide.toml").resolve() == demo_world.model
    assert "colon_fence" not in conf


def test_runbook_builds_strictly_and_shows_the_computed_values(demo_copy, capsys):
    deploy = demo_copy.deploy
    out = deploy / "docs" / "_build" / "html"  # where the deploy repo's README builds it
    capsys.readouterr()
    code = build_main(
        ["-n", "-W", "--keep-going", "-q", "-b", "html", str(deploy / DOCS), str(out)]
    )
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "WARNING" not in err and "ERROR" not in err
    # the build output (and the facts cache) are ignored: the repo stays clean
    assert git(deploy, "status", "--porcelain") == ""

    facts = resolve_facts(load_model(demo_copy.model))
    for env, nxt in (("staging", "prod.html#checklist-prod"), ("prod", None)):
        doc = parse_html((out / f"{env}.html").read_text(encoding="utf-8"))
        (checklist,) = doc.find_all("div", "deployguide-checklist")
        assert checklist.attrs["data-deployguide-env"] == env
        assert checklist.attrs["data-deployguide-facts-hash"] == facts.hash
        assert checklist.attrs.get("data-deployguide-next-url") == nxt
        steps = [
            li.attrs["data-deployguide-step"]
            for li in checklist.find_all("li")
            if "deployguide-step" in li.classes
        ]
        assert steps == step_ids(f"{env}.md", deploy) and steps
        values = {
            span.attrs["data-deployguide-fact"]: span.text()
            for span in checklist.find_all("span", "deployguide-value")
        }
        assert values["charts.binderhub.version"] == facts.get("charts.binderhub.version").value
        assert values[f"environments.{env}.url"] == facts.get(f"environments.{env}.url").value
        assert not checklist.find_all(cls="problematic")


def test_checklist_cli_from_the_deploy_repo(demo_copy, capsys, monkeypatch):
    monkeypatch.chdir(demo_copy.deploy)
    text = checklist_cli(capsys, "staging", "--format", "github")
    facts = resolve_facts(load_model(demo_copy.model))
    version = facts.get("charts.binderhub.version").value
    assert version == demo_copy.current_version != demo_copy.pinned_version

    assert text.startswith("**Deploy to staging**\n")
    steps = [line for line in text.splitlines() if line.startswith("- [")]
    assert len(steps) == len(step_ids("staging.md", demo_copy.deploy))
    assert all(line.startswith("- [ ] ") for line in steps)
    assert version in steps[0]
    for name in (
        "charts.binderhub.commit",
        "charts.binderhub.head",
        "charts.binderhub.delay.median",
        "charts.binderhub.delay.wait",
        "environments.staging.url",
    ):
        assert facts.get(name).display() in text, name
    assert f"--version {version}\n" in text  # the deploy-code command, filled in
    assert "{{" not in text and "{deploy-" not in text


def test_checklist_cli_finds_the_runbook_from_config(demo_world, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # elsewhere: only --config says where the runbook is
    from_elsewhere = checklist_cli(capsys, "staging", "--format", "github", config=demo_world.model)
    monkeypatch.chdir(demo_world.deploy)
    assert from_elsewhere == checklist_cli(capsys, "staging", "--format", "github")


def test_bump_from_the_deploy_repo_puts_the_checklist_in_the_pr_body(world, capsys, monkeypatch):
    monkeypatch.chdir(world.deploy)
    checklist = checklist_cli(capsys, "staging", "--format", "github")
    start = git(world.deploy, "rev-parse", "HEAD")

    code = main(["bump", "binderhub", "--commit"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "warning: the PR body has no checklist" not in err
    body = out.split("---- PR body ----\n", 1)[1]
    assert "### Deploy checklist: staging\n" + checklist.rstrip() + "\n" in body
    assert "could not be included" not in body
    assert f"- [ ] Check that the chart to deploy is {world.current_version}" in body
    # and the bump itself was made: one commit, the pin only
    assert git(world.deploy, "rev-list", "--count", f"{start}..HEAD") == "1"
    assert git(world.deploy, "show", "--format=", "--name-only", "HEAD") == "mybinder/Chart.yaml"
    assert git(world.deploy, "status", "--porcelain") == ""
