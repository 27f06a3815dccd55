"""Files: nothing outside the repos is read or written, pins are edited safely or refused."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from .conftest import DOCS, SPHINX, deployguide, expect, git, model_line, set_model, sphinx_build


def test_a_pin_file_symlinked_out_of_the_deploy_repo_is_refused(hworld, tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    chart = Path(hworld.deploy) / "mybinder" / "Chart.yaml"
    outside.write_bytes(chart.read_bytes())
    (Path(hworld.deploy) / "mybinder" / "link.yaml").symlink_to(outside)
    set_model(hworld, 'pin = "mybinder/Chart.yaml#', 'pin = "mybinder/link.yaml#')
    line = model_line(hworld, "pin =")
    for command in (("facts",), ("bump", "binderhub", "--dry-run")):
        result = deployguide(*command, cwd=hworld.deploy)
        expect(
            result, 2, f"deployguide.toml:{line}: charts.binderhub.pin", "outside the deploy repo"
        )
    assert outside.read_bytes() == chart.read_bytes()


def test_a_values_path_climbing_out_of_the_deploy_repo_is_refused(hworld):
    set_model(hworld, 'values = ["config/staging.yaml"]', 'values = ["../../../../etc/passwd"]')
    line = model_line(hworld, "../../etc/passwd")
    result = deployguide("facts", cwd=hworld.deploy)
    expect(
        result,
        2,
        f"deployguide.toml:{line}: environments.staging.values",
        "outside the deploy repo",
    )


def test_a_values_file_symlinked_out_of_the_deploy_repo_is_refused(hworld):
    values = Path(hworld.deploy) / "config" / "staging.yaml"
    values.unlink()
    values.symlink_to("/etc/hostname")
    line = model_line(hworld, 'values = ["config/staging.yaml"]')
    result = deployguide("facts", cwd=hworld.deploy)
    expect(
        result, 2, f"deployguide.toml:{line}: environments.staging.values", "a symlink to elsewhere"
    )


def test_a_pin_symlinked_inside_the_repo_is_edited_and_committed_through_the_link(hworld):
    deploy = Path(hworld.deploy)
    (deploy / "mybinder" / "Chart.yaml").rename(deploy / "mybinder" / "Real.yaml")
    (deploy / "mybinder" / "Chart.yaml").symlink_to("Real.yaml")
    git(deploy, "add", "-A")
    git(deploy, "commit", "--quiet", "-m", "Chart.yaml is a link")
    result = deployguide("bump", "binderhub", "--commit", "--no-checklist", cwd=deploy)
    expect(result, 0, "committed")
    assert (deploy / "mybinder" / "Chart.yaml").is_symlink()
    changed = git(deploy, "show", "--name-only", "--format=", "HEAD")
    assert changed == "mybinder/Real.yaml"
    assert hworld.current_version in (deploy / "mybinder" / "Real.yaml").read_text()


def test_a_read_only_pin_is_refused_not_replaced(hworld):
    chart = Path(hworld.deploy) / "mybinder" / "Chart.yaml"
    before = chart.read_bytes()
    chart.chmod(0o444)
    result = deployguide("bump", "binderhub", "--no-checklist", cwd=hworld.deploy)
    expect(result, 2, "mybinder/Chart.yaml", "dependencies[name=binderhub].version", "read-only")
    assert chart.read_bytes() == before and stat.S_IMODE(chart.stat().st_mode) == 0o444


def test_bump_commit_killed_midway_leaves_no_temp_file_and_can_be_rerun(hworld, tmp_path):
    """Killed (SIGKILL) while git runs the commit: nothing in $TMPDIR; the rerun commits."""
    deploy = Path(hworld.deploy)
    started = tmp_path / "hook-started"
    hook = deploy / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(f"#!/bin/sh\ntouch '{started}'\nsleep 1\nexit 1\n")
    hook.chmod(0o755)
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(TMPDIR=str(tmp), PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sphinx_deployguide.cli",
            "bump",
            "binderhub",
            "--commit",
            "--no-checklist",
        ],
        cwd=deploy,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not started.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the commit never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    while (deploy / ".git" / "index.lock").exists():  # the hook fails, git aborts by itself
        assert time.monotonic() < deadline, "git never finished"
        time.sleep(0.05)
    assert list(tmp.iterdir()) == []
    assert git(deploy, "symbolic-ref", "--short", "HEAD").startswith("bump/binderhub-")
    assert git(deploy, "status", "--porcelain", "--", "mybinder/Chart.yaml")  # the edit is there
    hook.unlink()
    result = deployguide(
        "bump", "binderhub", "--commit", "--no-checklist", cwd=deploy, env={"TMPDIR": str(tmp)}
    )
    expect(result, 0, "resuming an interrupted bump", "committed")
    assert git(deploy, "status", "--porcelain", "--", "mybinder/Chart.yaml") == ""
    assert hworld.current_version in git(deploy, "show", "HEAD:mybinder/Chart.yaml")
    assert list(tmp.iterdir()) == []


def test_lint_writes_nothing_into_the_docs_folder(hworld):
    docs = Path(hworld.deploy) / DOCS
    before = sorted(p.relative_to(docs) for p in docs.rglob("*"))
    result = deployguide("lint", cwd=hworld.deploy)
    expect(result, 0, "0 errors", within=SPHINX)
    assert sorted(p.relative_to(docs) for p in docs.rglob("*")) == before


def test_a_toml_pin_is_refused_up_front_by_facts_and_bump_alike(hworld):
    (Path(hworld.deploy) / "pins.toml").write_text('[binderhub]\nversion = "1.0.0"\n')
    set_model(
        hworld,
        'pin = "mybinder/Chart.yaml#dependencies[name=binderhub].version"',
        'pin = "pins.toml#binderhub.version"',
    )
    line = model_line(hworld, "pin =")
    for command in (("facts",), ("bump", "binderhub")):
        result = deployguide(*command, cwd=hworld.deploy)
        expect(result, 2, f"deployguide.toml:{line}: charts.binderhub.pin", "must be YAML or JSON")


# --- a values file that is missing, a folder or a FIFO: located warnings, the right fix ---------


def _staging_values_line(world) -> int:
    return model_line(world, 'values = ["config/staging.yaml"]')


def test_a_missing_values_file_is_restored_never_swapped_for_another_environments(hworld):
    (Path(hworld.deploy) / "config" / "staging.yaml").unlink()
    result = deployguide("lint", cwd=hworld.deploy)
    expect(
        result,
        1,
        f"deployguide.toml:{_staging_values_line(hworld)}: [file] warning: "
        "environments.staging.values: the values file 'config/staging.yaml' does not exist",
        "config file 'config/staging.yaml' does not exist in the deploy repo; fix: restore "
        "'config/staging.yaml' (the model names it: environments.staging.values)",
        within=SPHINX,
    )
    assert "config/prod.yaml" not in result.text


def test_a_values_path_that_is_a_folder_is_a_located_warning_like_a_missing_file(hworld, tmp_path):
    values = Path(hworld.deploy) / "config" / "staging.yaml"
    values.unlink()
    values.mkdir()
    result = deployguide("lint", cwd=hworld.deploy)
    expect(
        result,
        1,  # the claim on the file fails; the model's own problem is a warning
        f"deployguide.toml:{_staging_values_line(hworld)}: [file] warning: "
        "environments.staging.values: the values file 'config/staging.yaml' is a folder, "
        "expected a file",
        "config file 'config/staging.yaml' is a folder, not a regular file",
        "1 error, 1 warning",
        within=SPHINX,
    )
    assert "deployguide: deployguide:" not in result.text and "could not run" not in result.text
    site = sphinx_build("-b", "html", "-q", DOCS, str(tmp_path / "html"), cwd=hworld.deploy)
    expect(site, 0, "is a folder, expected a file [deployguide.file]", within=SPHINX)
    assert (tmp_path / "html" / "staging.html").is_file()


def test_a_values_file_that_is_a_fifo_is_named_as_such_and_never_read(hworld):
    values = Path(hworld.deploy) / "config" / "staging.yaml"
    values.unlink()
    os.mkfifo(values)  # reading it would wait for a writer forever
    result = deployguide("lint", cwd=hworld.deploy)
    expect(
        result,
        1,
        "environments.staging.values: the values file 'config/staging.yaml' is a FIFO "
        "(named pipe), expected a file",
        "config file 'config/staging.yaml' is a FIFO (named pipe), not a regular file; fix: make "
        "'config/staging.yaml' a file",
        within=SPHINX,
    )
    assert "does not exist" not in result.text
    assert "point it at 'config/staging.yaml'" not in result.text
