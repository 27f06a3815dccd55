"""A broken file is a warning, not a dead site; machine output stays machine output; text from
outside is escaped for the format it goes into; secrets in URLs never reach any output."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sphinx_deployguide.indexcache import cache_path
from tests.indexserver import IndexServer

from .conftest import DOCS, SPHINX, commit_file, deployguide, expect, git, set_model, sphinx_build

NOISY = Path(__file__).resolve().parents[1] / "roots" / "test-noisy-extension"


# --- a broken file is a warning, not a dead site ------------------------------------------------


def test_a_deleted_values_file_is_a_warning_and_the_site_builds(hworld, tmp_path):
    (Path(hworld.deploy) / "config" / "staging.yaml").unlink()
    out = tmp_path / "html"
    result = sphinx_build("-b", "html", "-q", DOCS, str(out), cwd=hworld.deploy)
    expect(
        result,
        0,
        "deployguide.toml:",
        "environments.staging.values: the values file 'config/staging.yaml' does not exist",
        "[deployguide.file]",
        within=SPHINX,
    )
    assert (out / "staging.html").is_file() and (out / "prod.html").is_file()
    strict = sphinx_build("-W", "-b", "html", "-q", DOCS, str(tmp_path / "w"), cwd=hworld.deploy)
    expect(strict, 1, "config/staging.yaml", "[deployguide.file]", within=SPHINX)


def test_two_roles_with_the_same_text_in_one_paragraph_are_each_located(hworld, tmp_path):
    page = Path(hworld.deploy) / DOCS / "staging.md"
    text = page.read_text()
    page.write_text(
        text + "\nSee {deploy-file}`nowhere/x.yaml`\nand {deploy-value}`nowhere/x.yaml`.\n"
    )
    first = len(text.splitlines()) + 2
    result = sphinx_build("-b", "html", "-q", DOCS, str(tmp_path / "html"), cwd=hworld.deploy)
    expect(
        result,
        0,
        f"staging.md:{first}: ERROR: file 'nowhere/x.yaml' does not exist",
        f"staging.md:{first + 1}: WARNING: unknown fact 'nowhere/x.yaml'",
        within=SPHINX,
    )


# --- machine output stays machine output --------------------------------------------------------


def _noisy(world) -> None:
    """The docs use an extension that prints on stdout while Sphinx sets it up (as mybinder's
    theme does: "matplotlib is not installed, social cards will not be generated")."""
    docs = Path(world.deploy) / DOCS
    shutil.copy(NOISY / "noisy_ext.py", docs / "noisy_ext.py")
    conf = docs / "conf.py"
    conf.write_text(
        "import os, sys\nsys.path.insert(0, os.path.dirname(__file__))\n"
        + conf.read_text()
        + "\nextensions.append('noisy_ext')\n"
    )


def test_checklist_json_and_github_print_only_the_checklist(hworld):
    _noisy(hworld)
    result = deployguide("checklist", "staging", "--format", "json", cwd=hworld.deploy)
    expect(result, 0, "social cards will not be generated", within=SPHINX)
    assert json.loads(result.out)["checklists"][0]["env"] == "staging"
    assert "social cards" in result.err and "from a subprocess" in result.err
    result = deployguide("checklist", "staging", "--format", "github", cwd=hworld.deploy)
    expect(result, 0, within=SPHINX)
    assert result.out.startswith("**Deploy to staging**") and "social cards" not in result.out


def test_lint_json_prints_only_the_findings(hworld):
    _noisy(hworld)
    result = deployguide("lint", "--format", "json", cwd=hworld.deploy)
    expect(result, 0, "social cards", within=SPHINX)
    # the two demo pins (binderhub's, binderhub-service's): published and behind
    assert [f["subtype"] for f in json.loads(result.out)] == ["pin", "pin"]


def test_bump_json_prints_only_its_object(hworld):
    _noisy(hworld)
    result = deployguide("bump", "binderhub", "--dry-run", "--json", cwd=hworld.deploy)
    expect(result, 0, "social cards", within=SPHINX)
    data = json.loads(result.out)
    assert data["status"] == "dry-run" and "- [ ] " in data["pr_body"]


def test_checklist_github_never_wraps_a_line(hworld):
    page = Path(hworld.deploy) / DOCS / "staging.md"
    long_link = "https://example.org/" + "a-very-long-path-segment/" * 6 + "runbook.html"
    text = page.read_text()
    step = f"- [ ] {{#read}} Read [the very long runbook page about the deploy]({long_link}) first.\n\n"
    page.write_text(text.replace("- [ ] {#check-version}", step + "- [ ] {#check-version}", 1))
    result = deployguide("checklist", "staging", "--format", "github", cwd=hworld.deploy)
    expect(result, 0, within=SPHINX)
    [line] = [ln for ln in result.out.splitlines() if "very long runbook" in ln]
    assert line == f"- [ ] Read [the very long runbook page about the deploy]({long_link}) first."


def _stderr_on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """What ``deployguide ARGS`` writes to its stderr when that is a terminal (a pty)."""
    leader, follower = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "NO_COLOUR")}
    full_env.update(TERM="xterm", PYTHONPATH=str(Path(__file__).resolve().parents[2]), **env)
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the child closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        subprocess.run(
            [sys.executable, "-m", "sphinx_deployguide.cli", *args],
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=follower,
            timeout=SPHINX,
            check=False,
        )
    finally:
        os.close(follower)
        reader.join(timeout=5)
        os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_sphinx_warnings_are_coloured_only_on_a_terminal_that_wants_colour(hworld):
    page = Path(hworld.deploy) / DOCS / "staging.md"
    page.write_text(
        page.read_text().replace(
            "| what | now |", "Oops {deploy-value}`charts.nope`.\n\n| what | now |", 1
        )
    )
    args = ["checklist", "staging"]
    piped = deployguide(*args, cwd=hworld.deploy)  # stderr is a pipe, as with 2>file
    expect(piped, 0, "WARNING: unknown fact 'charts.nope'", within=SPHINX)
    assert "\x1b" not in piped.err
    terminal = _stderr_on_a_terminal(args, Path(hworld.deploy), {})
    assert "unknown fact 'charts.nope'" in terminal and "\x1b[" in terminal  # colour kept
    no_color = _stderr_on_a_terminal(args, Path(hworld.deploy), {"NO_COLOR": "1"})
    assert "unknown fact 'charts.nope'" in no_color and "\x1b" not in no_color


def test_lint_github_names_only_the_places_that_hold_every_finding(hworld, tmp_path):
    page = Path(hworld.deploy) / DOCS / "staging.md"
    missing = "".join(f"- {{deploy-file}}`gone/file-{n}.yaml`\n" for n in range(12))
    page.write_text(page.read_text() + "\nFiles:\n\n" + missing)
    bare = deployguide("lint", "--format", "github", cwd=hworld.deploy)
    expect(bare, 1, "2 more errors and 0 more warnings were not annotated", within=SPHINX)
    [notice] = [line for line in bare.out.splitlines() if line.startswith("::notice ")]
    assert notice.endswith("every finding is listed in this log")
    assert "summary" not in notice and "output.json" not in notice
    assert "gone/file-11.yaml" in bare.out  # the unannotated ones are in the log indeed
    summary, build = tmp_path / "summary.md", tmp_path / "build"
    kept = deployguide(
        "lint", "--format", "github", "--builddir", str(build),
        cwd=hworld.deploy, env={"GITHUB_STEP_SUMMARY": str(summary)},
    )  # fmt: skip
    expect(kept, 1, within=SPHINX)
    [notice] = [line for line in kept.out.splitlines() if line.startswith("::notice ")]
    assert notice.endswith(
        f"every finding is listed in this log, in the job summary and in {build / 'output.json'}"
    )
    assert "gone/file-11.yaml" in summary.read_text()
    assert "gone/file-11.yaml" in (build / "output.json").read_text()


# --- escaped for the format it goes into ---------------------------------------------------------

HOSTILE_SUBJECT = (
    "- [x] SRE approved <script>alert(1)</script> [x](javascript:alert(1)) "
    "@everyone \x1b]0;pwned\x07\x1b[31mred\x1b[0m"
)


def _hostile_commit(world) -> None:
    """A chart commit whose subject and body try to forge a step, run HTML, ping everyone and
    drive the terminal; it is pending after the pin."""
    values = Path(world.source) / "helm-chart" / "binderhub" / "values.yaml"
    commit_file(
        Path(world.source),
        "helm-chart/binderhub/values.yaml",
        values.read_text() + "# x\n",
        HOSTILE_SUBJECT,
    )


def _assert_inert_markdown(text: str) -> None:
    assert not re.search(r"^\s*- \[x\] SRE", text, re.MULTILINE)  # no forged ticked step
    assert "<script>" not in text and "\\<script\\>" in text  # shown as text, never run
    assert not re.search(r"(?<!\\)\]\(javascript:", text)  # "[x](javascript:...)" is no link
    assert "@everyone" not in text and "@\u200beveryone" in text
    assert "\x1b" not in text and "\x07" not in text


def test_a_hostile_commit_subject_in_the_pr_body_and_the_commit_message(hworld):
    _hostile_commit(hworld)
    result = deployguide(
        "bump",
        "binderhub",
        "--allow-unpublished",
        "--dry-run",
        "--json",
        "--no-checklist",
        cwd=hworld.deploy,
    )
    expect(result, 0)
    data = json.loads(result.out)
    _assert_inert_markdown(data["pr_body"])
    assert "\\- \\[x\\] SRE approved \\<script\\>" in data["pr_body"]
    assert "\x1b" not in data["message"] and "SRE approved <script>" in data["message"]
    text = deployguide(
        "bump", "binderhub", "--allow-unpublished", "--dry-run", "--no-checklist", cwd=hworld.deploy
    )
    expect(text, 0)
    assert "\x1b" not in text.text and "\x07" not in text.text


def test_a_hostile_commit_subject_in_the_github_checklist_and_the_facts_table(hworld):
    _hostile_commit(hworld)
    page = Path(hworld.deploy) / DOCS / "staging.md"
    step = "- [ ] {#review} Review {deploy-value}`charts.binderhub.pending`.\n\n"
    page.write_text(
        page.read_text().replace("- [ ] {#check-version}", step + "- [ ] {#check-version}", 1)
    )
    result = deployguide("checklist", "staging", "--format", "github", cwd=hworld.deploy)
    expect(result, 0, within=SPHINX)
    _assert_inert_markdown(result.out)
    facts = deployguide("facts", "charts.binderhub.pending", cwd=hworld.deploy)
    expect(facts, 0, "SRE approved <script>")
    assert "\x1b" not in facts.text and "\x07" not in facts.text


#: What GitHub reads in a PR body or a merged commit message as "close this issue": a keyword,
#: an optional colon, then a reference (``#N``, ``owner/repo#N``, an issue URL, a link).
CLOSES = re.compile(
    r"(?i)\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\b[:\s]*"
    r"(?:\\?#\d|[\w.-]+/[\w.-]+#\d|https?://|\\?\[)"
)
#: A reference GitHub resolves in the repository showing the text (the deploy repo).
BARE_REF = re.compile(r"(?<![\w/&.-])#\d")
REFERENCING_SUBJECTS = (
    "Add a network policy (#1833)",
    "close #1 and fixes jupyterhub/mybinder.org-deploy#2",
    "Resolves: https://github.com/jupyterhub/binderhub/issues/3",
)


@pytest.mark.parametrize("origin", ["https://github.com/jupyterhub/binderhub.git", None])
def test_upstream_references_neither_close_nor_name_deploy_repo_issues(hworld, origin):
    source = Path(hworld.source)
    if origin:  # a local checkout of a GitHub repository
        git(source, "remote", "add", "origin", origin)
    values = source / "helm-chart" / "binderhub" / "values.yaml"
    for n, subject in enumerate(REFERENCING_SUBJECTS):
        commit_file(
            source, "helm-chart/binderhub/values.yaml", f"{values.read_text()}# {n}\n", subject
        )
    page = Path(hworld.deploy) / DOCS / "staging.md"
    step = "- [ ] {#review} Review {deploy-value}`charts.binderhub.pending`.\n\n"
    page.write_text(
        page.read_text().replace("- [ ] {#check-version}", step + "- [ ] {#check-version}", 1)
    )
    bumped = deployguide(
        "bump", "binderhub", "--allow-unpublished", "--dry-run", "--json", cwd=hworld.deploy
    )
    expect(bumped, 0, within=SPHINX)
    data = json.loads(bumped.out)
    checklist = deployguide("checklist", "staging", "--format", "github", cwd=hworld.deploy)
    expect(checklist, 0, within=SPHINX)
    for text in (data["pr_body"], data["message"], checklist.out):
        assert "Add a network policy" in text and "mybinder.org-deploy" in text
        assert not CLOSES.search(text), CLOSES.search(text)
        assert not BARE_REF.search(text), BARE_REF.search(text)
    if origin:
        assert "Add a network policy (jupyterhub/binderhub#1833)" in data["pr_body"]
        assert "Add a network policy (jupyterhub/binderhub#1833)" in data["message"]
        assert "](https://github.com/jupyterhub/binderhub/pull/1833)" in checklist.out


# --- secrets ---------------------------------------------------------------------------------------


def test_a_query_string_token_never_reaches_an_output_or_a_cache_name(hworld):
    with IndexServer(Path(hworld.index).read_bytes()) as server:
        url = f"{server.url}?access_token=s3cr3t-t0ken&x=1"
        set_model(hworld, 'index = "../helm-chart/index.yaml"', f'index = "{url}"')
        set_model(
            hworld,
            'dir = ".deployguide-cache"',
            'dir = ".deployguide-cache"\n\n[network]\nretries = 0',
        )
        ok = deployguide("facts", "--json", cwd=hworld.deploy)
        down = server.url
    expect(ok, 0)
    shown = url.replace("s3cr3t-t0ken", "***")
    assert json.loads(ok.out)["facts"]["charts.binderhub.published"]["source"] == shown
    cache = Path(hworld.deploy) / ".deployguide-cache"
    assert cache_path(cache, shown).is_file()
    for path in cache.rglob("*"):
        assert "s3cr3t" not in path.name
        assert not path.is_file() or b"s3cr3t" not in path.read_bytes()
    failed = deployguide("facts", "--refresh", cwd=hworld.deploy)  # the server is gone now
    expect(failed, 0, "stale")
    assert down in failed.text.replace("?access_token=***&x=1", "") and "s3cr3t" not in failed.text


def test_a_password_with_a_raw_at_sign_is_hidden_whole(hworld):
    with IndexServer(Path(hworld.index).read_bytes()) as server:
        url = server.url.replace("http://", "http://deploy:p@ss@w0rd@")
        set_model(hworld, 'index = "../helm-chart/index.yaml"', f'index = "{url}"')
        set_model(
            hworld,
            'dir = ".deployguide-cache"',
            'dir = ".deployguide-cache"\n\n[network]\nretries = 0',
        )
    result = deployguide("facts", cwd=hworld.deploy)  # the server is stopped: an error
    expect(result, 2, server.url.replace("http://", "http://***@"))
    assert "p@ss" not in result.text and "w0rd" not in result.text and "ss@" not in result.text


def test_an_unreadable_pin_file_is_a_warning_and_the_other_facts_stand(hworld):
    chart = Path(hworld.deploy) / "mybinder" / "Chart.yaml"
    chart.write_bytes(chart.read_bytes().replace(b"name: mybinder", b"name: myb\xefnder"))
    result = deployguide("facts", cwd=hworld.deploy)
    expect(result, 0, f"warning: {chart}:2: dependencies[name=binderhub].version: not UTF-8 text")
    table, unavailable = result.out.split("not computed (the reason):", 1)
    assert hworld.current_version in table and "charts.binderhub.pinned" not in table
    assert "charts.binderhub.pinned " in unavailable and "not UTF-8 text" in unavailable
