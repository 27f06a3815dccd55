"""`deployguide diagnose`: exit codes 0/1/2/4, stdin, bounded reading, runbook links."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sphinx_deployguide.cli import main
from sphinx_deployguide.failures import MAX_LOG_BYTES

LOCKED = "2024-07-09T14:00:00.0000000Z Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n"
KILLED = "2024-07-09T14:00:00.0000000Z ##[error]Process completed with exit code 137.\n"


@pytest.fixture(autouse=True)
def no_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DEPLOYGUIDE_RUNBOOK_URL", raising=False)


def write(tmp_path: Path, text: str, name: str = "job.log") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_exit_codes(tmp_path, capsys):
    assert main(["diagnose", write(tmp_path, KILLED)]) == 0
    assert main(["diagnose", write(tmp_path, LOCKED)]) == 1
    assert main(["diagnose", write(tmp_path, "all fine\nError: something new\n")]) == 2
    out = capsys.readouterr().out
    assert "UNKNOWN" in out and "Error: something new" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["diagnose", "missing.log"], "cannot read the log"),
        (["diagnose", "job.log", "--failed-at", "yesterday"], "not an ISO 8601 time"),
        (["diagnose", "job.log", "--failed-at", "2024-01-01T10:00:00"], "has no timezone"),
        (["diagnose", "job.log", "--env", "staging"], "needs the model"),
        (
            ["diagnose", "job.log", "--runbook-url", "https://x/failures.html#top"],
            "without a #fragment",
        ),
    ],
)
def test_could_not_run_is_exit_4(args, message, tmp_path, capsys):
    write(tmp_path, LOCKED)
    assert main(args) == 4
    assert message in capsys.readouterr().err


def test_invalid_model_is_exit_4(tmp_path, capsys):
    (tmp_path / "deployguide.toml").write_text("charts = 3\n")
    write(tmp_path, LOCKED)
    assert main(["diagnose", "job.log"]) == 4
    assert "cannot use the model" in capsys.readouterr().err


def test_unknown_env_is_exit_4(demo_world, tmp_path, capsys):
    write(tmp_path, LOCKED)
    assert main(["--config", str(demo_world.model), "diagnose", "job.log", "--env", "moon"]) == 4
    assert "unknown environment 'moon'" in capsys.readouterr().err


def test_env_names_the_job_to_rerun(demo_copy, tmp_path, capsys):
    write(tmp_path, KILLED)
    assert main(["--config", str(demo_copy.model), "diagnose", "job.log", "--env", "staging"]) == 0
    assert "rerun the job `staging-deploy` of .github/workflows/cd.yml" in capsys.readouterr().out


def test_runbook_url_option_and_env(tmp_path, capsys, monkeypatch):
    log = write(tmp_path, LOCKED)
    main(["diagnose", log])
    assert "runbook: failures.html#failure-release-locked" in capsys.readouterr().out
    monkeypatch.setenv("DEPLOYGUIDE_RUNBOOK_URL", "https://runbook.example.org/failures.html")
    main(["diagnose", log])
    assert (
        "runbook: https://runbook.example.org/failures.html#failure-release-locked"
        in capsys.readouterr().out
    )
    main(["diagnose", log, "--runbook-url", "https://other.example.org/f.html", "--json"])
    assert (
        json.loads(capsys.readouterr().out)["findings"][0]["runbook"]
        == "https://other.example.org/f.html#failure-release-locked"
    )


def test_stdin_and_truncation_of_big_logs(tmp_path):
    """A log over 20 MB through stdin: only the tail is read, and the output says so."""
    filler = (
        "2024-07-09T13:00:00.0000000Z Error: UPGRADE FAILED: another operation "
        "(install/upgrade/rollback) is in progress\n"
    )
    count = MAX_LOG_BYTES // len(filler) + 2000
    body = (filler * count + "noise\n" * 10 + KILLED).encode()
    assert len(body) > MAX_LOG_BYTES
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from sphinx_deployguide.cli import main; sys.exit(main())",
            "diagnose",
            "-",
            "--json",
        ],
        input=body,
        capture_output=True,
        cwd=tmp_path,
        timeout=300,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PATH": "/usr/bin:/bin"},
    )
    data = json.loads(result.stdout)
    assert data["log"]["truncated"] is True
    assert data["log"]["read_bytes"] <= MAX_LOG_BYTES < data["log"]["total_bytes"]
    # The release-locked lines at the start were dropped, the ones in the tail kept, and the
    # line numbers are those of the whole log.
    locked = next(f for f in data["findings"] if f["id"] == "release-locked")
    assert locked["lines"][0]["line"] == data["log"]["first_line"] > 2000
    killed = next(f for f in data["findings"] if f["id"] == "runner-killed")
    assert killed["lines"][0]["line"] == count + 11
    assert result.returncode == 1  # release-locked (legitimate, helm-upgrade) beats the runner


def test_truncation_note_in_text(tmp_path):
    body = ("x" * 99 + "\n") * (MAX_LOG_BYTES // 100 + 10) + KILLED
    log = write(tmp_path, body)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from sphinx_deployguide.cli import main; sys.exit(main())",
            "diagnose",
            log,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0
    assert "only its last 20.0 MB" in result.stdout
