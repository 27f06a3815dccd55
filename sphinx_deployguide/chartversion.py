"""Chart versions exactly as chartpress (>= 2) computes them, from git alone.

The 2018 incident came from guessing a chart version (the merge commit's SHA) instead of
computing it: the version is whatever ``git log -1 --format=%h -- PATHS`` says, with
git's default history simplification, which drops a merge that is TREESAME to its
second parent. So this module asks git exactly what chartpress asks it (see
``../shared/REFERENCE.md`` and ``chartpress.py``), at any revision, reading
``chartpress.yaml`` (:mod:`.chartpressyaml`) and ``Chart.yaml`` from that revision (never
a work tree); the ancestor count ``n`` is :func:`~.charthistory.ancestor_count`. Parsing
the published formats of every era is :mod:`.versionparse`.
"""

from __future__ import annotations

import posixpath
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .charthistory import ancestor_count
from .chartpressyaml import (
    ChartpressError,
    chart_paths,
    find_chart,
    load_chartpress_yaml,
    to_repo_path,
)
from .gitobjects import is_plain_path
from .versionparse import SEMVER_RE

if TYPE_CHECKING:
    from .git import GitRepo

__all__ = [
    "ChartVersion",
    "check_base_version",
    "compute_chart_version",
    "fix_chart_version",
    "format_version",
    "latest_tag",
]

SCHEMES = ("chartpress", "sha")

#: chartpress's default base when there is neither a tag nor a ``baseVersion``.
DEFAULT_BASE = "0.0.1-0.dev"


@dataclass(frozen=True)
class ChartVersion:
    """A computed chart version and the commit it names."""

    version: str  # e.g. "1.0.0-0.dev.git.12.h441f5ea" or "0.1.0-441f5ea"
    commit: str  # short sha of the chart commit, git's %h (length NOT fixed at 7)
    commit_full: str
    paths: tuple[str, ...]  # chart paths, relative to the repository root
    n: int | None = None  # ancestors of the commit (None: not part of the version)
    base: str | None = None  # e.g. "1.0.0-0.dev"; the tag for an exact-tag version
    tag: str | None = None  # latest tag reachable from the chart commit
    #: How ``n`` was counted when it was not by ``git rev-list --count`` over the whole
    #: history (from a published version's count, see :func:`ancestor_count`).
    n_from: str | None = None


# -- pure version arithmetic ------------------------------------------------------------


def format_version(base: str, n: int, sha: str) -> str:
    """chartpress's ``_get_identifier_from_parts``: ``1.2.3`` -> ``1.2.3-0.dev.git.N.hSHA``,
    a prerelease base ``1.2.3-alpha.1`` -> ``1.2.3-alpha.1.git.N.hSHA``."""
    return f"{base}{'.git' if '-' in base else '-0.dev.git'}.{n}.h{sha}"


def fix_chart_version(version: str) -> str:
    """chartpress's ``_fix_chart_version``: strip a leading ``v`` if the rest is SemVer.

    A version that is not SemVer even then is left unchanged (chartpress only warns,
    unless it publishes).
    """
    if SEMVER_RE.fullmatch(version):
        return version
    if version.startswith("v") and SEMVER_RE.fullmatch(version[1:]):
        return version[1:]
    return version


def _increment(numbers: tuple[int, int, int], field: str) -> tuple[int, int, int]:
    major, minor, patch = numbers
    if field == "major":
        return (major + 1, 0, 0)
    if field == "minor":
        return (major, minor + 1, 0)
    return (major, minor, patch + 1)


def check_base_version(base_version: str, latest_tag: str | None, since_tag: int) -> str:
    """chartpress's ``_check_or_get_base_version``: the base for a ``baseVersion`` setting.

    ``latest_tag``/``since_tag``: ``git describe --tags --long`` at the revision being
    built. ``major|minor|patch`` increment the latest tag; ``1.2.3`` means ``1.2.3-0.dev``;
    a prerelease must sort after the latest tag unless the revision is exactly on it.
    Raises ValueError with chartpress's reason.
    """
    tag_numbers = None
    tag_match = None
    if latest_tag:
        tag_match = SEMVER_RE.fullmatch(latest_tag.lstrip("v"))
        if tag_match:
            tag_numbers = (
                int(tag_match["major"]),
                int(tag_match["minor"]),
                int(tag_match["patch"]),
            )

    if base_version in ("major", "minor", "patch"):
        if not latest_tag:
            return DEFAULT_BASE
        if tag_numbers is None:
            raise ValueError(
                f"baseVersion {base_version} is not valid when latest tag {latest_tag} "
                "is not semver"
            )
        if "-" in latest_tag:
            return latest_tag  # a prerelease tag needs no increment
        return "{}.{}.{}-0.dev".format(*_increment(tag_numbers, base_version))

    if "-" not in base_version:
        base_version = f"{base_version}-0.dev"
    match = SEMVER_RE.fullmatch(base_version)
    if not match:
        raise ValueError(
            f"baseVersion {base_version} must be a valid semver version (e.g. 1.2.3-0.dev)"
        )
    if latest_tag and since_tag and tag_numbers is not None and tag_match is not None:
        numbers = (int(match["major"]), int(match["minor"]), int(match["patch"]))
        if numbers < tag_numbers or (numbers == tag_numbers and not tag_match["prerelease"]):
            raise ValueError(
                f"baseVersion {base_version} is not greater than latest tag {latest_tag}; "
                "update baseVersion in chartpress.yaml"
            )
    return base_version


# -- git queries --------------------------------------------------------------------------


def _describe(repo: GitRepo, *revs: str) -> list[tuple[str | None, int]]:
    """``git describe --tags --long REV...`` -> [(latest tag, commits since it)] per rev,
    (None, 0) where there is none.

    One call for all revs; git stops at the first rev no tag describes, so only then
    is each rev asked again on its own.
    """
    args = ["describe", "--tags", "--long", *revs]
    proc = repo._run(args)
    if proc.returncode == 0:
        # one line per rev (a tag name may hold any character but a control one)
        lines = proc.stdout.decode("utf-8", "surrogateescape").split("\n")[: len(revs)]
        parts = (line.rsplit("-", 2) for line in lines)
        return [(tag, int(since)) for tag, since, _g_sha in parts]
    stderr = proc.stderr.decode("utf-8", "replace")
    if "No names found" in stderr:  # no tags at all: nothing describes any rev
        return [(None, 0)] * len(revs)
    if len(revs) > 1:
        return [_describe(repo, rev)[0] for rev in revs]
    if "No tags can describe" in stderr:
        return [(None, 0)]
    raise repo._fail(args, proc)


def _last_commit(repo: GitRepo, rev: str, paths: tuple[str, ...]) -> tuple[str, str] | None:
    """(``%h``, full sha) of ``git log --max-count=1 REV -- PATHS``, default simplification
    (kept in the fact cache: both version schemes, and a companion thread, ask it)."""

    def ask() -> list[str] | None:
        out = repo.run(
            "log",
            "--max-count=1",
            "--no-show-signature",
            *repo.abbrev_args(),
            "--pretty=format:%h %H",
            rev,
            "--",
            *paths,
        ).strip()
        return out.split() if out else None

    found = repo.answer(("last-commit", rev, *paths), ask)
    return (found[0], found[1]) if found else None


def _tag_not_in(repo: GitRepo, tag: str, full: str) -> str | None:
    """The commit of ``refs/tags/TAG`` if ``full`` does not contain it, else None.

    Usually one ``merge-base --is-ancestor`` with the tag as a revision; the tag's sha is
    only looked up when it is needed (not contained) or git refused the tag name.
    """
    proc = repo._run(["merge-base", "--is-ancestor", f"refs/tags/{tag}^{{commit}}", full])
    if proc.returncode == 0:
        return None
    tagged = repo.resolve(f"refs/tags/{tag}")
    if tagged is None:
        raise ChartpressError(f"tag {tag!r} does not name a commit", file=repo.source)
    if proc.returncode != 1 and repo.is_ancestor(tagged, full):
        return None
    return tagged


def _yaml_at(repo: GitRepo, rev: str, path: str, data: bytes | None, what: str) -> tuple[Any, str]:
    where = f"{repo.source}@{rev[:12]}:{path}"
    if data is None:
        raise ChartpressError(f"{what} {path!r} does not exist at {rev}", file=repo.source)
    return load_chartpress_yaml(repo.decode_text(data, path, rev), where), where


def compute_chart_version(
    repo: GitRepo,
    rev: str,
    chartpress_path: str,
    chart_name: str,
    scheme: str = "chartpress",
) -> ChartVersion:
    """The version chartpress would give ``chart_name`` when run at ``rev`` (kept in the
    fact cache: it is a function of the repository's state, see :mod:`.factcache`)."""
    if scheme not in SCHEMES:
        raise ChartpressError(f"unknown version scheme {scheme!r} (expected one of {SCHEMES})")
    question = ("chart-version", rev, chartpress_path, chart_name, scheme)
    answer = repo.answer(
        question, lambda: asdict(_compute(repo, rev, chartpress_path, chart_name, scheme))
    )
    return ChartVersion(**{**answer, "paths": tuple(answer["paths"])})


def _compute(
    repo: GitRepo, rev: str, chartpress_path: str, chart_name: str, scheme: str
) -> ChartVersion:
    """:func:`compute_chart_version`, asked of git.

    ``chartpress_path``: repo-root-relative path of ``chartpress.yaml``; it and the
    chart's ``Chart.yaml`` are read at ``rev`` from the object database. ``scheme="sha"``
    gives the 2017-2019 ``<Chart.yaml version up to '-'>-<%h>`` instead.

    Every git call is a process (a few ms each), so the same questions are asked in as
    few calls as give the same answers: ``rev`` is resolved and both files are read by
    one ``cat-file --batch`` (``Chart.yaml`` at the default ``chartPath`` is read along,
    and only read again when the config names another); ``rev`` and the chart commit are
    described by one ``describe``, which also settles the tag rule when both name the
    same tag.
    """
    chartpress_path = posixpath.normpath(chartpress_path.strip("/"))
    chartpress_dir = posixpath.dirname(chartpress_path)
    # the usual layout, read along with the config; used only if the config agrees
    likely_chart_yaml = posixpath.join(chartpress_dir, chart_name, "Chart.yaml")
    prefetch = [likely_chart_yaml] if is_plain_path(likely_chart_yaml) else []
    full_rev, (config_data, *prefetched) = repo.show_many(rev, [chartpress_path, *prefetch])
    config, where = _yaml_at(repo, full_rev, chartpress_path, config_data, "chartpress config")
    chart = find_chart(config, chart_name, where)
    paths = tuple(
        chart_paths(
            config,
            chart_name,
            chartpress_dir,
            config_name=posixpath.basename(chartpress_path),
            where=where,
        )
    )
    chart_dir = to_repo_path(
        chartpress_dir,
        chart.get("chartPath") or chart_name,
        where,
        f"charts[name={chart_name}].chartPath",
    )
    chart_yaml_path = posixpath.join(chart_dir.rstrip("/"), "Chart.yaml")
    if prefetch and chart_yaml_path == likely_chart_yaml:
        chart_yaml_data = prefetched[0]
    else:
        chart_yaml_data = repo.show_many(full_rev, [chart_yaml_path])[1][0]
    chart_yaml, chart_where = _yaml_at(
        repo, full_rev, chart_yaml_path, chart_yaml_data, "Chart.yaml"
    )

    found = _last_commit(repo, full_rev, paths)
    if found is None:  # impossible while chartpress.yaml exists at rev; be explicit anyway
        raise ChartpressError(
            f"no commit up to {rev} touches the chart paths {list(paths)}", file=where
        )
    short, full = found

    if scheme == "sha":
        version = chart_yaml.get("version") if isinstance(chart_yaml, dict) else None
        if not isinstance(version, str) or not version:
            raise ChartpressError("expected a string `version`", file=chart_where, key="version")
        base = version.split("-")[0]
        return ChartVersion(f"{base}-{short}", short, full, paths, base=base)

    # baseVersion is checked against the latest tag at the revision being built (HEAD);
    # the chart commit is described along (it usually stays the version's commit)
    described = _describe(repo, full_rev) if full == full_rev else _describe(repo, full_rev, full)
    head_tag, head_since = described[0]
    base_version = chart.get("baseVersion")
    if base_version:
        bkey = f"charts[name={chart_name}].baseVersion"
        if not isinstance(base_version, str):
            raise ChartpressError(
                f'expected a string (e.g. "1.2.3-0.dev" or minor), got {base_version!r}',
                file=where,
                key=bkey,
            )
        try:
            base_version = check_base_version(base_version, head_tag, head_since)
        except ValueError as exc:
            raise ChartpressError(str(exc), file=where, key=bkey) from None
    else:
        base_version = None

    # the tag rule: a tagged commit that the path commit does not contain wins (when the
    # path commit's own latest tag is that tag, it contains it: no need to ask)
    if head_tag and described[-1][0] != head_tag:
        tagged = _tag_not_in(repo, head_tag, full)
        if tagged is not None:
            full, short = tagged, repo.short(tagged)  # rev-list --abbrev-commit, as chartpress
            described = [described[0], *_describe(repo, full)]

    tag, since = described[-1]
    if tag and since == 0:  # exactly on a tag: the tag is the version
        return ChartVersion(fix_chart_version(tag), short, full, paths, base=tag, tag=tag)
    if base_version is None:
        base_version = tag or DEFAULT_BASE
    n, n_from = ancestor_count(repo, full)
    version = fix_chart_version(format_version(base_version, n, short))
    return ChartVersion(version, short, full, paths, n=n, base=base_version, tag=tag, n_from=n_from)


def latest_tag(repo: GitRepo, rev: str) -> tuple[str | None, int]:
    """(the latest tag reachable from ``rev``, commits since it), as ``git describe --tags
    --long`` says; (None, 0) when no tag is reachable."""
    answer: list[Any] = repo.answer(("describe", rev), lambda: list(_describe(repo, rev)[0]))
    tag, since = answer
    return tag, since
