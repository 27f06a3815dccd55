"""Developer sessions: ``nox -s tests``, ``nox -s docs``, ``nox -s lint``, ``nox -s bench``."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests", "docs"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent


@nox.session
def tests(session: nox.Session) -> None:
    """Every test, browser tests in Debian's Chromium included."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the runbook site on the embedded demo world, offline, warnings as errors."""
    session.install("-e", ".[docs]")
    session.run(
        "sphinx-build",
        "-n",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
        *session.posargs,
    )


@nox.session
def lint(session: nox.Session) -> None:
    """Static checks of the code."""
    session.install("ruff")
    paths = ["sphinx_deployguide", "tests", "benchmarks", "noxfile.py", "docs/conf.py"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks that print figures (never timed assertions)."""
    session.install("-e", ".[test,bench]")
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.run("python", str(script.relative_to(ROOT)))
