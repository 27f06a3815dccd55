"""Never a traceback: each of these printed one before (issue 11); now one located message."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from sphinx_deployguide.indexcache import CACHE_FORMAT, cache_path

from .conftest import (
    DOCS,
    SPHINX,
    commit_file,
    deployguide,
    expect,
    model_line,
    set_model,
    sphinx_build,
)


def test_a_nul_in_a_model_string(hworld):
    set_model(hworld, 'branch = "main"', 'branch = "ma\\u0000in"')
    result = deployguide("facts", cwd=hworld.deploy)
    line = model_line(hworld, "branch =")
    expect(result, 2, f"deployguide.toml:{line}: charts.binderhub.branch", "control character")


def test_a_model_that_is_not_utf8(hworld):
    model = Path(hworld.model)
    model.write_bytes(model.read_bytes().replace(b"# The deploy", b"# The d\xe9ploy"))
    result = deployguide("facts", cwd=hworld.deploy)
    expect(result, 2, f"{model}:1: cannot read the model file", "byte 0xe9 at offset 7")


def test_a_values_file_that_is_not_utf8(hworld):
    (Path(hworld.deploy) / "config" / "staging.yaml").write_bytes(b"a: 1\nb: \xff\xfe\n")
    result = deployguide("lint", "--format", "json", cwd=hworld.deploy, timeout=SPHINX * 2)
    expect(result, 1, "config/staging.yaml:2", "byte 0xff at offset 8", within=SPHINX)


def test_a_workflow_that_is_not_utf8(hworld):
    (Path(hworld.deploy) / ".github" / "workflows" / "cd.yml").write_bytes(b"jobs:\n  \x81x: {}\n")
    page = Path(hworld.deploy) / DOCS / "job.md"
    page.write_text("# Job\n\nDeployed by {deploy-job}`staging`.\n")
    result = deployguide("lint", "--format", "json", cwd=hworld.deploy, timeout=SPHINX * 2)
    expect(result, 1, ".github/workflows/cd.yml:2", "byte 0x81 at offset 8", within=SPHINX)
    [finding] = [f for f in json.loads(result.out) if f["file"].endswith("job.md")]
    assert finding["line"] == 3


def test_a_garbled_workflow_during_sphinx_build_is_a_warning_not_a_crash(hworld, tmp_path):
    (Path(hworld.deploy) / ".github" / "workflows" / "cd.yml").write_bytes(b"jobs: [\xc3\x28\n")
    (Path(hworld.deploy) / DOCS / "job.md").write_text("# Job\n\n{deploy-job}`staging`\n")
    result = sphinx_build("-b", "html", "-q", DOCS, str(tmp_path / "html"), cwd=hworld.deploy)
    expect(result, 0, "cd.yml:1", "not UTF-8", "[deployguide.claim]", within=SPHINX)
    assert (tmp_path / "html" / "index.html").is_file()


def test_timeout_nan_and_inf(hworld):
    set_model(
        hworld,
        'dir = ".deployguide-cache"',
        'dir = ".deployguide-cache"\n\n[network]\ntimeout = nan',
    )
    line = model_line(hworld, "timeout =")
    result = deployguide("facts", cwd=hworld.deploy)
    expect(result, 2, f"deployguide.toml:{line}: network.timeout", "got nan")
    set_model(hworld, "timeout = nan", "timeout = inf")
    result = deployguide("facts", cwd=hworld.deploy)
    expect(result, 2, f"deployguide.toml:{line}: network.timeout", "got inf")


def test_git_not_on_path(hworld, tmp_path):
    result = deployguide("facts", cwd=hworld.deploy, env={"PATH": str(tmp_path)})
    expect(result, 2, "git is required but was not found on PATH")


def test_a_chartpress_image_with_a_non_string_context_path(hworld):
    source = Path(hworld.source)
    config = (source / "helm-chart" / "chartpress.yaml").read_text()
    assert "images:" in config
    broken = config.replace("images:\n", "images:\n      numbered:\n        contextPath: 5\n", 1)
    commit_file(source, "helm-chart/chartpress.yaml", broken, "Number the context")
    result = deployguide("facts", cwd=hworld.deploy)
    expect(
        result,
        2,
        "helm-chart/chartpress.yaml",
        "images.numbered.contextPath",
        "expected a path string",
    )


def test_a_pin_path_naming_a_folder(hworld):
    (Path(hworld.deploy) / "mybinder" / "pins.yaml").mkdir()
    set_model(hworld, 'pin = "mybinder/Chart.yaml#', 'pin = "mybinder/pins.yaml#')
    line = model_line(hworld, "pin =")
    # like a missing pin file: a located warning, and the other facts stand
    result = deployguide("facts", cwd=hworld.deploy)
    expect(
        result,
        0,
        f"warning: {hworld.model}:{line}: charts.binderhub.pin: the pin file 'mybinder/pins.yaml' "
        "is a folder, expected a file",
        "charts.binderhub.version",
    )
    bump = deployguide("bump", "binderhub", "--dry-run", cwd=hworld.deploy)
    expect(bump, 2, "mybinder/pins.yaml: the pin file is a folder, expected a file")


def test_a_cache_file_with_naive_datetimes_is_ignored(hworld):
    index = str(Path(hworld.index).resolve())
    path = cache_path(Path(hworld.deploy) / ".deployguide-cache", index)
    path.parent.mkdir(parents=True, exist_ok=True)
    import hashlib

    sha = hashlib.sha256(Path(index).read_bytes()).hexdigest()
    path.write_text(
        json.dumps(
            {
                "format": CACHE_FORMAT,
                "source": index,
                "validator": "x",
                "sha256": sha,
                "fetched_at": "2024-01-01T00:00:00",
                "entries": {"binderhub": [["9.9.9", "2024-01-01T00:00:00", None]]},
            }
        )
    )
    result = deployguide("facts", "charts.binderhub.published", cwd=hworld.deploy)
    expect(result, 0, "charts.binderhub.published")
    assert "9.9.9" not in result.out


def test_diagnose_into_a_closed_pipe(hworld):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sphinx_deployguide.cli", "diagnose", "-"],
        cwd=hworld.deploy,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    proc.stdout.close()  # `| head` that already exited
    _, err = proc.communicate(b"Error: UPGRADE FAILED: another operation is in progress\n", 30)
    assert proc.returncode == 141, err
    assert b"Traceback" not in err and b"Exception ignored" not in err


def test_a_chart_source_that_is_not_a_git_repository(hworld):
    shutil.rmtree(Path(hworld.source) / ".git")
    line = model_line(hworld, "source =")
    result = deployguide("facts", cwd=hworld.deploy)
    expect(
        result, 2, f"deployguide.toml:{line}: charts.binderhub.source", "is not a git repository"
    )


def test_a_missing_branch(hworld):
    set_model(hworld, 'branch = "main"', 'branch = "mian"')
    line = model_line(hworld, "branch =")
    result = deployguide("facts", cwd=hworld.deploy)
    expect(
        result,
        2,
        f"deployguide.toml:{line}: charts.binderhub.branch",
        "branch 'mian' does not exist",
    )


def test_a_model_and_a_toml_file_with_a_bom(hworld):
    model = Path(hworld.model)
    model.write_bytes(b"\xef\xbb\xbf" + model.read_bytes())
    (Path(hworld.deploy) / "config" / "flags.toml").write_bytes(b"\xef\xbb\xbf[x]\ny = 'ok'\n")
    result = deployguide("facts", "config:config/flags.toml#x.y", cwd=hworld.deploy)
    expect(result, 0)
    result = deployguide("facts", "charts.binderhub.version", cwd=hworld.deploy)
    expect(result, 0, hworld.current_version)


def test_an_unexpected_error_in_a_command_is_one_located_line(hworld, monkeypatch, capsys):
    """A bug (here: a fact that fails to render) is one line saying where, exit 2."""
    from sphinx_deployguide import facts
    from sphinx_deployguide.cli import main

    def broken(self, **options):  # stands for any bug
        raise RuntimeError("a bug")

    monkeypatch.chdir(hworld.deploy)
    monkeypatch.setattr(facts.Fact, "display", broken)
    assert main(["facts"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "internal error while running `deployguide facts`: RuntimeError: a bug" in err
    assert "(at sphinx_deployguide/cli/facts.py:" in err


def test_an_unexpected_error_in_a_sphinx_handler_is_one_located_warning(hworld, tmp_path):
    """An extension handler that fails is a deployguide.internal warning; the site builds."""
    docs = Path(hworld.deploy) / DOCS
    (docs / "failing_ext.py").write_text(
        "from sphinx_deployguide.ext import guard\n\n"
        "def boom(app, doctree):\n    raise KeyError('boom')\n\n"
        "def setup(app):\n    guard.connect(app, 'doctree-read', boom)\n"
        "    return {'parallel_read_safe': True}\n"
    )
    conf = docs / "conf.py"
    conf.write_text(
        "import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n"
        + conf.read_text()
        + "\nextensions.append('failing_ext')\n"
    )
    result = sphinx_build("-b", "html", "-q", DOCS, str(tmp_path / "html"), cwd=hworld.deploy)
    expect(
        result,
        0,
        "index.md",
        "internal error while handling doctree-read (boom): KeyError: 'boom'",
        "[deployguide.internal]",
        within=SPHINX,
    )
    assert (tmp_path / "html" / "staging.html").is_file()
    strict = sphinx_build("-W", "-b", "html", "-q", DOCS, str(tmp_path / "w"), cwd=hworld.deploy)
    expect(strict, 1, "[deployguide.internal]", within=SPHINX)


def test_demo_into_a_folder_that_cannot_be_created(tmp_path):
    under_a_file = tmp_path / "notes.txt"
    under_a_file.write_text("mine")
    targets = [under_a_file / "world"]
    if Path("/proc").is_dir():  # a folder nobody can create anything in
        targets.append(Path("/proc/deployguide-demo"))
    for target in targets:
        result = deployguide("demo", str(target), cwd=tmp_path)
        expect(result, 2, f"deployguide: error: {target}: cannot create the folder")
        assert "internal error" not in result.text


def test_every_command_the_demo_suggests_works_as_printed(tmp_path):
    built = deployguide("demo", str(tmp_path / "world"), cwd=tmp_path, timeout=SPHINX)
    expect(built, 0, "try, in the deploy repo:", within=SPHINX)
    cd, *suggested = built.out.split("try, in the deploy repo:\n", 1)[1].strip().splitlines()
    assert cd.strip() == f"cd {tmp_path / 'world' / 'deploy'}"
    assert len(suggested) == 4
    for line in suggested:
        command = shlex.split(line.split("#", 1)[0])
        assert command[0] == "deployguide", line
        result = deployguide(*command[1:], cwd=tmp_path / "world" / "deploy", timeout=SPHINX)
        expect(result, 0, within=SPHINX)
