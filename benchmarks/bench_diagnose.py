"""``deployguide diagnose`` figures: cleaning and matching a log of 1, 5 and 20 MB.

Run: ``python benchmarks/bench_diagnose.py`` (or ``nox -s bench``). Prints a table; never
asserts on time. Logs are synthetic GitHub Actions output (timestamps, ANSI colours, group
markers, URLs in a third of the lines) with one Helm error at the end, i.e. the worst case
for the literal pre-filter of patterns that need "http" or "status".
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sphinx_deployguide.failures import clean_log, load_catalog, match_lines, read_log_tail  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from worlds import make_log  # noqa: E402


def measure(data: bytes, runs: int = 3) -> tuple[float, float, int]:
    catalog = load_catalog()
    clean_times, match_times = [], []
    found = 0
    for _ in range(runs):
        start = time.perf_counter()
        lines = clean_log(read_log_tail(io.BytesIO(data)))
        middle = time.perf_counter()
        found = len(match_lines(catalog, lines))
        end = time.perf_counter()
        clean_times.append(middle - start)
        match_times.append(end - middle)
    return statistics.median(clean_times), statistics.median(match_times), found


def main() -> None:
    print(f"{'log size':>9}  {'read+clean':>10}  {'match':>8}  {'MB/s':>6}  matched entries")
    for megabytes in (1, 5, 20):
        data = make_log(megabytes * 2**20)
        clean, match, found = measure(data)
        rate = megabytes / (clean + match)
        print(f"{megabytes:>6} MB  {clean:>9.2f}s  {match:>7.2f}s  {rate:>6.1f}  {found}")


if __name__ == "__main__":
    main()
