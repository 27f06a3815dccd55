"""Chart-version figures: git processes and milliseconds, on the demo world and on a larger
synthetic history (2000 commits, PR merges, tags, 50 published versions).

Run: ``python benchmarks/bench_chartversion.py`` (or ``nox -s bench``). Figures only, no asserts.
Each git call is a process of a few ms, so the number of calls is the figure that explains
the times; it is counted by wrapping :func:`subprocess.run` (the calls still run).

To compare with another checkout of the package, put it first on the path:
``PYTHONPATH=/path/to/old/checkout python benchmarks/bench_chartversion.py``.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sphinx_deployguide
from sphinx_deployguide.chartversion import compute_chart_version, landing_commit, parse_version
from sphinx_deployguide.config import load_model
from sphinx_deployguide.demo import (
    CHART,
    CHARTPRESS,
    DemoVersion,
    build_demo,
    publish_time,
    render_index,
)
from sphinx_deployguide.demo import git_env as demo_git_env
from sphinx_deployguide.demo_history import CHART_YAML, CHARTPRESS_YAML, VALUES_YAML
from sphinx_deployguide.facts import resolve_facts
from sphinx_deployguide.git import GitRepo

# ---------------------------------------------------------------------------------------
# counting git processes


class GitCounter:
    """Counts ``git`` processes started through :func:`subprocess.run` while active."""

    def __init__(self) -> None:
        self.calls = 0
        self._real = subprocess.run

    def __enter__(self) -> GitCounter:
        def counting(cmd, *args, **kwargs):
            if cmd and cmd[0] == "git":
                self.calls += 1
            return self._real(cmd, *args, **kwargs)

        subprocess.run = counting  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run = self._real  # type: ignore[assignment]


def measure(func: Callable[[], object], runs: int) -> tuple[float, float, int]:
    """(median ms, min ms, git processes per call) over ``runs`` calls."""
    times = []
    with GitCounter() as counter:
        for _ in range(runs):
            start = time.perf_counter()
            func()
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, min(times) * 1000, counter.calls // runs


# ---------------------------------------------------------------------------------------
# a larger synthetic chart source, written with one `git fast-import`

START = datetime(2020, 1, 6, 9, 0, tzinfo=timezone.utc)
IDENT = "Bench Author <bench@example.invalid>"
CHARTPRESS_NO_BASE = CHARTPRESS_YAML.replace("    baseVersion: 1.0.0-0.dev\n", "")


@dataclass
class Landing:
    mark: int
    when: datetime
    chart: bool  # did it bring in a change to a chart path?


def synthetic_stream(n_commits: int, seed: int = 2018) -> tuple[bytes, list[Landing], int]:
    """A fast-import stream: direct commits and GitHub-style PR merges on ``main`` (the
    merge of a chart PR is TREESAME to the PR on the chart paths, so the chart commit is
    the PR's own commit: the incident pattern), a tag every ~500 commits. Returns
    (stream, first-parent landings oldest first, number of commits)."""
    rng = random.Random(seed)
    out = bytearray()
    mark = 0
    clock = START
    landings: list[Landing] = []

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
            "helm-chart/chartpress.yaml": CHARTPRESS_NO_BASE,
            "helm-chart/binderhub/Chart.yaml": CHART_YAML,
            "helm-chart/binderhub/values.yaml": VALUES_YAML,
            "README.md": "synthetic\n",
        },
        "initial\n",
    )
    landings.append(Landing(main_tip, clock, True))
    pr = 0
    next_tag = 500
    while mark < n_commits:
        if rng.random() < 0.4:  # a direct push to main
            chart = rng.random() < 0.5
            main_tip = commit("refs/heads/main", main_tip, change(mark, chart), f"direct {mark}\n")
            landings.append(Landing(main_tip, clock, chart))
        else:  # a PR of 1-3 commits, main maybe moving on meanwhile, then a merge commit
            pr += 1
            ref, tip, files, chart = f"refs/heads/pr{pr}", main_tip, {}, False
            for k in range(rng.randint(1, 3)):
                touches = rng.random() < 0.5
                chart |= touches
                step = change(mark, touches)
                step = {p.replace(".", f"-pr{pr}.", 1): t for p, t in step.items()}
                files.update(step)
                tip = commit(ref, tip, step, f"pr {pr} commit {k}\n")
            if rng.random() < 0.3:
                main_tip = commit(
                    "refs/heads/main", main_tip, change(mark, False), f"docs {mark}\n"
                )
                landings.append(Landing(main_tip, clock, False))
            main_tip = commit(
                "refs/heads/main",
                main_tip,
                files,
                f"Merge pull request #{pr} from pr{pr}\n",
                merge=tip,
            )
            landings.append(Landing(main_tip, clock, chart))
            out.extend(f"reset {ref}\nfrom {'0' * 40}\n\n".encode())  # delete the PR branch
        if next_tag <= mark < n_commits - 100:  # no tag at the tip
            out.extend(f"reset refs/tags/1.{next_tag // 500}.0\nfrom :{main_tip}\n\n".encode())
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
    _git(source, "config", "core.abbrev", "auto")
    stream, landings, count = synthetic_stream(n_commits)
    _git(
        source, "fast-import", "--quiet", "--done", "--export-marks=.git/bench-marks", stdin=stream
    )
    marks_file = source / ".git" / "bench-marks"
    sha_of = dict(line.split(" ", 1) for line in marks_file.read_text().splitlines())
    marks_file.unlink()
    _git(source, "reset", "--quiet", "--hard", "main")

    repo = GitRepo(source)
    versions: list[DemoVersion] = []
    for landing in [x for x in landings if x.chart][-published:]:
        sha = sha_of[f":{landing.mark}"]
        cv = compute_chart_version(repo, sha, CHARTPRESS, CHART)
        if any(v.version == cv.version for v in versions):
            continue
        created, text = publish_time(landing.when, 8 + landing.mark % 13, cv.version)
        versions.append(
            DemoVersion(cv.version, cv.commit_full, sha, landing.when, created, text, "bench")
        )
    (root / "index.yaml").write_text(render_index(versions), encoding="utf-8")

    deploy = root / "deploy"
    (deploy / "mybinder").mkdir(parents=True)
    pinned = versions[-12].version
    (deploy / "mybinder" / "Chart.yaml").write_text(
        f"apiVersion: v2\nname: mybinder\nversion: 0.0.1\ndependencies:\n"
        f'  - name: binderhub\n    version: "{pinned}"\n    repository: https://demo.invalid/helm-chart\n'
    )
    model = deploy / "deployguide.toml"
    model.write_text(
        'deploy_repo = "."\n\n[charts.binderhub]\nsource = "../source"\nbranch = "main"\n'
        f'chartpress = "{CHARTPRESS}"\nindex = "../index.yaml"\n'
        'pin = "mybinder/Chart.yaml#dependencies[name=binderhub].version"\n\n'
        '[cache]\ndir = ".deployguide-cache"\n'
    )
    return model, count


# ---------------------------------------------------------------------------------------


def figures(label: str, model_path: Path) -> list[tuple[str, float, float, int]]:
    model = load_model(model_path)
    spec = model.charts[CHART]
    source = (model.base_dir / spec.source).resolve()
    resolve_facts(model)  # warm the index cache
    rows = [(f"{label}: resolve_facts", *measure(lambda: resolve_facts(model), 10))]
    repo = GitRepo(source)
    chain = repo.run("rev-list", "--first-parent", "main").split()
    sample = chain[:: max(1, len(chain) // 20)][:20]
    it = iter(sample * 3)
    rows.append(
        (
            f"{label}: compute_chart_version",
            *measure(
                lambda: compute_chart_version(repo, next(it), spec.chartpress, CHART),
                len(sample) * 3,
            ),
        )
    )
    facts = resolve_facts(model)
    parsed = [parse_version(v.version) for v in facts.charts[CHART].index.entries[CHART]]
    shas = [p.sha for p in parsed if p is not None and p.sha][:20]
    it2 = iter(shas * 2)
    rows.append(
        (
            f"{label}: landing_commit",
            *measure(lambda: landing_commit(repo, next(it2), spec.branch), len(shas) * 2),
        )
    )
    return rows


def main() -> None:
    print(f"sphinx_deployguide from {Path(sphinx_deployguide.__file__).parent}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(
            (
                "demo: build_demo",
                *measure(lambda: build_demo(Path(tmp) / f"w{time.perf_counter_ns()}"), 3),
            )
        )
        world = build_demo(Path(tmp) / "world")
        rows += figures("demo", world.model)
        start = time.perf_counter()
        model, count = build_synthetic(Path(tmp) / "synthetic")
        built = time.perf_counter() - start
        rows += figures(f"synthetic ({count} commits)", model)
    print(f"{'what':<52} {'median':>9} {'min':>9} {'git calls':>10}")
    for name, median, best, calls in rows:
        print(f"{name:<52} {median:>7.1f}ms {best:>7.1f}ms {calls:>10}")
    print(f"(synthetic world built in {built * 1000:.0f} ms; per-call figures for compute/landing)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
