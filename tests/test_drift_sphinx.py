"""The drift checks in real builds: ``sphinx-build -W`` and ``deployguide lint`` on the demo world.

The drifted runbook (``tests/roots/test-drift``) holds one example of every check; the clean
one (``tests/roots/test-drift-clean``) passes, and each mutation of the demo world makes both
gates fail with a located message until it is undone.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sphinx.cmd.build import build_main
from sphinx.util.console import strip_colors

from sphinx_deployguide.cli import main as cli_main
from tests.driftfixtures import install_docs, line_of, merge_sha_version, pin


def sphinx_build(docs: Path, out: Path, capsys, *extra: str) -> tuple[int, str]:
    """``sphinx-build -W -b dummy DOCS OUT`` in-process; (exit status, warnings)."""
    capsys.readouterr()
    status = build_main(["-W", "-b", "dummy", "-q", *extra, str(docs), str(out)])
    return status, strip_colors(capsys.readouterr().err)


def lint(docs: Path, capsys, *extra: str) -> tuple[int, str, list[dict]]:
    capsys.readouterr()
    build = docs.parent / "lint-build"
    status = cli_main(["lint", "--builddir", str(build), *extra, str(docs)])
    out = capsys.readouterr().out
    output = build / "output.json"
    findings = (
        [json.loads(line) for line in output.read_text().splitlines()] if output.exists() else []
    )
    return status, out, findings


@pytest.fixture
def drifted(demo_copy):
    """The demo world with the incident's merge-SHA pin and the drifted runbook in docs/."""
    pin(demo_copy, merge_sha_version(demo_copy))
    return demo_copy, install_docs(demo_copy, "drift")


def test_drifted_fixture_has_one_located_finding_per_check(drifted, capsys, monkeypatch):
    world, docs = drifted
    monkeypatch.chdir(world.deploy)
    status, out, findings = lint(docs, capsys)
    assert status == 1
    index, prod = docs / "index.md", docs / "prod.md"
    chart_yaml = world.deploy / "mybinder" / "Chart.yaml"

    def one(subtype: str, path: Path, line: int, text: str) -> dict:
        hits = [
            f
            for f in findings
            if f["subtype"] == subtype
            and f["line"] == line
            and f["file"] == path.relative_to(world.deploy).as_posix()
            and text in f["message"]
        ]
        assert len(hits) == 1, (subtype, path.name, line, text, findings)
        assert hits[0]["fix"] or subtype in ("fact", "checklist")
        return hits[0]

    one("claim", index, line_of(index, "config/common.yaml"), "'config/common.yaml' does not exist")
    one("claim", index, line_of(index, "binderhub.replica`"), "no key 'replica'")
    first_claim = line_of(index, "{deploy-claim}")
    one("claim", index, first_claim, "deploy.py no longer contains")
    one(
        "claim",
        index,
        line_of(index, "{deploy-claim}", first_claim + 1),
        "cd.yml no longer matches",
    )
    job = one("claim", prod, line_of(prod, "#deploy-prod"), "job 'deploy-prod' does not exist")
    assert job["fix"] == "use job 'prod-deploy'"
    prose = line_of(index, f"Deploy {world.current_version}")
    one("hardcoded", index, prose, f"chart version {world.current_version}")
    one("hardcoded", index, prose, f"commit {world.pr_commit[:7]}")
    one(
        "hardcoded",
        index,
        line_of(index, f"--version {world.pinned_version}"),
        "typed into a code block",
    )
    template = one(
        "hardcoded", index, line_of(index, "# was "), "typed into a deploy-code template"
    )
    assert "{{ charts.binderhub.version }}" in template["fix"]
    incident = one(
        "pin", chart_yaml, line_of(chart_yaml, merge_sha_version(world)), "will never be published"
    )
    assert incident["severity"] == "error"
    assert f"published as {world.current_version}" in incident["message"]
    assert incident["fix"] == f"pin {world.current_version}"
    model = world.deploy / "deployguide.toml"
    one(
        "coverage",
        model,
        line_of(model, "[environments.staging]"),
        "'staging' has no deploy-checklist",
    )
    one("coverage", prod, line_of(prod, "{deploy-checklist} prod"), "deployed after 'staging'")
    one("coverage", prod, line_of(prod, "{deploy-checklist} canary"), "'canary'")
    one("fact", prod, line_of(prod, "verison"), "unknown fact")
    # The historical value is allowed; the fact-filled deploy-code value is not flagged.
    assert not [
        f
        for f in findings
        if merge_sha_version(world) in f["message"] and f["subtype"] == "hardcoded"
    ]
    assert len([f for f in findings if f["subtype"] == "hardcoded"]) == 4
    # Printed as path:line: [subtype] ...
    assert f"docs/prod.md:{line_of(prod, '#deploy-prod')}: [claim] error: job 'deploy-prod'" in out


def test_drifted_fixture_fails_sphinx_build_W_without_duplicates_under_j(drifted, capsys, tmp_path):
    world, docs = drifted
    status, serial = sphinx_build(docs, tmp_path / "serial", capsys)
    assert status == 1
    assert (
        f"{docs / 'prod.md'}:{line_of(docs / 'prod.md', '#deploy-prod')}: ERROR: job 'deploy-prod'"
        in serial
    )
    assert "[deployguide.pin]" in serial and "[deployguide.coverage]" in serial
    status, parallel = sphinx_build(docs, tmp_path / "parallel", capsys, "-j", "2")
    assert status == 1
    drift = re.compile(r"\[deployguide\.(claim|hardcoded|pin|coverage)\]$")
    lines = [line for line in parallel.splitlines() if drift.search(line)]
    assert lines and len(lines) == len(set(lines))
    assert sorted(lines) == sorted(line for line in serial.splitlines() if drift.search(line))


def test_parallel_and_incremental_builds_find_what_a_fresh_serial_build_finds(
    drifted, make_app, tmp_path
):
    """The deployguide domain merges ``-j`` readers and forgets a deleted page: the lint
    builder's findings and the logged drift warnings do not depend on how the build ran."""
    world, docs = drifted
    for number in range(5):  # more than five pages, or Sphinx reads them in one process
        (docs / f"extra{number}.md").write_text(
            f"---\norphan: true\n---\n# Extra {number}\n\n"
            f"Pin {world.current_version} by hand. See {{deploy-value}}`charts.nope{number}.version`.\n",
            encoding="utf-8",
        )

    def build(out: str, *, parallel: int = 0) -> tuple[list[str], list[str], list[str]]:
        merged: list[str] = []
        app = make_app("deployguide-lint", srcdir=docs, builddir=tmp_path / out, parallel=parallel)
        app.connect("env-merge-info", lambda app, env, docnames, other: merged.extend(docnames))
        app.build()
        findings = sorted(json.dumps(f.as_json(), sort_keys=True) for f in app.builder.findings)
        logged = strip_colors(app.warning.getvalue()).splitlines()
        return findings, sorted(line for line in logged if "[deployguide." in line), merged

    serial, serial_warnings, _ = build("serial")
    parallel, parallel_warnings, merged = build("parallel", parallel=2)
    assert len(merged) == 7  # every page was read by a worker and merged back
    assert parallel == serial and parallel_warnings == serial_warnings
    assert [f for f in serial if "extra3.md" in f and '"fact"' in f]  # read in a worker

    (docs / "prod.md").unlink()
    incremental, _, _ = build("serial")
    fresh, _, _ = build("fresh")
    assert incremental == fresh
    assert [f for f in serial if "prod.md" in f] and not [f for f in fresh if "prod.md" in f]


def test_info_finding_is_not_a_warning(demo_copy, capsys, tmp_path):
    """The clean site pins a published but older version: an info line, and -W passes."""
    docs = install_docs(demo_copy, "drift-clean")
    capsys.readouterr()
    status = build_main(["-W", "-b", "dummy", str(docs), str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "4 chart commits behind" in strip_colors(captured.out)
    assert "chart commits behind" not in captured.err


def test_incremental_build_rechecks_without_rereading(demo_copy, capsys, tmp_path):
    """The config changes, the docs do not: the next (incremental) build still fails."""
    docs = install_docs(demo_copy, "drift-clean")
    out = tmp_path / "out"
    assert sphinx_build(docs, out, capsys)[0] == 0
    prod = demo_copy.deploy / "config" / "prod.yaml"
    prod.write_text(prod.read_text().replace("replicas: 3", "replicas: 4"))
    status, warnings = sphinx_build(docs, out, capsys)
    assert status == 1 and "config/prod.yaml no longer matches" in warnings


def _delete_values(world) -> tuple[Path, str]:
    path = world.deploy / "mybinder" / "values.yaml"
    path.unlink()
    return path, "file 'mybinder/values.yaml' does not exist"


def _rename_job(world) -> tuple[Path, str]:
    path = world.deploy / ".github" / "workflows" / "cd.yml"
    path.write_text(path.read_text().replace("staging-deploy", "deploy-staging"))
    return path, "job 'staging-deploy' does not exist"


def _change_claimed_value(world) -> tuple[Path, str]:
    path = world.deploy / "config" / "prod.yaml"
    text = path.read_text()
    assert "replicas: 3" in text
    path.write_text(text.replace("replicas: 3", "replicas: 5"))
    return path, "config/prod.yaml no longer matches"


def _pin_merge_sha(world) -> tuple[Path, str]:
    return pin(world, merge_sha_version(world)), "will never be published"


@pytest.mark.parametrize(
    "mutate",
    [_delete_values, _rename_job, _change_claimed_value, _pin_merge_sha],
    ids=["delete-file", "rename-job", "change-claimed-value", "pin-merge-sha"],
)
def test_mutation_fails_both_gates_and_restoring_passes(
    mutate, demo_copy, capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(demo_copy.deploy)
    docs = install_docs(demo_copy, "drift-clean")
    originals = {
        p: p.read_bytes() for p in (demo_copy.deploy / "mybinder").iterdir() if p.is_file()
    }
    originals |= {p: p.read_bytes() for p in (demo_copy.deploy / "config").iterdir()}
    originals[demo_copy.deploy / ".github" / "workflows" / "cd.yml"] = (
        demo_copy.deploy / ".github" / "workflows" / "cd.yml"
    ).read_bytes()

    changed, message = mutate(demo_copy)
    status, warnings = sphinx_build(docs, tmp_path / "html", capsys)
    assert status == 1 and message in warnings
    located = [line for line in warnings.splitlines() if message in line]
    assert re.match(r"^/\S+:\d+: ERROR: ", located[0]), located
    status, out, findings = lint(docs, capsys)
    assert status == 1
    [finding] = [f for f in findings if message in f["message"]]
    assert finding["severity"] == "error" and finding["line"] and finding["fix"]
    if mutate is _pin_merge_sha:
        assert finding["fix"] == f"pin {demo_copy.current_version}"

    changed.write_bytes(originals[changed])
    assert sphinx_build(docs, tmp_path / "html", capsys)[0] == 0
    status, out, findings = lint(docs, capsys)
    assert status == 0, out
    # the pins are behind (binderhub-service's current version is overdue), not wrong
    assert [f["severity"] for f in findings] == ["info", "info"]
