"""The demo world: a chart source, a chart index and a deploy repo, built the same way every time.

``build_demo(root)`` makes, under ``root``:

- ``binderhub/``: a chart source repo in the jupyterhub/binderhub layout whose history holds
  the pattern of the 2018 incident (a pull request merged by a merge commit that is TREESAME
  on the chart paths, so the chart version names the PR's commit, not the merge), a merge
  where both sides touched the chart (so the merge *is* the chart commit), a PR whose head is
  docs-only, a change of chartpress's own path list, and docs-only commits at the end; and a
  second chart, ``binderhub-service`` (its own ``service-chart/chartpress.yaml``), whose
  last publish job "failed".
- ``helm-chart/index.yaml``: the chart repo's gh-pages index, one entry per version CI would
  have published from ``main``, ``created`` a realistic delay after the commit that landed it
  (none for binderhub-service's last version: the overdue case, for ever, deterministically).
- ``deploy/``: a deploy repo in the mybinder.org-deploy layout pinning older published
  versions of both: matrix deploy jobs over federation members with staged step names, a
  ``deployguide.toml`` that works from there and its own small runbook in ``docs/source/``
  (staging and prod checklists, shipped in ``sphinx_deployguide/demo_runbook/``), so
  ``deployguide checklist`` and ``deployguide bump`` work from the repo as they would in a
  real one.

Everything is fixed (authors, dates, contents) and the repos are written with one
``git fast-import`` each, with no user or system git config, so the SHAs are the same on
every run and machine. Chart versions are never written down here: they are computed with
:func:`sphinx_deployguide.chartversion.compute_chart_version`, as chartpress would.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import posixpath
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from .chartversion import ChartVersion, compute_chart_version
from .demo_history import (
    BRANCH,
    PUBLISH_DELAY_MINUTES,
    SERVICE_PUBLISH_DELAY_MINUTES,
    SERVICE_PUBLISH_FAILED,
    History,
    Tree,
    deploy_history,
    source_history,
)
from .errors import DeployGuideError, GitError
from .git import GitRepo

CHART = "binderhub"
CHARTPRESS = "helm-chart/chartpress.yaml"
SERVICE_CHART = "binderhub-service"
SERVICE_CHARTPRESS = "service-chart/chartpress.yaml"
CHART_URL = "https://demo.invalid/helm-chart"


# ---------------------------------------------------------------------------------------------
# Pure rendering: fast-import stream, index


def fast_import_stream(history: History, head: str) -> bytes:
    """A ``git fast-import`` stream that recreates ``history`` exactly, ``main`` at ``head``."""
    out = bytearray()
    marks = {label: i for i, label in enumerate(history.commits, start=1)}

    def data(text: str) -> None:
        raw = text.encode("utf-8")
        out.extend(b"data %d\n" % len(raw))
        out.extend(raw)
        out.extend(b"\n")

    for label, c in history.commits.items():
        out.extend(f"commit refs/heads/{BRANCH}\nmark :{marks[label]}\n".encode())
        out.extend(f"author {c.author.ident(c.author_time)}\n".encode())
        out.extend(f"committer {c.committer.ident(c.commit_time)}\n".encode())
        data(c.message)
        parent_tree: Tree = {}
        if c.parents:
            out.extend(f"from :{marks[c.parents[0]]}\n".encode())
            parent_tree = history.commits[c.parents[0]].tree
        for parent in c.parents[1:]:
            out.extend(f"merge :{marks[parent]}\n".encode())
        for path in sorted(set(parent_tree) - set(c.tree)):
            out.extend(f"D {path}\n".encode())
        for path, (mode, text) in sorted(c.tree.items()):
            if parent_tree.get(path) != (mode, text):
                out.extend(f"M {mode} inline {path}\n".encode())
                data(text)
        out.extend(b"\n")
    for name, label, who, when, message in history.tags:
        out.extend(f"tag {name}\nfrom :{marks[label]}\ntagger {who.ident(when)}\n".encode())
        data(message)
    out.extend(f"reset refs/heads/{BRANCH}\nfrom :{marks[head]}\n\ndone\n".encode())
    return bytes(out)


def format_created(when: datetime, nanos: int) -> str:
    """RFC 3339 with nanoseconds and ``Z``, trailing zeros trimmed as Go (Helm) writes them."""
    fraction = f"{nanos:09d}".rstrip("0")
    return when.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def semver_key(version: str) -> tuple[tuple[int, ...], int, tuple[tuple[int, int, str], ...]]:
    """SemVer 2 precedence, for ordering the index as ``helm repo index`` does (newest first)."""
    core, _, pre = version.partition("-")
    numbers = tuple(int(part) for part in core.split("."))
    if not pre:
        return (numbers, 1, ())
    ids = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split("."))
    return (numbers, 0, ids)


@dataclass(frozen=True)
class DemoVersion:
    """A chart version the demo published: the ground truth the index was made from."""

    version: str
    commit: str  # full sha of the chart commit
    landing: str  # full sha of the first-parent main commit that brought it (CI published from it)
    landed_at: datetime  # committer time of ``landing``
    created: datetime  # index ``created`` (to the microsecond)
    created_text: str  # exactly as written in the index
    description: str
    chart: str = CHART


def render_index(versions: list[DemoVersion]) -> str:
    """The gh-pages ``index.yaml``, written the way Helm writes it (charts by name)."""
    lines = ["apiVersion: v1", "entries:"]
    for chart in sorted({v.chart for v in versions}):
        lines.append(f"  {chart}:")
        mine = [v for v in versions if v.chart == chart]
        for v in sorted(mine, key=lambda v: semver_key(v.version), reverse=True):
            # A demo has no chart archive: the digest is the sha256 of a fixed description of one.
            archive = f"{chart}-{v.version}.tgz"
            digest = hashlib.sha256(f"{archive} (deployguide demo)".encode()).hexdigest()
            lines += [
                "  - apiVersion: v2",
                f'    created: "{v.created_text}"',
                f"    description: {json.dumps(v.description)}",
                f"    digest: {digest}",
                "    home: https://demo.invalid/binderhub",
                "    kubeVersion: '>=1.23.0-0'",
                f"    name: {chart}",
                "    sources:",
                "    - https://demo.invalid/binderhub",
                "    urls:",
                f"    - {CHART_URL}/{archive}",
                f"    version: {v.version}",
            ]
    latest = max(versions, key=lambda v: v.created)
    lines.append(f'generated: "{latest.created_text}"')
    return "\n".join(lines) + "\n"


def _hash_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def publish_time(landed_at: datetime, minutes: int, version: str) -> tuple[datetime, str]:
    """``created`` of a version: the landing time + the delay + a few hashed seconds and nanos."""
    h = _hash_int(version)
    nanos = h % 10**9
    when = landed_at + timedelta(minutes=minutes, seconds=(h // 10**9) % 60)
    return when + timedelta(microseconds=nanos // 1000), format_created(when, nanos)


# ---------------------------------------------------------------------------------------------
# I/O: git


def git_env() -> dict[str, str]:
    """An environment in which git sees no user or system config and no inherited GIT_* state."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
    )
    return env


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    cmd = ["git", "-C", str(cwd), *args]
    try:
        done = subprocess.run(cmd, input=stdin, capture_output=True, env=git_env(), check=False)
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH); the demo world needs it") from None
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"`{' '.join(cmd)}` failed (exit {done.returncode}): {stderr}")
    return done.stdout.decode("utf-8").rstrip("\n")


def write_repo(path: Path, history: History, head: str) -> dict[str, str]:
    """Create a git repo at ``path`` holding ``history``; returns label -> full sha."""
    path.mkdir(parents=True)
    _git(path, "-c", f"init.defaultBranch={BRANCH}", "init", "--quiet", "--template=")
    # git's default short-sha length, as on the CI that publishes: a user's global core.abbrev
    # must not change the demo's chart versions (%h) between machines.
    _git(path, "config", "core.abbrev", "auto")
    stream = fast_import_stream(history, head)
    marks = "--export-marks=.git/demo-marks"
    _git(path, "fast-import", "--quiet", "--done", "--date-format=raw", marks, stdin=stream)
    marks_file = path / ".git" / "demo-marks"
    by_mark = dict(line.split(" ", 1) for line in marks_file.read_text().splitlines())
    marks_file.unlink()
    shas = {label: by_mark[f":{i}"] for i, label in enumerate(history.commits, start=1)}
    _git(path, "reset", "--quiet", "--hard", BRANCH)
    return shas


# ---------------------------------------------------------------------------------------------
# The world


@dataclass(frozen=True)
class DemoWorld:
    """Where the demo's parts are, and the ground truth tests and docs can check against."""

    root: Path
    source: Path  # chart source repo (a work tree, branch "main")
    index: Path  # the chart repo's index.yaml
    deploy: Path  # deploy repo (git)
    model: Path  # deploy/deployguide.toml
    pr_commit: str  # the incident pattern: the PR commit that is the chart commit ...
    merge_commit: str  # ... and the TREESAME merge that landed it (full shas)
    commits: dict[str, str] = field(default_factory=dict)  # source label -> full sha
    deploy_commits: dict[str, str] = field(default_factory=dict)  # deploy label -> full sha
    versions: tuple[DemoVersion, ...] = ()  # published, in landing order
    head: str = ""  # full sha of the source's main head (a docs-only commit)
    current_version: str = ""  # the version at head, published
    pinned_version: str = ""  # what the deploy repo pins (older, published)
    service_versions: tuple[DemoVersion, ...] = ()  # binderhub-service's, published
    service_current_version: str = ""  # its version at head, whose publish job "failed"
    service_pinned_version: str = ""  # what the deploy repo pins of it (published)


def _check_root(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise DeployGuideError(
            "the demo needs a folder, but this is a file; give a new or empty folder", file=root
        )
    if root.is_dir():
        entries = sorted(p.name for p in root.iterdir())
        if entries:
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise DeployGuideError(
                f"the demo folder is not empty (it holds {shown}); give a new or empty folder "
                "so that nothing of yours is overwritten",
                file=root,
            )


@dataclass(frozen=True)
class DemoChart:
    """A chart of the demo source: where its chartpress.yaml is and how CI published it."""

    name: str
    chartpress: str
    delays: dict[str, int]  # landing label -> publish delay (minutes)
    failed: str | None = None  # the landing label whose publish job "failed"


BINDERHUB = DemoChart(CHART, CHARTPRESS, PUBLISH_DELAY_MINUTES)
SERVICE = DemoChart(
    SERVICE_CHART, SERVICE_CHARTPRESS, SERVICE_PUBLISH_DELAY_MINUTES, SERVICE_PUBLISH_FAILED
)


def published_versions(
    history: History, shas: dict[str, str], repo: GitRepo, chart: DemoChart = BINDERHUB
) -> tuple[list[DemoVersion], str | None]:
    """(the versions CI published, in order; the version whose publish job failed): on each
    push to main (first parent), the version chartpress computes there, unless it is already
    in the index.

    A push can only give a new version when it changes a chart path (the paths of the
    current version, which include chartpress.yaml itself) or brings a new tag; other pushes
    are skipped to keep the build fast. (tests/test_demo.py computes at every push and checks
    the index has exactly those versions.)
    """
    versions: list[DemoVersion] = []
    failed: str | None = None
    cv: ChartVersion | None = None
    previous: str | None = None
    head = history.tips[BRANCH]
    assert head is not None
    for label in history.first_parents(head):
        if chart.chartpress not in history.commits[label].tree:
            continue  # the chart does not exist yet
        if (
            cv is None
            or history.changes_under(label, cv.paths)
            or history.tags_reachable(label) != history.tags_reachable(previous)
        ):
            cv = compute_chart_version(repo, shas[label], chart.chartpress, chart.name)
        previous = label
        if cv.version == failed or any(v.version == cv.version for v in versions):
            continue
        if label == chart.failed:
            failed = cv.version
            continue
        if label not in chart.delays:
            raise AssertionError(f"demo: unexpected new chart version {cv.version} at {label}")
        landed = history.commits[label].commit_time
        created, created_text = publish_time(landed, chart.delays[label], cv.version)
        chart_yaml_path = posixpath.join(posixpath.dirname(chart.chartpress), chart.name)
        chart_yaml = history.commits[label].tree[f"{chart_yaml_path}/Chart.yaml"][1]
        description = next(
            line.split(": ", 1)[1]
            for line in chart_yaml.splitlines()
            if line.startswith("description: ")
        )
        versions.append(
            DemoVersion(
                cv.version,
                cv.commit_full,
                shas[label],
                landed,
                created,
                created_text,
                description,
                chart.name,
            )
        )
    label_of = {sha: label for label, sha in shas.items()}
    missing = set(chart.delays) - {label_of[v.landing] for v in versions}
    if missing or (chart.failed and failed is None):
        raise AssertionError(f"demo: expected new chart versions at {sorted(missing)}")
    return versions, failed


def build_demo(root: Path | str) -> DemoWorld:
    """Build the demo world under ``root`` (new or empty); deterministic, so SHAs never change."""
    root = Path(root).absolute()
    _check_root(root)
    if shutil.which("git") is None:
        raise GitError("git is not installed (or not on PATH); the demo world needs it")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # /proc/x, under a file, read-only, no permission
        raise DeployGuideError(
            f"cannot create the folder: {exc.strerror or exc}; give a folder you can write to",
            file=root,
        ) from None
    try:
        return _build(root)
    except OSError as exc:  # a disk that fills up, a folder made read-only meanwhile
        where = exc.filename or root
        raise DeployGuideError(
            f"cannot write the demo world: {exc.strerror or exc}", file=where
        ) from None


def _build(root: Path) -> DemoWorld:
    source_path = root / "binderhub"
    history = source_history()
    head = history.tips[BRANCH]
    assert head is not None
    shas = write_repo(source_path, history, head)
    label_of = {sha: label for label, sha in shas.items()}

    versions, _ = published_versions(history, shas, GitRepo(source_path))
    service, service_failed = published_versions(history, shas, GitRepo(source_path), SERVICE)
    assert service_failed is not None
    version_of_landing = {label_of[v.landing]: v.version for v in (*versions, *service)}

    index_path = root / "helm-chart" / "index.yaml"
    index_path.parent.mkdir()
    index_path.write_text(render_index([*versions, *service]), encoding="utf-8")

    deploy_path = root / "deploy"
    deploy = deploy_history(version_of_landing)
    deploy_head = deploy.tips[BRANCH]
    assert deploy_head is not None
    deploy_shas = write_repo(deploy_path, deploy, deploy_head)
    (root / STAMP_NAME).write_text(demo_code_hash(), encoding="utf-8")

    return DemoWorld(
        root=root,
        source=source_path,
        index=index_path,
        deploy=deploy_path,
        model=deploy_path / "deployguide.toml",
        pr_commit=shas["incident-pr"],
        merge_commit=shas["incident-merge"],
        commits=shas,
        deploy_commits=deploy_shas,
        versions=tuple(versions),
        head=shas[head],
        current_version=versions[-1].version,
        pinned_version=version_of_landing["merge16"],
        service_versions=tuple(service),
        service_current_version=service_failed,
        service_pinned_version=version_of_landing["service-resources"],
    )


#: Written last by :func:`build_demo`: which demo code made this world.
STAMP_NAME = ".built-from"


def demo_code_hash() -> str:
    """A hash of the code and files that write the demo world."""
    package = Path(__file__).parent
    files = [
        package / "demo.py",
        package / "demo_history.py",
        *sorted((package / "demo_runbook").iterdir()),
    ]
    digest = hashlib.sha256()
    for path in files:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def is_current(root: Path | str) -> bool:
    """True when ``root`` holds a complete world built (or copied) from this demo code."""
    stamp = Path(root) / STAMP_NAME
    return stamp.is_file() and stamp.read_text(encoding="utf-8") == demo_code_hash()


def copy_demo(world: DemoWorld, dest: Path | str) -> DemoWorld:
    """A copy of ``world`` at ``dest`` (new or empty), cheaper than building it again.

    The git index of each repo is refreshed, so the copies' work trees are clean even to
    plumbing commands that trust file stat data (``git diff-files``).
    """
    dest = Path(dest).absolute()
    _check_root(dest)
    if dest.exists():
        dest.rmdir()
    shutil.copytree(world.root, dest, symlinks=True)

    def moved(path: Path) -> Path:
        return dest / path.relative_to(world.root)

    for repo in (moved(world.source), moved(world.deploy)):
        _git(repo, "update-index", "-q", "--refresh")
    return dataclasses.replace(
        world,
        root=dest,
        source=moved(world.source),
        index=moved(world.index),
        deploy=moved(world.deploy),
        model=moved(world.model),
    )
