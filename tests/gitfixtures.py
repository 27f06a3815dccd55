"""Deterministic git repositories for tests (reusable by any test module).

Usage::

    from tests.gitfixtures import FixtureRepo, isolate_git_env

    def test_x(tmp_path, monkeypatch):
        isolate_git_env(monkeypatch)          # code under test sees no user/system config
        repo = FixtureRepo.init(tmp_path / "src")
        a = repo.commit("initial", {"helm-chart/chartpress.yaml": "...", "README.md": "hi"})
        repo.branch("pr")                       # create + switch
        b = repo.commit("PR change", {"helm-chart/binderhub/values.yaml": "x: 1\\n"})
        repo.switch("main")
        m = repo.merge("pr", "Merge pull request #1")   # always --no-ff
        repo.tag("1.0.0", m)

Every commit gets a fixed author/committer and a date one minute after the previous
one (``FixtureRepo.clock``), and git runs with ``GIT_CONFIG_GLOBAL=/dev/null`` and
``GIT_CONFIG_NOSYSTEM=1``: the same script gives the same SHAs on every machine.
``commit`` takes ``{path: text}`` (``None`` deletes the file) and returns the full sha.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

#: Start of the fixture clock (2018-01-04T12:00:00Z, the incident's day).
START_TIME = 1515067200

FIXED_ENV = {
    "GIT_AUTHOR_NAME": "Fixture Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Fixture Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
    "GIT_TERMINAL_PROMPT": "0",
}

_DROP = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_CONFIG")


def deterministic_env(when: int | None = None) -> dict[str, str]:
    """os.environ with fixed identities, no user/system git config, and dates at ``when``."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    env.update(FIXED_ENV)
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{when} +0000"
    return env


def isolate_git_env(monkeypatch) -> None:
    """Make git calls of the code under test ignore the user's and system's git config."""
    for key in _DROP:
        monkeypatch.delenv(key, raising=False)
    for key, value in FIXED_ENV.items():
        monkeypatch.setenv(key, value)


def git(cwd: Path, *args: str, when: int | None = None, input: bytes | None = None) -> str:
    """Run git in ``cwd`` deterministically; stdout without the trailing newline."""
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=deterministic_env(when),
        input=input,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"git {' '.join(args)} failed in {cwd}: {proc.stderr.decode(errors='replace')}"
        )
    return proc.stdout.decode().rstrip("\n")


class FixtureRepo:
    """A work-tree repository whose commits are fully deterministic."""

    def __init__(self, path: Path, clock: int = START_TIME) -> None:
        self.path = Path(path)
        self.clock = clock

    @classmethod
    def init(
        cls, path: Path, *, branch: str = "main", config: Mapping[str, str] | None = None
    ) -> FixtureRepo:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "--quiet", f"--initial-branch={branch}")
        for key, value in (config or {}).items():
            git(path, "config", key, value)
        return cls(path)

    def git(self, *args: str) -> str:
        return git(self.path, *args, when=self.clock)

    def tick(self, seconds: int = 60) -> int:
        self.clock += seconds
        return self.clock

    def write(self, files: Mapping[str, str | None]) -> None:
        """Write (``None``: delete) files and stage them, with one ``git add``/``git rm``."""
        added = [rel for rel, text in files.items() if text is not None]
        removed = [rel for rel, text in files.items() if text is None]
        for rel in added:
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(files[rel])  # type: ignore[arg-type]
        if added:
            self.git("add", "--", *added)
        if removed:
            self.git("rm", "--quiet", "-r", "--", *removed)

    def commit(self, message: str, files: Mapping[str, str | None] | None = None) -> str:
        """Write ``files`` and commit them (empty commit if none); the full sha."""
        self.write(files or {})
        self.tick()
        self.git("commit", "--quiet", "--allow-empty", "--no-verify", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def short(self, rev: str = "HEAD") -> str:
        """git's own ``%h`` for ``rev`` in this repository."""
        return self.git("log", "-1", "--format=%h", rev)

    def branch(self, name: str, start: str = "HEAD") -> None:
        """Create branch ``name`` at ``start`` and switch to it."""
        self.git("switch", "--quiet", "-c", name, start)

    def switch(self, name: str) -> None:
        self.git("switch", "--quiet", name)

    def merge(self, branch: str, message: str) -> str:
        """A real merge commit (``--no-ff``) of ``branch`` into the current branch."""
        self.tick()
        self.git("merge", "--quiet", "--no-ff", "--no-verify", "-m", message, branch)
        return self.head()

    def tag(self, name: str, rev: str = "HEAD", *, annotated: bool = False) -> None:
        if annotated:
            self.tick()
            self.git("tag", "-a", "-m", f"release {name}", name, rev)
        else:
            self.git("tag", name, rev)


CHARTPRESS_YAML = """\
charts:
  - name: binderhub
    imagePrefix: example/k8s-
    repo:
      git: example/helm-chart
      published: https://example.invalid/helm-chart
{extra}"""

CHART_YAML = """\
apiVersion: v2
name: binderhub
version: 0.0.1-set.by.chartpress
description: fixture chart
"""


def chart_files(
    prefix: str = "helm-chart", extra: str = "", version: str | None = None
) -> dict[str, str]:
    """A minimal chartpress layout: ``PREFIX/chartpress.yaml`` and ``PREFIX/binderhub/``.

    ``extra`` is appended (indented four spaces) under the chart entry, e.g.
    ``"baseVersion: 1.2.3"``.
    """
    indented = "".join(f"    {line}\n" for line in extra.splitlines())
    chart_yaml = (
        CHART_YAML if version is None else CHART_YAML.replace("0.0.1-set.by.chartpress", version)
    )
    pre = f"{prefix}/" if prefix else ""
    return {
        f"{pre}chartpress.yaml": CHARTPRESS_YAML.format(extra=indented),
        f"{pre}binderhub/Chart.yaml": chart_yaml,
        f"{pre}binderhub/values.yaml": "replicas: 1\n",
    }


def merge_chart_change(repo: Path, when: int) -> tuple[str, str]:
    """Upstream merges a pull request that changes ``helm-chart/binderhub/values.yaml`` at
    epoch ``when``: (the PR's commit, the merge commit). The merge is TREESAME to the PR on
    the chart, so the PR's commit is the chart commit, as in the 2018 incident."""
    git(repo, "switch", "-q", "-c", "pr/new-setting")
    values = repo / "helm-chart" / "binderhub" / "values.yaml"
    values.write_text(values.read_text() + "\nnewSetting: true\n")
    git(repo, "commit", "-q", "-am", "Add a new setting", when=when)
    pr = git(repo, "rev-parse", "HEAD")
    git(repo, "switch", "-q", "main")
    message = "Merge pull request #2100 from pr/new-setting"
    git(repo, "merge", "-q", "--no-ff", "-m", message, "pr/new-setting", when=when + 30)
    return pr, git(repo, "rev-parse", "HEAD")
