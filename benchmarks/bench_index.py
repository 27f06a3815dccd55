"""Chart index figures: cold parse (the whole document with libyaml vs the events of the
charts a model uses) and warm loads from the JSON cache.

Run: ``python benchmarks/bench_index.py`` (or ``nox -s bench``). Prints a table; never asserts
on time. Uses the real jupyterhub index from ``<repo>/../shared/data`` (skips if absent) and
the test HTTP server on 127.0.0.1 for the conditional-GET row.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from sphinx_deployguide.chartindex import index_loader, parse_index  # noqa: E402
from sphinx_deployguide.indexcache import cache_path, load_index  # noqa: E402
from tests.indexserver import IndexServer  # noqa: E402

REAL_INDEX = ROOT.parent / "shared" / "data" / "jupyterhub-helm-index.yaml"


def measure(func: Callable[[], object], runs: int) -> tuple[float, float]:
    """(best, median) wall time in seconds over ``runs`` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> int:
    if not REAL_INDEX.is_file():
        print(f"skipped: the real index is not available at {REAL_INDEX}")
        return 0
    data = REAL_INDEX.read_bytes()
    rows: list[tuple[str, int, tuple[float, float]]] = []
    libyaml = hasattr(yaml, "CSafeLoader")
    binderhub = ["binderhub"]

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "index.yaml").write_bytes(data)
        options = dict(base_dir=tmp_path, cache_dir=tmp_path / "cache", retries=0, charts=binderhub)

        rows.append(
            (
                "yaml.load of the whole document (index loader)",
                5,
                measure(lambda: yaml.load(data, Loader=index_loader()), 5),  # noqa: S506
            )
        )
        rows.append(
            (
                "parse_index, every chart (parser events)",
                5,
                measure(lambda: parse_index(data, "i"), 5),
            )
        )
        rows.append(
            (
                "parse_index, binderhub only (parser events)",
                5,
                measure(lambda: parse_index(data, "i", charts=binderhub), 5),
            )
        )

        def cold_file() -> None:
            cache_path(options["cache_dir"], str((tmp_path / "index.yaml").resolve())).unlink(
                missing_ok=True
            )
            load_index("index.yaml", ttl=0, **options)

        rows.append(("load_index local file, no cache (parse + write)", 5, measure(cold_file, 5)))
        load_index("index.yaml", ttl=0, **options)
        rows.append(
            (
                "load_index local file, warm (read + sha256 + JSON)",
                20,
                measure(lambda: load_index("index.yaml", ttl=0, **options), 20),
            )
        )

        with IndexServer(data) as server:
            load_index(server.url, ttl=0, **options)
            rows.append(
                (
                    "load_index URL within ttl (JSON only, no request)",
                    20,
                    measure(lambda: load_index(server.url, ttl=3600, **options), 20),
                )
            )
            rows.append(
                (
                    "load_index URL, conditional GET -> 304 (127.0.0.1)",
                    20,
                    measure(lambda: load_index(server.url, ttl=0, **options), 20),
                )
            )
            assert set(server.statuses()[1:]) == {304}, "expected only 304s after the first GET"
        cache_files = sorted((tmp_path / "cache" / "index").glob("*.json"))
        cache_size = max(p.stat().st_size for p in cache_files)

    charts = parse_index(data, "index.yaml")
    counts = ", ".join(f"{len(v)} {k}" for k, v in charts.items())
    print(f"index: {REAL_INDEX.name}, {len(data) / 1e6:.2f} MB, {counts}")
    print(f"cache: {cache_size / 1e3:.0f} kB of JSON for binderhub (version, created, digest)")
    print(f"python {sys.version.split()[0]}, PyYAML {yaml.__version__}, libyaml {libyaml}")
    print()
    width = max(len(name) for name, _, _ in rows)
    print(f"{'case':<{width}}  runs    best ms  median ms")
    print(f"{'-' * width}  ----  ---------  ---------")
    for name, runs, (best, median) in rows:
        print(f"{name:<{width}}  {runs:>4}  {best * 1e3:9.1f}  {median * 1e3:9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
