"""Prints how long resolving every fact of the demo world takes, cold and warm.

Run: ``python benchmarks/bench_facts.py`` (or ``nox -s bench``). Figures only, no asserts.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from sphinx_deployguide.config import load_model
from sphinx_deployguide.demo import build_demo
from sphinx_deployguide.factresolve import resolve_facts


def _time(fn, repeat: int) -> list[float]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return runs


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        build = _time(lambda: build_demo(Path(tmp) / f"w{time.perf_counter_ns()}"), 3)
        world = build_demo(Path(tmp) / "world")
        model = load_model(world.model)
        cold = _time(lambda: resolve_facts(model, refresh=True), 5)
        warm = _time(lambda: resolve_facts(model), 10)
        facts = resolve_facts(model)
    print(f"{'what':<34} {'median':>9} {'min':>9}")
    for name, runs in (
        ("build_demo", build),
        ("resolve_facts (refresh)", cold),
        ("resolve_facts (warm cache)", warm),
    ):
        print(f"{name:<34} {statistics.median(runs) * 1000:>7.1f}ms {min(runs) * 1000:>7.1f}ms")
    print(
        f"facts: {len(facts.facts)}, delay measured over {facts.charts['binderhub'].delay.count} versions"
    )


if __name__ == "__main__":
    main()
