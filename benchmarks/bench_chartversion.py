"""Chart-version figures: git processes and milliseconds, on the demo world and on a larger
synthetic history (2000 commits, PR merges, tags, 50 published versions).

Run: ``python benchmarks/bench_chartversion.py`` (or ``nox -s bench``). Figures only, no asserts.
Each git call is a process of a few ms, so the number of calls is the figure that explains
the times; it is counted by wrapping :func:`subprocess.run` (the calls still run).

To compare with another checkout of the package, put it first on the path:
``PYTHONPATH=/path/to/old/checkout python benchmarks/bench_chartversion.py``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sphinx_deployguide
from sphinx_deployguide.charthistory import landing_commit
from sphinx_deployguide.chartversion import compute_chart_version
from sphinx_deployguide.config import load_model
from sphinx_deployguide.demo import CHART, build_demo
from sphinx_deployguide.factresolve import resolve_facts
from sphinx_deployguide.git import GitRepo
from sphinx_deployguide.versionparse import parse_version

sys.path.insert(0, str(Path(__file__).parent))
from worlds import build_synthetic  # noqa: E402

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
