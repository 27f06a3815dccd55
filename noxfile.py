"""Developer sessions: ``nox -s tests``, ``docs``, ``lint``, ``typecheck``, ``build``, ``bench``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

import nox
from packaging.requirements import Requirement

nox.options.sessions = ["tests", "docs"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")

# The test matrix: the oldest Python with every dependency at the floor pyproject.toml
# declares, and the newest Python with the newest releases (Sphinx 9 at least).
FLOOR_PYTHON = "3.10"
NEWEST_PYTHON = "3.13"
NEWEST_SPHINX = "sphinx>=9"
SHOW_VERSIONS = """
import platform
from importlib.metadata import version
names = ["sphinx", "myst-parser", "docutils", "sphinx-design"]
print(f"Python {platform.python_version()}", *(f"{n} {version(n)}" for n in names), sep=", ")
"""


def find_python(version: str) -> str | None:
    """A ``pythonX.Y`` that runs: on PATH first (pyenv's shims are on PATH but refuse a
    version that is not selected), then in pyenv's versions folder, newest patch first."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    installed = [
        path
        for path in (pyenv / "versions").glob(f"{version}.*/bin/python{version}")
        if re.fullmatch(rf"{re.escape(version)}\.\d+", path.parents[1].name)
    ]
    installed.sort(key=lambda path: int(path.parents[1].name.rsplit(".", 1)[1]), reverse=True)
    for candidate in [shutil.which(f"python{version}"), *installed]:
        if candidate is None:
            continue
        try:
            ran = subprocess.run(
                [candidate, "-c", "import sys; print(*sys.version_info[:2], sep='.')"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if ran.returncode == 0 and ran.stdout.strip() == version:
            return str(candidate)
    return None


# cell: (Python version, its interpreter or None when it is not installed)
CELLS = {
    cell: (version, find_python(version))
    for cell, version in [("floor", FLOOR_PYTHON), ("newest", NEWEST_PYTHON)]
}


def floor_constraints(python: str) -> str:
    """``name==floor`` for each requirement of the package and its test and docs extras that
    applies on ``python``, so that the floor cell installs exactly what pyproject declares."""
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    pins = []
    for text in [*project["dependencies"], *extras["test"], *extras["docs"]]:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate({"python_version": python}):
            continue
        floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if len(floors) != 1:
            raise ValueError(f"pyproject.toml: {text!r} needs one '>=' floor for the floor cell")
        pins.append(f"{requirement.name}=={floors[0]}")
    return "\n".join(pins) + "\n"


@nox.session
@nox.parametrize(
    "python,cell",
    [nox.param(python or False, cell, id=cell) for cell, (_, python) in CELLS.items()],
)
def tests(session: nox.Session, cell: str) -> None:
    """Every test (browser tests in Debian's Chromium too) in one cell of the matrix.

    ``tests(floor)``: the oldest Python and every dependency at its declared floor;
    ``tests(newest)``: the newest Python and the newest releases.
    """
    version, python = CELLS[cell]
    if python is None:
        session.error(
            f"tests({cell}) needs Python {version}: no working python{version} on PATH or in "
            f"{os.environ.get('PYENV_ROOT') or '~/.pyenv'}/versions/{version}.*; install it "
            f"(e.g. `pyenv install {version}`) or run the other cell alone"
        )
    if cell == "floor":
        # (in the venv: session.create_tmp() would move TMPDIR, and the tests' temp
        # folders with it, into this git checkout)
        constraints = Path(session.virtualenv.location) / "floors.txt"
        try:
            constraints.write_text(floor_constraints(version), encoding="utf-8")
        except ValueError as exc:
            session.error(str(exc))
        session.install("-c", str(constraints), "-e", ".[test,docs]")
    else:
        session.install("-e", ".[test,docs]", NEWEST_SPHINX)
    session.run("python", "-c", SHOW_VERSIONS)
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
    """Static checks of the code, with the ruff that the pre-commit hooks run."""
    pins = nox.project.dependency_groups(PYPROJECT, "lint")
    hooks = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    for pin in pins:
        if f'"{pin}"' not in hooks:
            session.error(f".pre-commit-config.yaml must run {pin}, as `nox -s lint` does")
    session.install(*pins)
    paths = ["sphinx_deployguide", "tests", "benchmarks", "noxfile.py", "docs/conf.py"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy as configured in pyproject.toml (the pre-commit hook runs this session)."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "typecheck"))
    session.run("mypy", *session.posargs)


def tracked_files() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return {name for name in listed.decode().split("\0") if name}


def dist_problems(sdist: Path, wheel: Path, tracked: set[str]) -> list[str]:
    """What the sdist or wheel ships that git does not track, or lacks that it should."""
    problems = []
    with tarfile.open(sdist) as archive:
        shipped = {
            member.name.split("/", 1)[1] for member in archive.getmembers() if member.isfile()
        }
    shipped.discard("PKG-INFO")
    included = PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    expected = {name for name in tracked if name.split("/", 1)[0] in included}
    problems += [
        f"{sdist.name} ships {name}, which git does not track" for name in sorted(shipped - tracked)
    ]
    problems += [f"{sdist.name} lacks {name}" for name in sorted(expected - shipped)]
    with zipfile.ZipFile(wheel) as archive:
        packaged = {name for name in archive.namelist() if ".dist-info/" not in name}
    package = {name for name in tracked if name.startswith("sphinx_deployguide/")}
    problems += [
        f"{wheel.name} ships {name}, which git does not track"
        for name in sorted(packaged - package)
    ]
    problems += [f"{wheel.name} lacks {name}" for name in sorted(package - packaged)]
    return problems


@nox.session
def build(session: nox.Session) -> None:
    """Build the sdist and wheel as a release does, check them and run the installed CLI.

    twine checks both; their files must be those git tracks; the oldest hatchling declared
    must build the same wheel; installed in a fresh venv, the wheel runs ``deployguide demo``,
    ``facts`` and ``checklist`` away from the checkout.
    """
    session.install(*nox.project.dependency_groups(PYPROJECT, "build"))
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist))
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    session.run("twine", "check", "--strict", str(sdist), str(wheel))
    problems = dist_problems(sdist, wheel, tracked_files())
    if problems:
        session.error("\n".join(problems))

    with tempfile.TemporaryDirectory(prefix="deployguide-build-") as folder:
        tmp = Path(folder)  # outside the checkout, which must play no part below
        (backend,) = PYPROJECT["build-system"]["requires"]
        oldest = backend.replace(">=", "==")
        session.install(oldest)
        session.run("python", "-m", "build", "--no-isolation", "--wheel", "--outdir", folder)
        (oldest_wheel,) = tmp.glob("*.whl")
        with zipfile.ZipFile(wheel) as new, zipfile.ZipFile(oldest_wheel) as old:
            if sorted(new.namelist()) != sorted(old.namelist()):
                session.error(f"{oldest} builds a wheel with other files than {wheel.name}")

        venv = tmp / "venv"
        session.run("python", "-m", "venv", str(venv))
        python = str(venv / "bin" / "python")
        session.run(python, "-m", "pip", "install", str(wheel), external=True, silent=True)
        with session.chdir(tmp):
            session.run(
                python,
                "-c",
                "import sys, sphinx_deployguide as p; assert p.__file__.startswith(sys.prefix),"
                " p.__file__; print('imported from', p.__file__)",
                external=True,
            )
            deployguide = str(venv / "bin" / "deployguide")
            session.run(deployguide, "demo", "world", external=True)
            config = str(tmp / "world" / "deploy" / "deployguide.toml")
            session.run(deployguide, "--config", config, "facts", external=True)
            session.run(deployguide, "--config", config, "checklist", "staging", external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks that print figures (never timed assertions)."""
    session.install("-e", ".[test,bench]")
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.run("python", str(script.relative_to(ROOT)))
