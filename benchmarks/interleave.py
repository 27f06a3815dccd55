"""Whole-process timing of two commands in turn (A B A B ...), for ratios that hold on a
shared machine: each pair runs under nearly the same load, so the median of the per-pair
ratios moves much less than either absolute time.

Each run is one process started with :class:`subprocess.Popen` and reaped with
:func:`os.wait4`, so its CPU time includes every process it waited for (git, ...). A
``prepare`` callable runs before each run, outside the timing (e.g. emptying a cache).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Command:
    """A command to time: arguments, working directory, what to run before each run, and
    the exit codes that mean it worked."""

    argv: Sequence[str]
    cwd: Path | None = None
    prepare: Callable[[], object] | None = None
    ok_codes: frozenset[int] = frozenset({0})
    env: dict[str, str] | None = None


@dataclass
class Runs:
    wall: list[float] = field(default_factory=list)  # seconds
    cpu: list[float] = field(default_factory=list)  # user + system seconds, children included

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


@dataclass
class Pair:
    a: Runs
    b: Runs

    def ratios(self, what: str = "wall") -> list[float]:
        return [x / y for x, y in zip(getattr(self.a, what), getattr(self.b, what), strict=True)]

    def ratio(self, what: str = "wall") -> float:
        """The median of the per-pair ratios A/B."""
        return statistics.median(self.ratios(what))


class CommandFailed(RuntimeError):
    pass


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of timed commands: bytecode caching on (as on a user's machine; a
    ``PYTHONDONTWRITEBYTECODE`` in the bench's own environment would make every run
    compile the package again), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra or {})
    return env


def run_once(command: Command) -> tuple[float, float]:
    """(wall seconds, cpu seconds) of one run of ``command``; CommandFailed on a bad exit."""
    if command.prepare is not None:
        command.prepare()
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(command.argv),
            cwd=command.cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env(command.env),
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in command.ok_codes:
            out.seek(0)
            tail = out.read()[-3000:].decode("utf-8", "replace")
            raise CommandFailed(
                f"exit {proc.returncode} from {' '.join(command.argv)}\n{tail}".rstrip()
            )
    return wall, usage.ru_utime + usage.ru_stime


def interleaved(a: Command, b: Command, *, runs: int = 7, warmup: int = 1) -> Pair:
    """``warmup`` uncounted runs of each, then ``runs`` counted pairs, A then B."""
    for _ in range(warmup):
        run_once(a)
        run_once(b)
    pair = Pair(Runs(), Runs())
    for _ in range(runs):
        for command, into in ((a, pair.a), (b, pair.b)):
            wall, cpu = run_once(command)
            into.wall.append(wall)
            into.cpu.append(cpu)
    return pair


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min) on {os.cpu_count()} CPUs"
