"""``deployguide bump`` on the demo world: real git repos, a real index file or HTTP server."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sphinx_deployguide import pinedit
from sphinx_deployguide.bump.plan import Pin, Target, resolve_target
from sphinx_deployguide.bump.text import (
    BumpEvidence,
    ChecklistSection,
    commit_message,
    compare_url,
    describe_commit,
    pr_body,
)
from sphinx_deployguide.bump.waiting import (
    MAX_POLL,
    MIN_REMOTE_POLL,
    WaitReport,
    default_timeout,
    is_local_or_loopback,
    next_pause,
    not_published_message,
    poll_bounds,
    poll_plan,
    wait_for_publication,
)
from sphinx_deployguide.chartindex import IndexEntry, IndexSnapshot
from sphinx_deployguide.chartresolve import resolve_chart
from sphinx_deployguide.chartversion import ChartVersion
from sphinx_deployguide.cli import main
from sphinx_deployguide.cli.bump import Progress
from sphinx_deployguide.config import ChartSpec, PinSpec, load_model
from sphinx_deployguide.errors import DeployGuideError
from sphinx_deployguide.git import GitRepo
from sphinx_deployguide.keypath import parse_key_path
from sphinx_deployguide.links import github_repo
from sphinx_deployguide.verdict import Verdict
from tests.indexserver import Fault, make_index_yaml

PIN = "mybinder/Chart.yaml"
ROOTS = Path(__file__).parent / "roots"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def bump(world, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(world.model), "bump", "binderhub", *args])
    out, err = capsys.readouterr()
    return code, out, err


def pin_bytes(world) -> bytes:
    return (world.deploy / PIN).read_bytes()


def short(world, version) -> str:
    """The short SHA written in a demo version (``...h<sha>``)."""
    return version.rsplit(".h", 1)[1]


def older_than_pin(world) -> str:
    names = [v.version for v in world.versions]
    return names[names.index(world.pinned_version) - 2]


def by_version(world, version):
    return next(v for v in world.versions if v.version == version)


def write_index(world, versions) -> None:
    world.index.write_bytes(
        make_index_yaml({"binderhub": [(v.version, v.created_text) for v in versions]})
    )


def serve_model(world, url: str) -> None:
    text = world.model.read_text()
    old = 'index = "../helm-chart/index.yaml"'
    assert old in text
    world.model.write_text(text.replace(old, f'index = "{url}"'))


# --------------------------------------------------------------------------- bumping


def test_bump_to_current_changes_only_the_version(world, capsys) -> None:
    before = pin_bytes(world)
    assert world.pinned_version != world.current_version
    code, out, err = bump(world, capsys, "--no-checklist")
    assert code == 0, err
    expected = before.replace(
        f'"{world.pinned_version}"'.encode(), f'"{world.current_version}"'.encode()
    )
    assert expected != before
    assert pin_bytes(world) == expected
    assert f"changed {world.pinned_version} -> {world.current_version}" in out
    assert git(world.deploy, "status", "--porcelain") == f"M {PIN}"
    assert git(world.deploy, "rev-parse", "HEAD") == list(world.deploy_commits.values())[-1]


MYBINDER_STYLE = """\
# mybinder.org-deploy's mybinder/Chart.yaml (abridged)\r
apiVersion: v2\r
name: mybinder\r
version: 0.0.1-set.by.chartpress\r
dependencies:\r
  # Get the latest version from https://jupyterhub.github.io/helm-chart/#development-releases-binderhub\r
  - name: binderhub\r
    version: "{pin}"   # bumped by deployguide\r
    repository: https://jupyterhub.github.io/helm-chart\r
\r
  # https://github.com/kubernetes/ingress-nginx/releases\r
  - name: ingress-nginx\r
    version: '4.11.3'\r
    repository: https://kubernetes.github.io/ingress-nginx\r
  - {{name: prometheus, version: 25.27.0, repository: "https://prometheus-community.github.io/helm-charts"}}\r
# no newline at the end"""


def test_real_mybinder_layout_round_trips(world, capsys) -> None:
    text = MYBINDER_STYLE.format(pin=world.pinned_version)
    (world.deploy / PIN).write_bytes(text.encode())
    git(world.deploy, "commit", "-q", "-m", "mybinder layout", "--", PIN)
    code, _, err = bump(world, capsys, "--commit", "--no-checklist")
    assert code == 0, err
    expected = MYBINDER_STYLE.format(pin=world.current_version).encode()
    assert pin_bytes(world) == expected
    committed = subprocess.run(
        ["git", "-C", str(world.deploy), "show", f"HEAD:{PIN}"], check=True, capture_output=True
    ).stdout
    assert committed == expected


def test_dry_run_writes_nothing(world, capsys) -> None:
    before = pin_bytes(world)
    mtime = (world.deploy / PIN).stat().st_mtime_ns
    head = git(world.deploy, "rev-parse", "HEAD")
    code, out, err = bump(world, capsys, "--dry-run", "--commit", "--no-checklist")
    assert code == 0, err
    assert pin_bytes(world) == before
    assert (world.deploy / PIN).stat().st_mtime_ns == mtime
    assert git(world.deploy, "rev-parse", "HEAD") == head
    assert git(world.deploy, "branch", "--format=%(refname:short)") == "main"
    assert git(world.deploy, "status", "--porcelain") == ""
    assert "would change" in out and "dry run: nothing written" in out
    assert f"binderhub: {short(world, world.pinned_version)}..." in out


def test_commit_makes_one_commit_with_the_generated_message(world, capsys) -> None:
    # something else staged must stay staged, not committed
    (world.deploy / "README.md").write_text("changed\n")
    git(world.deploy, "add", "README.md")
    start = git(world.deploy, "rev-parse", "HEAD")
    code, out, err = bump(world, capsys, "--commit", "--no-checklist")
    assert code == 0, err
    old, new = short(world, world.pinned_version), short(world, world.current_version)
    branch = f"bump/binderhub-{new}"
    assert git(world.deploy, "rev-parse", "--abbrev-ref", "HEAD") == branch
    assert git(world.deploy, "rev-list", "--count", f"{start}..HEAD") == "1"
    assert git(world.deploy, "show", "--format=", "--name-only", "HEAD") == PIN
    assert "1 file changed, 1 insertion(+), 1 deletion(-)" in git(
        world.deploy, "show", "--stat", "--format=", "HEAD"
    )
    assert git(world.deploy, "diff", "--cached", "--name-only") == "README.md"
    title = git(world.deploy, "log", "-1", "--format=%s")
    assert title == f"binderhub: {old}...{new}"
    body = git(world.deploy, "log", "-1", "--format=%b")
    # every version published between the two pins names a chart commit in the body
    names = [v.version for v in world.versions]
    between = world.versions[names.index(world.pinned_version) + 1 :]
    assert between
    for version in between:
        assert git(world.source, "rev-parse", "--short", version.commit) in body
    assert f"git log --oneline {old}..{new} -- " in body
    # the PR whose merge landed the current chart commit: the source is no GitHub repo, so
    # "#21" cannot be qualified and is kept from naming the deploy repo's own PR 21
    assert "(#\u200b21)" in body
    published = by_version(world, world.current_version).created
    assert f"Published: {published.strftime('%Y-%m-%dT%H:%M:%SZ')}" in body
    assert "compare" not in body.lower()  # a local source has no compare URL
    who = git(world.deploy, "log", "-1", "--format=%an <%ae>|%cn <%ce>")
    assert who == "Rita Reviewer <rita@deploy.invalid>|Rita Reviewer <rita@deploy.invalid>"
    assert f"committed {git(world.deploy, 'rev-parse', 'HEAD')[:12]} on branch {branch}" in out
    assert git(world.deploy, "status", "--porcelain", "--", PIN) == ""
    assert git(world.deploy, "branch", "-r") == ""  # nothing pushed (no remote at all)


def test_an_unknown_env_refuses_before_anything_is_written(world, capsys) -> None:
    before = pin_bytes(world)
    head = git(world.deploy, "rev-parse", "HEAD")
    code, out, err = bump(world, capsys, "--commit", "--env", "nosuch")
    assert code == 2, out + err
    assert "--env: no environment 'nosuch' in the model (environments: staging, prod)" in err
    assert pin_bytes(world) == before
    assert git(world.deploy, "rev-parse", "HEAD") == head
    assert git(world.deploy, "branch", "--format=%(refname:short)") == "main"
    assert git(world.deploy, "status", "--porcelain") == ""


def test_commit_reuses_its_branch(world, capsys) -> None:
    code, _, err = bump(world, capsys, "--commit", "--branch", "bump/mine", "--no-checklist")
    assert code == 0, err
    tip = git(world.deploy, "rev-parse", "bump/mine")
    git(world.deploy, "switch", "-q", "main")
    before = pin_bytes(world)
    code, out, _ = bump(world, capsys, "--commit", "--branch", "bump/mine", "--no-checklist")
    assert code == 0
    assert "already up to date" in out and "on branch bump/mine" in out
    assert git(world.deploy, "rev-parse", "bump/mine") == tip
    assert git(world.deploy, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert pin_bytes(world) == before


def test_invalid_branch_name(world, capsys) -> None:
    before = pin_bytes(world)
    code, _, err = bump(world, capsys, "--commit", "--branch", "bad..name", "--no-checklist")
    assert code == 2 and "not a valid branch name" in err
    assert pin_bytes(world) == before


def test_downgrade_allowed_explicitly(world, capsys) -> None:
    older = older_than_pin(world)
    code, out, err = bump(world, capsys, "--to", older, "--allow-downgrade", "--no-checklist")
    assert code == 0, err
    assert f'"{older}"'.encode() in pin_bytes(world)
    assert "downgrade" in out


def test_a_downgrade_lists_the_chart_commits_it_rolls_back(world, capsys) -> None:
    """A rollback's message says what it takes away (it used to say "(none)")."""
    older = older_than_pin(world)
    code, _, err = bump(
        world, capsys, "--to", older, "--allow-downgrade", "--commit", "--no-checklist"
    )
    assert code == 0, err
    names = [v.version for v in world.versions]
    taken_away = world.versions[names.index(older) + 1 : names.index(world.pinned_version) + 1]
    assert len(taken_away) == 2
    body = git(world.deploy, "log", "-1", "--format=%b")
    section = body.split("Chart commits rolled back (git log --oneline ", 1)[1].split("\n\n")[0]
    header, *listed = section.splitlines()
    span, paths = header.removesuffix("):").split(" -- ")
    assert span.startswith(short(world, older) + "..")
    # git itself, on the range and paths the message names: the same commits, oldest first
    expected = git(world.source, "log", "--reverse", "--format=%h", span, "--", *paths.split())
    expected = expected.split()
    assert [line.split()[0] for line in listed] == expected
    for version in taken_away:  # every version the rollback removes names one of them
        assert any(version.commit.startswith(line.split()[0]) for line in listed), version
    git(world.deploy, "checkout", "-q", "main")
    code, out, err = bump(world, capsys, "--to", older, "--allow-downgrade", "--json")
    assert code == 0, err
    assert [c["sha"] for c in json.loads(out)["rolled_back"]] == expected


# --------------------------------------------------------------------------- refusals


def test_refuses_a_dirty_pin_file(world, capsys) -> None:
    dirty = pin_bytes(world) + b"# local edit\n"
    (world.deploy / PIN).write_bytes(dirty)
    code, _, err = bump(world, capsys, "--commit", "--no-checklist")
    assert code == 1
    assert "uncommitted changes" in err and PIN in err
    assert pin_bytes(world) == dirty
    assert git(world.deploy, "branch", "--format=%(refname:short)") == "main"


def test_refuses_a_downgrade(world, capsys) -> None:
    before = pin_bytes(world)
    older = older_than_pin(world)  # older than the pin
    code, _, err = bump(world, capsys, "--to", older, "--commit", "--no-checklist")
    assert code == 1
    assert "refusing a downgrade" in err and older in err
    assert pin_bytes(world) == before
    assert git(world.deploy, "branch", "--format=%(refname:short)") == "main"


def test_equal_is_already_up_to_date(world, capsys) -> None:
    code, _, _ = bump(world, capsys, "--no-checklist")
    assert code == 0
    after = pin_bytes(world)
    mtime = (world.deploy / PIN).stat().st_mtime_ns
    code, out, _ = bump(world, capsys, "--no-checklist")
    assert code == 0
    assert f"already up to date ({world.current_version}" in out
    assert pin_bytes(world) == after
    assert (world.deploy / PIN).stat().st_mtime_ns == mtime


def test_refuses_a_merge_sha_that_is_not_a_chart_commit(world, capsys) -> None:
    """The 2018 incident: the merge commit's SHA was pinned; its version never existed."""
    before = pin_bytes(world)
    merge_short = git(world.source, "rev-parse", "--short", world.merge_commit)
    pr_short = git(world.source, "rev-parse", "--short", world.pr_commit)
    current = world.current_version
    assert current.endswith(f".h{pr_short}")
    wrong = current.rsplit(".h", 1)[0] + f".h{merge_short}"
    code, _, err = bump(world, capsys, "--to", wrong, "--no-checklist")
    assert code == 1
    assert (
        f"{merge_short} (a merge commit) is a commit of ../binderhub but not a chart commit" in err
    )
    assert f"published as {current}" in err  # names the right version
    assert pin_bytes(world) == before


def test_a_pin_to_the_merge_sha_is_fixed_not_called_a_downgrade(world, capsys) -> None:
    """The 2018 remedy (#256): the wrong pin names the TREESAME merge, a descendant of the
    chart commit; by history the right version is the same chart, so the bump goes ahead."""
    merge_short = git(world.source, "rev-parse", "--short", world.merge_commit)
    wrong = world.current_version.rsplit(".h", 1)[0] + f".h{merge_short}"
    text = pin_bytes(world).replace(world.pinned_version.encode(), wrong.encode())
    (world.deploy / PIN).write_bytes(text)
    git(world.deploy, "commit", "-q", "-m", "the incident's pin", "--", PIN)
    code, out, err = bump(world, capsys, "--commit", "--no-checklist")
    assert code == 0, err
    assert pin_bytes(world) == text.replace(wrong.encode(), world.current_version.encode())
    assert f"{merge_short}, which is not a chart commit" in out
    assert "> [!WARNING]" in out  # and the PR body says so


def test_refuses_a_pin_of_unknown_order(world, capsys) -> None:
    text = pin_bytes(world).replace(world.pinned_version.encode(), b"nightly")
    (world.deploy / PIN).write_bytes(text)
    code, _, err = bump(world, capsys, "--no-checklist")
    assert code == 1 and "cannot tell whether" in err
    assert "nightly is not in" in err and "is not a chart version of any format" in err
    assert pin_bytes(world) == text
    code, _, err = bump(world, capsys, "--allow-downgrade", "--no-checklist")
    assert code == 0, err
    assert pin_bytes(world) == text.replace(b"nightly", world.current_version.encode())


def test_refuses_a_version_chartpress_would_not_make(world, capsys) -> None:
    before = pin_bytes(world)
    base, sha = world.current_version.rsplit(".h", 1)
    n = int(base.rsplit(".", 1)[1])
    wrong = f"{base.rsplit('.', 1)[0]}.{n + 1}.h{sha}"
    code, _, err = bump(world, capsys, "--to", wrong, "--no-checklist")
    assert code == 1
    assert world.current_version in err
    assert pin_bytes(world) == before


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("not-a-version", "is not a chart version"),
        ("1.0.0-0.dev.git.5.hdeadbee", "names commit deadbee, which the local copy"),
    ],
)
def test_bad_to_is_bad_input(world, capsys, to: str, expected: str) -> None:
    before = pin_bytes(world)
    code, _, err = bump(world, capsys, "--to", to, "--no-checklist")
    assert code == 2
    assert expected in err and "--to" in err
    assert pin_bytes(world) == before


def test_unknown_chart_is_bad_input(world, capsys) -> None:
    code = main(["--config", str(world.model), "bump", "jupyterhub"])
    _, err = capsys.readouterr()
    assert code == 2 and "no chart 'jupyterhub'" in err and "binderhub" in err


def test_unpublished_stops_with_3_and_says_when(world, capsys) -> None:
    write_index(world, world.versions[:-1])  # the current version is not published yet
    before = pin_bytes(world)
    code, _, err = bump(world, capsys, "--commit", "--no-checklist")
    assert code == 3
    assert f"{world.current_version} is not installable from the chart index" in err
    assert "overdue: " in err and "the publish job may have failed" in err  # landed in 2024
    landed_at = by_version(world, world.current_version).landed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"landed on main at {landed_at}; expected within " in err
    assert "(p90 publish delay over " in err
    assert "--wait" in err
    assert pin_bytes(world) == before
    assert git(world.deploy, "branch", "--format=%(refname:short)") == "main"


def test_a_subject_with_a_line_break_of_its_own_forges_no_line_in_the_message(
    world, capsys
) -> None:
    """Upstream subjects holding a carriage return or U+2028 stay one chart commit each: the
    commit message lists no made-up commit (no "- [x] ..." line of its own)."""
    values = world.source / "helm-chart" / "binderhub" / "values.yaml"
    for i, subject in enumerate(
        ["Tune\r- [x] security review passed", "Tweak\u2028- [x] approved by the owners"]
    ):
        values.write_text(values.read_text() + f"\nextra{i}: 1\n")
        git(world.source, "commit", "-q", "-am", subject)
    code, _, err = bump(world, capsys, "--allow-unpublished", "--commit", "--no-checklist")
    assert code == 0, err
    lines = git(world.deploy, "log", "-1", "--format=%B").split("\n")
    assert not [line for line in lines if line.lstrip("- ").startswith("[x]")], lines
    for sha in git(world.source, "log", "-2", "--format=%h").split():
        assert len([line for line in lines if line.startswith(f"{sha} ")]) == 1, (sha, lines)


def test_allow_unpublished(world, capsys) -> None:
    write_index(world, world.versions[:-1])
    code, out, err = bump(world, capsys, "--allow-unpublished", "--no-checklist")
    assert code == 0, err
    assert f'"{world.current_version}"'.encode() in pin_bytes(world)
    assert "| published | **not yet**" in out


def test_failing_rename_leaves_everything_intact(world, capsys, monkeypatch) -> None:
    before = pin_bytes(world)
    head = git(world.deploy, "rev-parse", "HEAD")

    real_replace = pinedit.os.replace

    def broken_replace(src, dst):  # only the rename onto the pin file fails
        if Path(dst) == (world.deploy / PIN).resolve():
            raise OSError(5, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(pinedit.os, "replace", broken_replace)
    code, _, err = bump(world, capsys, "--commit", "--no-checklist")
    assert code == 2
    assert "cannot write the pin file (left unchanged)" in err
    assert pin_bytes(world) == before
    assert git(world.deploy, "rev-parse", "HEAD") == head
    assert git(world.deploy, "branch", "--format=%(refname:short)") == "main"
    assert sorted(p.name for p in (world.deploy / "mybinder").iterdir()) == sorted(
        git(world.deploy, "ls-files", "mybinder").replace("mybinder/", "").split()
    )


def test_a_rejected_commit_restores_file_and_branch(world, capsys) -> None:
    """A failing pre-commit hook (real git): the pin file and the branch are as before."""
    hook = world.deploy / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\necho 'pin changes need a ticket' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = pin_bytes(world)
    head = git(world.deploy, "rev-parse", "HEAD")
    code, _, err = bump(world, capsys, "--commit", "--no-checklist")
    assert code == 2
    assert "pin changes need a ticket" in err
    assert pin_bytes(world) == before
    assert git(world.deploy, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(world.deploy, "rev-parse", "HEAD") == head
    assert git(world.deploy, "branch", "--format=%(refname:short)") == "main"
    assert git(world.deploy, "status", "--porcelain") == ""


def test_to_an_intermediate_version_lists_what_stays_pending(world, capsys) -> None:
    names = [v.version for v in world.versions]
    middle = names[names.index(world.pinned_version) + 1]
    code, out, err = bump(world, capsys, "--to", middle, "--dry-run", "--no-checklist")
    assert code == 0, err
    body = out.split("---- PR body ----\n", 1)[1]
    pending = body.split("### Still pending after this bump\n", 1)[1].split("###", 1)[0]
    assert f"up to `{world.current_version}`" in pending
    current_short = git(world.source, "rev-parse", "--short", world.pr_commit)
    assert f"- `{current_short}`" in pending
    assert f"`{current_short}`" not in body.split("### Still pending", 1)[0]


# --------------------------------------------------------------------------- --wait over HTTP


def test_wait_until_the_server_publishes(world, capsys, index_server) -> None:
    index_server.set_body(
        make_index_yaml({"binderhub": [(v.version, v.created_text) for v in world.versions[:-1]]})
    )
    index_server.swap_after(
        4, make_index_yaml({"binderhub": [(v.version, v.created_text) for v in world.versions]})
    )
    serve_model(world, index_server.url)
    before = pin_bytes(world)
    code, out, err = bump(
        world, capsys, "--wait", "--timeout", "2", "--poll-interval", "0.05", "--no-checklist"
    )
    assert code == 0, err
    assert pin_bytes(world) == before.replace(
        world.pinned_version.encode(), world.current_version.encode()
    )
    waits = [line for line in err.splitlines() if line.startswith("waiting for binderhub")]
    assert len(waits) >= 2  # plain lines when not a terminal
    assert "was published at" in err
    requests = index_server.requests
    assert len(requests) >= 5
    assert any("if-none-match" in r.headers for r in requests[1:])  # conditional GETs
    assert 304 in index_server.statuses()
    assert index_server.statuses()[-1] == 200


def _on_the_index_host(versions) -> bytes:
    """An index whose archive URLs are relative (as ``helm repo index`` writes them), so
    they are on the index's own host and get probed."""
    return make_index_yaml(
        {
            "binderhub": [
                {
                    "apiVersion": "v2",
                    "created": v.created_text,
                    "name": "binderhub",
                    "urls": [f"binderhub-{v.version}.tgz"],
                    "version": v.version,
                }
                for v in versions
            ]
        }
    )


def test_wait_until_the_archive_answers_too(world, capsys, index_server) -> None:
    """Listed is not installable: bump --wait goes on until the archive answers."""
    index_server.set_body(_on_the_index_host(world.versions))
    archive = f"/binderhub-{world.current_version}.tgz"

    def upload_later(server, record) -> None:
        if server.request_count == 6:  # the CDN gets the archive a few polls late
            server.add_file(archive, b"\x1f\x8b chart")

    index_server.on_request = upload_later
    serve_model(world, index_server.url)
    code, _, err = bump(
        world, capsys, "--wait", "--timeout", "2", "--poll-interval", "0.05", "--no-checklist"
    )
    assert code == 0, err
    assert (
        f"(pending: {world.current_version} is listed in {index_server.url} but its archive" in err
    )
    assert "(listed, but its archive http://127.0.0.1:" in err and "HTTP 404 Not Found)" in err
    heads = [r for r in index_server.requests if r.method == "HEAD" and r.path == archive]
    assert len(heads) >= 3 and heads[0].status == 404 and heads[-1].status == 200
    assert f'"{world.current_version}"'.encode() in pin_bytes(world)


def test_wait_rides_out_server_errors(world, capsys, index_server) -> None:
    """503s while waiting are reported and backed off from, not fatal."""
    index_server.set_body(
        make_index_yaml({"binderhub": [(v.version, v.created_text) for v in world.versions[:-1]]})
    )

    def inject(server, record) -> None:
        if server.request_count == 1:  # after the first (facts) fetch: two failing polls
            server.fail(503, 503, 503, 503)
            server.swap_after(
                5,
                make_index_yaml(
                    {"binderhub": [(v.version, v.created_text) for v in world.versions]}
                ),
            )

    index_server.on_request = inject
    serve_model(world, index_server.url)
    code, _, err = bump(
        world, capsys, "--wait", "--timeout", "2", "--poll-interval", "0.05", "--no-checklist"
    )
    assert code == 0, err
    assert "(error: " in err
    assert index_server.statuses().count(503) == 4
    assert f'"{world.current_version}"'.encode() in pin_bytes(world)


def test_wait_stops_on_a_wrong_answer(world, capsys, index_server) -> None:
    """A 404 is not "not published yet": the wait ends at once with the error (exit 2)."""
    index_server.set_body(
        make_index_yaml({"binderhub": [(v.version, v.created_text) for v in world.versions[:-1]]})
    )
    index_server.on_request = lambda server, record: (
        server.fail(404) if server.request_count == 1 else None
    )
    serve_model(world, index_server.url)
    before = pin_bytes(world)
    code, _, err = bump(
        world, capsys, "--wait", "--timeout", "2", "--poll-interval", "0.05", "--no-checklist"
    )
    assert code == 2 and "404" in err
    assert index_server.request_count == 2
    assert pin_bytes(world) == before


def test_wait_times_out_with_3(world, capsys, index_server) -> None:
    index_server.set_body(
        make_index_yaml({"binderhub": [(v.version, v.created_text) for v in world.versions[:-1]]})
    )
    serve_model(world, index_server.url)
    before = pin_bytes(world)
    code, _, err = bump(
        world,
        capsys,
        "--wait",
        "--timeout",
        "0.02",
        "--poll-interval",
        "0.1",
        "--commit",
        "--no-checklist",
    )
    assert code == 3
    assert "after waiting" in err and world.current_version in err
    # the facts fetch, then at least one poll before giving up (how many polls fit in the
    # timeout depends on the machine's speed: wait_for_publication's own tests count them
    # on a fake clock)
    assert index_server.request_count >= 2
    assert pin_bytes(world) == before
    assert git(world.deploy, "branch", "--format=%(refname:short)") == "main"


def test_poll_interval_env_and_timeout_needs_wait(world, capsys, monkeypatch) -> None:
    code, _, err = bump(world, capsys, "--timeout", "5")
    assert code == 2 and "--timeout needs --wait" in err
    monkeypatch.setenv("DEPLOYGUIDE_POLL_INTERVAL", "fast")
    code, _, err = bump(world, capsys, "--wait")
    assert code == 2 and "DEPLOYGUIDE_POLL_INTERVAL" in err


# --------------------------------------------------------------------------- PR body, JSON


def test_pr_body_has_the_staging_checklist(world, capsys) -> None:
    code, out, err = bump(
        world, capsys, "--dry-run", "--docs", str(ROOTS / "test-deployguide-myst")
    )
    assert code == 0, err
    body = out.split("---- PR body ----\n", 1)[1]
    assert "### Deploy checklist: staging" in body
    assert f"- [ ] Pin {world.current_version} in `mybinder/Chart.yaml`" in body
    assert "### Chart commits in this bump" in body
    assert "could not be included" not in body


def test_pr_body_says_when_the_checklist_is_missing(world, capsys, tmp_path) -> None:
    code, out, err = bump(world, capsys, "--dry-run", "--docs", str(tmp_path / "nodocs"))
    assert code == 0, err
    assert "**The checklist could not be included:**" in out
    assert "no conf.py" in out
    assert "warning: the PR body has no checklist" in err


def test_json_output(world, capsys) -> None:
    code, out, _ = bump(world, capsys, "--dry-run", "--json", "--no-checklist")
    assert code == 0
    doc = json.loads(out)
    assert doc["status"] == "dry-run" and doc["exit_code"] == 0
    assert (doc["from"], doc["to"]) == (world.pinned_version, world.current_version)
    assert doc["pin"] == {"file": PIN, "key": "dependencies[name=binderhub].version", "line": 8}
    assert doc["message"].startswith("binderhub: ")
    assert doc["pr_body"].startswith("## Bump `binderhub`")
    assert doc["commits"] and all(set(c) == {"sha", "subject"} for c in doc["commits"])


def test_json_refusal(world, capsys) -> None:
    code, out, _ = bump(world, capsys, "--to", older_than_pin(world), "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["status"] == "refused" and doc["reason"] == "downgrade" and doc["exit_code"] == 1


def test_help_documents_exit_codes(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["bump", "--help"])
    out = capsys.readouterr().out
    for code in ("0  bumped", "1  refused", "2  bad input", "3  the target is not installable yet"):
        assert code in out
    assert "--poll-interval" not in out


# --------------------------------------------------------------------------- pure parts


def test_github_compare_url() -> None:
    for source in (
        "https://github.com/jupyterhub/binderhub",
        "https://github.com/jupyterhub/binderhub.git",
        "git@github.com:jupyterhub/binderhub.git",
    ):
        assert github_repo(source) == ("jupyterhub", "binderhub")
        assert compare_url(source, "d2a8262", "441f5ea") == (
            "https://github.com/jupyterhub/binderhub/compare/d2a8262...441f5ea"
        )
    assert compare_url("https://gitlab.com/a/b", "1", "2") is None
    assert compare_url("../binderhub", "1", "2") is None


def test_describe_commit_names_prs() -> None:
    gh = ("jupyterhub", "binderhub")
    assert describe_commit("Merge pull request #395 from minrk/x", gh, "\nFix the thing\n") == (
        "jupyterhub/binderhub#395 Fix the thing (merge from minrk/x)"
    )
    assert describe_commit("Merge pull request #395 from minrk/x", None) == (
        "#395 (merge from minrk/x)"
    )
    assert describe_commit("Fix it (#12)", gh) == "Fix it (jupyterhub/binderhub#12)"
    assert describe_commit("Fix it", None, via="Merge pull request #7 from a/b") == "Fix it (#7)"
    assert describe_commit("Fix it", None, via="Merge branch 'x'") == "Fix it"


def test_poll_interval_is_never_below_10s_for_a_remote_index() -> None:
    remote = "https://jupyterhub.github.io/helm-chart/index.yaml"
    interval, note = poll_plan(1, remote)
    assert interval == MIN_REMOTE_POLL and note and "remote" in note
    assert poll_plan(None, remote) == (MIN_REMOTE_POLL, None)
    assert poll_plan(0.05, "http://127.0.0.1:8000/index.yaml") == (0.05, None)
    assert poll_plan(0.05, "../helm-chart/index.yaml") == (0.05, None)
    assert is_local_or_loopback("http://[::1]:80/i.yaml") and is_local_or_loopback("file:///x")
    assert not is_local_or_loopback("http://10.0.0.1/i.yaml")
    assert default_timeout(None) == 30 * 60
    assert default_timeout(60 * 60) == 70 * 60


def _schedule(
    interval: float, index: str, failures: list[bool], remaining: float = 1e9
) -> list[float]:
    """The sleeps after each poll, from the pure schedule (``failures[i]``: poll i+1 failed)."""
    floor, cap = poll_bounds(interval, index)
    pause, sleeps = floor, []
    for polls, failed in enumerate(failures, start=1):
        pause, sleep = next_pause(
            pause, floor=floor, cap=cap, polls=polls, failed=failed, remaining=remaining
        )
        sleeps.append(sleep)
    return sleeps


def test_remote_poll_schedule_never_drops_below_10s_and_backs_off() -> None:
    remote = "https://jupyterhub.github.io/helm-chart/index.yaml"
    # whatever interval is asked for, a remote index gets the floor (even if a caller skipped
    # poll_plan), and backoff stops at MAX_POLL
    for asked in (0.05, 1, 9.99, MIN_REMOTE_POLL):
        assert poll_bounds(asked, remote) == (MIN_REMOTE_POLL, MAX_POLL)
    assert poll_bounds(90, remote) == (90, 90)
    quiet = _schedule(1, remote, [False] * 12)
    assert min(quiet) >= MIN_REMOTE_POLL and max(quiet) == MAX_POLL
    assert quiet[0] == MIN_REMOTE_POLL and quiet[1] == pytest.approx(1.5 * MIN_REMOTE_POLL)
    assert quiet == sorted(quiet) and quiet[-1] == quiet[-2] == MAX_POLL
    # an error doubles the pause instead of growing it by half
    failing = _schedule(1, remote, [False, True, False])
    assert failing[1] == pytest.approx(2 * failing[0]) and failing[2] == pytest.approx(
        1.5 * failing[1]
    )
    # near the timeout the sleep is cut to the time left, but never below the floor
    assert _schedule(1, remote, [False] * 3, remaining=2.5) == [MIN_REMOTE_POLL] * 3
    assert _schedule(1, remote, [False] * 3, remaining=12.0) == [MIN_REMOTE_POLL, 12.0, 12.0]


def test_loopback_and_local_poll_schedules_may_be_fast() -> None:
    for index in (
        "http://127.0.0.1:8000/index.yaml",
        "http://localhost/i.yaml",
        "../helm-chart/index.yaml",
        "file:///srv/index.yaml",
    ):
        assert poll_bounds(0.05, index) == (0.05, pytest.approx(0.2))
        sleeps = _schedule(0.05, index, [False] * 8)
        assert sleeps[0] == 0.05 and max(sleeps) == pytest.approx(0.2)
        assert sleeps == sorted(sleeps)
    with pytest.raises(DeployGuideError, match="must be positive"):
        poll_bounds(0, "http://127.0.0.1/i.yaml")


class FakeClock:
    """Time for ``wait_for_publication`` that passes only when it sleeps (no real waiting)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _served(world, index_server, versions):
    index_server.set_body(
        make_index_yaml({"binderhub": [(v.version, v.created_text) for v in versions]})
    )
    serve_model(world, index_server.url)
    model = load_model(world.model)
    return model, model.charts["binderhub"]


def test_wait_loop_polls_the_real_server_until_published(world, index_server) -> None:
    model, spec = _served(world, index_server, world.versions[:-1])
    index_server.swap_after(
        3, make_index_yaml({"binderhub": [(v.version, v.created_text) for v in world.versions]})
    )
    clock, reports = FakeClock(), []
    entry, snapshot, elapsed = wait_for_publication(
        spec,
        model,
        world.current_version,
        timeout=600,
        interval=0.05,
        landed=None,
        report=reports.append,
        sleep=clock.sleep,
        clock=clock,
    )
    assert entry is not None and entry.version == world.current_version
    assert snapshot is not None and snapshot.status == "live"
    # one GET per poll, conditional after the first; published on the 4th
    assert index_server.statuses() == [200, 304, 304, 200]
    assert all("if-none-match" in r.headers for r in index_server.requests[1:])
    assert [r.polls for r in reports] == [1, 2, 3]
    assert clock.sleeps == pytest.approx([0.05, 0.075, 0.1125])
    assert [r.next_in for r in reports] == clock.sleeps
    assert elapsed == pytest.approx(sum(clock.sleeps))


def test_wait_loop_backs_off_after_an_error_and_times_out(world, index_server) -> None:
    model, spec = _served(world, index_server, world.versions[:-1])
    quick_503 = Fault(status=503, headers={"Retry-After": "0"})

    def inject(server, record) -> None:
        if server.request_count == 1:  # poll 2 fails: its attempt and its one retry
            server.fail(quick_503, quick_503)

    index_server.on_request = inject
    clock, reports = FakeClock(), []
    entry, snapshot, elapsed = wait_for_publication(
        spec,
        model,
        world.current_version,
        timeout=1.0,
        interval=0.05,
        landed=None,
        report=reports.append,
        sleep=clock.sleep,
        clock=clock,
    )
    assert entry is None and snapshot is not None
    polls = len(reports) + 1  # the last poll reports nothing: time is up
    assert index_server.request_count == polls + 1  # + the retry of the failed poll
    assert index_server.statuses()[:3] == [200, 503, 503]
    assert reports[1].status.startswith("error: ") and "503" in reports[1].status
    assert not reports[0].status.startswith("error") and not reports[2].status.startswith("error")
    # doubled after the error, then 1.5x, capped at 4x the interval
    assert clock.sleeps[:3] == pytest.approx([0.05, 0.1, 0.15])
    assert min(clock.sleeps) >= 0.05 and max(clock.sleeps) == pytest.approx(0.2)
    # it gave up only once the timeout had passed, not earlier
    assert sum(clock.sleeps[:-1]) < 1.0 <= sum(clock.sleeps) == pytest.approx(elapsed)


SECRET_SOURCE = "https://ci-bot:s3cret@github.com/jupyterhub/binderhub.git"
SECRET_INDEX = "https://ci-bot:s3cret@charts.example.org/helm-chart/index.yaml"


def test_messages_never_show_credentials_of_the_source_or_index() -> None:
    key = "dependencies[name=binderhub].version"
    spec = ChartSpec(
        "binderhub",
        SECRET_SOURCE,
        "main",
        "helm-chart/chartpress.yaml",
        SECRET_INDEX,
        PinSpec(PIN, key, parse_key_path(key)),
    )
    old_full, new_full = "d2a8262" + "1" * 33, "441f5ea" + "2" * 33
    pin = Pin(
        "1.0.0-0.dev.git.3.hd2a8262", 8, "d2a8262", old_full, old_full, "1.0.0-0.dev.git.3.hd2a8262"
    )
    target = Target("1.0.0-0.dev.git.12.h441f5ea", "441f5ea", new_full, ("helm-chart",))
    current = ChartVersion(target.version, target.short, target.full, target.paths, n=12)
    published = IndexEntry(target.version, datetime(2024, 8, 8, 18, 5, tzinfo=timezone.utc), None)
    commits = [("441f5ea", "Fix the thing (#12)")]
    url = compare_url(spec.source, pin.short, target.short)
    assert url == "https://github.com/jupyterhub/binderhub/compare/d2a8262...441f5ea"
    outputs = [url, poll_plan(1, spec.index)[1]]
    for entry in (published, None):
        # the index source as given (unredacted): the builders must not rely on callers
        evidence = BumpEvidence(
            chart="binderhub",
            branch=spec.branch,
            pin_spec=spec.pin,
            pin=pin,
            target=target,
            commits=commits,
            pending=[],
            published=entry,
            index_source=spec.index,
            compare_url=url,
            landed=None,
            current=current,
        )
        outputs.append(commit_message(evidence))
        outputs.append(pr_body(evidence, ChecklistSection(skipped=True)))
    snapshot = IndexSnapshot(
        spec.index,
        None,
        datetime(2024, 8, 8, tzinfo=timezone.utc),
        "stale",
        {},
        error=f"cannot fetch {spec.index}: refused",
    )
    verdict = Verdict(
        "binderhub",
        target.version,
        "version",
        "overdue",
        f"{target.version} is not in {spec.index}",  # unredacted: the message must redact
        None,
        datetime(2024, 8, 9, tzinfo=timezone.utc),
    )
    outputs.append(not_published_message("binderhub", target.version, verdict, snapshot, None))
    for text in outputs:
        assert text and "s3cret" not in text, text
    # the redacted outputs still say where things are
    assert all("charts.example.org/helm-chart/index.yaml" in text for text in outputs[2:])
    assert all(url in text for text in outputs[2:6])


def test_target_errors_name_the_redacted_source(world) -> None:
    model = load_model(world.model)
    spec = model.charts["binderhub"]
    state = resolve_chart(model, spec, refresh=False, offline=model.offline)
    secret = dataclasses.replace(spec, source=SECRET_SOURCE)
    state.spec, state.repo = secret, GitRepo(state.repo.path, source=SECRET_SOURCE)
    with pytest.raises(DeployGuideError, match="names commit deadbee, which") as info:
        resolve_target(state, "1.0.0-0.dev.git.5.hdeadbee")
    assert "s3cret" not in str(info.value) and "github.com/jupyterhub/binderhub" in str(info.value)


def test_progress_rewrites_one_line_on_a_terminal() -> None:
    report = WaitReport(3, 75.0, 10.0, "live", 200.0, "binderhub 1.2.3", 400.0, 1800.0)
    tty = io.StringIO()
    progress = Progress(tty, tty=True)
    progress(report)
    progress(report)
    progress.done("published")
    text = tty.getvalue()
    assert text.count("\r\x1b[K") == 3 and text.count("\n") == 1
    assert "landed 3.3 min ago (usually published after 6.7 min, p95 30 min)" in text
    plain = io.StringIO()
    Progress(plain, tty=False)(report)
    assert "\r" not in plain.getvalue() and plain.getvalue().endswith("\n")
