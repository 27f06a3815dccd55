"""The worlds the benchmarks run on: the real binderhub history and jupyterhub index from
``../shared/data`` (when present), synthetic chart sources of any size, runbooks of many
pages, and large CI logs.

Everything is built in a folder the caller gives (a temporary one), never in the repo.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sphinx_deployguide.demo import CHARTPRESS, DemoVersion, publish_time, render_index
from sphinx_deployguide.demo import git_env as demo_git_env
from sphinx_deployguide.demo_history import CHART_YAML, CHARTPRESS_YAML, VALUES_YAML

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
REAL_INDEX = DATA / "jupyterhub-helm-index.yaml"
REAL_BUNDLE = DATA / "binderhub.bundle"
#: A binderhub version that is in the real index and whose commit is in the bundle.
REAL_PIN = "1.0.0-0.dev.git.3506.hba24eb2a"

PIN_KEY = "mybinder/Chart.yaml#dependencies[name=binderhub].version"


def real_data_missing() -> str | None:
    """Why the real-data rows cannot run, or None when they can."""
    missing = [p for p in (REAL_INDEX, REAL_BUNDLE) if not p.is_file()]
    if missing:
        return "the real data is not available: " + ", ".join(str(p) for p in missing)
    return None


def write_deploy_repo(deploy: Path, pinned: str, source: str, index: str) -> Path:
    """A deploy folder in the mybinder layout pinning ``pinned``, with its model; returns
    the model path (cache in ``deploy/.deployguide-cache``)."""
    (deploy / "mybinder").mkdir(parents=True, exist_ok=True)
    (deploy / "mybinder" / "Chart.yaml").write_text(
        f"apiVersion: v2\nname: mybinder\nversion: 0.0.1\ndependencies:\n"
        f'  - name: binderhub\n    version: "{pinned}"\n    repository: https://demo.invalid/helm-chart\n'
    )
    model = deploy / "deployguide.toml"
    model.write_text(
        f'deploy_repo = "."\n\n[charts.binderhub]\nsource = "{source}"\nbranch = "main"\n'
        f'chartpress = "{CHARTPRESS}"\nindex = "{index}"\npin = "{PIN_KEY}"\n\n'
        '[cache]\ndir = ".deployguide-cache"\n\n'
        '[environments.staging]\nurl = "https://staging.demo.invalid"\n'
    )
    (deploy / ".gitignore").write_text(".deployguide-cache/\n")
    for args in (
        ["init", "--quiet", "--template=", "-b", "main"],
        ["add", "--all"],
        [
            "-c",
            f"user.name={IDENT.split(' <')[0]}",
            "-c",
            "user.email=bench@example.invalid",
            "commit",
            "--quiet",
            "-m",
            "Pin binderhub",
        ],
    ):
        subprocess.run(["git", "-C", str(deploy), *args], check=True, env=demo_git_env())
    return model


def build_real(root: Path, index_url: str) -> Path:
    """The real binderhub history (cloned from the bundle) and a deploy folder whose model
    reads the index at ``index_url``; returns the model path."""
    source = root / "binderhub"
    subprocess.run(
        ["git", "clone", "--quiet", "--", str(REAL_BUNDLE), str(source)],
        check=True,
        env=demo_git_env(),
    )
    return write_deploy_repo(root / "deploy", REAL_PIN, str(source), index_url)


def empty_cache(model: Path) -> None:
    shutil.rmtree(model.parent / ".deployguide-cache", ignore_errors=True)


START = datetime(2020, 1, 6, 9, 0, tzinfo=timezone.utc)
IDENT = "Bench Author <bench@example.invalid>"


@dataclass
class Landing:
    mark: int
    when: datetime
    chart: bool  # did it bring in a change to a chart path?
    chart_mark: int = 0  # then: the commit chartpress names (a PR's own, not its merge)
    count: int = 0  # then: that commit's ancestors, itself included (chartpress's n)


def synthetic_stream(n_commits: int, seed: int = 2018) -> tuple[bytes, list[Landing], int]:
    """A fast-import stream: direct commits and GitHub-style PR merges on ``main`` (the
    merge of a chart PR is TREESAME to the PR on the chart paths, so the chart commit is
    the PR's own commit: the incident pattern), a tag every ~500 commits (0.N.0, below the
    chart's baseVersion, never on a chart commit). Returns (stream, first-parent landings
    oldest first, number of commits); each chart landing knows its chart commit's ancestor
    count, kept while the history is written (a PR branches from main's tip, so a merge
    has the ancestors of main before it, the PR's commits and itself)."""
    rng = random.Random(seed)
    out = bytearray()
    mark = 0
    clock = START
    landings: list[Landing] = []
    count: dict[int, int] = {}

    def commit(
        ref: str, parent: int | None, files: dict[str, str], message: str, merge: int | None = None
    ) -> int:
        nonlocal mark, clock
        mark += 1
        clock += timedelta(minutes=rng.randint(20, 180))
        stamp = f"{int(clock.timestamp())} +0000"
        raw = message.encode()
        out.extend(
            f"commit {ref}\nmark :{mark}\nauthor {IDENT} {stamp}\n"
            f"committer {IDENT} {stamp}\ndata {len(raw)}\n".encode()
            + raw
            + b"\n"
        )
        if parent is not None:
            out.extend(f"from :{parent}\n".encode())
        if merge is not None:
            out.extend(f"merge :{merge}\n".encode())
        count[mark] = 1 + (count[parent] if parent is not None else 0)
        for path, text in sorted(files.items()):
            data = text.encode()
            out.extend(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        out.extend(b"\n")
        return mark

    def change(i: int, chart: bool) -> dict[str, str]:
        if chart:
            return {f"helm-chart/binderhub/templates/t{i % 97}.yaml": f"# change {i}\n"}
        return {f"docs/page{i % 89}.md": f"change {i}\n"}

    main_tip = commit(
        "refs/heads/main",
        None,
        {
            "helm-chart/chartpress.yaml": CHARTPRESS_YAML,
            "helm-chart/binderhub/Chart.yaml": CHART_YAML,
            "helm-chart/binderhub/values.yaml": VALUES_YAML,
            "README.md": "synthetic\n",
        },
        "initial\n",
    )
    landings.append(Landing(main_tip, clock, True, main_tip, 1))
    pr = 0
    next_tag = 500
    while mark < n_commits:
        if rng.random() < 0.4:  # a direct push to main
            chart = rng.random() < 0.5
            main_tip = commit("refs/heads/main", main_tip, change(mark, chart), f"direct {mark}\n")
            landings.append(Landing(main_tip, clock, chart, main_tip, count[main_tip]))
        else:  # a PR of 1-3 commits, main maybe moving on meanwhile, then a merge commit
            pr += 1
            ref, tip, files, chart, chart_mark = f"refs/heads/pr{pr}", main_tip, {}, False, 0
            commits = rng.randint(1, 3)
            for k in range(commits):
                touches = rng.random() < 0.5
                chart |= touches
                step = change(mark, touches)  # the files every commit shares: small trees
                files.update(step)
                tip = commit(ref, tip, step, f"pr {pr} commit {k}\n")
                chart_mark = tip if touches else chart_mark
            if rng.random() < 0.3:
                main_tip = commit(
                    "refs/heads/main", main_tip, change(mark, False), f"docs {mark}\n"
                )
                landings.append(Landing(main_tip, clock, False))
            before = main_tip
            main_tip = commit(
                "refs/heads/main",
                main_tip,
                files,
                f"Merge pull request #{pr} from pr{pr}\n",
                merge=tip,
            )
            count[main_tip] = count[before] + commits + 1
            # The merge is TREESAME to the PR on the chart paths (main changed only docs
            # meanwhile), so the chart commit is the PR's last one that touched them.
            landings.append(Landing(main_tip, clock, chart, chart_mark, count.get(chart_mark, 0)))
            out.extend(f"reset {ref}\nfrom {'0' * 40}\n\n".encode())  # delete the PR branch
        on_chart_commit = landings[-1].chart and landings[-1].chart_mark == main_tip
        if next_tag <= mark < n_commits - 100 and not on_chart_commit:  # none at the tip
            out.extend(f"reset refs/tags/0.{next_tag // 500}.0\nfrom :{main_tip}\n\n".encode())
            next_tag += 500
    out.extend(b"done\n")
    return bytes(out), landings, mark


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(cwd), *args],
        input=stdin,
        capture_output=True,
        env=demo_git_env(),
        check=True,
    )
    return done.stdout.decode()


def build_synthetic(root: Path, n_commits: int = 2000, published: int = 50) -> tuple[Path, int]:
    """Source repo, index (``published`` versions) and a deploy folder pinning an older one;
    returns (model path, number of commits)."""
    source = root / "source"
    source.mkdir(parents=True)
    _git(source, "-c", "init.defaultBranch=main", "init", "--quiet", "--template=")
    stream, landings, count = synthetic_stream(n_commits)
    _git(
        source, "fast-import", "--quiet", "--done", "--export-marks=.git/bench-marks", stdin=stream
    )
    marks_file = source / ".git" / "bench-marks"
    sha_of = dict(line.split(" ", 1) for line in marks_file.read_text().splitlines())
    marks_file.unlink()
    _git(source, "reset", "--quiet", "--hard", "main")

    # Published names exactly as chartpress writes them (the counts kept while the history
    # was written: computing 50 versions with git on 100k commits would take minutes).
    versions: list[DemoVersion] = []
    for landing in [x for x in landings if x.chart][-published:]:
        sha, commit = sha_of[f":{landing.mark}"], sha_of[f":{landing.chart_mark}"]
        version = f"1.0.0-0.dev.git.{landing.count}.h{commit[:8]}"
        created, text = publish_time(landing.when, 8 + landing.mark % 13, version)
        versions.append(DemoVersion(version, commit, sha, landing.when, created, text, "bench"))
    newest = versions[-1]
    counted = int(_git(source, "rev-list", "--count", newest.commit))
    if f".git.{counted}.h" not in newest.version:  # the world must be what it says
        raise RuntimeError(f"{newest.version}: git counts {counted} commits")
    (root / "index.yaml").write_text(render_index(versions), encoding="utf-8")

    model = write_deploy_repo(root / "deploy", versions[-12].version, "../source", "../index.yaml")
    return model, count


# --------------------------------------------------------------------------- runbooks

#: The live values on each page of the runbook benchmark, and their literal stand-ins.
PAGE_VALUES = (
    "charts.binderhub.version",
    "charts.binderhub.commit",
    "charts.binderhub.pinned",
    "charts.binderhub.delay.wait",
    "environments.staging.url",
)


def write_runbooks(
    root: Path, model: Path, literals: dict[str, str], pages: int = 200
) -> tuple[Path, Path]:
    """Two Sphinx projects of ``pages`` pages, each page one checklist of five steps: in
    ``live`` each step shows a value with ``{deploy-value}``, in ``plain`` the same steps
    are a plain MyST task list with the values typed in. The plain project loads the
    third-party extensions sphinx_deployguide loads (sphinx-copybutton, sphinx-design), so
    the difference is sphinx_deployguide's own work. Returns (live, plain)."""
    live, plain = root / "live", root / "plain"
    for folder, extensions in (
        (live, '["sphinx_deployguide", "myst_parser"]'),
        (plain, '["myst_parser", "sphinx_copybutton", "sphinx_design"]'),
    ):
        folder.mkdir(parents=True)
        conf = (
            f'project = "bench"\nextensions = {extensions}\nmyst_enable_extensions = ["tasklist"]\n'
        )
        if folder is live:
            conf += f"deployguide_config = {str(model)!r}\n"
        (folder / "conf.py").write_text(conf)
        toc = "\n".join(f"page{i:03d}" for i in range(pages))
        (folder / "index.md").write_text(f"# Runbook\n\n```{{toctree}}\n{toc}\n```\n")
    for i in range(pages):
        live_items = "\n".join(
            f"- [ ] Step {k} of page {i} uses {{deploy-value}}`{name}`."
            for k, name in enumerate(PAGE_VALUES)
        )
        plain_items = "\n".join(
            f"- [ ] Step {k} of page {i} uses {literals[name]}."
            for k, name in enumerate(PAGE_VALUES)
        )
        (live / f"page{i:03d}.md").write_text(
            f"# Page {i}\n\n```{{deploy-checklist}} staging\n:id: page{i:03d}\n\n{live_items}\n```\n"
        )
        (plain / f"page{i:03d}.md").write_text(f"# Page {i}\n\n{plain_items}\n")
    return live, plain


# --------------------------------------------------------------------------- CI logs

LOG_NOISE = [
    "2024-07-09T13:00:00.1234567Z ##[group]Run python ./deploy.py staging\n",
    "2024-07-09T13:00:00.2234567Z \x1b[36;1mpython ./deploy.py staging\x1b[0m\n",
    "2024-07-09T13:00:01.1234567Z Downloading https://demo.invalid/helm-chart/binderhub-1.0.0.tgz\n",
    '2024-07-09T13:00:02.1234567Z Waiting for deployment "binder" rollout to finish: 0 of 1 updated\n',
    "2024-07-09T13:00:03.1234567Z ##[endgroup]\n",
    "2024-07-09T13:00:04.1234567Z Step 12/20 : RUN pip install --no-cache-dir -r requirements.txt\n",
]
LOG_ERROR = '2024-07-09T13:00:05.1234567Z ##[error]Error: chart "binderhub" version "1.0.0-0.dev.git.3.habc1234" not found in https://demo.invalid/helm-chart repository\n'


def make_log(size: int) -> bytes:
    """Synthetic GitHub Actions output of about ``size`` bytes (timestamps, ANSI colours,
    group markers, URLs in a third of the lines) with one Helm error at the end: the worst
    case for the literal pre-filter of patterns that need "http" or "status"."""
    block = "".join(LOG_NOISE)
    return (
        (block * (size // len(block) + 1))[:size].rsplit("\n", 1)[0].encode()
        + b"\n"
        + LOG_ERROR.encode()
    )
