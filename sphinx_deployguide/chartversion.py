"""Chart versions exactly as chartpress (>= 2) computes them, from git alone.

The 2018 incident came from guessing a chart version (the merge commit's SHA) instead of
computing it: the version is whatever ``git log -1 --format=%h -- PATHS`` says, with
git's default history simplification, which drops a merge that is TREESAME to its
second parent. So this module asks git exactly what chartpress asks it (see
``../shared/REFERENCE.md`` and ``chartpress.py``), at any revision, reading
``chartpress.yaml`` and ``Chart.yaml`` from that revision (never a work tree).

Also here: parsing the four historical version formats, and the first-parent commit
that brought a chart commit onto the branch (the moment a publish can start).
"""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import GitError

if TYPE_CHECKING:  # versions are parsed by commands that never run git
    from .git import GitRepo

__all__ = [
    "ChartVersion",
    "ChartpressError",
    "ParsedVersion",
    "chart_commits_between",
    "chart_paths",
    "check_base_version",
    "compute_chart_version",
    "first_parent_landings",
    "fix_chart_version",
    "format_version",
    "landing_commit",
    "landing_commits",
    "landings_with_times",
    "latest_tag",
    "load_chartpress_yaml",
    "parse_version",
    "version_finder",
]

SCHEMES = ("chartpress", "sha")

#: chartpress's default base when there is neither a tag nor a ``baseVersion``.
DEFAULT_BASE = "0.0.1-0.dev"

#: SemVer 2 (semver.org's regex, as chartpress uses it).
SEMVER_RE = re.compile(
    r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<prerelease>(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+(?P<buildmetadata>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


class ChartpressError(GitError):
    """The chart source's ``chartpress.yaml``/``Chart.yaml`` cannot give a version."""


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


# -- reading chartpress.yaml ----------------------------------------------------------


@functools.cache
def _yaml12_loader() -> type:
    """A safe loader with YAML 1.2 booleans, as chartpress's ruamel.yaml reads its config
    (made on first use: versions are parsed by commands that read no YAML).

    PyYAML (YAML 1.1) reads ``no``/``off``/``yes`` as booleans; ruamel.yaml reads them as
    strings. ``rebuildOnContextPathChanges: no`` is therefore *truthy* for chartpress.
    """
    import yaml

    loader: Any = type("Yaml12Loader", (getattr(yaml, "CSafeLoader", yaml.SafeLoader),), {})
    loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    return loader


def load_chartpress_yaml(text: str, where: str) -> Any:
    """Parse YAML text safely (YAML 1.2 booleans); ChartpressError naming ``where``."""
    import yaml

    from . import safeyaml

    try:
        return safeyaml.load(text, _yaml12_loader())  # a safe loader subclass, bounded
    except yaml.YAMLError as exc:
        problem, line = safeyaml.problem_of(exc)
        raise ChartpressError(f"invalid YAML: {problem}", file=where, line=line) from None


def _find_chart(config: Any, chart_name: str, where: str) -> dict:
    if not isinstance(config, dict) or not isinstance(config.get("charts"), list):
        raise ChartpressError("expected a mapping with a list `charts`", file=where, key="charts")
    names = []
    for i, chart in enumerate(config["charts"]):
        if not isinstance(chart, dict):
            raise ChartpressError("expected a mapping per chart", file=where, key=f"charts[{i}]")
        names.append(chart.get("name"))
        if chart.get("name") == chart_name:
            return chart
    raise ChartpressError(
        f"no chart named {chart_name!r} (charts: {', '.join(map(repr, names)) or 'none'})",
        file=where,
        key="charts",
    )


def _str_list(value: Any, where: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ChartpressError("expected a list of path strings", file=where, key=key)
    return list(value)


def _optional_str(table: dict, name: str, where: str, key: str) -> str | None:
    """``table[name]`` when it is a path string, None when absent; else a located error."""
    value = table.get(name)
    if value is None or isinstance(value, str):
        return value
    raise ChartpressError(
        f"expected a path string, got {type(value).__name__} {value!r}",
        file=where,
        key=f"{key}.{name}",
    )


def _to_repo_path(chartpress_dir: str, path: str, where: str, key: str) -> str:
    """A path relative to the chartpress folder -> the same pathspec from the repo root."""
    if not isinstance(path, str) or not path:
        raise ChartpressError(
            f"expected a non-empty path string, got {path!r}", file=where, key=key
        )
    if path.startswith(":"):
        raise ChartpressError(f"pathspec magic is not supported: {path!r}", file=where, key=key)
    if path.startswith("/"):
        raise ChartpressError(
            f"expected a path relative to the chartpress.yaml folder, got {path!r}",
            file=where,
            key=key,
        )
    joined = posixpath.normpath(posixpath.join(chartpress_dir, path))
    if joined == ".." or joined.startswith("../"):
        raise ChartpressError(f"path {path!r} points outside the repository", file=where, key=key)
    if path.endswith("/") and joined != ".":
        joined += "/"  # git: a trailing slash matches directories only
    return joined


def chart_paths(
    chartpress_config: dict,
    chart_name: str,
    chartpress_dir: str,
    *,
    config_name: str = "chartpress.yaml",
    where: str = "chartpress.yaml",
) -> list[str]:
    """The paths whose history gives the chart version, relative to the repository root.

    chartpress (``_get_all_chart_paths``): its config file, ``chartPath`` (default the
    chart name), the chart's ``paths``, and per image the config file, the context path
    (only if ``rebuildOnContextPathChanges``, default true; default ``images/<name>``),
    the ``dockerfilePath`` (default ``<context>/Dockerfile``) and the image's ``paths``.
    All are relative to the folder holding the config (``chartpress_dir``, "" for the
    root). Sorted and without duplicates (chartpress uses a set).
    """
    chart = _find_chart(chartpress_config, chart_name, where)
    ckey = f"charts[name={chart_name}]"
    rel: list[tuple[str, str]] = [(config_name, "(the config file itself)")]
    chart_path = _optional_str(chart, "chartPath", where, ckey) or chart_name
    rel.append((chart_path, f"{ckey}.chartPath"))
    rel += [(p, f"{ckey}.paths") for p in _str_list(chart.get("paths"), where, f"{ckey}.paths")]
    images = chart.get("images")
    if images is not None:
        if not isinstance(images, dict):
            raise ChartpressError("expected a mapping of images", file=where, key=f"{ckey}.images")
        for name, options in images.items():
            ikey = f"{ckey}.images.{name}"
            if not isinstance(options, dict):
                raise ChartpressError("expected a mapping of image options", file=where, key=ikey)
            context = _optional_str(options, "contextPath", where, ikey) or posixpath.join(
                "images", str(name)
            )
            dockerfile = _optional_str(options, "dockerfilePath", where, ikey) or posixpath.join(
                context, "Dockerfile"
            )
            rel.append((config_name, ikey))
            # chartpress: `options.get("rebuildOnContextPathChanges", True)`, plain truthiness
            if options.get("rebuildOnContextPathChanges", True):
                rel.append((context, f"{ikey}.contextPath"))
            rel.append((dockerfile, f"{ikey}.dockerfilePath"))
            rel += [
                (p, f"{ikey}.paths")
                for p in _str_list(options.get("paths"), where, f"{ikey}.paths")
            ]
    return sorted({_to_repo_path(chartpress_dir, p, where, key) for p, key in rel})


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
    """(``%h``, full sha) of ``git log --max-count=1 REV -- PATHS``, default simplification."""
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
    if not out:
        return None
    short, full = out.split()
    return short, full


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
    from .git import is_plain_path

    chartpress_path = posixpath.normpath(chartpress_path.strip("/"))
    chartpress_dir = posixpath.dirname(chartpress_path)
    # the usual layout, read along with the config; used only if the config agrees
    likely_chart_yaml = posixpath.join(chartpress_dir, chart_name, "Chart.yaml")
    prefetch = [likely_chart_yaml] if is_plain_path(likely_chart_yaml) else []
    full_rev, (config_data, *prefetched) = repo.show_many(rev, [chartpress_path, *prefetch])
    config, where = _yaml_at(repo, full_rev, chartpress_path, config_data, "chartpress config")
    chart = _find_chart(config, chart_name, where)
    paths = tuple(
        chart_paths(
            config,
            chart_name,
            chartpress_dir,
            config_name=posixpath.basename(chartpress_path),
            where=where,
        )
    )
    chart_dir = _to_repo_path(
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


#: How many published versions are tried as the nearer ancestor (and as its check).
_COUNT_TRIES = 6
#: Objects in the packs above which counting from a published version (a few git calls)
#: is cheaper than counting every ancestor (about 10,000 commits: binderhub has 4,000).
_LONG_HISTORY = 60_000


def ancestor_count(repo: GitRepo, commit: str) -> tuple[int, str | None]:
    """(``git rev-list --count COMMIT``, how it was counted: None for that command).

    chartpress's ``n`` counts every ancestor, a walk of the whole history (a third of a
    second at 100,000 commits without a commit-graph, half a tenth with one). A commit's SHA
    fixes its ancestors (it hashes its parents, theirs, and so on), so the count chartpress
    published for a version, on CI's full clone, is the count of that commit here too. On a
    long history (a short one is counted whole faster), when :attr:`GitRepo.count_anchors`
    holds the index's counts, the count is that of the nearest published ancestor A plus
    the commits since (``rev-list --count A..COMMIT``), once the index's counts are checked
    against git: an older published ancestor B of A whose count differs from A's by exactly
    ``rev-list --count B..A`` (a count made on a shallow clone, or a wrong one, fails that).
    Replace refs or grafts, which change what git walks here, and anything else (no such
    pair, counts that disagree) count the whole history. The second element says how.
    """

    def ask() -> list[Any]:
        derived = None
        if (
            repo.object_estimate() > _LONG_HISTORY
            and not repo.rewrites_history()
            and repo.count_anchors
        ):
            derived = _count_from_published(repo, commit)
        return list(derived) if derived else [repo.count(commit), None]

    n, how = repo.answer(("ancestor-count", commit), ask)
    return n, how


def _count_from_published(repo: GitRepo, commit: str) -> tuple[int, str] | None:
    anchors = repo.count_anchors
    fulls = repo.resolve_many(list(anchors))
    known = [(full, anchors[prefix], prefix) for prefix, full in fulls.items() if full]
    full = repo.resolve(commit)
    if not known or full is None:
        return None
    times = repo.commit_stamps(sorted({k[0] for k in known} | {full}))
    before = sorted(
        (k for k in known if times[k[0]] <= times[full]), key=lambda k: times[k[0]], reverse=True
    )
    nearer = [k for k in before[:_COUNT_TRIES] if repo.is_ancestor(k[0], full)]
    if not nearer:
        return None
    a, n_a, sha_a = nearer[0]
    for b, n_b, sha_b in before[before.index(nearer[0]) + 1 :][:_COUNT_TRIES]:
        if b == a or not repo.is_ancestor(b, a):
            continue
        between = int(repo.run("rev-list", "--count", f"{b}..{a}"))
        if n_a - n_b != between:
            return None  # the published counts are not git's: count everything
        since = int(repo.run("rev-list", "--count", f"{a}..{full}")) if a != full else 0
        return n_a + since, (
            f"{n_a}, published for its ancestor {sha_a}, + {since} commits since; checked "
            f"against {sha_b}, published with {n_b}, {between} commits before"
        )
    return None


def first_parent_landings(parents: dict[str, tuple[str, ...]], tip: str) -> dict[str, str]:
    """For every commit reachable from ``tip``: the first-parent commit of ``tip`` that
    brought it in (itself for a commit on that chain). Pure; ``parents``: sha -> parents.

    Walking the chain oldest first, each chain commit brings in exactly the commits it
    reaches that its predecessor did not, i.e. the oldest chain commit that contains a
    commit. That is what ``rev-list --ancestry-path C..tip`` intersected with
    ``rev-list --first-parent tip`` gives (REFERENCE.md "Two traps"), for all commits at
    once.
    """
    chain: list[str] = []
    sha: str | None = tip
    while sha is not None:
        chain.append(sha)
        sha = next(iter(parents.get(sha, ())), None)
    landing: dict[str, str] = {}
    for mainline in reversed(chain):
        landing[mainline] = mainline
        stack = list(parents.get(mainline, ())[1:])
        while stack:
            sha = stack.pop()
            if sha not in landing:
                landing[sha] = mainline
                stack.extend(parents.get(sha, ()))
    return landing


def _history(
    repo: GitRepo, tip: str, *exclude: str
) -> tuple[dict[str, tuple[str, ...]], dict[str, int]]:
    """Parents and committer time (epoch) of each commit of ``rev-list TIP --not EXCLUDE...``.

    Excluded commits and their ancestors are not walked; their shas still appear as
    parents, without parents of their own, so a walk over ``parents`` stops there.
    """
    parents: dict[str, tuple[str, ...]] = {}
    times: dict[str, int] = {}
    not_ = ["--not", *exclude] if exclude else []
    for line in repo.run("rev-list", "--parents", "--timestamp", tip, *not_).split("\n"):
        if line:
            stamp, sha, *rest = line.split(" ")
            parents[sha] = tuple(rest)
            times[sha] = int(stamp)
    return parents, times


def _common_ancestor(repo: GitRepo, commits: list[str]) -> str | None:
    """A common ancestor of all ``commits`` (full shas), or None when they have none."""
    args = ["merge-base", "--octopus", *commits]
    proc = repo._run(args)
    if proc.returncode == 1 and not proc.stdout.strip():
        return None
    if proc.returncode != 0:
        raise repo._fail(args, proc)
    return proc.stdout.decode("ascii").split()[0]


def landings_with_times(
    repo: GitRepo, commits: list[str], tip: str
) -> dict[str, tuple[str, datetime]]:
    """{commit as given: (full sha of the first-parent commit of ``tip`` that brought it in,
    that commit's committer time)}; commits that are unknown or not reachable from ``tip``
    are left out.

    ``rev-list --ancestry-path --first-parent`` cannot see a commit through a merge's second
    parent, so it is the oldest commit of ``--first-parent tip`` that contains the commit
    (:func:`first_parent_landings`). A landing descends from its commit, so only the history
    since the commits' common ancestor is walked (from that ancestor's parents: it may be
    one of them), not the whole branch: two git calls however long the history, and each
    answer is kept in the fact cache.
    """
    fulls = repo.resolve_many(commits)
    found: dict[str, Any] = {}
    asked = []
    for full in sorted({f for f in fulls.values() if f}):
        known, answer = (
            repo.answers.known(("landing", tip, full)) if repo.answers else (False, None)
        )
        if known:
            found[full] = answer
        else:
            asked.append(full)
    if asked:
        base = _common_ancestor(repo, asked)
        parents, times = _history(repo, tip, *([f"{base}^@"] if base else []))
        landing = first_parent_landings(parents, tip)
        for full in asked:  # landings of descendants of ``base`` (or itself) are right
            found[full] = [landing[full], times[landing[full]]] if full in landing else None
            if repo.answers is not None:
                repo.answers.remember(("landing", tip, full), found[full])
    result = {}
    for commit, full_or_none in fulls.items():
        answer = found.get(full_or_none) if full_or_none else None
        if answer is not None:
            result[commit] = (answer[0], datetime.fromtimestamp(answer[1], tz=timezone.utc))
    return result


def latest_tag(repo: GitRepo, rev: str) -> tuple[str | None, int]:
    """(the latest tag reachable from ``rev``, commits since it), as ``git describe --tags
    --long`` says; (None, 0) when no tag is reachable."""
    answer: list[Any] = repo.answer(("describe", rev), lambda: list(_describe(repo, rev)[0]))
    tag, since = answer
    return tag, since


def landing_commits(repo: GitRepo, commits: list[str], branch: str) -> dict[str, str]:
    """:func:`landing_commit` for many commits: {commit as given: full sha of its landing}
    (see :func:`landings_with_times`); commits that are unknown or not on ``branch`` are
    left out."""
    tip = repo.resolve_or_fail(branch)
    return {c: sha for c, (sha, _) in landings_with_times(repo, commits, tip).items()}


def landing_commit(repo: GitRepo, commit: str, branch: str) -> str:
    """Full sha of the first-parent commit on ``branch`` that brought ``commit`` in
    (``commit`` itself if it is on that chain; see :func:`landings_with_times`)."""
    full = repo.resolve_or_fail(commit)
    landed = landing_commits(repo, [full], branch).get(full)
    if landed is None:
        raise GitError(f"{repo.source}: commit {commit} is not on branch {branch}")
    return landed


def chart_commits_between(
    repo: GitRepo, old: str | None, new: str, paths: tuple[str, ...] | list[str]
) -> list[tuple[str, str]]:
    """(``%h``, subject) of the chart commits in ``old..new``, oldest first.

    ``git log --reverse old..new -- PATHS`` with the default simplification, so a
    TREESAME merge is not listed (its PR's commits are). ``old`` None: just ``new``.
    """
    new_full = repo.resolve_or_fail(new)
    # -z ends each record with NUL: a subject may hold a carriage return or any other
    # character that str.splitlines() would take for a line break
    fmt = ("-z", "--pretty=format:%h %s")
    if old is None:
        args = ["log", "--max-count=1", "--no-show-signature", *repo.abbrev_args(), *fmt, new_full]
    else:
        old_full = repo.resolve_or_fail(old)
        args = ["log", "--reverse", "--no-show-signature", *repo.abbrev_args(), *fmt]
        args += [f"{old_full}..{new_full}", "--", *paths]
    records = repo.answer(
        ("log", *args), lambda: repo.run_bytes(*args).decode("utf-8", "replace").split("\0")
    )
    return [tuple(record.split(" ", 1)) for record in records if record]  # type: ignore[misc]


# -- parsing versions ----------------------------------------------------------------------


class ParsedVersion(NamedTuple):
    """A chart version split into its parts (a named tuple: a run parses every index name).

    era: "sha" (2017-2019, ``0.1.0-441f5ea``), "chartpress-0.4" (``0.2.0-013.dace2ee``),
    "chartpress-0.6" (``0.2.0-n077.hef338bc``), "chartpress-2"
    (``1.0.0-0.dev.git.3983.h383374de``) or "tag" (a plain SemVer release). ``n`` counts
    commits since the tag before chartpress 2, all ancestors since.
    """

    version: str
    era: str
    base: str
    n: int | None
    sha: str | None


_CORE = r"v?(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)"
_PRE = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*?"
_SHA = r"[0-9a-f]{7,40}"
# pre-2 chartpress joined with "-" after a release tag and "." after a prerelease tag
_OLD_BASE = rf"(?:{_CORE}-{_PRE}\.|{_CORE}-)"
_ERA_PATTERNS = (
    ("chartpress-2", rf"(?P<base>{_CORE}-{_PRE})\.git\.(?P<n>\d+)\.h(?P<sha>{_SHA})"),
    ("chartpress-0.6", rf"(?P<base>{_OLD_BASE})n(?P<n>\d{{3,}})\.h(?P<sha>{_SHA})"),
    ("chartpress-0.4", rf"(?P<base>{_OLD_BASE})(?P<n>\d{{3,}})\.(?P<sha>{_SHA})"),
    ("sha", rf"(?P<base>{_CORE})-(?P<sha>{_SHA})"),
)
# One pattern for all eras, tried in the order above (an alternation tries its branches in
# order, each to the end): group names get the era's index, e.g. ``base0``.
_ERAS_RE = re.compile(
    "^(?:"
    + "|".join(
        re.sub(r"\(\?P<(\w+)>", rf"(?P<\g<1>{i}>", pattern)
        for i, (_, pattern) in enumerate(_ERA_PATTERNS)
    )
    + ")$"
)
_COUNTED_ERAS = frozenset(str(i) for i, (_, p) in enumerate(_ERA_PATTERNS) if "(?P<n>" in p)


@functools.cache
def version_finder() -> re.Pattern[str]:
    """Finds chart versions of the four SHA-bearing formats inside prose (not plain tags:
    "3.12.0" alone is not a chart build); a trailing ".tgz" or sentence dot is allowed.
    Compiled on first use: only the drift checks look for versions in text."""
    return re.compile(
        r"(?<![\w.])(?:"
        + "|".join(re.sub(r"\(\?P<\w+>", "(?:", p) for _, p in _ERA_PATTERNS)
        + r")(?![\w-]|\.(?!tgz\b)\w)"
    )


@functools.lru_cache(maxsize=4096)
def parse_version(version: str) -> ParsedVersion | None:
    """Split a chart version of any era; None if it is none of them (remembered: a run asks
    about the same index names many times)."""
    version = version.strip()
    m = _ERAS_RE.match(version)
    if m:
        i = m.lastgroup[3:]  # type: ignore[index]  # each era's last group is its "sha"
        n = m[f"n{i}"] if i in _COUNTED_ERAS else None
        era = _ERA_PATTERNS[int(i)][0]
        return ParsedVersion(
            version, era, m[f"base{i}"].rstrip("-."), int(n) if n else None, m[f"sha{i}"]
        )
    if SEMVER_RE.fullmatch(version):
        return ParsedVersion(version, "tag", version, None, None)
    return None
