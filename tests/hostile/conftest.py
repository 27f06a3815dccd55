"""The hostile suite: one test per bad input, fault or attack (issue 11).

Each test runs the real thing (the ``deployguide`` CLI as a subprocess, ``sphinx-build``,
a real HTTP server on 127.0.0.1, real git) and asserts four things: the exit code, the
message naming the file / line / key, that no Python traceback was printed, and that it
finished within a generous bound (a hang is a failure, not a benchmark).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The demo deploy repo's runbook (mybinder.org-deploy's layout).
DOCS = "docs/source"
#: Generous upper bounds (seconds): "does not hang", never a speed measurement.
QUICK = 20.0
SPHINX = 60.0


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err


def deployguide(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = SPHINX,
) -> Run:
    """``python -m sphinx_deployguide.cli ARGS`` in ``cwd``; killed after ``timeout``."""
    return run([sys.executable, "-m", "sphinx_deployguide.cli", *args], cwd, env, stdin, timeout)


def sphinx_build(*args: str, cwd: Path, timeout: float = SPHINX) -> Run:
    return run([sys.executable, "-m", "sphinx", *args], cwd, None, None, timeout)


def run(
    cmd: list[str], cwd: Path, env: dict[str, str] | None, stdin: str | None, timeout: float
) -> Run:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "DEPLOYGUIDE_"))}
    full_env.update(env or {})
    full_env.setdefault("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    start = time.monotonic()
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=full_env,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def expect(result: Run, code: int, *words: str, within: float = QUICK) -> None:
    """The four assertions of every hostile case."""
    shown = f"exit {result.code} after {result.seconds:.1f} s\n--- stdout\n{result.out}\n--- stderr\n{result.err}"
    assert result.code == code, shown
    for word in words:
        assert word in result.text, f"{word!r} not printed\n{shown}"
    assert "Traceback" not in result.text, shown
    assert result.seconds < within, shown


@pytest.fixture
def hworld(world):
    """A writable demo world (deploy repo with a user identity), see tests/conftest.py."""
    return world


def git(repo: Path, *args: str) -> str:
    from sphinx_deployguide.demo import git_env

    env = git_env()
    env.update(
        GIT_AUTHOR_NAME="Hostile Hal",
        GIT_AUTHOR_EMAIL="hal@hostile.invalid",
        GIT_COMMITTER_NAME="Hostile Hal",
        GIT_COMMITTER_EMAIL="hal@hostile.invalid",
    )
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, env=env, check=True)
    return done.stdout.decode("utf-8", "replace").strip()


def commit_file(repo: Path, path: str, content: bytes | str, subject: str) -> str:
    """Write ``path`` in ``repo``'s work tree and commit it with ``subject``; the new sha."""
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content.encode() if isinstance(content, str) else content)
    git(repo, "add", "--", path)
    git(repo, "commit", "--quiet", "-m", subject, "--", path)
    return git(repo, "rev-parse", "HEAD")


def set_model(world, old: str, new: str) -> Path:
    """Replace ``old`` by ``new`` in the world's deployguide.toml."""
    model = Path(world.model)
    text = model.read_text(encoding="utf-8")
    assert old in text, old
    model.write_text(text.replace(old, new, 1), encoding="utf-8")
    return model


def model_line(world, needle: str) -> int:
    lines = Path(world.model).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""
