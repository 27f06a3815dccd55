"""Matrix deploy jobs (``sphinx_deployguide.workflow``): members from ``strategy.matrix`` as
GitHub expands it, step names as GitHub shows them per member, and the defaults a job uses
for a key some members lack. Expected values come from GitHub's documented examples and
from the YAML itself, never from the code under test."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sphinx_deployguide.workflow import (
    WorkflowError,
    job_matrix,
    matrix_combinations,
    normalize,
    read_job,
)

# mybinder.org-deploy's cd.yml, trimmed to what matters here (2026-08 layout).
MYBINDER_CD = """\
jobs:
  staging-deploy:
    strategy:
      matrix:
        include:
          - federation_member: staging
            helm_version: ""
    steps:
      - name: "Stage 3: Run chartpress to build/push images and updates values.yaml"
        run: chartpress --push ${{ matrix.chartpress_args }}
      - name: "Stage 4: Deploy to staging"
        run: python ./deploy.py ${{ matrix.federation_member }}
      - name: "Stage 4: Verify staging works"
        uses: nick-invision/retry@v3
      - run: echo an unnamed step
  prod-deploy:
    needs: staging-deploy
    continue-on-error: ${{ matrix.experimental }}
    strategy:
      fail-fast: false
      matrix:
        include:
          - federation_member: prod
          - federation_member: hetzner-2i2c
            cluster_name: hetzner-2i2c-bare
          - federation_member: hetzner-gesis
            release_name: gesis
          - federation_member: bids-ovh
            experimental: true
    steps:
      - name: "Stage 3: Run chartpress to update values.yaml"
        run: chartpress ${{ matrix.chartpress_args || '--skip-build' }}
      - name: "Stage 4: Deploy to ${{matrix.federation_member}}"
        run: >-
          python ./deploy.py ${{ matrix.federation_member }}
          ${{ matrix.cluster_name || matrix.federation_member }}
          --name ${{ matrix.release_name || matrix.federation_member }}
      - name: "Stage 4: Verify ${{ matrix.federation_member }} works"
        uses: nick-invision/retry@v3
"""
PROD_MEMBERS = ["prod", "hetzner-2i2c", "hetzner-gesis", "bids-ovh"]


@pytest.fixture
def cd() -> dict:
    return yaml.safe_load(MYBINDER_CD)


def job(cd: dict, name: str):
    return job_matrix(cd, ".github/workflows/cd.yml", name, file="cd.yml")


# --- members -----------------------------------------------------------------------------------


def test_members_from_include_in_order(cd):
    assert job(cd, "prod-deploy").members("federation_member") == PROD_MEMBERS
    assert job(cd, "staging-deploy").members("federation_member") == ["staging"]


def test_members_from_a_plain_matrix_list():
    data = {"jobs": {"deploy": {"strategy": {"matrix": {"member": ["a", "b", "c"]}}}}}
    assert job_matrix(data, "w.yml", "deploy", file="w.yml").members("member") == ["a", "b", "c"]


def test_github_documented_include_rules():
    # The example of GitHub's docs ("Expanding or adding matrix configurations"), with the
    # result the docs list, in that order.
    matrix = {
        "fruit": ["apple", "pear"],
        "animal": ["cat", "dog"],
        "include": [
            {"color": "green"},
            {"color": "pink", "animal": "cat"},
            {"fruit": "apple", "shape": "circle"},
            {"fruit": "banana"},
            {"fruit": "banana", "animal": "cat"},
        ],
    }
    assert matrix_combinations(matrix) == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]


def test_exclude_removes_combinations():
    matrix = {"os": ["linux", "mac"], "py": [3, 4], "exclude": [{"os": "mac", "py": 3}]}
    assert matrix_combinations(matrix) == [
        {"os": "linux", "py": 3},
        {"os": "linux", "py": 4},
        {"os": "mac", "py": 4},
    ]


@pytest.mark.parametrize(
    ("matrix", "problem"),
    [
        ("${{ fromJson(needs.setup.outputs.matrix) }}", "only runs on GitHub"),
        ({"member": "a"}, "expected a list under strategy.matrix.member"),
        ({"include": {"member": "a"}}, "list of mappings under strategy.matrix.include"),
        (["a"], "expected a mapping"),
    ],
)
def test_a_matrix_that_cannot_be_expanded_is_an_error(matrix, problem):
    data = {"jobs": {"deploy": {"strategy": {"matrix": matrix}}}}
    with pytest.raises(WorkflowError, match=problem) as info:
        job_matrix(data, "w.yml", "deploy", file="w.yml")
    assert not info.value.missing_job and info.value.jobs == ("deploy",)


def test_members_need_the_key_in_every_combination_and_no_repeats(cd):
    prod = job(cd, "prod-deploy")
    with pytest.raises(ValueError, match="combination 1 .* has no 'cluster_name'"):
        prod.members("cluster_name")
    twice = {"jobs": {"d": {"strategy": {"matrix": {"m": ["a", "a"]}}}}}
    with pytest.raises(ValueError, match="'a' appears twice"):
        job_matrix(twice, "w.yml", "d", file="w.yml").members("m")
    plain = {"jobs": {"d": {"steps": []}}}
    with pytest.raises(ValueError, match="has no strategy.matrix"):
        job_matrix(plain, "w.yml", "d", file="w.yml").members("m")


def test_a_missing_job_lists_the_jobs(cd):
    with pytest.raises(WorkflowError, match=r"job 'deploy-staging' does not exist") as info:
        job(cd, "deploy-staging")
    assert info.value.missing_job and info.value.jobs == ("staging-deploy", "prod-deploy")


# --- values and defaults --------------------------------------------------------------------------


def test_a_missing_key_takes_the_default_the_job_uses(cd):
    prod = job(cd, "prod-deploy")
    clusters = [prod.member_value(e, "cluster_name") for e in prod.entries]
    # ${{ matrix.cluster_name || matrix.federation_member }}
    assert clusters == ["prod", "hetzner-2i2c-bare", "hetzner-gesis", "bids-ovh"]
    releases = [prod.member_value(e, "release_name") for e in prod.entries]
    assert releases == ["prod", "hetzner-2i2c", "gesis", "bids-ovh"]
    # ${{ matrix.chartpress_args || '--skip-build' }}: a string default
    assert prod.member_value(prod.entries[0], "chartpress_args") == "--skip-build"
    # no default anywhere in the job: unknown, never made up
    assert prod.member_value(prod.entries[0], "binder_url") is None
    # values are rendered as GitHub renders them
    assert prod.member_value(prod.entries[3], "experimental") == "true"


def test_step_names_are_normalized_and_unnamed_steps_left_out(cd):
    prod = job(cd, "prod-deploy")
    assert prod.steps[1] == "Stage 4: Deploy to ${{ matrix.federation_member }}"
    assert normalize("${{matrix.x}}-${{  matrix.y  }}") == "${{ matrix.x }}-${{ matrix.y }}"
    assert len(job(cd, "staging-deploy").steps) == 3


def test_step_names_per_member(cd):
    prod = job(cd, "prod-deploy")
    names = [prod.names_for(e)[2] for e in prod.entries]
    assert names == [f"Stage 4: Verify {m} works" for m in PROD_MEMBERS]


@pytest.mark.parametrize(
    ("env", "name", "found"),
    [
        ("staging", "Stage 4: Verify staging works", True),
        ("staging", "Stage 4: Verify ${{ matrix.federation_member }} works", True),
        ("staging", "Stage 5: Verify staging works", False),
        ("prod", "Stage 4: Verify ${{ matrix.federation_member }} works", True),
        ("prod", "Stage 4: Verify ${{matrix.federation_member}} works", True),
        ("prod", "Stage 4: Verify hetzner-gesis works", True),
        ("prod", "Stage 4: Verify turing works", False),
        ("prod", "Stage 4: Deploy to staging", False),
        ("prod", "Stage 3: Run chartpress to update values.yaml", True),
    ],
)
def test_has_step(cd, env, name, found):
    assert job(cd, f"{env}-deploy").has_step(name) is found


def test_a_template_must_hold_for_every_member():
    # Only one member's run has a step named like this: the per-member binding is wrong.
    data = {
        "jobs": {
            "d": {
                "strategy": {"matrix": {"m": ["a", "b"]}},
                "steps": [{"name": "Deploy a"}, {"name": "Ship b"}],
            }
        }
    }
    deploy = job_matrix(data, "w.yml", "d", file="w.yml")
    assert deploy.has_step("Deploy a")
    assert not deploy.has_step("Deploy ${{ matrix.m }}")


# --- reading ----------------------------------------------------------------------------------


def test_read_job_from_a_deploy_repo(tmp_path: Path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "cd.yml").write_text(MYBINDER_CD)
    prod = read_job(tmp_path, ".github/workflows/cd.yml", "prod-deploy")
    assert prod.members("federation_member") == PROD_MEMBERS
    with pytest.raises(WorkflowError, match="does not exist in the deploy repo"):
        read_job(tmp_path, ".github/workflows/gone.yml", "prod-deploy")
    with pytest.raises(WorkflowError, match="outside the deploy repo"):
        read_job(tmp_path, "../cd.yml", "prod-deploy")
    (tmp_path / "bad.yml").write_text("jobs: [\n")
    with pytest.raises(WorkflowError, match=r"bad.yml:\d+: not valid YAML"):
        read_job(tmp_path, "bad.yml", "prod-deploy")
