"""The command line's frame: every command listed and registered, and only the module of
the command being run imported (so ``diagnose`` starts without the HTTP client)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sphinx_deployguide import cli
from sphinx_deployguide.cli import COMMANDS, build_parser, command_in, main

ROOT = Path(__file__).resolve().parents[1]


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    words = " ".join(capsys.readouterr().out.split())  # argparse wraps long lines
    for name, summary in COMMANDS.items():
        assert f"{name} {summary}" in words


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_registers_its_arguments(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main([name, "--help"])
    assert info.value.code == 0
    assert f"usage: deployguide {name}" in capsys.readouterr().out
    args = build_parser([name]).parse_args(
        [name, *(["x"] if name in ("bump", "checklist", "demo") else [])]
    )
    assert args.func.__module__ == f"sphinx_deployguide.cli.{name}"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["facts", "--json"], "facts"),
        (["--config", "docs/deployguide.toml", "lint", "docs"], "lint"),
        (["--config=x.toml", "bump", "binderhub"], "bump"),
        (["--version"], None),
        (["-h"], None),
        ([], None),
    ],
)
def test_command_in(argv: list[str], expected: str | None) -> None:
    assert command_in(argv) == expected


def test_a_missing_command_module_is_an_error_not_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli.COMMANDS, "nosuch", "a command whose module is missing")
    with pytest.raises(ModuleNotFoundError, match="sphinx_deployguide.cli.nosuch"):
        main(["nosuch"])


def test_only_the_invoked_command_is_imported(tmp_path: Path) -> None:
    log = tmp_path / "ci.log"
    log.write_text(
        "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n"
    )
    probe = (
        "import sys; from sphinx_deployguide.cli import main; code = main(sys.argv[1:]); "
        "print(' '.join(sorted(sys.modules)), file=sys.stderr); sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "diagnose", str(log), "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no deployguide.toml: the log alone is judged
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 1, done.stderr
    modules = set(done.stderr.split())
    assert "sphinx_deployguide.cli.diagnose" in modules
    others = {f"sphinx_deployguide.cli.{name}" for name in COMMANDS if name != "diagnose"}
    assert not modules & others
    for heavy in ("requests", "sphinx", "yaml", "email.utils", "sphinx_deployguide.facts"):
        assert heavy not in modules, heavy
