"""The demo world: deterministic, and it really holds the situations the runbook is about.

Expectations are derived from git and the files themselves (``git log -- PATHS``,
``git diff``, the index as YAML), not copied from ``build_demo``'s own bookkeeping; where
a version is checked, it is checked against chartversion and, when importable, against
chartpress itself run on a checkout.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import statistics
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from sphinx_deployguide.charthistory import landing_commit
from sphinx_deployguide.chartversion import compute_chart_version
from sphinx_deployguide.demo import build_demo, git_env
from sphinx_deployguide.errors import DeployGuideError
from sphinx_deployguide.git import GitRepo

CHARTPRESS = "helm-chart/chartpress.yaml"
SERVICE_CHARTPRESS = "service-chart/chartpress.yaml"
# What chartpress.yaml at head lists, made relative to the repository root: the config itself,
# the chart folder, the image's Dockerfile and its extra paths (contextPath ".." is not watched
# because rebuildOnContextPathChanges is false).
HEAD_CHART_PATHS = {
    "helm-chart/chartpress.yaml",
    "helm-chart/binderhub",
    "helm-chart/images/binderhub/Dockerfile",
    "setup.py",
    "binderhub",
    "requirements.txt",
}
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=git_env()
    ).stdout.rstrip("\n")


def commit_time(repo: Path, rev: str) -> datetime:
    return datetime.fromtimestamp(int(git(repo, "show", "-s", "--format=%ct", rev)), timezone.utc)


def parse_created(text: str) -> datetime:
    assert RFC3339_NANO.match(text), text
    head, _, frac = text[:-1].partition(".")
    micros = int((frac + "000000")[:6]) if frac else 0
    return datetime.fromisoformat(head).replace(microsecond=micros, tzinfo=timezone.utc)


def chart_version(src: Path, rev: str):
    return compute_chart_version(GitRepo(src), rev, CHARTPRESS, "binderhub")


def changed_files(repo: Path, a: str, b: str) -> set[str]:
    return set(git(repo, "diff", "--name-only", a, b).splitlines())


def is_docs(path: str) -> bool:
    return path.startswith("docs/") or path == "README.md"


def load_index(world) -> list[dict]:
    data = yaml.safe_load(world.index.read_bytes())
    assert data["apiVersion"] == "v1"
    return data["entries"]["binderhub"]


def version_commit(repo: Path, version: str) -> str:
    """The commit a published version names: the ``.h<sha>`` suffix, or the tag."""
    m = re.search(r"\.h([0-9a-f]{7,40})$", version)
    return git(repo, "rev-parse", "--verify", f"{m.group(1) if m else version}^{{commit}}")


# --- determinism ----------------------------------------------------------------------------


def test_same_world_on_every_build(demo_world, tmp_path):
    again_root = tmp_path / "again"
    again_root.mkdir()  # an existing empty folder is fine too
    again = build_demo(again_root)
    assert again.commits == demo_world.commits
    assert again.deploy_commits == demo_world.deploy_commits
    assert again.index.read_bytes() == demo_world.index.read_bytes()
    assert git(again.source, "rev-parse", "0.1.0") == git(demo_world.source, "rev-parse", "0.1.0")
    # and the SHAs really are the repos' own, not just bookkeeping
    assert git(again.source, "rev-parse", "main") == demo_world.head
    assert demo_world.head == demo_world.commits["readme-links"]
    assert git(again.deploy, "rev-parse", "main") == demo_world.deploy_commits["deploy-runbook"]


def test_user_git_config_and_environment_do_not_leak(demo_world, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "templates" / "hooks").mkdir(parents=True)
    hook = home / "templates" / "hooks" / "post-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Someone Else\n\temail = else@example.invalid\n"
        "[commit]\n\tgpgsign = true\n[tag]\n\tgpgSign = true\n"
        "[core]\n\tabbrev = 12\n\tautocrlf = true\n"
        f"[init]\n\tdefaultBranch = trunk\n\ttemplateDir = {home / 'templates'}\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Leaky Author")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2001-02-03T04:05:06Z")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "not-a-repo"))
    world = build_demo(tmp_path / "world")
    assert world.commits == demo_world.commits
    assert world.deploy_commits == demo_world.deploy_commits
    assert world.index.read_bytes() == demo_world.index.read_bytes()
    assert not (world.source / ".git" / "hooks").exists()


# --- the chart source's history -------------------------------------------------------------


def test_chart_paths_are_what_chartpress_yaml_lists(demo_world):
    cv = compute_chart_version(GitRepo(demo_world.source), "main", CHARTPRESS, "binderhub")
    assert {p.rstrip("/") for p in cv.paths} == HEAD_CHART_PATHS


def test_incident_pattern(demo_world):
    src, pr, merge = demo_world.source, demo_world.pr_commit, demo_world.merge_commit
    paths = sorted(HEAD_CHART_PATHS)
    _, first_parent, second_parent = git(src, "rev-list", "--parents", "-n", "1", merge).split()
    assert second_parent == pr != first_parent
    assert git(src, "show", "-s", "--format=%s", merge).startswith("Merge pull request #")
    # main got a docs-only commit while the PR was open ...
    fork = git(src, "merge-base", first_parent, pr)
    assert first_parent != fork
    on_main = changed_files(src, fork, first_parent)
    assert on_main and all(map(is_docs, on_main))
    # ... so the merge is TREESAME to the PR (not to main) on the chart paths
    assert git(src, "diff", "--name-only", pr, merge, "--", *paths) == ""
    assert git(src, "diff", "--name-only", first_parent, merge, "--", *paths) != ""
    # git's default history simplification names the PR commit; --first-parent and
    # --full-history name the merge (the 2018 mistake)
    assert git(src, "log", "-1", "--format=%H", "main", "--", *paths) == pr
    assert git(src, "log", "-1", "--first-parent", "--format=%H", "main", "--", *paths) == merge
    assert git(src, "log", "-1", "--full-history", "--format=%H", "main", "--", *paths) == merge


def test_head_is_a_docs_only_commit_after_the_chart_commit(demo_world):
    src = demo_world.source
    head = git(src, "rev-parse", "main")
    assert head == demo_world.head
    assert head not in (demo_world.pr_commit, demo_world.merge_commit)
    after = changed_files(src, demo_world.merge_commit, head)
    assert after and all(map(is_docs, after))
    cv = chart_version(src, "main")
    assert cv.commit_full == demo_world.pr_commit
    short = git(src, "rev-parse", "--short", demo_world.pr_commit)
    n = git(src, "rev-list", "--count", demo_world.pr_commit)
    assert cv.version == f"1.0.0-0.dev.git.{n}.h{short}"
    assert cv.version == demo_world.current_version
    assert landing_commit(GitRepo(src), demo_world.pr_commit, "main") == demo_world.merge_commit


def test_merge_where_both_sides_touched_the_chart_is_the_chart_commit(demo_world):
    src = demo_world.source
    paths = sorted(HEAD_CHART_PATHS)
    for label in ("merge8", "merge16"):
        merge = demo_world.commits[label]
        _, p1, p2 = git(src, "rev-list", "--parents", "-n", "1", merge).split()
        assert git(src, "diff", "--name-only", p1, merge, "--", *paths) != ""
        assert git(src, "diff", "--name-only", p2, merge, "--", *paths) != ""
        cv = chart_version(src, merge)
        assert cv.commit_full == merge, label


def test_pr_whose_head_is_docs_only(demo_world):
    """Neither the merge nor the PR head: the PR's earlier commit is the chart commit."""
    src, c = demo_world.source, demo_world.commits
    _, _, pr_head = git(src, "rev-list", "--parents", "-n", "1", c["merge10"]).split()
    assert pr_head == c["pr10-docs"]
    assert all(map(is_docs, changed_files(src, c["pr10"], pr_head)))
    cv = chart_version(src, c["merge10"])
    assert cv.commit_full == c["pr10"]


def test_chartpress_path_list_changes_in_history(demo_world):
    """requirements.txt only became a chart path later: read chartpress.yaml at each commit."""
    src, c = demo_world.source, demo_world.commits
    assert "requirements.txt" in changed_files(src, c["merge10"], c["requirements"])
    assert "requirements.txt" not in git(src, "show", f"{c['requirements']}:{CHARTPRESS}")
    at_then = chart_version(src, c["requirements"])
    assert at_then.commit_full == c["pr10"]
    later = chart_version(src, c["tornado"])
    assert later.commit_full == c["tornado"]


def test_history_is_plausible(demo_world):
    """Every commit is younger than its parents; the source repo is clean, on main, tagged."""
    for repo in (demo_world.source, demo_world.deploy):
        times = {}
        for line in git(repo, "log", "--reverse", "--format=%H %ct %P", "main").splitlines():
            sha, ct, *parents = line.split()
            times[sha] = int(ct)
            assert all(times[p] < int(ct) for p in parents)
        assert git(repo, "status", "--porcelain") == ""
        assert git(repo, "symbolic-ref", "HEAD") == "refs/heads/main"
        assert git(repo, "for-each-ref", "--format=%(refname)", "refs/heads") == "refs/heads/main"
    assert git(demo_world.source, "describe", "--tags", "--abbrev=0", "main") == "0.1.0"
    merges = git(demo_world.source, "log", "--merges", "--format=%s", "main").splitlines()
    assert len(merges) >= 8 and all(m.startswith("Merge pull request #") for m in merges)
    assert 20 <= int(git(demo_world.source, "rev-list", "--count", "main")) <= 45


# --- the chart index ------------------------------------------------------------------------


def test_index_entries_are_the_versions_ci_published(demo_world):
    src = demo_world.source
    repo = GitRepo(src)
    entries = load_index(demo_world)
    versions = [e["version"] for e in entries]
    assert len(versions) >= 12 and len(set(versions)) == len(versions)

    # CI publishes from every push to main: each first-parent commit's version is in the index.
    first_parent = git(src, "rev-list", "--first-parent", "--reverse", "main").splitlines()
    at_push = {sha: chart_version(src, sha).version for sha in first_parent}
    assert set(at_push.values()) == set(versions)

    delays = []
    for entry in entries:
        assert set(entry) >= {
            "apiVersion",
            "created",
            "description",
            "digest",
            "name",
            "urls",
            "version",
        }
        assert entry["name"] == "binderhub" and entry["apiVersion"] == "v2"
        assert re.fullmatch(r"[0-9a-f]{64}", entry["digest"])
        url = f"https://demo.invalid/helm-chart/binderhub-{entry['version']}.tgz"
        assert entry["urls"] == [url]
        commit = version_commit(src, entry["version"])
        at_commit = chart_version(src, commit)
        assert at_commit.version == entry["version"] and at_commit.commit_full == commit
        landing = landing_commit(repo, commit, "main")
        assert at_push[landing] == entry["version"]
        delay = parse_created(entry["created"]) - commit_time(src, landing)
        delays.append(delay.total_seconds() / 60)
    # a realistic spread: all after landing, most within ten minutes, a slow tail
    assert min(delays) > 1 and 4 <= statistics.median(delays) <= 10 and max(delays) >= 30


def test_second_chart_whose_last_publish_failed(demo_world):
    """binderhub-service: every push that made a new version of it published it, except
    the last one (its publish job "failed"), which is the chart at head: overdue for ever."""
    src = demo_world.source
    data = yaml.safe_load(demo_world.index.read_bytes())
    listed = [e["version"] for e in data["entries"]["binderhub-service"]]
    first_parent = git(src, "rev-list", "--first-parent", "--reverse", "main").splitlines()
    made = []
    for sha in first_parent:
        if git(src, "ls-tree", "--name-only", sha, "--", SERVICE_CHARTPRESS):
            version = compute_chart_version(
                GitRepo(src), sha, SERVICE_CHARTPRESS, "binderhub-service"
            ).version
            if version not in made:
                made.append(version)
    assert len(made) == 3 and sorted(listed) == sorted(made[:2])
    assert made[-1] == demo_world.service_current_version not in listed
    # none of its paths is binderhub's: binderhub's versions are as they were
    assert not any(p.startswith("service-chart") for p in HEAD_CHART_PATHS)
    assert demo_world.service_pinned_version == made[1]
    chart_yaml = (demo_world.deploy / "mybinder" / "Chart.yaml").read_text()
    assert f'version: "{demo_world.service_pinned_version}"' in chart_yaml


def test_index_is_not_in_created_order(demo_world):
    created = [parse_created(e["created"]) for e in load_index(demo_world)]
    assert created != sorted(created) and created != sorted(created, reverse=True)


def test_current_version_is_published_after_it_landed(demo_world):
    entry = next(e for e in load_index(demo_world) if e["version"] == demo_world.current_version)
    assert parse_created(entry["created"]) > commit_time(demo_world.source, demo_world.merge_commit)


def test_versions_match_chartpress_itself(demo_copy, monkeypatch):
    """chartpress, run on a checkout of the main commit that landed each version, gives it."""
    chartpress = pytest.importorskip("chartpress")
    src = demo_copy.source
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.chdir(src / "helm-chart")
    repo = GitRepo(src)
    entries = load_index(demo_copy)
    assert len(entries) >= 12
    for entry in entries:
        landing = landing_commit(repo, version_commit(src, entry["version"]), "main")
        git(src, "-c", "advice.detachedHead=false", "checkout", "-qf", "--detach", landing)
        for cached in (
            chartpress._count_commits,
            chartpress._get_latest_tag_and_count,
            chartpress._get_latest_commit_tagged_or_modifying_paths,
        ):
            cached.cache_clear()
        with contextlib.redirect_stdout(io.StringIO()):
            chartpress.main(["--skip-build"])
        chart = yaml.safe_load((src / "helm-chart/binderhub/Chart.yaml").read_text())
        assert chart["version"] == entry["version"]


# --- the deploy repo ------------------------------------------------------------------------


def test_deploy_repo_has_the_mybinder_layout(demo_world):
    deploy = demo_world.deploy
    for path in (
        "mybinder/Chart.yaml",
        "mybinder/values.yaml",
        "config/staging.yaml",
        "config/prod.yaml",
        ".github/workflows/cd.yml",
        "deploy.py",
        "README.md",
        "deployguide.toml",
    ):
        assert git(deploy, "ls-files", "--error-unmatch", "--", path) == path
    assert ".deployguide-cache/" in (deploy / ".gitignore").read_text().splitlines()

    jobs = yaml.safe_load((deploy / ".github/workflows/cd.yml").read_text())["jobs"]
    assert set(jobs) == {"staging-deploy", "prod-deploy"}
    assert jobs["prod-deploy"]["needs"] == "staging-deploy"
    # mybinder's federation: each job is a matrix over federation members (include entries)
    members = {
        env: [
            e["federation_member"] for e in jobs[f"{env}-deploy"]["strategy"]["matrix"]["include"]
        ]
        for env in ("staging", "prod")
    }
    assert members["staging"] == ["staging"]
    assert len(members["prod"]) >= 3 and members["prod"][0] == "prod"
    assert jobs["prod-deploy"]["continue-on-error"] == "${{ matrix.experimental }}"
    prod_entries = jobs["prod-deploy"]["strategy"]["matrix"]["include"]
    assert any("cluster_name" in e for e in prod_entries)
    assert any("cluster_name" not in e for e in prod_entries)  # the default is used
    for env in ("staging", "prod"):
        steps = jobs[f"{env}-deploy"]["steps"]
        assert all(re.match(r"Stage \d: ", step["name"]) for step in steps)
        runs = [step.get("run", "") for step in steps]
        assert any(r.startswith("chartpress") for r in runs)
        deploy_step = next(
            i
            for i, r in enumerate(runs)
            if r.startswith("python ./deploy.py ${{ matrix.federation_member }}")
        )
        assert steps[deploy_step]["name"].startswith("Stage 4: Deploy to ")
        # then the tests, with up to 3 attempts of 10 minutes
        after = steps[deploy_step + 1 :]
        tests = [s for s in after if "pytest" in s.get("with", {}).get("command", "")]
        assert tests and tests[0]["with"]["max_attempts"] == 3
        assert tests[0]["name"].startswith("Stage 4: Verify ")
    names = [s["name"] for s in jobs["prod-deploy"]["steps"]]
    assert "Stage 4: Deploy to ${{ matrix.federation_member }}" in names
    assert "Stage 4: Verify staging works" in [s["name"] for s in jobs["staging-deploy"]["steps"]]
    for member in members["staging"] + members["prod"]:
        assert git(deploy, "ls-files", "--error-unmatch", "--", f"config/{member}.yaml")

    deploy_py = (deploy / "deploy.py").read_text()
    assert '"--cleanup-on-fail"' in deploy_py and "--timeout=10m" in deploy_py
    assert "--wait" not in deploy_py.replace("no --wait", "")
    for member in members["staging"] + members["prod"]:
        values = yaml.safe_load((deploy / f"config/{member}.yaml").read_text())
        assert values["binderhub"]["config"]["BinderHub"]["hub_url"].startswith("https://hub.")


def test_model_loads(demo_world):
    from sphinx_deployguide.config import load_model

    model = load_model(demo_world.model)
    assert model.deploy_repo == demo_world.deploy
    chart = model.charts["binderhub"]
    assert (model.base_dir / chart.source).resolve() == demo_world.source
    assert (model.base_dir / chart.index).resolve() == demo_world.index
    assert str(chart.pin) == "mybinder/Chart.yaml#dependencies[name=binderhub].version"
    assert model.environment_order() == ["staging", "prod"]
    assert model.environments["prod"].job == "prod-deploy"
    assert {e.members for e in model.environments.values()} == {"federation_member"}
    assert model.cache_dir == demo_world.deploy / ".deployguide-cache"


def test_pin_is_an_older_published_version_with_chart_commits_pending(demo_world):
    src, deploy = demo_world.source, demo_world.deploy
    text = (deploy / "mybinder/Chart.yaml").read_text()
    deps = yaml.safe_load(text)["dependencies"]
    pinned = next(d["version"] for d in deps if d["name"] == "binderhub")
    assert pinned == demo_world.pinned_version
    assert {d["name"] for d in deps} >= {"binderhub", "ingress-nginx", "prometheus"}
    lines = text.splitlines()
    pin_line = lines.index(f'    version: "{pinned}"')  # quoted, like mybinder.org-deploy
    assert lines[pin_line - 1] == "  - name: binderhub"
    assert lines[pin_line - 2].lstrip().startswith("#")

    created = {e["version"]: parse_created(e["created"]) for e in load_index(demo_world)}
    assert created[pinned] < created[demo_world.current_version]
    pinned_commit = version_commit(src, pinned)
    pending = git(
        src,
        "log",
        "--reverse",
        "--format=%H",
        f"{pinned_commit}..main",
        "--",
        *sorted(HEAD_CHART_PATHS),
    ).splitlines()
    assert len(pending) >= 3 and pending[-1] == demo_world.pr_commit
    assert demo_world.merge_commit not in pending


def test_every_pin_in_deploy_history_was_published_before_it_was_merged(demo_world):
    created = {e["version"]: parse_created(e["created"]) for e in load_index(demo_world)}
    deploy = demo_world.deploy
    log = git(deploy, "log", "--reverse", "--format=%H", "--", "mybinder/Chart.yaml").splitlines()
    assert len(log) >= 3
    for sha in log:
        deps = yaml.safe_load(git(deploy, "show", f"{sha}:mybinder/Chart.yaml"))["dependencies"]
        version = next(d["version"] for d in deps if d["name"] == "binderhub")
        assert created[version] < commit_time(deploy, sha)


# --- errors and copies ----------------------------------------------------------------------


def test_non_empty_folder_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DeployGuideError, match="not empty") as info:
        build_demo(tmp_path)
    assert str(tmp_path) in str(info.value) and "notes.txt" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_file_instead_of_folder_is_refused(tmp_path):
    target = tmp_path / "world"
    target.write_text("")
    with pytest.raises(DeployGuideError, match="is a file") as info:
        build_demo(target)
    assert str(target) in str(info.value)


def test_demo_copy_is_a_clean_independent_world(demo_copy, demo_world):
    assert demo_copy.root != demo_world.root
    assert demo_copy.commits == demo_world.commits
    for repo in (demo_copy.source, demo_copy.deploy):
        assert git(repo, "diff-files", "--name-only") == ""
        assert git(repo, "status", "--porcelain") == ""
    assert demo_copy.model.read_text() == demo_world.model.read_text()


def test_a_world_knows_which_demo_code_built_it(demo_world, tmp_path):
    from sphinx_deployguide.demo import STAMP_NAME, copy_demo, is_current

    assert is_current(demo_world.root)
    copy = copy_demo(demo_world, tmp_path / "copy")
    assert is_current(copy.root)  # docs/conf.py keeps a copied world instead of rebuilding it
    (copy.root / STAMP_NAME).write_text("made by older demo code")
    assert not is_current(copy.root)
    assert not is_current(tmp_path / "nowhere")
