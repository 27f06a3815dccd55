"""``deployguide lint``: exit codes, output.json, GitHub annotations, the step summary, and the
CI-gate docs page's workflow and the pre-commit hook, run exactly as written."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from sphinx_deployguide.cli import main as cli_main
from sphinx_deployguide.cli.lint import (
    ANNOTATION_CAP,
    annotation,
    escape_data,
    escape_property,
    exit_code,
    summary_markdown,
    write_github,
)
from sphinx_deployguide.drift import Finding
from tests.driftfixtures import install_docs, line_of, merge_sha_version, pin
from tests.indexserver import IndexServer

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / "docs" / "ci" / "deployguide-lint.yml"


def run_lint(argv: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    status = cli_main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --- exit codes ---------------------------------------------------------------------------


def test_exit_0_on_the_clean_runbook(demo_copy, capsys, monkeypatch):
    monkeypatch.chdir(demo_copy.deploy)
    install_docs(demo_copy, "drift-clean")
    status, out, err = run_lint(["lint", "docs"], capsys)
    assert status == 0, out + err
    assert "[pin] info:" in out and "mybinder/Chart.yaml:" in out
    # both pins are published and behind; binderhub-service's current version is overdue
    assert "0 errors, 0 warnings, 2 info" in err
    assert "overdue: " in out and "the publish job may have failed" in out
    assert not (demo_copy.deploy / "docs/_build").exists()  # nothing written into the docs
    build = demo_copy.deploy.parent / "lint-build"
    assert run_lint(["lint", "--builddir", str(build), "docs"], capsys)[0] == 0
    rows = (build / "output.json").read_text().splitlines()
    assert [json.loads(r)["severity"] for r in rows] == ["info", "info"]
    assert set(json.loads(rows[0])) == {
        "file",
        "line",
        "subtype",
        "severity",
        "message",
        "fix",
        "state",
    }


def lint_json(demo_copy, docs: str, capsys) -> tuple[int, list[dict]]:
    """``lint --format json --builddir`` on the runbook ``docs`` installed in the demo copy:
    (exit status, findings); what it wrote to ``output.json`` is checked to be the same."""
    install_docs(demo_copy, docs)
    build = demo_copy.deploy.parent / "lint-build"
    status, out, _ = run_lint(
        ["lint", "--format", "json", "--builddir", str(build), "docs"], capsys
    )
    findings = json.loads(out)
    on_disk = [json.loads(r) for r in (build / "output.json").read_text().splitlines()]
    assert on_disk == findings
    return status, findings


def test_pin_findings_keep_their_state_in_every_output(demo_copy, capsys, monkeypatch):
    """A pin finding's verdict state survives the path made relative for display."""
    monkeypatch.chdir(demo_copy.deploy)
    status, findings = lint_json(demo_copy, "drift-clean", capsys)
    assert status == 0
    pins = [f for f in findings if f["subtype"] == "pin"]
    assert [(f["file"], f["state"]) for f in pins] == [("mybinder/Chart.yaml", "published")] * 2


def test_exit_1_on_errors_and_json_format(demo_copy, capsys, monkeypatch):
    monkeypatch.chdir(demo_copy.deploy)
    status, findings = lint_json(demo_copy, "drift", capsys)
    assert status == 1
    assert {f["subtype"] for f in findings} >= {"claim", "hardcoded", "coverage", "pin", "fact"}


def test_an_empty_pin_fails_at_the_pin_line(demo_copy, capsys, monkeypatch):
    monkeypatch.chdir(demo_copy.deploy)
    install_docs(demo_copy, "drift-clean")
    chart = pin(demo_copy, "")
    line = line_of(chart, 'version: ""')
    status, out, err = run_lint(["lint", "docs"], capsys)
    assert status == 1, out + err
    [row] = [r for r in out.splitlines() if "[pin]" in r and "binderhub-service" not in r]
    assert row.startswith(f"mybinder/Chart.yaml:{line}: [pin] error: the binderhub pin (")
    assert ") is empty: expected a chart version" in row
    current = demo_copy.current_version
    fix = f"run `deployguide bump binderhub --allow-downgrade`, which pins {current}"
    assert row.endswith(f"fix: {fix}")
    assert "1 error, 0 warnings, 1 info" in err  # + binderhub-service's pin, behind
    # The fix works: the bump it names pins the current version, and the lint passes again.
    assert run_lint(["bump", "binderhub", "--allow-downgrade", "--no-checklist"], capsys)[0] == 0
    assert f'version: "{demo_copy.current_version}"' in chart.read_text().splitlines()[line - 1]
    assert run_lint(["lint", "--strict", "docs"], capsys)[0] == 0


def test_an_empty_pin_of_an_overdue_chart_is_fixed_by_a_command_that_works(
    demo_copy, capsys, monkeypatch
):
    """binderhub-service's current chart was never published (its publish job "failed"):
    the fix never offers it, and the command it names succeeds."""
    monkeypatch.chdir(demo_copy.deploy)
    install_docs(demo_copy, "drift-clean")
    chart = pin(demo_copy, "", current=demo_copy.service_pinned_version)
    status, out, err = run_lint(["lint", "docs"], capsys)
    [row] = [r for r in out.splitlines() if "the binderhub-service pin" in r]
    newest = demo_copy.service_versions[-1].version  # the newest the index publishes
    assert f"(the current one is {demo_copy.service_current_version}, overdue)" in row
    [command] = re.findall(r"fix: run `([^`]+)`", row)
    assert command == f"deployguide bump binderhub-service --to {newest} --allow-downgrade"
    assert run_lint([*shlex.split(command)[1:], "--no-checklist"], capsys)[0] == 0
    assert f'version: "{newest}"' in chart.read_text()


def test_exit_2_on_a_bad_model(demo_copy, capsys, monkeypatch):
    monkeypatch.chdir(demo_copy.deploy)
    install_docs(demo_copy, "drift-clean")
    model = demo_copy.deploy / "deployguide.toml"
    model.write_text(model.read_text().replace('branch = "main"', "branch = 3"))
    status, out, err = run_lint(["lint", "docs"], capsys)
    assert status == 2
    assert "could not run" in err and "deployguide.toml" in err and "charts.binderhub.branch" in err
    assert "Traceback" not in err
    assert f"deployguide lint: could not run: {model}:" in err  # one prefix, then the file


def test_exit_2_without_conf_py(tmp_path, capsys):
    status, _, err = run_lint(["lint", str(tmp_path)], capsys)
    assert status == 2 and f"no conf.py in {tmp_path}" in err


def test_exit_2_when_conf_py_does_not_load_the_extension(tmp_path, capsys):
    (tmp_path / "conf.py").write_text("extensions = []\n")
    (tmp_path / "index.md").write_text("# Runbook\n")
    status, _, err = run_lint(["lint", str(tmp_path)], capsys)
    assert status == 2 and '"sphinx_deployguide" in the extensions' in err


def test_warnings_fail_only_with_strict():
    warning = [Finding("coverage", "warning", "a.md", 1, "x")]
    assert exit_code(warning) == 0 and exit_code(warning, strict=True) == 1
    info = [Finding("pin", "info", "a.md", 1, "x")]
    assert exit_code(info, strict=True) == 0
    assert exit_code([Finding("claim", "error", "a.md", 1, "x")]) == 1


def test_stale_facts_are_a_warning_that_strict_fails(demo_copy, capsys, monkeypatch):
    """The index goes down after a first build: facts come from the cache, marked stale."""
    monkeypatch.chdir(demo_copy.deploy)
    install_docs(demo_copy, "drift-clean")
    model = demo_copy.deploy / "deployguide.toml"
    with IndexServer(demo_copy.index.read_bytes()) as server:
        text = model.read_text().replace(
            'index = "../helm-chart/index.yaml"', f'index = "{server.url}"'
        )
        model.write_text(
            text.replace('dir = ".deployguide-cache"', 'dir = ".deployguide-cache"\nttl = 0')
        )
        assert run_lint(["lint", "docs"], capsys)[0] == 0
    status, out, err = run_lint(["lint", "docs"], capsys)
    assert status == 0 and "[stale] warning:" in out and "deployguide.toml" in out
    assert run_lint(["lint", "--strict", "docs"], capsys)[0] == 1


def test_suppress_warnings_silences_one_subtype(demo_copy, capsys, monkeypatch):
    monkeypatch.chdir(demo_copy.deploy)
    docs = install_docs(demo_copy, "drift")
    with open(docs / "conf.py", "a") as conf:
        conf.write('suppress_warnings = ["deployguide.hardcoded", "deployguide.coverage"]\n')
    status, out, _ = run_lint(["lint", "docs"], capsys)
    assert status == 1 and "[claim]" in out
    assert "[hardcoded]" not in out and "[coverage]" not in out


# --- GitHub annotations -------------------------------------------------------------------


def test_github_escaping():
    assert escape_data("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext: a, b"
    assert escape_property("docs/a,b:c%.md\n") == "docs/a%2Cb%3Ac%25.md%0A"
    finding = Finding(
        "claim", "error", "docs/we,ird:name.md", 7, "50% of\nthe file: gone", "fix it, now"
    )
    assert annotation(finding) == (
        "::error file=docs/we%2Cird%3Aname.md,line=7,title=deployguide claim::"
        "50%25 of%0Athe file: gone; fix: fix it, now"
    )
    warning = Finding("stale", "warning", None, None, "cached")
    assert annotation(warning) == "::warning title=deployguide stale::cached"


def test_github_cap_of_ten_per_kind_with_overflow_notice(capsys):
    findings = (
        [Finding("claim", "error", "a.md", n, f"error {n}") for n in range(1, 14)]
        + [Finding("coverage", "warning", "b.md", n, f"warning {n}") for n in range(1, 13)]
        + [Finding("pin", "info", "c.yaml", 1, "behind")]
    )
    import io

    out = io.StringIO()
    write_github(findings, out)
    lines = out.getvalue().splitlines()
    assert len([line for line in lines if line.startswith("::error ")]) == ANNOTATION_CAP == 10
    assert len([line for line in lines if line.startswith("::warning ")]) == 10
    [notice] = [line for line in lines if line.startswith("::notice ")]
    assert "3 more errors and 2 more warnings were not annotated" in notice
    # The rest is still in the log, as plain lines.
    assert "a.md:13: [claim] error: error 13" in lines
    assert "c.yaml:1: [pin] info: behind" in lines
    assert not any(line.startswith("::") and "behind" in line for line in lines)


def test_no_notice_when_nothing_overflows():
    import io

    out = io.StringIO()
    write_github([Finding("claim", "error", "a.md", 1, "x")], out)
    assert "::notice" not in out.getvalue()


def test_step_summary_table_escapes_cells():
    findings = [Finding("claim", "error", "a.md", 3, "a | b <script> @team", "x\n- [x] y")]
    text = summary_markdown(findings)
    assert "| severity | check | location | message | fix |" in text
    assert "| error | claim | a.md:3 | a \\| b \\<script\\> @\u200bteam | x - \\[x\\] y |" in text
    assert "No drift" in summary_markdown([])


# --- the documented workflow and the pre-commit hook, run as written ------------------------


def workflow_steps() -> list[dict]:
    data = yaml.safe_load(WORKFLOW.read_text())
    [job] = data["jobs"].values()
    return job["steps"]


def test_docs_page_includes_the_tested_workflow():
    page = (REPO / "docs" / "ci-gate.md").read_text()
    assert "```{literalinclude} ci/deployguide-lint.yml" in page
    # output.json is JSON Lines (as linkcheck writes it), and the page says so.
    assert "`output.json` is [JSON Lines](https://jsonlines.org/)" in page
    for subtype in ("claim", "hardcoded", "pin", "coverage", "stale", "fact"):
        assert f'"deployguide.{subtype}"' in page
    steps = workflow_steps()
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    assert any(s.get("uses", "").startswith("actions/setup-python@") for s in steps)
    runs = [s["run"] for s in steps if "run" in s]
    assert "pip install sphinx-deployguide" in runs
    assert [r for r in runs if r.startswith("deployguide lint")] == [
        "deployguide lint --strict --format github docs"
    ]


def lint_command_of_workflow() -> list[str]:
    [command] = [s["run"] for s in workflow_steps() if s.get("run", "").startswith("deployguide ")]
    return shlex.split(command)


def test_documented_workflow_gates_the_drifted_world(demo_copy, capsys, monkeypatch, tmp_path):
    """Its exact command on the incident: annotations, the step summary, exit 1; clean: 0."""
    monkeypatch.chdir(demo_copy.deploy)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    docs = install_docs(demo_copy, "drift")
    pin(demo_copy, merge_sha_version(demo_copy))
    argv = lint_command_of_workflow()
    assert argv[0] == "deployguide"
    build = tmp_path / "lint-build"
    status, out, _ = run_lint([*argv[1:-1], "--builddir", str(build), argv[-1]], capsys)
    assert status == 1
    right = demo_copy.current_version
    incident = [
        line
        for line in out.splitlines()
        if line.startswith("::error file=mybinder/Chart.yaml,line=")
    ]
    assert (
        len(incident) == 1
        and f"pin {right}" in incident[0]
        and "title=deployguide pin::" in incident[0]
    )
    findings = [json.loads(r) for r in (build / "output.json").read_text().splitlines()]
    errors = [f for f in findings if f["severity"] == "error"]
    warnings = [f for f in findings if f["severity"] == "warning"]
    assert (
        len([line for line in out.splitlines() if line.startswith("::error ")]) == len(errors) == 10
    )
    assert (
        len([line for line in out.splitlines() if line.startswith("::warning ")])
        == len(warnings)
        > 0
    )
    assert "::notice" not in out  # nothing left out
    table = summary.read_text()
    assert table.startswith("earlier step\n## deployguide lint")
    assert len(re.findall(r"^\| (error|warning|info) \|", table, re.M)) == len(findings)
    assert f"pin {right}" in table

    # Fixed runbook, fixed pin: the same command passes.
    shutil.rmtree(docs)
    install_docs(demo_copy, "drift-clean")
    pin(demo_copy, demo_copy.pinned_version, current=merge_sha_version(demo_copy))
    status, out, _ = run_lint(argv[1:], capsys)
    assert status == 0, out
    assert "::error" not in out and "::warning" not in out

    # A warning alone fails it too (--strict): an environment without a checklist.
    model = demo_copy.deploy / "deployguide.toml"
    model.write_text(
        model.read_text() + '\n[environments.canary]\nurl = "https://canary.demo.invalid"\n'
    )
    status, out, _ = run_lint(argv[1:], capsys)
    assert status == 1, out
    assert "::error" not in out
    assert (
        [line for line in out.splitlines() if line.startswith("::warning ")]
        == [line for line in out.splitlines() if "title=deployguide coverage::" in line]
        != []
    )


def test_pre_commit_hook_runs_the_lint(demo_copy, capsys, monkeypatch):
    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "deployguide-lint" and hook["pass_filenames"] is False
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    command = shlex.split(hook["entry"]) + hook.get("args", [])
    assert scripts[command[0]] == "sphinx_deployguide.cli:main"
    monkeypatch.chdir(demo_copy.deploy)
    install_docs(demo_copy, "drift-clean")
    assert run_lint(command[1:], capsys)[0] == 0
    (demo_copy.deploy / "mybinder" / "values.yaml").unlink()
    status, out, _ = run_lint(command[1:], capsys)
    assert status == 1 and "mybinder/values.yaml' does not exist" in out
