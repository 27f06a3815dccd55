"""The model: every mistake is one clear error naming the file, the line and the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sphinx_deployguide.cli import main
from sphinx_deployguide.config import MODEL_KEYS, load_model

GOOD = """\
deploy_repo = "deploy"
offline = "stale"

[cache]
dir = "cache"
ttl = 60

[charts.binderhub]
source = "source"
branch = "main"
chartpress = "helm-chart/chartpress.yaml"
index = "index.yaml"
pin = "mybinder/Chart.yaml#dependencies[name=binderhub].version"

[environments.staging]
url = "https://staging.example.org"
values = ["config/staging.yaml"]
workflow = ".github/workflows/cd.yml"
job = "staging-deploy"

[environments.prod]
after = "staging"
url = "https://example.org"
values = ["config/prod.yaml"]
workflow = ".github/workflows/cd.yml"
job = "prod-deploy"
"""


@pytest.fixture
def world(tmp_path: Path) -> Path:
    for name in ("source", "deploy/mybinder", "deploy/config", "deploy/.github/workflows"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / "index.yaml").write_text("apiVersion: v1\nentries: {}\n")
    (tmp_path / "deploy/mybinder/Chart.yaml").write_text(
        "dependencies:\n- name: binderhub\n  version: '1.0.0'\n"
    )
    for name in ("config/staging.yaml", "config/prod.yaml", ".github/workflows/cd.yml"):
        (tmp_path / "deploy" / name).write_text("{}\n")
    (tmp_path / "deployguide.toml").write_text(GOOD)
    return tmp_path


def test_good_model(world: Path) -> None:
    model = load_model(world / "deployguide.toml")
    assert model.deploy_repo == (world / "deploy").resolve()
    chart = model.charts["binderhub"]
    assert chart.scheme is None  # follow the index's published neighbours
    assert chart.pin.file == "mybinder/Chart.yaml"
    assert chart.pin.key == "dependencies[name=binderhub].version"
    assert model.cache_dir == (world / "cache").resolve() and model.cache_ttl == 60
    assert model.environment_order() == ["staging", "prod"]
    assert model.next_environment("staging") == "prod"
    assert model.next_environment("prod") is None


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


CASES = [
    # (old, new, key named, expected words, line of the key in the broken file or None)
    (
        'offline = "stale"',
        'offline = "sometimes"',
        "offline",
        "expected one of 'stale', 'error'",
        2,
    ),
    ('offline = "stale"', 'offlin = "stale"', "offlin", "unknown key", 2),
    (
        'branch = "main"',
        "branch = 3",
        "charts.binderhub.branch",
        "expected a non-empty string, got an integer",
        10,
    ),
    (
        'branch = "main"',
        'brnch = "main"',
        "charts.binderhub.brnch",
        "unknown key; expected one of: source, branch",
        10,
    ),
    (
        'source = "source"',
        'source = "nowhere"',
        "charts.binderhub.source",
        "the chart source 'nowhere' does not exist",
        9,
    ),
    (
        'index = "index.yaml"',
        'index = "gone.yaml"',
        "charts.binderhub.index",
        "the chart index file 'gone.yaml' does not exist",
        12,
    ),
    (
        'pin = "mybinder/Chart.yaml#dependencies[name=binderhub].version"',
        'pin = "mybinder/Chart.yaml"',
        "charts.binderhub.pin",
        'expected "FILE#KEY.PATH"',
        13,
    ),
    (
        'pin = "mybinder/Chart.yaml#dependencies[name=binderhub].version"',
        'pin = "mybinder/Chart.yaml#dependencies[name=binderhub"',
        "charts.binderhub.pin",
        "cannot parse key path",
        13,
    ),
    (
        'pin = "mybinder/Chart.yaml#dependencies[name=binderhub].version"',
        'pin = "../index.yaml#entries"',
        "charts.binderhub.pin",
        "the pin file '../index.yaml' is outside the deploy repo",
        13,
    ),
    (
        'pin = "mybinder/Chart.yaml#dependencies[name=binderhub].version"',
        'pin = "mybinder/Chart.toml#version"',
        "charts.binderhub.pin",
        "must be YAML or JSON",
        13,
    ),
    (
        'after = "staging"',
        'after = "stagin"',
        "environments.prod.after",
        "names no environment: 'stagin' (environments: staging, prod)",
        22,
    ),
    (
        'values = ["config/prod.yaml"]',
        'values = ["../../etc/passwd"]',
        "environments.prod.values",
        "the values file '../../etc/passwd' is outside the deploy repo",
        24,
    ),
    (
        'values = ["config/prod.yaml"]',
        "values = [1]",
        "environments.prod.values",
        "expected a list of file paths",
        24,
    ),
    ("ttl = 60", 'ttl = "1h"', "cache.ttl", "expected a non-negative integer", 6),
    (
        "ttl = 60",
        "ttl = 60\n\n[network]\nretries = 99",
        "network.retries",
        "expected an integer from 0 to 10",
        9,
    ),
    (
        '[charts.binderhub]\nsource = "source"',
        '[charts.binderhub]\nsourc = "source"',
        "charts.binderhub.sourc",
        "unknown key",
        9,
    ),
    (
        'workflow = ".github/workflows/cd.yml"\njob = "staging-deploy"',
        'members = "federation_member"',
        "environments.staging.members",
        "members are read from the matrix of the environment's job: set workflow and job too",
        18,
    ),
    (
        'job = "staging-deploy"',
        'job = "staging-deploy"\nmembers = 3',
        "environments.staging.members",
        "expected a non-empty string, got an integer",
        20,
    ),
    (
        "[environments.staging]\n",
        '[environments.staging]\nafter = "prod"\n',
        "environments.",
        "'after' makes a cycle",
        None,
    ),
]


def test_missing_named_files_are_problems_not_errors(world: Path) -> None:
    """A missing values, workflow or pin file is a located warning: the rest still works."""
    model_path = world / "deployguide.toml"
    (world / "deploy/config/prod.yaml").unlink()
    (world / "deploy/.github/workflows/cd.yml").unlink()
    model = load_model(model_path)
    found = {(p.key, p.line, p.message.split(" does not exist")[0]) for p in model.problems}
    assert ("environments.prod.values", 24, "the values file 'config/prod.yaml'") in found
    assert (
        "environments.prod.workflow",
        25,
        "the workflow file '.github/workflows/cd.yml'",
    ) in found
    assert all(p.file == str(model_path) for p in model.problems)


@pytest.mark.parametrize(("old", "new", "key", "words", "line"), CASES)
def test_model_errors_through_the_cli(
    world: Path,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    key: str,
    words: str,
    line: int | None,
) -> None:
    model = world / "deployguide.toml"
    model.write_text(_replace(GOOD, old, new))
    assert main(["--config", str(model), "facts"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deployguide: error: ")
    assert str(model) in err
    assert key in err
    assert words in err
    if line is not None:
        assert f"{model}:{line}: " in err
    assert "Traceback" not in err


def test_members_and_a_chart_without_pin(world: Path) -> None:
    text = _replace(
        GOOD, 'job = "prod-deploy"', 'job = "prod-deploy"\nmembers = "federation_member"'
    )
    text = _replace(text, 'pin = "mybinder/Chart.yaml#dependencies[name=binderhub].version"\n', "")
    (world / "deployguide.toml").write_text(text)
    model = load_model(world / "deployguide.toml")
    assert model.environments["prod"].members == "federation_member"
    assert model.environments["staging"].members is None
    assert model.charts["binderhub"].pin is None


def test_missing_required_key(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = world / "deployguide.toml"
    model.write_text(_replace(GOOD, 'index = "index.yaml"\n', ""))
    assert main(["--config", str(model), "facts"]) == 2
    assert "charts.binderhub: missing required key 'index'" in capsys.readouterr().err


def test_not_toml_and_missing_file(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = world / "deployguide.toml"
    model.write_text("charts = [\n")
    assert main(["--config", str(model), "facts"]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert main(["--config", str(world / "absent.toml"), "facts"]) == 2
    assert "the model file does not exist" in capsys.readouterr().err


def test_no_traceback_in_a_real_process(world: Path) -> None:
    model = world / "deployguide.toml"
    model.write_text(_replace(GOOD, 'offline = "stale"', "offline = 1"))
    result = subprocess.run(
        [sys.executable, "-m", "sphinx_deployguide.cli", "--config", str(model), "facts"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "offline: expected a non-empty string, got an integer" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_model_key_is_documented() -> None:
    # The reference table in the docs is generated from MODEL_KEYS; validation accepts exactly these.
    top = {k.split(".")[0] for k in MODEL_KEYS}
    assert top == {
        "deploy_repo",
        "offline",
        "cache",
        "network",
        "charts",
        "environments",
        "failures",
    }
    assert all(desc for _, desc in MODEL_KEYS.values())
