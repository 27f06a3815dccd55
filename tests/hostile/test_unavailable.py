"""Nothing is silently left out: a fact that could not be computed is listed with its
reason, stale values are said on stderr, a model key that yields nothing is reported where
it is written, and a local copy of the chart source that is older than the pin is never
offered as the chart to deploy."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from sphinx_deployguide.demo import git_env
from tests.indexserver import IndexServer

from .conftest import DOCS, SPHINX, deployguide, expect, git, model_line, set_model

NO_KEY = "combination 1 of the matrix of job '{job}' of .github/workflows/cd.yml has no 'nokey'"


def test_facts_list_every_fact_they_could_not_compute_with_its_reason(hworld):
    model = Path(hworld.model)
    model.write_text(
        model.read_text().replace('members = "federation_member"', 'members = "nokey"')
    )
    text = deployguide("facts", "environments", cwd=hworld.deploy)
    expect(text, 0, "not computed (the reason):")
    listed = dict(
        re.split(r"\s{2,}", line.strip(), maxsplit=1)
        for line in text.out.split("not computed (the reason):\n", 1)[1].splitlines()
    )
    assert listed == {
        "environments.prod.members": NO_KEY.format(job="prod-deploy"),
        "environments.staging.members": NO_KEY.format(job="staging-deploy"),
    }
    data = deployguide("facts", "--json", cwd=hworld.deploy)
    expect(data, 0)
    document = json.loads(data.out)
    assert document["unavailable"] == listed
    assert not set(document["unavailable"]) & set(document["facts"])


def test_lint_reports_members_that_yield_none_at_the_model_key(hworld):
    model = Path(hworld.model)
    model.write_text(
        model.read_text().replace('members = "federation_member"', 'members = "nokey"')
    )
    lines = model.read_text().splitlines()
    staging = next(
        n
        for n, line in enumerate(lines, 1)
        if "nokey" in line and n > model_line(hworld, "[environments.staging]")
    )
    result = deployguide("lint", cwd=hworld.deploy)
    expect(
        result,
        1,
        f"deployguide.toml:{staging}: [config] warning: environments.staging.members: "
        f"members = 'nokey' gives no members: {NO_KEY.format(job='staging-deploy')}",
        within=SPHINX,
    )


def test_stale_values_are_said_on_stderr(hworld):
    with IndexServer(Path(hworld.index).read_bytes()) as server:
        set_model(hworld, 'index = "../helm-chart/index.yaml"', f'index = "{server.url}"')
        set_model(
            hworld,
            'dir = ".deployguide-cache"',
            'dir = ".deployguide-cache"\n\n[network]\nretries = 0',
        )
        expect(deployguide("facts", cwd=hworld.deploy), 0)
    for args in (("facts", "--refresh"), ("facts", "--refresh", "--json")):
        result = deployguide(*args, cwd=hworld.deploy)  # the server is gone: the cache serves
        expect(result, 0)
        assert "deployguide: warning: some values are stale" in result.err
        assert "warning" not in result.out
    assert json.loads(result.out)["facts"]["charts.binderhub.published"]["status"] == "stale"


def _older_copy(world, tmp_path: Path) -> str:
    """The chart source as a local copy that ends before the pinned commit (a clone never
    fetched since); the model keeps only the chart that existed then. Returns the version
    the copy's head would offer."""
    names = [v.version for v in world.versions]
    older = world.versions[names.index(world.pinned_version) - 1]
    source = Path(world.source)
    copy = tmp_path / "old-binderhub"
    env = git_env()
    subprocess.run(
        ["git", "clone", "--quiet", "--no-local", "--", str(source), str(copy)], check=True, env=env
    )
    git(copy, "reset", "--quiet", "--hard", older.commit)
    git(copy, "remote", "remove", "origin")
    git(copy, "reflog", "expire", "--expire=now", "--all")
    git(copy, "gc", "--quiet", "--prune=now")
    model = Path(world.model)
    text = model.read_text()
    text = text[: text.index("[charts.binderhub-service]")]
    model.write_text(text.replace('source = "../binderhub"', f'source = "{copy}"'))
    staging = Path(world.deploy) / DOCS / "staging.md"
    staging.write_text(
        "".join(
            line for line in staging.read_text().splitlines(True) if "binderhub-service" not in line
        )
    )
    return older.version


def test_a_local_copy_older_than_the_pin_is_never_offered_as_the_chart_to_deploy(hworld, tmp_path):
    older = _older_copy(hworld, tmp_path)
    pin_sha = hworld.pinned_version.rsplit(".h", 1)[1]
    behind = (
        f"lacks commit {pin_sha}, which the pinned version {hworld.pinned_version} names: the "
        "copy is behind the pin, so its chart is not the one to deploy"
    )
    facts = deployguide("facts", "--json", cwd=hworld.deploy)
    expect(facts, 0)
    document = json.loads(facts.out)
    for name in ("version", "state", "verdict", "published", "pending"):
        assert f"charts.binderhub.{name}" not in document["facts"]
        assert behind in document["unavailable"][f"charts.binderhub.{name}"]
    assert older not in facts.out  # the copy's own chart is offered nowhere
    checklist = deployguide("checklist", "staging", cwd=hworld.deploy)
    expect(checklist, 2, "has values that could not be computed", behind, within=SPHINX)
    assert older not in checklist.text
    lint = deployguide("lint", cwd=hworld.deploy)
    expect(
        lint,
        0,
        f"[pin] warning: binderhub pins {hworld.pinned_version} (published), but the local copy",
        behind,
        "fix: update",
        within=SPHINX,
    )
    assert "deployguide bump" not in lint.text and older not in lint.text
