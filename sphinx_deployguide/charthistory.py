"""What a chart source's history says beyond a version: counts, landings, commit lists.

chartpress's ``n`` counts every ancestor of the chart commit (:func:`ancestor_count`, which
may start from a count the index published); a publish can only start once the chart
commit has landed on the branch, through the first-parent commit that brought it in
(:func:`landings_with_times`, the start of every publish delay); a bump lists the chart
commits between two versions (:func:`chart_commits_between`). Each is a walk of the
history, done in as few git calls as give git's own answer, each answer kept in the fact
cache.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .errors import GitError

if TYPE_CHECKING:
    from .git import GitRepo

__all__ = [
    "ancestor_count",
    "chart_commits_between",
    "first_parent_landings",
    "landing_commit",
    "landing_commits",
    "landings_with_times",
]

#: How many published versions are tried as the nearer ancestor (and as its check).
_COUNT_TRIES = 6
#: Objects in the packs above which counting from a published version (a few git calls)
#: is cheaper than counting every ancestor (about 10,000 commits: binderhub has 4,000).
_LONG_HISTORY = 60_000


def ancestor_count(repo: GitRepo, commit: str) -> tuple[int, str | None]:
    """(``git rev-list --count COMMIT``, how it was counted: None when git counted it).

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
    pair, counts that disagree) count the whole history. But first: when another commit was
    counted in this run (the head, before the pin), from that one
    (:func:`_count_from_counted`). The second element says how.
    """

    def ask() -> list[Any]:
        if repo.counted:  # from a count of this run, in one short walk
            return list(_count_from_counted(repo, commit))
        derived = None
        if (
            repo.object_estimate() > _LONG_HISTORY
            and not repo.rewrites_history()
            and repo.count_anchors
        ):
            derived = _count_from_published(repo, commit)
        return list(derived) if derived else [repo.count(commit), None]

    n, how = repo.answer(("ancestor-count", commit), ask)
    repo.counted[commit] = (n, how)  # others are counted from it
    return n, how


def _count_from_counted(repo: GitRepo, commit: str) -> tuple[int, str | None]:
    """The count of ``commit`` from that of a commit K counted in this run: the ancestors of
    ``commit`` are those of K, less those only K has, plus those only ``commit`` has, and
    ``git rev-list --left-right --count K...COMMIT`` counts both sides while walking only
    the commits between them (a bump's pin is a few hundred commits from the head, in a
    history of thousands). Exact whatever K is (git walks the same graph as for a count);
    how K was counted, when it was not by git alone, is said along."""
    known, (n_known, how_known) = list(repo.counted.items())[-1]  # (a companion may add one)
    sides = repo.run("rev-list", "--left-right", "--count", f"{known}...{commit}")
    only_known, only_commit = (int(side) for side in sides.split())
    n = n_known - only_known + only_commit
    if how_known is None:
        return n, None
    return n, (
        f"{n_known} for {repo.short(known)} ({how_known}), - {only_known} + {only_commit} "
        "commits between them"
    )


def _count_from_published(repo: GitRepo, commit: str) -> tuple[int, str] | None:
    anchors = repo.count_anchors
    full = repo.resolve(commit)
    if full is None:
        return None
    named = repo.named_commits([*anchors, full])  # the commits and their times, in one call
    known = [(found[0], anchors[prefix], prefix) for prefix in anchors if (found := named[prefix])]
    if not known:
        return None
    times = dict(found for found in named.values() if found)
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
    parents, without parents of their own, so a walk over ``parents`` stops there. The
    ``%h`` of each walked commit is read along (:meth:`GitRepo.saw_shorts`): the landings
    and the branch head found here are then named without a git call each.
    """
    parents: dict[str, tuple[str, ...]] = {}
    times: dict[str, int] = {}
    shorts: dict[str, str] = {}
    not_ = ["--not", *exclude] if exclude else []
    args = ["log", "--no-show-signature", *repo.abbrev_args(), "--format=%ct %H %h %P"]
    for line in repo.run(*args, tip, *not_, "--").split("\n"):
        if line:
            stamp, sha, short, *rest = line.split(" ")
            parents[sha] = tuple(p for p in rest if p)  # a root commit: "%P" is empty
            times[sha] = int(stamp)
            shorts[sha] = short
    repo.saw_shorts(shorts)
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
    # (split(" ", 1) of a "SHA SUBJECT" record gives two parts; mypy types it as a list)
    return [tuple(record.split(" ", 1)) for record in records if record]  # type: ignore[misc]
