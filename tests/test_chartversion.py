"""Chart versions on real git histories, checked against chartpress itself.

Each scenario builds a small deterministic repository (tests/gitfixtures.py) with the
shape that matters: the 2018 incident (a PR commit merged by a merge that is TREESAME on
the chart paths), merges where both sides changed the chart, docs-only commits, tags,
every ``baseVersion`` rule, images, a moved path list. The version we compute is
compared with what chartpress 2 writes into ``Chart.yaml`` for the same checkout.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sphinx_deployguide.charthistory import (
    ancestor_count,
    chart_commits_between,
    first_parent_landings,
    landing_commit,
    landing_commits,
)
from sphinx_deployguide.chartpressyaml import ChartpressError, chart_paths
from sphinx_deployguide.chartversion import (
    ChartVersion,
    check_base_version,
    compute_chart_version,
    fix_chart_version,
    format_version,
)
from sphinx_deployguide.errors import GitError
from sphinx_deployguide.git import GitRepo
from sphinx_deployguide.versionparse import parse_version, version_finder
from tests.gitfixtures import FixtureRepo, chart_files, git, isolate_git_env

CP = "helm-chart/chartpress.yaml"
VALUES = "helm-chart/binderhub/values.yaml"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch):
    isolate_git_env(monkeypatch)


def version_at(repo: FixtureRepo, rev: str = "HEAD", chartpress: str = CP, **kw) -> ChartVersion:
    return compute_chart_version(GitRepo(repo.path), rev, chartpress, "binderhub", **kw)


def expected(repo: FixtureRepo, base: str, commit: str) -> str:
    """The chartpress-2 version for ``commit``, with git's own %h and ancestor count."""
    n = int(repo.git("rev-list", "--count", commit))
    return fix_chart_version(format_version(base, n, repo.short(commit)))


# -- scenarios ------------------------------------------------------------------------------
# Each builder returns (repo, {label: sha}); the labels are the revisions worth checking.


def incident(path: Path) -> tuple[FixtureRepo, dict[str, str]]:
    """binderhub, 2018-01-04: PR #395 (441f5ea) merged by 4e3bafb, TREESAME on the chart."""
    r = FixtureRepo.init(path)
    shas = {"initial": r.commit("initial", {**chart_files(), "README.md": "0\n"})}
    shas["previous"] = r.commit("chart tweak on main", {VALUES: "replicas: 2\n"})
    r.branch("pr")
    shas["pr"] = r.commit("PR #395: chart change", {VALUES: "replicas: 3\n"})
    r.switch("main")
    shas["docs"] = r.commit("docs on main meanwhile", {"README.md": "1\n"})
    shas["merge"] = r.merge("pr", "Merge pull request #395")
    return r, shas


def both_sides(path: Path) -> tuple[FixtureRepo, dict[str, str]]:
    """Both parents changed chart files: the merge itself is the chart commit."""
    r = FixtureRepo.init(path)
    shas = {"initial": r.commit("initial", {**chart_files(), "README.md": "0\n"})}
    r.branch("pr")
    shas["pr"] = r.commit("PR: values", {VALUES: "replicas: 3\n"})
    r.switch("main")
    shas["main"] = r.commit("main: templates", {"helm-chart/binderhub/templates/a.yaml": "a: 1\n"})
    shas["merge"] = r.merge("pr", "Merge pull request #2")
    return r, shas


def docs_only(path: Path) -> tuple[FixtureRepo, dict[str, str]]:
    r = FixtureRepo.init(path)
    shas = {"initial": r.commit("initial", {**chart_files(), "README.md": "0\n"})}
    shas["chart"] = r.commit("chart", {VALUES: "replicas: 5\n"})
    shas["docs1"] = r.commit("docs 1", {"README.md": "1\n"})
    shas["docs2"] = r.commit("docs 2", {"docs/index.md": "# hi\n", "helm-chart/README.md": "x\n"})
    return r, shas


def tags(path: Path) -> tuple[FixtureRepo, dict[str, str]]:
    """Release tags on a chart commit and on a docs-only commit."""
    r = FixtureRepo.init(path)
    shas = {"initial": r.commit("initial", {**chart_files(), "README.md": "0\n"})}
    shas["c2"] = r.commit("chart 2", {VALUES: "replicas: 2\n"})
    r.tag("1.2.0")
    shas["c3"] = r.commit("chart 3", {VALUES: "replicas: 3\n"})
    shas["d4"] = r.commit("docs 4", {"README.md": "4\n"})
    r.tag("1.3.0", annotated=True)  # tagged docs-only commit: the tag's commit wins
    shas["d5"] = r.commit("docs 5", {"README.md": "5\n"})
    shas["c6"] = r.commit("chart 6", {VALUES: "replicas: 6\n"})
    return r, shas


def tags_v_and_prerelease(path: Path) -> tuple[FixtureRepo, dict[str, str]]:
    r = FixtureRepo.init(path)
    shas = {"initial": r.commit("initial", {**chart_files(), "README.md": "0\n"})}
    shas["v"] = r.commit("chart v", {VALUES: "replicas: 2\n"})
    r.tag("v2.0.0")
    shas["after_v"] = r.commit("chart after v", {VALUES: "replicas: 3\n"})
    shas["beta"] = r.commit("chart beta", {VALUES: "replicas: 4\n"})
    r.tag("2.1.0-beta.1")
    shas["after_beta"] = r.commit("chart after beta", {VALUES: "replicas: 5\n"})
    shas["release"] = r.commit("chart release-7", {VALUES: "replicas: 55\n"})
    r.tag("release-7")  # not SemVer: chartpress keeps it and only warns
    shas["after_release"] = r.commit("chart after release-7", {VALUES: "replicas: 6\n"})
    return r, shas


def abbrev10(path: Path) -> tuple[FixtureRepo, dict[str, str]]:
    r, shas = incident(path)
    r.git("config", "core.abbrev", "10")
    return r, shas


def at_root(path: Path) -> tuple[FixtureRepo, dict[str, str]]:
    """chartpress.yaml at the repository root."""
    r = FixtureRepo.init(path)
    shas = {"initial": r.commit("initial", {**chart_files(prefix=""), "README.md": "0\n"})}
    shas["chart"] = r.commit("chart", {"binderhub/values.yaml": "replicas: 2\n"})
    shas["docs"] = r.commit("docs", {"README.md": "1\n"})
    return r, shas


IMAGES = """\
images:
  hub: {}
  secret:
    contextPath: ../secret-image
    dockerfilePath: ../secret-image/docker/Dockerfile
    rebuildOnContextPathChanges: false
    paths: [../shared/lib.py]
  quirky:
    rebuildOnContextPathChanges: no
"""


def images(path: Path) -> tuple[FixtureRepo, dict[str, str]]:
    r = FixtureRepo.init(path)
    shas = {"initial": r.commit("initial", {**chart_files(extra=IMAGES), "README.md": "0\n"})}
    shas["hub_ctx"] = r.commit("hub code", {"helm-chart/images/hub/app.py": "1\n"})
    shas["secret_ctx"] = r.commit("secret code (not rebuilt)", {"secret-image/app.py": "1\n"})
    shas["secret_df"] = r.commit(
        "secret Dockerfile", {"secret-image/docker/Dockerfile": "FROM x\n"}
    )
    shas["shared"] = r.commit("shared lib", {"shared/lib.py": "1\n"})
    shas["unrelated"] = r.commit("unrelated", {"shared/other.py": "1\n"})
    # YAML 1.2 (chartpress's ruamel.yaml): `no` is the string "no", i.e. truthy
    shas["quirky_ctx"] = r.commit("quirky code", {"helm-chart/images/quirky/x.py": "1\n"})
    return r, shas


def moved_paths(path: Path) -> tuple[FixtureRepo, dict[str, str]]:
    """chartpress.yaml's path list changes in history (binderhub's changed 16 times)."""
    r = FixtureRepo.init(path)
    shas = {"initial": r.commit("initial", {**chart_files(), "README.md": "0\n"})}
    shas["src_early"] = r.commit("src change, not a chart path yet", {"src/app.py": "1\n"})
    shas["add_paths"] = r.commit("chart now depends on src", chart_files(extra="paths: [../src]"))
    shas["src_late"] = r.commit("src change, now a chart path", {"src/app.py": "2\n"})
    shas["docs"] = r.commit("docs", {"README.md": "1\n"})
    return r, shas


def base_version_repo(
    path: Path, tag: str | None, base: str | None
) -> tuple[FixtureRepo, dict[str, str]]:
    """Chart commits c1, c2 (tagged ``tag``), c3; ``baseVersion: base`` from the start."""
    r = FixtureRepo.init(path)
    extra = f"baseVersion: {base!r}" if base is not None else ""
    shas = {"c1": r.commit("initial", {**chart_files(extra=extra), "README.md": "0\n"})}
    shas["c2"] = r.commit("chart 2", {VALUES: "replicas: 2\n"})
    if tag:
        r.tag(tag)
    shas["c3"] = r.commit("chart 3", {VALUES: "replicas: 3\n"})
    return r, shas


# -- the incident and merges -----------------------------------------------------------------


def test_incident_gives_the_pr_commit_not_the_merge(tmp_path):
    r, s = incident(tmp_path / "src")
    cv = version_at(r, "main")
    assert cv.commit_full == s["pr"] and cv.commit == r.short(s["pr"])
    assert (
        cv.version
        == expected(r, "0.0.1-0.dev", s["pr"])
        == f"0.0.1-0.dev.git.3.h{r.short(s['pr'])}"
    )
    assert r.short(s["merge"]) not in cv.version
    # what a --first-parent implementation would answer (the wrong pin of 2018):
    first_parent = r.git("log", "-1", "--first-parent", "--format=%H", "main", "--", *cv.paths)
    assert first_parent == s["merge"] != cv.commit_full
    assert version_at(r, s["pr"]) == cv  # the PR commit's own version is the same


def test_merge_where_both_sides_touched_the_chart_is_the_chart_commit(tmp_path):
    r, s = both_sides(tmp_path / "src")
    cv = version_at(r, "main")
    assert cv.commit_full == s["merge"]
    assert cv.version == expected(r, "0.0.1-0.dev", s["merge"])
    assert cv.n == 4


def test_docs_only_commits_do_not_change_the_version(tmp_path):
    r, s = docs_only(tmp_path / "src")
    at_chart = version_at(r, s["chart"])
    assert version_at(r, s["docs1"]) == at_chart == version_at(r, s["docs2"])
    assert at_chart.commit_full == s["chart"] and at_chart.n == 2
    assert version_at(r, s["initial"]).version != at_chart.version


def test_paths_are_repo_root_relative(tmp_path):
    r, _ = incident(tmp_path / "src")
    assert version_at(r).paths == ("helm-chart/binderhub", "helm-chart/chartpress.yaml")


# -- tags ---------------------------------------------------------------------------------------


def test_tags(tmp_path):
    r, s = tags(tmp_path / "src")
    exact = version_at(r, s["c2"])
    assert (exact.version, exact.commit_full, exact.n, exact.tag) == (
        "1.2.0",
        s["c2"],
        None,
        "1.2.0",
    )
    after = version_at(r, s["c3"])
    assert (
        after.version == expected(r, "1.2.0", s["c3"]) == f"1.2.0-0.dev.git.3.h{r.short(s['c3'])}"
    )
    assert (after.base, after.tag, after.n) == ("1.2.0", "1.2.0", 3)
    # a tag on a docs-only commit: the tagged commit is newer than the chart commit, so it wins
    on_docs = version_at(r, s["d4"])
    assert (on_docs.version, on_docs.commit_full) == ("1.3.0", s["d4"])
    assert version_at(r, s["d5"]).version == "1.3.0"
    assert version_at(r, s["c6"]).version == expected(r, "1.3.0", s["c6"])


def test_v_prefixed_prerelease_and_non_semver_tags(tmp_path):
    r, s = tags_v_and_prerelease(tmp_path / "src")
    assert version_at(r, s["v"]).version == "2.0.0"  # leading v stripped, as chartpress does
    assert version_at(r, s["v"]).tag == "v2.0.0"
    assert version_at(r, s["after_v"]).version == f"2.0.0-0.dev.git.3.h{r.short(s['after_v'])}"
    assert version_at(r, s["beta"]).version == "2.1.0-beta.1"
    assert (
        version_at(r, s["after_beta"]).version == f"2.1.0-beta.1.git.5.h{r.short(s['after_beta'])}"
    )
    assert version_at(r, s["release"]).version == "release-7"
    assert (
        version_at(r, s["after_release"]).version
        == f"release-7.git.7.h{r.short(s['after_release'])}"
    )


BASE_CASES = [
    # (latest tag, baseVersion, expected base | error fragment)
    (None, None, "0.0.1-0.dev"),
    ("1.2.0", None, "1.2.0"),
    ("v1.2.0", None, "v1.2.0"),
    ("1.2.0", "1.3.0", "1.3.0-0.dev"),
    ("1.2.0", "1.3.0-alpha.1", "1.3.0-alpha.1"),
    ("1.2.0", "major", "2.0.0-0.dev"),
    ("1.2.0", "minor", "1.3.0-0.dev"),
    ("1.2.0", "patch", "1.2.1-0.dev"),
    ("v1.2.0", "minor", "1.3.0-0.dev"),
    (None, "minor", "0.0.1-0.dev"),
    (None, "4.0.0", "4.0.0-0.dev"),
    ("1.3.0-beta.1", "minor", "1.3.0-beta.1"),
    ("1.2.0-beta.1", "1.2.0", "1.2.0-0.dev"),
    ("1.2.0", "1.1.0", "error:is not greater than latest tag 1.2.0"),
    ("1.2.0", "1.2.0", "error:is not greater than latest tag 1.2.0"),
    ("1.2.0", "1.2.0-rc.1", "error:is not greater than latest tag 1.2.0"),
    ("release-7", "minor", "error:is not valid when latest tag release-7 is not semver"),
    (None, "one.two", "error:must be a valid semver version"),
]


@pytest.mark.parametrize(("tag", "base", "want"), BASE_CASES)
def test_base_version_rules(tmp_path, tag, base, want):
    r, s = base_version_repo(tmp_path / "src", tag, base)
    if want.startswith("error:"):
        with pytest.raises(ChartpressError) as err:
            version_at(r)
        assert want[len("error:") :] in str(err.value)
        assert "charts[name=binderhub].baseVersion" in str(err.value) and "chartpress.yaml" in str(
            err.value
        )
        return
    cv = version_at(r)
    assert cv.version == expected(r, want, s["c3"])
    assert cv.base == want and cv.n == 3 and cv.commit_full == s["c3"]


@pytest.mark.parametrize("base", ["0.1.0", "minor", "1.2.0", "1.1.0"])
def test_exact_tag_ignores_base_version(tmp_path, base):
    # HEAD exactly on the tag: chartpress skips the ordering check and uses the tag
    r, s = base_version_repo(tmp_path / "src", None, base)
    r.tag("1.2.0", s["c3"])
    assert version_at(r).version == "1.2.0"


def test_base_version_must_be_a_string(tmp_path):
    r, _ = base_version_repo(tmp_path / "src", None, None)
    r.commit("float", chart_files(extra="baseVersion: 1.5"))
    with pytest.raises(ChartpressError, match=r"baseVersion: expected a string"):
        version_at(r)


@pytest.mark.parametrize(
    ("tag", "since", "base", "want"),
    [
        ("1.2.0", 3, "2.0.0", "2.0.0-0.dev"),
        ("1.2.0", 0, "1.0.0", "1.0.0-0.dev"),  # on the tag: no ordering check
        ("vv1.2.0", 2, "patch", "1.2.1-0.dev"),  # chartpress lstrip("v")s every v
        ("2.0.0-rc.1", 2, "2.0.0-rc.0", "2.0.0-rc.0"),  # prereleases are not ordered
    ],
)
def test_check_base_version_pure(tag, since, base, want):
    assert check_base_version(base, tag, since) == want


# -- %h length, schemes, history of the config ---------------------------------------------------


def test_short_sha_follows_core_abbrev(tmp_path):
    r, s = abbrev10(tmp_path / "src")
    cv = version_at(r)
    assert len(cv.commit) == 10 and cv.commit == s["pr"][:10]
    assert cv.version.endswith(f".h{s['pr'][:10]}")


def test_sha_scheme(tmp_path):
    r, s = incident(tmp_path / "src")
    r.commit("chart version 0.1.0", chart_files(version="0.1.0-set.by.build"))
    sha_v = r.head()
    r.commit("docs", {"README.md": "2\n"})
    cv = version_at(r, scheme="sha")
    assert cv == ChartVersion(
        f"0.1.0-{r.short(sha_v)}", r.short(sha_v), sha_v, cv.paths, base="0.1.0"
    )
    # Chart.yaml is read at the revision: before that commit it said 0.0.1-...
    old = version_at(r, s["merge"], scheme="sha")
    assert old.version == f"0.0.1-{r.short(s['pr'])}"
    with pytest.raises(ChartpressError, match="unknown version scheme"):
        version_at(r, scheme="semver")


def test_old_revision_uses_its_own_path_list(tmp_path):
    r, s = moved_paths(tmp_path / "src")
    # the work tree (and HEAD) list ../src; at src_early the config did not
    assert version_at(r, s["src_early"]).commit_full == s["initial"]
    assert version_at(r, s["src_early"]).paths == (
        "helm-chart/binderhub",
        "helm-chart/chartpress.yaml",
    )
    assert version_at(r, s["add_paths"]).commit_full == s["add_paths"]
    head = version_at(r, s["docs"])
    assert head.commit_full == s["src_late"]
    assert head.paths == ("helm-chart/binderhub", "helm-chart/chartpress.yaml", "src")


def test_images_paths(tmp_path):
    r, s = images(tmp_path / "src")
    commit = {label: version_at(r, sha).commit_full for label, sha in s.items()}
    assert commit["hub_ctx"] == s["hub_ctx"]  # default context images/<name>
    assert commit["secret_ctx"] == s["hub_ctx"]  # rebuildOnContextPathChanges: false
    assert commit["secret_df"] == s["secret_df"]
    assert commit["shared"] == s["shared"]
    assert commit["unrelated"] == s["shared"]
    assert commit["quirky_ctx"] == s["quirky_ctx"]  # `no` is a truthy string in YAML 1.2


def test_bare_repository(tmp_path):
    r, s = incident(tmp_path / "src")
    git(tmp_path, "clone", "--quiet", "--bare", str(r.path), str(tmp_path / "bare.git"))
    bare = GitRepo(tmp_path / "bare.git")
    assert bare.is_bare()
    assert compute_chart_version(bare, "main", CP, "binderhub") == version_at(r, "main")
    assert compute_chart_version(bare, "main", CP, "binderhub").commit_full == s["pr"]


# -- chart_paths (pure) ---------------------------------------------------------------------------


def test_chart_paths_defaults_and_conversion():
    config = yaml.safe_load(
        """
        charts:
          - name: other
          - name: binderhub
            chartPath: charts/bh/
            paths: [../setup.py, ./binderhub, ../docs/../binderhub]
            images:
              hub: {}
              builder:
                contextPath: ..
                dockerfilePath: ../Dockerfile.builder
        """
    )
    assert chart_paths(config, "binderhub", "helm-chart") == [
        ".",  # context ".." from helm-chart: the whole repository
        "Dockerfile.builder",
        "binderhub",
        "helm-chart/binderhub",
        "helm-chart/chartpress.yaml",
        "helm-chart/charts/bh/",
        "helm-chart/images/hub",
        "helm-chart/images/hub/Dockerfile",
        "setup.py",
    ]
    assert chart_paths(config, "other", "") == ["chartpress.yaml", "other"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"charts": [{"name": "x"}]}, "no chart named 'binderhub' (charts: 'x')"),
        ({"chart": []}, "expected a mapping with a list `charts`"),
        (
            {"charts": [{"name": "binderhub", "paths": "src"}]},
            "paths: expected a list of path strings",
        ),
        (
            {"charts": [{"name": "binderhub", "paths": ["../../x"]}]},
            "points outside the repository",
        ),
        ({"charts": [{"name": "binderhub", "paths": ["/abs"]}]}, "expected a path relative to"),
        (
            {"charts": [{"name": "binderhub", "images": {"hub": None}}]},
            "images.hub: expected a mapping",
        ),
    ],
)
def test_chart_paths_errors(config, message):
    with pytest.raises(ChartpressError) as err:
        chart_paths(config, "binderhub", "helm-chart", where="src@abc:helm-chart/chartpress.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("src@abc:helm-chart/chartpress.yaml: ")


def test_compute_errors_name_the_file_and_revision(tmp_path):
    r, s = incident(tmp_path / "src")
    with pytest.raises(
        ChartpressError, match=r"chartpress config 'helm-chart/nope.yaml' does not exist at"
    ):
        version_at(r, chartpress="helm-chart/nope.yaml")
    with pytest.raises(GitError, match="unknown revision 'v9'"):
        version_at(r, "v9")
    with pytest.raises(ChartpressError, match=r"no chart named 'nope'"):
        compute_chart_version(GitRepo(r.path), "main", CP, "nope")
    r.commit("break yaml", {CP: "charts: [\n"})
    with pytest.raises(ChartpressError) as err:
        version_at(r)
    assert "helm-chart/chartpress.yaml:2: invalid YAML" in str(err.value)
    r.commit(
        "fix yaml, drop Chart.yaml", {**chart_files(), "helm-chart/binderhub/Chart.yaml": None}
    )
    with pytest.raises(
        ChartpressError, match=r"Chart.yaml 'helm-chart/binderhub/Chart.yaml' does not exist"
    ):
        version_at(r)
    # the old revisions still work: nothing is read from the work tree
    assert version_at(r, s["merge"]).commit_full == s["pr"]


# -- landing commit, pending commits, chart commits ----------------------------------------------


def test_landing_commit(tmp_path):
    r, s = incident(tmp_path / "src")
    repo = GitRepo(r.path)
    assert landing_commit(repo, s["pr"], "main") == s["merge"]  # 441f5ea -> 4e3bafb
    assert landing_commit(repo, r.short(s["pr"]), "main") == s["merge"]
    assert landing_commit(repo, s["docs"], "main") == s["docs"]  # landed by itself
    assert landing_commit(repo, s["merge"], "main") == s["merge"]
    # a PR with two commits, one of them from a branch merged into the PR first
    r.branch("pr2")
    first = r.commit("pr2 first", {VALUES: "replicas: 7\n"})
    r.branch("sub")
    sub = r.commit("sub-branch", {"helm-chart/binderhub/templates/b.yaml": "b: 1\n"})
    r.switch("pr2")
    r.commit("pr2 second", {"README.md": "pr2\n"})
    r.merge("sub", "merge sub into pr2")
    r.switch("main")
    later = r.commit("main moves on", {"docs/other.md": "2\n"})
    merge2 = r.merge("pr2", "Merge pull request #2")
    r.commit("after", {"README.md": "3\n"})
    assert landing_commit(repo, first, "main") == merge2
    assert landing_commit(repo, sub, "main") == merge2
    assert landing_commit(repo, later, "main") == later
    # --ancestry-path --first-parent alone finds nothing here: the trap REFERENCE.md describes
    assert r.git("rev-list", "--ancestry-path", "--first-parent", f"{first}..main") == ""
    r.branch("unmerged")
    stray = r.commit("never merged", {"x": "1\n"})
    with pytest.raises(GitError, match="is not on branch main"):
        landing_commit(repo, stray, "main")


def test_chart_commits_between(tmp_path):
    r, s = incident(tmp_path / "src")
    repo = GitRepo(r.path)
    paths = version_at(r).paths
    assert chart_commits_between(repo, s["initial"], "main", paths) == [
        (r.short(s["previous"]), "chart tweak on main"),
        (r.short(s["pr"]), "PR #395: chart change"),
    ]
    assert chart_commits_between(repo, s["pr"], "main", paths) == []
    assert chart_commits_between(repo, None, s["pr"], paths) == [
        (r.short(s["pr"]), "PR #395: chart change")
    ]


#: Characters that str.splitlines() takes for line breaks (git's records end with "\n").
LINE_BREAKS_OF_PYTHON = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def test_chart_commits_between_keeps_subjects_whole(tmp_path):
    """A subject holding a carriage return, a form feed, U+2028 ... is one commit, not a
    chart commit more: one record per commit git lists, subjects as written."""
    r, s = incident(tmp_path / "src")
    repo = GitRepo(r.path)
    paths = version_at(r).paths
    subjects = [
        f"Tweak {i}{ch}- [x] approved by security" for i, ch in enumerate(LINE_BREAKS_OF_PYTHON)
    ]
    for i, subject in enumerate(subjects):
        r.commit(subject, {VALUES: f"replicas: {i + 10}\n"})
    found = chart_commits_between(repo, s["pr"], "main", paths)
    assert len(found) == int(r.git("rev-list", "--count", f"{s['pr']}..main", "--", *paths))
    assert [subject for _, subject in found] == subjects
    assert all(short == r.short(short) for short, _ in found)


def test_a_tag_name_with_a_line_separator_is_one_tag(tmp_path):
    """``git describe`` output is split on "\n" only: a tag may hold U+2028."""
    from sphinx_deployguide.chartversion import latest_tag

    r, _ = incident(tmp_path / "src")
    tag = "v1.0.0\u2028x"
    r.tag(tag)
    assert latest_tag(GitRepo(r.path), "HEAD") == (tag, 0)


# -- equivalence with chartpress itself -----------------------------------------------------------

_worktree_ids = itertools.count()


def chartpress_version(
    r: FixtureRepo, rev: str, tmp_path: Path, monkeypatch, chartpress_dir="helm-chart"
):
    """Run chartpress 2 (``--no-build``) in a detached worktree at ``rev``.

    chartpress writes the version into the worktree's ``Chart.yaml``; no image is built or
    pushed and nothing is published. Returns the version, or the exception it raised.
    """
    chartpress = pytest.importorskip("chartpress", reason="chartpress is not installed")
    wt = tmp_path / f"wt{next(_worktree_ids)}"
    r.git("worktree", "add", "--quiet", "--detach", str(wt), rev)
    for obj in vars(chartpress).values():  # its git helpers are lru_cached per process
        if hasattr(obj, "cache_clear"):
            obj.cache_clear()
    with monkeypatch.context() as m:
        m.chdir(wt / chartpress_dir)
        try:
            chartpress.main(["--no-build"])
        except Exception as exc:  # noqa: BLE001 - chartpress reports bad config with ValueError
            return exc
    chart_yaml = wt / chartpress_dir / "binderhub" / "Chart.yaml"
    return yaml.safe_load(chart_yaml.read_text())["version"]


SCENARIOS = {
    "incident": (incident, ["previous", "pr", "docs", "merge"]),
    "both_sides": (both_sides, ["main", "merge"]),
    "docs_only": (docs_only, ["chart", "docs2"]),
    "tags": (tags, ["c2", "c3", "d4", "d5", "c6"]),
    "tags_v_prerelease": (
        tags_v_and_prerelease,
        ["v", "after_v", "beta", "after_beta", "release", "after_release"],
    ),
    "abbrev10": (abbrev10, ["merge"]),
    "images": (images, ["secret_ctx", "unrelated", "quirky_ctx"]),
    "moved_paths": (moved_paths, ["src_early", "docs"]),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_version_as_chartpress(tmp_path, monkeypatch, name):
    builder, labels = SCENARIOS[name]
    r, s = builder(tmp_path / "src")
    for label in labels:
        theirs = chartpress_version(r, s[label], tmp_path, monkeypatch)
        ours = version_at(r, s[label]).version
        assert ours == theirs, f"{name}@{label}"


def test_same_version_as_chartpress_at_repo_root(tmp_path, monkeypatch):
    r, s = at_root(tmp_path / "src")
    for label in ("chart", "docs"):
        theirs = chartpress_version(r, s[label], tmp_path, monkeypatch, chartpress_dir="")
        assert version_at(r, s[label], chartpress="chartpress.yaml").version == theirs


@pytest.mark.parametrize(("tag", "base", "want"), BASE_CASES)
def test_base_version_same_as_chartpress(tmp_path, monkeypatch, tag, base, want):
    r, s = base_version_repo(tmp_path / "src", tag, base)
    theirs = chartpress_version(r, s["c3"], tmp_path, monkeypatch)
    if want.startswith("error:"):
        assert isinstance(theirs, ValueError), theirs  # chartpress refuses it too
        with pytest.raises(ChartpressError):
            version_at(r)
    else:
        assert version_at(r).version == theirs


# -- parsing versions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "era", "base", "n", "sha"),
    [
        ("0.1.0-441f5ea", "sha", "0.1.0", None, "441f5ea"),
        ("v0.6.0-fb64667", "sha", "v0.6.0", None, "fb64667"),
        ("0.2.0-013.dace2ee", "chartpress-0.4", "0.2.0", 13, "dace2ee"),
        ("0.9.0-alpha.1.104.d37322a", "chartpress-0.4", "0.9.0-alpha.1", 104, "d37322a"),
        ("0.2.0-n077.hef338bc", "chartpress-0.6", "0.2.0", 77, "ef338bc"),
        ("0.2.2-n000.hefa0ee7", "chartpress-0.6", "0.2.2", 0, "efa0ee7"),
        ("0.10.0-beta.1.n001.hf4efe41a", "chartpress-0.6", "0.10.0-beta.1", 1, "f4efe41a"),
        ("1.0.0-0.dev.git.3983.h383374de", "chartpress-2", "1.0.0-0.dev", 3983, "383374de"),
        ("2.0.0-beta.1.git.5783.h867f4331", "chartpress-2", "2.0.0-beta.1", 5783, "867f4331"),
        ("1.2.0", "tag", "1.2.0", None, None),
        ("2.1.0-beta.1", "tag", "2.1.0-beta.1", None, None),
    ],
)
def test_parse_version(version, era, base, n, sha):
    parsed = parse_version(version)
    assert parsed is not None
    assert (parsed.version, parsed.era, parsed.base, parsed.n, parsed.sha) == (
        version,
        era,
        base,
        n,
        sha,
    )


@pytest.mark.parametrize(
    "bad", ["", "v0.6", "latest", "1.2", "01.2.3", "1.2.3-", "1.2.3 beta", "0.1.0_441f5ea"]
)
def test_parse_version_rejects(bad):
    assert parse_version(bad) is None


def test_parse_version_round_trips_format_version():
    for base, n, sha in [
        ("1.2.3", 5, "abcdef01"),
        ("1.2.3-alpha.1", 0, "0123456"),
        ("0.0.1-0.dev", 9, "a" * 12),
    ]:
        parsed = parse_version(format_version(base, n, sha))
        assert parsed is not None and parsed.era == "chartpress-2"
        assert (parsed.n, parsed.sha) == (n, sha)
        assert parsed.base == (base if "-" in base else f"{base}-0.dev")


def test_version_re_in_prose():
    text = (
        "Pin `0.1.0-441f5ea` (not 0.1.0-4e3bafb). Older: 0.2.0-013.dace2ee, 0.2.0-n077.hef338bc; "
        "now 1.0.0-0.dev.git.3983.h383374de. Download binderhub-1.0.0-0.dev.git.12.habcdef12.tgz. "
        "Python 3.12.0 and tag 1.2.0 are not chart builds; nor is 1.2.3.4-abcdef0 or "
        "x0.1.0-441f5ea or 0.1.0-441f5eaXYZ or sha 441f5ea."
    )
    assert version_finder().findall(text) == [
        "0.1.0-441f5ea",
        "0.1.0-4e3bafb",
        "0.2.0-013.dace2ee",
        "0.2.0-n077.hef338bc",
        "1.0.0-0.dev.git.3983.h383374de",
        "1.0.0-0.dev.git.12.habcdef12",
    ]
    for match in version_finder().findall(text):
        assert parse_version(match) is not None


def test_every_version_in_the_real_index_parses():
    index = DATA / "jupyterhub-helm-index.yaml"
    if not index.is_file():
        pytest.skip(f"real data not present at {index}")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    entries = yaml.load(index.read_bytes(), Loader=loader)["entries"]  # noqa: S506
    eras: dict[str, dict[str, int]] = {}
    unparsed = []
    for chart, items in entries.items():
        for item in items:
            parsed = parse_version(item["version"])
            if parsed is None:
                unparsed.append(item["version"])
                continue
            eras.setdefault(chart, {}).setdefault(parsed.era, 0)
            eras[chart][parsed.era] += 1
            if parsed.era != "tag":
                assert version_finder().fullmatch(item["version"]), item["version"]
    assert sorted(unparsed) == ["v0.3.1", "v0.4", "v0.6"]  # jupyterhub's early non-SemVer tags
    assert eras["binderhub"] == {"sha": 323, "chartpress-0.6": 210, "chartpress-2": 164}
    assert sum(eras["binderhub"].values()) == 697
    assert eras["jupyterhub"] == {
        "chartpress-0.6": 502,
        "chartpress-2": 316,
        "sha": 175,
        "tag": 59,
        "chartpress-0.4": 3,
    }
    assert eras["pebble"] == {"tag": 11, "chartpress-0.6": 5, "chartpress-2": 4}


def test_fixtures_are_deterministic(tmp_path):
    a, sa = incident(tmp_path / "a")
    b, sb = incident(tmp_path / "b")
    assert sa == sb


# -- batch landings ------------------------------------------------------------------------------


def test_first_parent_landings_on_a_hand_made_graph():
    """main: A - B - M - D, where M merges the branch X - Y (forked from A)."""
    parents = {"A": (), "B": ("A",), "X": ("A",), "Y": ("X",), "M": ("B", "Y"), "D": ("M",)}
    assert first_parent_landings(parents, "D") == {
        "A": "A",
        "B": "B",
        "X": "M",
        "Y": "M",
        "M": "M",
        "D": "D",
    }


def test_landing_commits_equals_landing_commit_one_by_one(demo_world):
    repo = GitRepo(demo_world.source)
    shas = list(demo_world.commits.values())
    shorts = [sha[:7] for sha in shas]
    batch = landing_commits(repo, shas + shorts + ["0000000"], "main")
    for commit in shas + shorts:
        assert batch[commit] == landing_commit(repo, commit, "main"), commit
    assert "0000000" not in batch
    assert batch[demo_world.pr_commit] == demo_world.merge_commit


# -- ancestor counts from published versions -------------------------------------------------


def _published_counts(repo: GitRepo, commits: list[str]) -> dict[str, int]:
    """What an index says of ``commits``: {%h: git's count}."""
    return {repo.short(c): int(repo.run("rev-list", "--count", c)) for c in commits}


@pytest.fixture
def long_history(monkeypatch):
    """Count from published versions however short the history (a long one's rule)."""
    from sphinx_deployguide import charthistory

    monkeypatch.setattr(charthistory, "_LONG_HISTORY", 0)


def test_a_short_history_is_counted_whole(demo_world):
    """The demo's few dozen commits: one ``rev-list --count`` is cheaper than any check."""
    source = GitRepo(demo_world.source)
    source.count_anchors = _published_counts(source, published_commits(demo_world))
    head = source.resolve_or_fail("main")
    assert ancestor_count(source, head) == (int(source.run("rev-list", "--count", head)), None)


@pytest.mark.usefixtures("long_history")
def test_a_count_from_a_published_ancestor_is_gits_own(demo_world):
    """The count at the head starts from the nearest published ancestor, once an older one
    confirms the index's counts; it is exactly ``rev-list --count`` and says how it was
    made. Counts that disagree with git, or no index at all: the whole history is counted."""
    source = GitRepo(demo_world.source)
    head = source.resolve_or_fail("main")
    whole = int(source.run("rev-list", "--count", head))
    published = [v.commit for v in demo_world.versions]
    source.count_anchors = _published_counts(source, published)
    n, how = ancestor_count(source, head)
    nearest = max(published, key=lambda c: int(source.run("rev-list", "--count", c)))
    assert n == whole
    assert how is not None and how.startswith(
        f"{source.count_anchors[source.short(nearest)]}, published for its ancestor "
        f"{source.short(nearest)}, + "
    )
    assert f"+ {int(source.run('rev-list', '--count', f'{nearest}..{head}'))} commits since" in how

    newest = source.short(nearest)
    forged = GitRepo(demo_world.source)  # an index whose newest count is one too many
    forged.count_anchors = {**source.count_anchors}
    forged.count_anchors[newest] = source.count_anchors[newest] + 1
    assert ancestor_count(forged, head) == (whole, None)
    assert ancestor_count(GitRepo(demo_world.source), head) == (whole, None)


@pytest.mark.usefixtures("long_history")
def test_replace_refs_are_walked_as_git_walks_them(tmp_path, demo_world):
    """A replace ref changes what ``rev-list --count`` (and chartpress) counts here: the
    published counts, made without it, are not used."""
    copy = tmp_path / "copy"
    git(tmp_path, "clone", "--quiet", "--", str(demo_world.source), str(copy))
    first = git(copy, "rev-list", "--max-parents=0", "HEAD")
    second = git(copy, "rev-list", "--reverse", "HEAD").split()[1]
    git(copy, "replace", "--graft", second)  # history now starts at the second commit
    repo = GitRepo(copy)
    repo.count_anchors = _published_counts(
        GitRepo(demo_world.source), published_commits(demo_world)
    )
    head = repo.resolve_or_fail("HEAD")
    assert first and repo.probe().returncode == 0 and repo.rewrites_history()
    assert ancestor_count(repo, head) == (int(git(copy, "rev-list", "--count", head)), None)


def published_commits(world) -> list[str]:
    return [v.commit for v in world.versions]


@pytest.mark.usefixtures("long_history")
def test_with_a_commit_graph_a_long_history_is_counted_from_a_published_version(
    tmp_path, demo_world
):
    """A commit-graph makes the whole walk cheaper, not free: the count still starts from a
    published version, and is git's."""
    copy = tmp_path / "copy"
    git(tmp_path, "clone", "--quiet", "--", str(demo_world.source), str(copy))
    git(copy, "commit-graph", "write", "--reachable")
    repo = GitRepo(copy)
    repo.count_anchors = _published_counts(repo, published_commits(demo_world))
    head = repo.resolve_or_fail("HEAD")
    n, how = ancestor_count(repo, head)
    assert n == int(git(copy, "rev-list", "--count", head)) and how is not None


@given(
    st.lists(
        st.sampled_from(["0", "1", "12", "v1", ".", "-", "dev", "git", "h", "n", "abcdef0", "a"]),
        max_size=12,
    )
)
def test_parse_version_is_the_era_patterns_tried_in_order(parts):
    """One combined pattern gives what trying each era's pattern in turn gives."""
    import re

    from sphinx_deployguide.versionparse import _ERA_PATTERNS, SEMVER_RE, ParsedVersion

    version = "".join(parts)
    expected_parse = None
    for era, pattern in _ERA_PATTERNS:
        m = re.match(rf"^{pattern}$", version.strip())
        if m:
            n = int(m["n"]) if "n" in m.groupdict() else None
            expected_parse = ParsedVersion(
                version.strip(), era, m["base"].rstrip("-."), n, m["sha"]
            )
            break
    else:
        if SEMVER_RE.fullmatch(version.strip()):
            expected_parse = ParsedVersion(version.strip(), "tag", version.strip(), None, None)
    assert parse_version(version) == expected_parse


def test_a_count_is_made_from_another_counted_in_the_run(demo_world, tmp_path):
    """Once git counted one commit, another's count is that count less the commits only
    the first has, plus those only the second has (``rev-list --left-right --count A...B``):
    exactly ``rev-list --count``, for older commits and for one on a side branch."""
    copy = tmp_path / "copy"
    git(tmp_path, "clone", "--quiet", "--", str(demo_world.source), str(copy))
    old = demo_world.versions[1].commit
    side = git(copy, "commit-tree", "-p", old, "-m", "side", f"{old}^{{tree}}")
    source = GitRepo(copy)
    head = source.resolve_or_fail("main")
    first = ancestor_count(source, head)
    assert first == (int(git(copy, "rev-list", "--count", head)), None)
    assert source.counted == {head: first}
    asked: list[tuple[str, ...]] = []
    real_run = source.run

    def run(*args: str, **kwargs: object) -> str:
        asked.append(args)
        return real_run(*args, **kwargs)  # type: ignore[arg-type]

    source.run = run  # type: ignore[method-assign]
    for commit in [v.commit for v in demo_world.versions] + [demo_world.pr_commit, side]:
        asked.clear()
        n = ancestor_count(source, commit)
        assert n == (int(git(copy, "rev-list", "--count", commit)), None), commit
        assert [a[:3] for a in asked] == [("rev-list", "--left-right", "--count")], asked


@pytest.mark.usefixtures("long_history")
def test_a_count_made_from_a_published_one_says_so(demo_world):
    """A count made from a count of the run that itself came from the index's published
    counts is git's too, and says where it started."""
    source = GitRepo(demo_world.source)
    source.count_anchors = _published_counts(source, published_commits(demo_world))
    head = source.resolve_or_fail("main")
    n_head, how_head = ancestor_count(source, head)
    assert how_head is not None  # from the nearest published ancestor
    older = demo_world.pr_commit
    n, how = ancestor_count(source, older)
    assert n == int(source.run("rev-list", "--count", older))
    assert how is not None and how.startswith(f"{n_head} for {source.short(head)} ({how_head}), - ")
