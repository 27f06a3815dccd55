"""The speed table: each row a whole command measured against its anchor, interleaved.

Run: ``python benchmarks/bench_anchors.py [--runs N] [--only WORD ...]`` (or ``nox -s bench``).
Figures only, never an assertion. Absolute times drift on shared machines; the ratio of
each A/B pair (run back to back) holds, so the ratio printed is the median of the pairs'
ratios, for wall time and for CPU time (user + system, git processes included).

| row | A | anchor B | goal |
|---|---|---|---|
| cold facts | ``deployguide facts --json``, empty cache, index over 127.0.0.1 | a bare process ``yaml.load(index, Loader=CSafeLoader)`` | <= 1.0 |
| warm facts | the same, cache fresh | ``python -c pass`` | <= 8 |
| full build | 200 pages x 5 live values (``deploy-value`` in checklists) | the same pages as plain MyST task lists with the values typed in, with the third-party extensions sphinx_deployguide loads (sphinx-copybutton, sphinx-design) | <= 1.10 |
| no-op rebuild | the same projects built again, nothing changed | | <= 1.10 |
| diagnose | ``deployguide diagnose LOG --json`` of a 20 MB CI log (no model) | Python reading the log and splitting its lines | <= 3 |
| history size | cold facts on a 100k-commit source | cold facts on a 2k-commit source | <= 1.5 |
| | the same, both sources with a commit-graph (as ``git gc`` leaves them) | | <= 1.5 |

The first four rows use the real binderhub history and the real jupyterhub index from
``../shared/data`` (the index served by the test HTTP server on 127.0.0.1); they are skipped
with a line saying so when the data is absent.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from interleave import Command, Pair, child_env, interleaved, load_average  # noqa: E402
from worlds import (  # noqa: E402
    PAGE_VALUES,
    REAL_INDEX,
    build_real,
    build_synthetic,
    empty_cache,
    make_log,
    real_data_missing,
    write_runbooks,
)

from tests.indexserver import IndexServer  # noqa: E402

PYTHON = sys.executable


def deployguide(*args: str) -> list[str]:
    """The installed console script (what a user runs), else ``python -m``."""
    script = Path(PYTHON).parent / "deployguide"
    if script.is_file():
        return [str(script), *args]
    return [PYTHON, "-m", "sphinx_deployguide", *args]


def sphinx_build(source: Path, out: Path) -> list[str]:
    return [PYTHON, "-m", "sphinx", "-q", "-W", "-b", "html", str(source), str(out)]


@dataclass
class Row:
    key: str  # for --only
    name: str
    anchor: str
    goal: float
    pair: Pair | None = None
    skipped: str | None = None


def facts_json(model: Path) -> dict:
    done = subprocess.run(
        deployguide("--config", str(model), "facts", "--json"),
        capture_output=True,
        check=True,
        env=child_env(),
    )
    return json.loads(done.stdout)["facts"]


def remover(*paths: Path) -> Callable[[], None]:
    def remove() -> None:
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)

    return remove


def real_rows(tmp: Path, runs: int, only: list[str]) -> list[Row]:
    rows = [
        Row(
            "cold", "cold `facts --json` (empty cache)", "bare CSafeLoader parse of the index", 1.0
        ),
        Row("warm", "warm `facts --json` (cache fresh)", "`python -c pass`", 8.0),
        Row(
            "build",
            "200 pages x 5 live values, full build",
            "plain MyST task lists, same third-party extensions",
            1.10,
        ),
        Row("rebuild", "the same, no-op rebuild", "their no-op rebuild", 1.10),
    ]
    missing = real_data_missing()
    if missing:
        for row in rows:
            row.skipped = missing
        return rows
    progress("cloning the real binderhub history")
    with IndexServer(REAL_INDEX.read_bytes()) as server:
        model = build_real(tmp / "real", server.url)
        facts_cmd = deployguide("--config", str(model), "facts", "--json")
        parse_index = [
            PYTHON,
            "-c",
            "import sys, yaml; yaml.load(open(sys.argv[1], 'rb').read(), Loader=yaml.CSafeLoader)",
            str(REAL_INDEX),
        ]
        if wanted(rows[0], only):
            measure(
                rows[0],
                Command(facts_cmd, prepare=lambda: empty_cache(model)),
                Command(parse_index),
                runs,
            )
        if wanted(rows[1], only):
            facts_json(model)  # fill the cache
            measure(rows[1], Command(facts_cmd), Command([PYTHON, "-c", "pass"]), runs)
        build, rebuild = wanted(rows[2], only), wanted(rows[3], only)
        if not (build or rebuild):
            return rows
        facts = facts_json(model)
        literals = {name: str(facts[name]["value"]) for name in PAGE_VALUES}
        live, plain = write_runbooks(tmp / "runbooks", model, literals)
        live_out, plain_out = tmp / "out-live", tmp / "out-plain"
        if build:
            measure(
                rows[2],
                Command(sphinx_build(live, live_out), prepare=remover(live_out)),
                Command(sphinx_build(plain, plain_out), prepare=remover(plain_out)),
                runs,
            )
        if rebuild:
            measure(
                rows[3],
                Command(sphinx_build(live, live_out)),
                Command(sphinx_build(plain, plain_out)),
                runs,
            )
    return rows


def diagnose_row(tmp: Path, runs: int, only: list[str]) -> Row:
    row = Row(
        "diagnose", "`diagnose` of a 20 MB CI log", "Python reading it and splitting lines", 3.0
    )
    if not wanted(row, only):
        return row
    log = tmp / "ci.log"
    log.write_bytes(make_log(20 * 2**20))
    nowhere = tmp / "no-model"  # no deployguide.toml: the log alone is judged
    nowhere.mkdir()
    split = [
        PYTHON,
        "-c",
        "import sys; open(sys.argv[1], 'rb').read().decode('utf-8', 'replace').split('\\n')",
        str(log),
    ]
    measure(
        row,
        Command(
            deployguide("diagnose", str(log), "--json"), cwd=nowhere, ok_codes=frozenset({0, 1, 2})
        ),
        Command(split),
        runs,
    )
    return row


def history_rows(tmp: Path, runs: int, only: list[str]) -> tuple[list[Row], str]:
    """Cold facts on 100k commits against 2k, as cloned (no commit-graph: git parses every
    ancestor to count them, as chartpress's version requires) and as after ``git gc``
    (which writes one, as deployguide does in its own mirrors)."""
    rows = [
        Row(
            "history", "cold `facts` on a 100k-commit source", "the same on a 2k-commit source", 1.5
        ),
        Row(
            "history",
            "the same, sources with a commit-graph",
            "the same on a 2k-commit source",
            1.5,
        ),
    ]
    if not all([wanted(row, only) for row in rows]):
        return rows, ""
    progress("building the synthetic sources")
    start = time.perf_counter()
    big, big_count = build_synthetic(tmp / "big", 100_000)
    small, small_count = build_synthetic(tmp / "small", 2_000)
    built = time.perf_counter() - start
    commands = [
        Command(
            deployguide("--config", str(model), "facts", "--json"),
            prepare=lambda m=model: empty_cache(m),
        )
        for model in (big, small)
    ]
    measure(rows[0], *commands, runs)
    for model in (big, small):
        subprocess.run(
            [
                "git",
                "-C",
                str(model.parent.parent / "source"),
                "commit-graph",
                "write",
                "--reachable",
            ],
            check=True,
            capture_output=True,
        )
    measure(rows[1], *commands, runs)
    return rows, f"synthetic sources: {big_count} and {small_count} commits, built in {built:.0f} s"


def measure(row: Row, a: Command, b: Command, runs: int) -> None:
    progress(f"measuring: {row.name}")
    row.pair = interleaved(a, b, runs=runs)


def wanted(row: Row, only: list[str]) -> bool:
    if only and row.key not in only:
        row.skipped = "not selected (--only)"
        return False
    return True


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def print_table(rows: list[Row], runs: int) -> None:
    head = f"{'work':<40} {'A ms':>8} {'B ms':>8} {'A/B wall':>9} {'A/B cpu':>8} {'goal':>6}  anchor (B)"
    print(head)
    print("-" * len(head))
    for row in rows:
        if row.pair is None:
            print(f"{row.name:<40} skipped: {row.skipped}")
            continue
        pair = row.pair
        wall, cpu = pair.ratio("wall"), pair.ratio("cpu")
        mark = "" if wall <= row.goal else "  (over the goal)"
        print(
            f"{row.name:<40} {pair.a.wall_median * 1e3:>8.0f} {pair.b.wall_median * 1e3:>8.0f} "
            f"{wall:>8.2f}x {cpu:>7.2f}x {row.goal:>5.2f}x  {row.anchor}{mark}"
        )
    print()
    print(f"{'work':<40} wall ms of A, min..max | of B | per-pair wall ratios")
    for row in rows:
        if row.pair is not None:
            a, b = row.pair.a.wall, row.pair.b.wall
            ratios = " ".join(f"{r:.2f}" for r in row.pair.ratios("wall"))
            print(
                f"{row.name:<40} {min(a) * 1e3:.0f}..{max(a) * 1e3:.0f} | "
                f"{min(b) * 1e3:.0f}..{max(b) * 1e3:.0f} | {ratios}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="counted pairs per row (>= 5)")
    parser.add_argument(
        "--only",
        nargs="*",
        default=[],
        choices=["cold", "warm", "build", "rebuild", "diagnose", "history"],
        help="only these rows",
    )
    args = parser.parse_args()
    runs = max(5, args.runs)
    print(
        f"python {platform.python_version()}, {subprocess.check_output(['git', '--version'], text=True).strip()}"
    )
    print(f"load average before: {load_average()}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="deployguide-bench-") as tmp_name:
        tmp = Path(tmp_name)
        rows = real_rows(tmp, runs, args.only)
        rows.append(diagnose_row(tmp, runs, args.only))
        history, note = history_rows(tmp, runs, args.only)
        rows += history
    print(f"load average after:  {load_average()}")
    print(
        f"{runs} interleaved pairs per row after one warm-up pair; medians; {time.perf_counter() - started:.0f} s in all"
    )
    if note:
        print(note)
    print()
    print_table(rows, runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
