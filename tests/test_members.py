"""Federation members and workflow steps in real builds of the demo deploy repo's runbook
(``deploy/docs/source``, the mybinder.org-deploy layout): the members fact, per-member
checklist steps in HTML, text, and ``deployguide checklist`` (GitHub, JSON), step bindings,
and ``deployguide lint`` failing, located and with the right fix, when the workflow moves.

Expected members, step names and defaults are read from the demo's ``cd.yml`` with PyYAML
here, not from the code under test."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from sphinx.cmd.build import build_main
from sphinx.util.console import strip_colors

from sphinx_deployguide.cli import main
from sphinx_deployguide.config import load_model
from sphinx_deployguide.factresolve import resolve_facts
from tests.driftfixtures import line_of
from tests.htmltree import parse_html

WORKFLOW = ".github/workflows/cd.yml"
DOCS = Path("docs") / "source"


def matrix(world, env: str) -> list[dict]:
    jobs = yaml.safe_load((world.deploy / WORKFLOW).read_text())["jobs"]
    return jobs[f"{env}-deploy"]["strategy"]["matrix"]["include"]


def members(world, env: str) -> list[str]:
    return [entry["federation_member"] for entry in matrix(world, env)]


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def build(world, builder: str, out: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = build_main(
        ["-W", "--keep-going", "-q", "-b", builder, str(world.deploy / DOCS), str(out)]
    )
    return code, strip_colors(capsys.readouterr().err)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


# --- the fact -----------------------------------------------------------------------------------


def test_members_fact_from_the_matrix(demo_world):
    facts = resolve_facts(load_model(demo_world.model))
    for env in ("staging", "prod"):
        fact = facts.get(f"environments.{env}.members")
        assert fact.value == members(demo_world, env)
        assert fact.provenance.source == WORKFLOW
        assert fact.provenance.ref == f"jobs.{env}-deploy.strategy.matrix"
    assert len(facts.get("environments.prod.members").value) >= 3


def test_without_members_nothing_changes(demo_copy):
    edit(
        demo_copy.model,
        'job = "staging-deploy"\nmembers = "federation_member"\n',
        'job = "staging-deploy"\n',
    )
    facts = resolve_facts(load_model(demo_copy.model))
    assert "environments.staging.members" not in facts.names()
    assert facts.get("environments.prod.members").value == members(demo_copy, "prod")


def test_members_that_cannot_be_read_are_unavailable_with_the_reason(demo_copy):
    edit(demo_copy.deploy / WORKFLOW, "  prod-deploy:\n", "  deploy-prod:\n")
    facts = resolve_facts(load_model(demo_copy.model))
    with pytest.raises(Exception, match=r"job 'prod-deploy' does not exist in .*cd.yml"):
        facts.get("environments.prod.members")


# --- per-member steps ----------------------------------------------------------------------------


def test_per_member_steps_in_html(demo_copy, capsys, tmp_path):
    code, err = build(demo_copy, "html", tmp_path / "html", capsys)
    assert code == 0, err
    doc = parse_html((tmp_path / "html" / "prod.html").read_text(encoding="utf-8"))
    (checklist,) = doc.find_all("div", "deployguide-checklist")
    steps = {
        li.attrs["data-deployguide-step"]: " ".join(li.text().split())
        for li in checklist.find_all("li", "deployguide-step")
    }
    for entry in matrix(demo_copy, "prod"):
        member = entry["federation_member"]
        deploy = steps[f"deploy-{member}"]
        assert f"Deploy to {member}: watch the step Stage 4: Deploy to {member} of" in deploy
        # cluster_name, or the default the job uses: matrix.cluster_name || matrix.federation_member
        assert f"on the cluster {entry.get('cluster_name', member)}." in deploy
        assert f"Stage 4: Verify {member} works" in steps[f"verify-{member}"]
    assert len(steps) == 3 + 2 * len(matrix(demo_copy, "prod"))
    assert "${{" not in checklist.text()
    # each copy its own HTML id, so its own saved tick
    ids = [li.attrs.get("id") for li in checklist.find_all("li", "deployguide-step")]
    assert len(set(ids)) == len(ids)


def test_per_member_steps_in_text(demo_copy, capsys, tmp_path):
    code, err = build(demo_copy, "text", tmp_path / "text", capsys)
    assert code == 0, err
    text = (tmp_path / "text" / "prod.txt").read_text(encoding="utf-8")
    boxes = re.findall(r"^\[ \] (\d+)\. (Deploy to|Verify) (\S+):", text, re.MULTILINE)
    names = members(demo_copy, "prod")
    assert [m for _, verb, m in boxes if verb == "Deploy to"] == names
    assert [m for _, verb, m in boxes if verb == "Verify"] == names
    numbers = [int(n) for n, _, _ in boxes]
    assert numbers == list(range(2, 2 + 2 * len(names)))  # numbered as separate steps


def test_checklist_github_has_one_box_per_member(demo_copy, capsys, monkeypatch):
    monkeypatch.chdir(demo_copy.deploy)  # docs/source/ is found with no --docs
    code, out, err = cli(capsys, "checklist", "prod", "--format", "github")
    assert code == 0, err
    names = members(demo_copy, "prod")
    for verb in ("Deploy to", "Verify"):
        boxes = re.findall(rf"^- \[ \] {verb} (\S+):", out, re.MULTILINE)
        assert boxes == names
    for member in names:
        # the step name as GitHub shows it in the run's log, never wrapped inside the backticks
        assert f"`Stage 4: Deploy to {member}`" in out
        assert f"`Stage 4: Verify {member} works`" in out


def test_checklist_json_has_each_member_step(demo_copy, capsys, monkeypatch):
    monkeypatch.chdir(demo_copy.deploy)
    code, out, err = cli(capsys, "checklist", "prod", "--format", "json")
    assert code == 0, err
    (checklist,) = json.loads(out)["checklists"]
    steps = checklist["steps"]
    names = members(demo_copy, "prod")
    per_member = [s for s in steps if s["member"] is not None]
    assert [s["id"] for s in per_member] == [f"deploy-{m}" for m in names] + [
        f"verify-{m}" for m in names
    ]
    assert [s["member"] for s in per_member] == names * 2
    assert [s["number"] for s in steps] == list(range(1, len(steps) + 1))
    assert all(s["member"] in s["text"] for s in per_member)


def test_a_member_added_to_the_matrix_appears_with_no_edit(demo_copy, capsys, monkeypatch):
    edit(
        demo_copy.deploy / WORKFLOW,
        "          - federation_member: bids-ovh\n",
        "          - federation_member: turing\n"
        "            binder_url: https://turing.demo.invalid\n"
        "          - federation_member: bids-ovh\n",
    )
    monkeypatch.chdir(demo_copy.deploy)
    code, out, err = cli(capsys, "checklist", "prod", "--format", "github")
    assert code == 0, err
    assert "- [ ] Deploy to turing: watch the step" in out
    assert "`Stage 4: Verify turing works`" in out
    assert "on the cluster turing." in out  # the job's default for a member without cluster_name


# --- lint: the workflow moved ----------------------------------------------------------------


def lint(world, capsys) -> tuple[int, list[str]]:
    code, out, err = cli(capsys, "lint")  # from the repo root, no arguments
    assert "could not run" not in err, err
    return code, out.splitlines()


def test_lint_from_the_repo_root_is_clean(demo_copy, capsys, monkeypatch):
    monkeypatch.chdir(demo_copy.deploy)
    code, lines = lint(demo_copy, capsys)
    assert code == 0, lines
    assert not [line for line in lines if "[claim]" in line]


def test_renamed_step_fails_lint_at_the_binding(demo_copy, capsys, monkeypatch):
    edit(
        demo_copy.deploy / WORKFLOW, '"Stage 4: Verify staging works"', '"Stage 5: Verify staging"'
    )
    monkeypatch.chdir(demo_copy.deploy)
    code, lines = lint(demo_copy, capsys)
    assert code == 1
    page = DOCS / "staging.md"
    line = line_of(demo_copy.deploy / page, "{deploy-step}`staging#Stage 4: Verify staging works`")
    (finding,) = [entry for entry in lines if "[claim]" in entry]
    assert finding.startswith(f"{page.as_posix()}:{line}: [claim] error: ")
    assert (
        "step 'Stage 4: Verify staging works' does not exist in job 'staging-deploy' of "
        f"{WORKFLOW} (closest step names: 'Stage 5: Verify staging'"
    ) in finding
    assert (
        "fix: bind the step by its name now, e.g. {deploy-step}`staging#Stage 5: Verify staging`"
        in finding
    )


def test_renamed_member_step_fails_lint(demo_copy, capsys, monkeypatch):
    edit(
        demo_copy.deploy / WORKFLOW,
        '"Stage 4: Deploy to ${{ matrix.federation_member }}"',
        '"Stage 4: Roll out ${{ matrix.federation_member }}"',
    )
    monkeypatch.chdir(demo_copy.deploy)
    code, lines = lint(demo_copy, capsys)
    assert code == 1
    page = DOCS / "prod.md"
    line = line_of(demo_copy.deploy / page, "{deploy-step}`prod#Stage 4: Deploy to")
    (finding,) = [entry for entry in lines if "[claim]" in entry]
    assert finding.startswith(f"{page.as_posix()}:{line}: [claim] error: step 'Stage 4: Deploy to ")
    assert "closest step names: 'Stage 4: Roll out ${{ matrix.federation_member }}'" in finding


def test_renamed_job_names_the_model_key_to_fix(demo_copy, capsys, monkeypatch):
    workflow = demo_copy.deploy / WORKFLOW
    edit(workflow, "  staging-deploy:\n", "  deploy-staging:\n")
    edit(workflow, "needs: staging-deploy", "needs: deploy-staging")
    monkeypatch.chdir(demo_copy.deploy)
    code, lines = lint(demo_copy, capsys)
    assert code == 1
    model_line = line_of(demo_copy.model, 'job = "staging-deploy"')
    claims = [entry for entry in lines if "[claim]" in entry]
    # every binding to the staging job: deploy-job and deploy-step, on every page
    expected = {
        (page, number)
        for page in ("index.md", "prod.md", "staging.md")
        for number, text in enumerate(
            (demo_copy.deploy / DOCS / page).read_text().splitlines(), start=1
        )
        if "{deploy-job}`staging`" in text or "{deploy-step}`staging#" in text
    }
    assert {(Path(c.split(":")[0]).name, int(c.split(":")[1])) for c in claims} == expected
    for finding in claims:
        assert "job 'staging-deploy' does not exist in .github/workflows/cd.yml" in finding
        assert (
            f"fix: set environments.staging.job in deployguide.toml:{model_line} to the id of "
            "the job that deploys it now (jobs: deploy-staging, prod-deploy)"
        ) in finding
        assert "use job 'prod-deploy'" not in finding


def test_a_member_named_in_prose_that_the_matrix_lost_fails_lint(demo_copy, capsys, monkeypatch):
    workflow = demo_copy.deploy / WORKFLOW
    text = workflow.read_text()
    start = text.index("          - federation_member: bids-ovh\n")
    end = text.index("    steps:", start)
    workflow.write_text(text[:start] + text[end:])
    monkeypatch.chdir(demo_copy.deploy)
    code, lines = lint(demo_copy, capsys)
    assert code == 1
    page = DOCS / "prod.md"
    line = line_of(demo_copy.deploy / page, "{deploy-member}`prod#bids-ovh`")
    (finding,) = [entry for entry in lines if "[claim]" in entry]
    remaining = ", ".join(m for m in members(demo_copy, "prod"))
    assert finding.startswith(
        f"{page.as_posix()}:{line}: [claim] error: 'bids-ovh' is not a member"
    )
    assert (
        f"federation_member in the matrix of job 'prod-deploy' of {WORKFLOW} is {remaining}"
        in finding
    )
    assert "{deploy-value}`environments.prod.members`" in finding


# --- misuse is located ------------------------------------------------------------------------


@pytest.fixture
def page(demo_copy):
    """Write ``extra.md`` into the demo runbook (in its toctree) and return its path."""

    def write(text: str) -> Path:
        docs = demo_copy.deploy / DOCS
        edit(docs / "index.md", "staging\nprod\n```", "staging\nprod\nextra\n```")
        (docs / "extra.md").write_text(text, encoding="utf-8")
        return docs / "extra.md"

    return write


def test_deploy_member_outside_a_checklist_step_is_a_located_warning(
    demo_copy, page, capsys, tmp_path
):
    path = page("# Extra\n\nThe cluster is {deploy-member}`cluster_name` here.\n")
    code, err = build(demo_copy, "html", tmp_path / "out", capsys)
    assert code != 0
    assert f"{path}:3: WARNING: deploy-member `cluster_name` is only meaningful inside" in err
    assert "[deployguide.checklist]" in err


def test_a_member_without_the_key_and_no_default_is_a_located_warning(
    demo_copy, page, capsys, tmp_path
):
    path = page(
        "# Extra\n\n```{deploy-checklist} prod\n:id: extra\n\n"
        "- [ ] Open {deploy-member}`binder_url` and {deploy-member}`release_name`\n```\n"
    )
    edit(demo_copy.deploy / WORKFLOW, "            binder_url: https://ovh.demo.invalid\n", "")
    assert [e["federation_member"] for e in matrix(demo_copy, "prod") if "binder_url" not in e] == [
        "bids-ovh"
    ]
    code, err = build(demo_copy, "html", tmp_path / "out", capsys)
    assert code != 0
    hits = [line for line in err.splitlines() if "has no 'binder_url'" in line]
    assert len(hits) == 1
    line = line_of(path, "{deploy-member}`binder_url`")
    assert hits[0].startswith(
        f"{path}:{line}: WARNING: member 'bids-ovh' of prod has no 'binder_url'"
    )
    assert "release_name" not in err  # it has a default in the job: matrix.release_name || ...


def test_deploy_member_in_an_environment_without_members(demo_copy, page, capsys, tmp_path):
    edit(
        demo_copy.model,
        'job = "staging-deploy"\nmembers = "federation_member"\n',
        'job = "staging-deploy"\n',
    )
    path = page(
        "# Extra\n\n```{deploy-checklist} staging\n:id: extra\n\n"
        "- [ ] Deploy {deploy-member}`federation_member`\n```\n"
    )
    code, err = build(demo_copy, "html", tmp_path / "out", capsys)
    assert code != 0
    line = line_of(path, "{deploy-member}`federation_member`")
    assert f"{path}:{line}: WARNING: deploy-member: environment 'staging' has no members" in err


@pytest.mark.parametrize(
    ("role", "message"),
    [
        ("{deploy-step}`Stage 4: Deploy to staging`", "deploy-step expects ENV#STEP NAME"),
        ("{deploy-step}`qa#Stage 4`", "deploy-step: unknown environment 'qa'"),
        ("{deploy-member}`qa#prod`", "deploy-member: unknown environment 'qa'"),
        ("{deploy-member}`two words`", "deploy-member expects a matrix key"),
    ],
)
def test_malformed_roles_are_located_warnings(demo_copy, page, capsys, tmp_path, role, message):
    path = page(f"# Extra\n\nSee {role}.\n")
    code, err = build(demo_copy, "html", tmp_path / "out", capsys)
    assert code != 0
    assert f"{path}:3: WARNING: {message}" in err
