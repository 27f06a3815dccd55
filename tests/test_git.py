"""The git adapter and chart sources, on real repositories built in tmp dirs.

Remote sources are exercised through ``file://`` URLs: a real git transport (upload-pack),
no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sphinx_deployguide.chartversion import compute_chart_version
from sphinx_deployguide.errors import DeployGuideError, GitError
from sphinx_deployguide.git import STAMP_NAME, GitRepo, _auto_abbrev
from sphinx_deployguide.gitrun import git_env
from sphinx_deployguide.gitsource import is_remote_url, mirror_slug, open_source
from sphinx_deployguide.redact import redact_url
from tests.gitfixtures import START_TIME, FixtureRepo, chart_files, git, isolate_git_env

CHARTPRESS = "helm-chart/chartpress.yaml"


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch):
    isolate_git_env(monkeypatch)


@pytest.fixture
def src(tmp_path) -> FixtureRepo:
    """A small chart source: initial commit, a chart change, a docs change; tag 0.1.0."""
    repo = FixtureRepo.init(tmp_path / "src", config={"uploadpack.allowFilter": "true"})
    repo.commit("initial", {**chart_files(), "README.md": "hello\n"})
    repo.commit("chart change", {"helm-chart/binderhub/values.yaml": "replicas: 2\n"})
    repo.tag("0.1.0")
    repo.commit("docs", {"README.md": "hello again\n"})
    return repo


def file_url(path: Path) -> str:
    return path.resolve().as_uri()


# -- GitRepo -----------------------------------------------------------------------------


def test_run_returns_stdout_without_trailing_newline(src):
    repo = GitRepo(src.path)
    assert repo.run("rev-parse", "HEAD") == src.head()
    assert repo.run("log", "--format=%s") == "docs\nchart change\ninitial"


def test_run_failure_names_command_and_stderr(src):
    repo = GitRepo(src.path)
    with pytest.raises(GitError) as err:
        repo.run("rev-parse", "--verify", "no-such-branch")
    text = str(err.value)
    assert "git -c core.abbrev=auto -C" in text and "rev-parse --verify no-such-branch" in text
    assert "fatal: Needed a single revision" in text  # git's own message, in English
    assert isinstance(err.value, DeployGuideError) and err.value.exit_code == 2


def test_environment_is_fixed_and_ignores_hook_variables(src, tmp_path, monkeypatch):
    env = git_env()
    assert env["LC_ALL"] == "C" and env["GIT_TERMINAL_PROMPT"] == "0" and env["GIT_PAGER"] == "cat"
    # inside a git hook GIT_DIR points at another repository: we must still read ours
    other = FixtureRepo.init(tmp_path / "other")
    other.commit("other repo", {"x": "1\n"})
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other.path / ".git" / "index"))
    assert GitRepo(src.path).run("rev-parse", "HEAD") == src.head() != other.head()


def test_show_reads_history_not_the_work_tree(src):
    repo = GitRepo(src.path)
    (src.path / "README.md").write_text("uncommitted\n")
    assert repo.show("HEAD", "README.md") == "hello again\n"
    assert repo.show("HEAD~1", "README.md") == "hello\n"
    assert repo.show("0.1.0", "helm-chart/binderhub/values.yaml") == "replicas: 2\n"
    assert repo.show("HEAD", "no/such/file") is None
    assert repo.show("HEAD", "helm-chart/binderhub") is None  # a directory is not a file
    with pytest.raises(GitError, match="unknown revision 'nope'"):
        repo.show("nope", "README.md")


def test_resolve(src):
    repo = GitRepo(src.path)
    head = src.head()
    src.tag("annotated", annotated=True)
    assert repo.resolve("main") == head
    assert repo.resolve(head[:9]) == head
    assert repo.resolve("annotated") == head  # peeled to the commit, not the tag object
    assert repo.resolve("0.1.0") == src.git("rev-parse", "HEAD~1")
    assert repo.resolve("no-such-rev") is None
    assert repo.resolve("--all") is None  # never read as an option
    assert repo.resolve("HEAD:README.md") is None  # a blob is not a commit


def test_named_commits_answer_as_resolve_and_commit_stamps(tmp_path):
    """One ``log --no-walk --stdin`` for many abbreviated shas gives what resolving each
    (``cat-file``) and reading its time give: including a prefix two commits share (None,
    as for an ambiguous name), one no object has, a blob's, and two names of one commit."""
    path = tmp_path / "many"
    git(tmp_path, "init", "--quiet", "-b", "main", str(path))
    stream = "".join(  # 1,000 commits: some two share their first 4 hex digits
        f"commit refs/heads/main\nmark :{i}\n"
        f"committer A <a@example.invalid> {1_600_000_000 + 60 * i} +0000\n"
        f"data {len(str(i))}\n{i}\n" + (f"from :{i - 1}\n" if i > 1 else "") + "\n"
        for i in range(1, 1001)
    )
    git(path, "fast-import", "--quiet", input=stream.encode())
    shas = git(path, "rev-list", "main").split()
    by_prefix: dict[str, list[str]] = {}
    for sha in shas:
        by_prefix.setdefault(sha[:4], []).append(sha)
    shared = next(p for p, found in by_prefix.items() if len(found) > 1)
    blob = git(path, "hash-object", "-w", "--stdin", input=b"a blob\n")
    unknown = next(
        f"{n:04x}" for n in range(16**4) if f"{n:04x}" not in by_prefix and f"{n:04x}" != blob[:4]
    )
    names = [shared, unknown, blob[:8], shas[5][:7], shas[5], shas[9][:12], shas[0][:7]]

    found = GitRepo(path).named_commits(names)

    one_by_one = GitRepo(path)
    fulls = {name: one_by_one.resolve(name) for name in names}
    stamps = one_by_one.commit_stamps([f for f in fulls.values() if f])
    assert found == {name: (f, stamps[f]) if f else None for name, f in fulls.items()}
    assert found[shared] is None and found[unknown] is None and found[blob[:8]] is None
    assert (
        found[shas[5][:7]]
        == found[shas[5]]
        == (shas[5], int(git(path, "log", "-1", "--format=%ct", shas[5])))
    )


def test_is_ancestor_and_commit_time(src):
    repo = GitRepo(src.path)
    assert repo.is_ancestor("HEAD~2", "HEAD") is True
    assert repo.is_ancestor("HEAD", "HEAD~2") is False
    with pytest.raises(GitError, match="merge-base"):
        repo.is_ancestor("nope", "HEAD")
    when = repo.commit_time("HEAD~2")
    assert when == datetime.fromtimestamp(START_TIME + 60, tz=timezone.utc)
    assert when.tzinfo is timezone.utc
    assert (repo.commit_time("HEAD") - when).total_seconds() == 120


def test_shallow_clone_is_detected(src, tmp_path):
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth=1", file_url(src.path), str(shallow))
    assert GitRepo(shallow).is_shallow() is True
    assert GitRepo(src.path).is_shallow() is False
    with pytest.raises(GitError) as err:
        open_source("shallow", base_dir=tmp_path, cache_dir=tmp_path / "cache", ttl=60)
    assert "shallow" in str(err.value)
    assert "git fetch --unshallow" in str(err.value) and "fetch-depth: 0" in str(err.value)


# -- local sources ---------------------------------------------------------------------


def test_open_local_work_tree_relative_to_base_dir(src, tmp_path):
    repo = open_source("src", base_dir=tmp_path, cache_dir=tmp_path / "cache", ttl=60)
    assert repo.path == tmp_path / "src"
    assert repo.resolve("HEAD") == src.head()
    assert not (tmp_path / "cache").exists()  # local sources are never copied


def test_open_local_bare_repository(src, tmp_path):
    git(tmp_path, "clone", "--quiet", "--bare", str(src.path), str(tmp_path / "bare.git"))
    repo = open_source(
        str(tmp_path / "bare.git"), base_dir=Path("/"), cache_dir=tmp_path / "c", ttl=60
    )
    assert repo.is_bare()
    assert repo.show("main", "README.md") == "hello again\n"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.mkdir(), "is not a git repository"),
        (lambda p: p.write_text("x"), "is not a directory"),
    ],
    ids=["missing", "plain-dir", "file"],
)
def test_open_local_errors_name_the_path(tmp_path, make, message):
    make(tmp_path / "chart-src")
    # tmp_path itself must not be inside a repository for the "plain-dir" case
    with pytest.raises(GitError) as err:
        open_source("chart-src", base_dir=tmp_path, cache_dir=tmp_path / "cache", ttl=60)
    assert "'chart-src'" in str(err.value) and str(tmp_path / "chart-src") in str(err.value)
    assert message in str(err.value)


def test_open_local_subdirectory_of_a_repository_is_refused(src, tmp_path):
    with pytest.raises(GitError, match="not its top level"):
        open_source("src/helm-chart", base_dir=tmp_path, cache_dir=tmp_path / "c", ttl=60)


# -- remote sources (mirrors) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "remote"),
    [
        ("https://github.com/jupyterhub/binderhub", True),
        ("http://127.0.0.1:8000/x.git", True),
        ("git://example.org/x.git", True),
        ("ssh://git@github.com/jupyterhub/binderhub.git", True),
        ("git@github.com:jupyterhub/binderhub.git", True),
        ("file:///srv/git/binderhub", True),
        ("../binderhub", False),
        ("/srv/git/binderhub.git", False),
        ("C:/src/binderhub", False),
        ("binderhub", False),
    ],
)
def test_is_remote_url(source, remote):
    assert is_remote_url(source) is remote


def test_mirror_slug_is_readable_distinct_and_secret_free():
    a = mirror_slug("https://github.com/jupyterhub/binderhub")
    b = mirror_slug("https://github.com/jupyterhub/binderhub.git")
    c = mirror_slug("https://user:s3cr3t@github.com/jupyterhub/binderhub")
    assert a.startswith("github.com-jupyterhub-binderhub-")
    assert len({a, b, c}) == 3
    assert "s3cr3t" not in c and "/" not in c
    assert (
        redact_url("fatal: https://user:s3cr3t@host/x failed") == "fatal: https://***@host/x failed"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fatal: https://user:s3cr3t@host/x failed", "fatal: https://***@host/x failed"),
        ("https://h/i.yaml?sig=s3cr3t&v=1", "https://h/i.yaml?sig=***&v=1"),
        # a query without its URL (a log line cut short) is redacted too
        ("GET ?access_token=s3cr3t&page=2", "GET ?access_token=***&page=2"),
        # nothing to hide: the same text (most fact values, commit subjects)
        ("https://staging.demo.invalid", "https://staging.demo.invalid"),
        ("Merge pull request #1234 from a/b", "Merge pull request #1234 from a/b"),
        ("1.0.0-0.dev.git.3506.hba24eb2a", "1.0.0-0.dev.git.3506.hba24eb2a"),
    ],
)
def test_redact_url_hides_credentials_and_leaves_other_text(text, expected):
    assert redact_url(text) == expected


def test_mirror_is_a_blobless_bare_clone_and_computes_like_the_source(src, tmp_path):
    cache = tmp_path / "cache"
    url = file_url(src.path)
    repo = open_source(url, base_dir=tmp_path, cache_dir=cache, ttl=3600)
    assert repo.path == cache / "git" / mirror_slug(url)
    assert repo.is_bare() and repo.is_partial()
    assert repo.run("config", "remote.origin.partialclonefilter") == "blob:none"
    assert repo.resolve("main") == src.head()
    assert repo.resolve("0.1.0") == src.git("rev-parse", "0.1.0")
    assert repo.fetched_at is not None and repo.stale is None
    local = compute_chart_version(GitRepo(src.path), "main", CHARTPRESS, "binderhub")
    mirrored = compute_chart_version(repo, "main", CHARTPRESS, "binderhub")
    assert mirrored == local
    assert [p.name for p in (cache / "git").iterdir()] == [repo.path.name]  # no clone leftovers


def _age(repo: GitRepo, seconds: float) -> None:
    stamp = repo.path / STAMP_NAME
    old = time.time() - seconds
    os.utime(stamp, (old, old))


def test_mirror_fetches_only_after_ttl_or_on_refresh(src, tmp_path):
    cache = tmp_path / "cache"
    url = file_url(src.path)
    first = open_source(url, base_dir=tmp_path, cache_dir=cache, ttl=3600)
    old_head = src.head()
    new_head = src.commit("chart change 2", {"helm-chart/binderhub/values.yaml": "replicas: 3\n"})
    src.tag("0.2.0")

    # fresh stamp: no fetch
    assert (
        open_source(url, base_dir=tmp_path, cache_dir=cache, ttl=3600).resolve("main") == old_head
    )
    # explicit refresh: fetch
    assert (
        open_source(url, base_dir=tmp_path, cache_dir=cache, ttl=3600, refresh=True).resolve("main")
        == new_head
    )

    newer = src.commit("docs 2", {"README.md": "3\n"})
    _age(first, 100)
    assert (
        open_source(url, base_dir=tmp_path, cache_dir=cache, ttl=3600).resolve("main") == new_head
    )
    # stamp older than the ttl: fetch (branches, tags, and deleted branches pruned)
    src.branch("feature")
    src.commit("feature work", {"feature.txt": "1\n"})
    src.switch("main")
    assert open_source(url, base_dir=tmp_path, cache_dir=cache, ttl=3600, refresh=True).resolve(
        "feature"
    )
    src.git("branch", "-D", "feature")
    _age(first, 100)
    repo = open_source(url, base_dir=tmp_path, cache_dir=cache, ttl=99)
    assert repo.resolve("main") == newer
    assert repo.resolve("0.2.0") is not None
    assert repo.resolve("feature") is None
    assert time.time() - (repo.path / STAMP_NAME).stat().st_mtime < 99


def test_mirror_fetch_failure_raises_or_serves_stale(src, tmp_path):
    cache = tmp_path / "cache"
    url = file_url(src.path)
    open_source(url, base_dir=tmp_path, cache_dir=cache, ttl=3600)
    head = src.head()
    shutil.rmtree(src.path)
    with pytest.raises(GitError) as err:
        open_source(url, base_dir=tmp_path, cache_dir=cache, ttl=3600, refresh=True)
    assert "cannot update the mirror" in str(err.value) and "fetch" in str(err.value)
    stale = open_source(
        url, base_dir=tmp_path, cache_dir=cache, ttl=3600, refresh=True, on_fetch_error="stale"
    )
    assert stale.stale and "fetch" in stale.stale
    assert stale.resolve("main") == head


def test_refetch_fetches_a_mirror_once_within_the_ttl(src, tmp_path):
    """Before a commit is called unknown, the mirror is fetched whatever its age."""
    url = file_url(src.path)
    repo = open_source(url, base_dir=tmp_path, cache_dir=tmp_path / "cache", ttl=3600)
    first_fetch = repo.fetched_at
    _age(repo, 100)
    merged = src.commit("chart change 2", {"helm-chart/binderhub/values.yaml": "replicas: 3\n"})
    assert repo.is_mirror() and repo.resolve(merged[:8]) is None
    assert repo.refetch() is True
    assert repo.resolve(merged[:8]) == merged and repo.resolve("main") == merged
    assert repo.fetched_at > first_fetch - timedelta(seconds=100)
    later = src.commit("chart change 3", {"helm-chart/binderhub/values.yaml": "replicas: 4\n"})
    assert repo.refetch() is False  # once per run: a second unknown commit is not a loop
    assert repo.resolve(later[:8]) is None and repo.resolve("main") == merged


def test_refetch_never_touches_a_local_source_and_reports_a_failed_fetch(src, tmp_path):
    local = open_source(str(src.path), base_dir=tmp_path, cache_dir=tmp_path / "cache", ttl=0)
    before = src.git("for-each-ref")
    assert not local.is_mirror() and local.refetch() is False
    assert src.git("for-each-ref") == before
    url = file_url(src.path)
    mirror = open_source(url, base_dir=tmp_path, cache_dir=tmp_path / "cache", ttl=3600)
    shutil.rmtree(src.path)
    assert mirror.refetch() is False
    assert "cannot update the mirror" in mirror.stale


def test_clone_failure_leaves_nothing_and_hides_credentials(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(GitError) as err:
        open_source(file_url(tmp_path / "nothing-here"), base_dir=tmp_path, cache_dir=cache, ttl=60)
    assert "cannot mirror chart source" in str(err.value) and "nothing-here" in str(err.value)
    assert list((cache / "git").iterdir()) == []
    # 127.0.0.1:1 refuses connections at once; the token must not appear anywhere
    with pytest.raises(GitError) as err:
        open_source(
            "http://user:tok3n@127.0.0.1:1/x.git", base_dir=tmp_path, cache_dir=cache, ttl=60
        )
    assert "tok3n" not in str(err.value) and "***@127.0.0.1:1" in str(err.value)
    assert list((cache / "git").iterdir()) == []


def test_corrupt_mirror_directory_is_reported(src, tmp_path):
    cache = tmp_path / "cache"
    url = file_url(src.path)
    (cache / "git" / mirror_slug(url)).mkdir(parents=True)
    with pytest.raises(GitError, match="is not a bare git repository; delete it"):
        open_source(url, base_dir=tmp_path, cache_dir=cache, ttl=60)


# -- %h in a blobless mirror ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "length"),
    [(0, 7), (1, 7), (8191, 7), (16383, 7), (16384, 8), (65535, 8), (65536, 9), (2**20, 11)],
)
def test_auto_abbrev_arithmetic(count, length):
    assert _auto_abbrev(count) == length


@pytest.fixture(scope="module")
def big_source(tmp_path_factory):
    """A bare repository with 16402 objects (git's %h: 8 digits), made with fast-import."""
    path = tmp_path_factory.mktemp("big") / "src.git"
    git(path.parent, "init", "--quiet", "--bare", "--initial-branch=main", str(path))
    git(path, "config", "uploadpack.allowFilter", "true")
    chunks = [
        "commit refs/heads/main\n"
        f"committer Fixture Committer <committer@example.invalid> {START_TIME} +0000\n"
        "data 5\nbulk\n"
    ]
    files = {**chart_files(), **{f"data/f{i}": f"{i}\n" for i in range(16396)}}
    for name, text in files.items():
        data = text.encode()
        chunks.append(f"M 100644 inline {name}\ndata {len(data)}\n{text}")
    git(path, "fast-import", "--quiet", input="".join(chunks).encode())  # writes one pack
    return path


def test_blobless_mirror_gives_the_same_short_sha_as_a_full_clone(big_source, tmp_path):
    full = tmp_path / "full.git"
    git(tmp_path, "clone", "--quiet", "--bare", "--no-local", file_url(big_source), str(full))
    full_repo = GitRepo(full)
    assert len(full_repo.run("log", "-1", "--format=%h")) == 8  # git's own, with all blobs
    mirror = open_source(file_url(big_source), base_dir=tmp_path, cache_dir=tmp_path / "c", ttl=60)
    # without correction, git sizes %h from the blob-less pack: 7 digits
    assert len(mirror.run("log", "-1", "--format=%h")) == 7
    assert mirror.abbrev() == 8
    expected = compute_chart_version(full_repo, "main", CHARTPRESS, "binderhub")
    assert len(expected.commit) == 8
    assert compute_chart_version(mirror, "main", CHARTPRESS, "binderhub") == expected
    # an explicit core.abbrev wins, as it would for chartpress
    mirror.run("config", "core.abbrev", "12")
    assert GitRepo(mirror.path).abbrev() is None
    assert (
        len(compute_chart_version(GitRepo(mirror.path), "main", CHARTPRESS, "binderhub").commit)
        == 12
    )


def test_a_users_global_core_abbrev_does_not_change_versions(src, tmp_path, monkeypatch):
    """CI publishes with git's own sizing: ~/.gitconfig's core.abbrev must not leak in."""
    before = compute_chart_version(GitRepo(src.path), "HEAD", CHARTPRESS, "binderhub")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[core]\n\tabbrev = 12\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    assert (
        len(
            subprocess.run(
                ["git", "-C", str(src.path), "log", "-1", "--format=%h"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        == 12
    )
    assert compute_chart_version(GitRepo(src.path), "HEAD", CHARTPRESS, "binderhub") == before
