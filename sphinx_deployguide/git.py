"""One git repository, as chart versions need it: its state, its history, its ``%h``.

Chart versions must come out exactly as chartpress computes them, so we ask git itself
(history simplification, ``describe``, ``%h``) instead of re-implementing any of it.
:class:`GitRepo` is the repository a chart source is: what opening it found (bare?
shallow? its refs, fingerprinted for the fact cache), whether it is a mirror we may fetch,
and the questions about its history (ancestry, counts, parents, ``%h`` lengths). It stands
on two layers: running git (:mod:`.gitrun`: environment, deadlines, errors) and batch reads
of the object database (:mod:`.gitobjects`). Opening a configured source, local or mirrored,
is :func:`~sphinx_deployguide.gitsource.open_source`.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from .errors import GitError
from .factcache import source_state
from .gitobjects import GitObjects
from .gitrun import spawn

__all__ = ["STAMP_NAME", "GitRepo"]

#: Name of the stamp file (inside a mirror) whose mtime is the last successful fetch.
STAMP_NAME = "deployguide-fetched"


def _auto_abbrev(count: int) -> int:
    """git's automatic ``%h`` length for a repository of ``count`` objects.

    Same arithmetic as git's ``repo_find_unique_abbrev_r``: bits needed for ``count``,
    halved and rounded up, at least 7.
    """
    bits = count.bit_length()  # == msb(count) + 1
    return max(7, (bits + 1) // 2)


class GitRepo(GitObjects):
    """One git repository (work tree or bare), addressed with ``git -C path``."""

    def __init__(self, path: Path, *, source: str | None = None) -> None:
        super().__init__(path, source=source)
        #: For a mirror: when it was last fetched successfully (None for local sources).
        self.fetched_at: datetime | None = None
        #: For a mirror served without a successful fetch: why (see ``open_source``).
        self.stale: str | None = None
        #: For a mirror: the URL it mirrors (as configured: never put it in a message).
        self.mirror_of: str | None = None
        self._refetched = False
        #: A version asked about names a commit this mirror lacks, or one not on the
        #: branch yet (:func:`~.evidence.prefetch`): every run fetches it again.
        self.wants_fetch = False
        self._shorts: dict[str, str] = {}  # rev -> %h; a fetch may lengthen them
        self._seen_shorts: dict[str, str] = {}  # full sha -> %h, read along by a log
        self._abbrev: tuple[int | None] | None = None  # (the answer,) once computed
        #: From :meth:`probe`: the git directory, bare?, shallow?, every ref.
        self.git_dir: Path | None = None
        self.bare: bool | None = None
        self.shallow: bool | None = None
        #: From :meth:`probe`: the way up to the top of the work tree ("" at the top;
        #: None without a work tree, or not probed).
        self.cdup: str | None = None
        self._refs = ""
        self._anchors: dict[str, int] = {}
        self._anchor_sources: list[Callable[[], dict[str, int]]] = []
        self._anchor_lock = threading.Lock()
        #: {full sha: (ancestor count, how)} counted in this run (shared with companions),
        #: from which another commit's count is a short walk away
        #: (:func:`.charthistory.ancestor_count`).
        self.counted: dict[str, tuple[int, str | None]] = {}

    def __repr__(self) -> str:
        return f"GitRepo({str(self.path)!r})"

    def companion(self) -> GitRepo:
        """The same repository, opened as this one is, for asking questions in another
        thread: its own git processes but the same ``cat-file --batch`` (one exchange at a
        time; the reads of a run are short), the same fact cache
        (:class:`~sphinx_deployguide.factcache.Answers` is thread-safe) and what opening
        found. A question answered there is then known here without asking git again; ask
        nothing of a companion once this repository may be fetched (:meth:`refetch`)."""
        batch = self.batch()  # and with it the settings every git call passes
        other = GitRepo(self.path, source=self.source)
        other.source = self.source
        other.network_timeout, other.answers = self.network_timeout, self.answers
        other.fetched_at, other.stale, other.mirror_of = self.fetched_at, self.stale, self.mirror_of
        other.git_dir, other.bare, other.shallow, other.cdup = (
            self.git_dir,
            self.bare,
            self.shallow,
            self.cdup,
        )
        other._refs, other._refetched = self._refs, True  # fetching is this one's to do
        other._config, other._abbrev_config = self._config, self._abbrev_config
        other._batch = batch
        other.add_count_anchors(lambda: self.count_anchors)
        other.counted, other._seen_shorts = self.counted, self._seen_shorts
        return other

    # -- what opening found, and what a fetch changes ----------------------------------

    @property
    def count_anchors(self) -> dict[str, int]:
        """Published ancestor counts, {SHA prefix: count}, from the chart index's names
        (chartpress >= 2): they let a count walk only the commits since one
        (:func:`~sphinx_deployguide.charthistory.ancestor_count`, which checks them). Read
        from their sources (:meth:`add_count_anchors`) when first needed."""
        with self._anchor_lock:  # a companion reads them too
            while self._anchor_sources:
                self._anchors.update(self._anchor_sources.pop()())
            return self._anchors

    @count_anchors.setter
    def count_anchors(self, anchors: dict[str, int]) -> None:
        self._anchors, self._anchor_sources = dict(anchors), []

    def add_count_anchors(self, source: Callable[[], dict[str, int]]) -> None:
        """Where more published counts can be read (an index's entries), when needed."""
        self._anchor_sources.append(source)

    def probe(self) -> subprocess.CompletedProcess[bytes]:
        """One ``rev-parse`` says what opening the repository needs: bare?, shallow?, its
        git directory, the way up to the top of its work tree, every ref and its object
        (which :meth:`state` fingerprints). Sets :attr:`bare`, :attr:`shallow`,
        :attr:`git_dir` when git answers; the process is returned for its errors."""
        args = [
            "rev-parse",
            "--is-bare-repository",
            "--is-shallow-repository",
            "--absolute-git-dir",
            "--show-cdup",
            "--all",
            "--symbolic-full-name",
            "--all",
        ]
        proc = spawn(["git", "-C", str(self.path), *args], None, None)
        if proc.returncode != 0:
            return proc
        text = proc.stdout.decode("utf-8", "surrogateescape")
        bare, shallow, git_dir, *rest = text.split("\n")[:-1]
        # --show-cdup prints nothing in a bare repository or a git directory; the refs come
        # in pairs of lines (objects, then names)
        self.cdup = rest.pop(0) if len(rest) % 2 else None
        self.bare, self.shallow, self.git_dir = bare == "true", shallow == "true", Path(git_dir)
        self._refs = "\n".join(rest)
        return proc

    def state(self) -> str:
        """A fingerprint of the repository's state as last probed (see :mod:`.factcache`)."""
        if self.git_dir is None:
            raise GitError(f"{self.source}: the repository was not opened with a probe")
        return source_state(self.common_dir(), self.git_dir, self._refs)

    def common_dir(self) -> Path:
        """Where the objects and the config are (a linked work tree points there)."""
        if self.git_dir is None and self.probe().returncode != 0:
            return self.path / ".git"
        assert self.git_dir is not None
        pointer = self.git_dir / "commondir"
        if pointer.is_file():
            return (self.git_dir / pointer.read_text().strip()).resolve()
        return self.git_dir

    def _moved(self) -> None:
        """After a fetch: what was known (``%h`` lengths, answers) is about another state."""
        self._abbrev = None
        self._shorts.clear()
        self._seen_shorts.clear()
        self.close_batch()  # its names (branches, tags) may now mean other objects
        if self.answers is not None and self.probe().returncode == 0:
            self.answers.moved(self.state())

    def is_mirror(self) -> bool:
        """A mirror in the cache (we may fetch it), not a user's repository (we never change it)."""
        return self.mirror_of is not None

    def refetch(self) -> bool:
        """Fetch a mirror now, whatever its age; at most once per GitRepo.

        Called before saying a commit is unknown, or not on a branch: the cache may simply
        be older than the merge. True when a fetch ran now and succeeded; False for a local
        source (never modified), a second call, or a failed fetch (its reason in ``stale``).
        """
        if self.mirror_of is None or self._refetched:
            return False
        self._refetched = True
        try:
            self.update_mirror()
        except GitError as exc:
            self.stale = str(exc)
            return False
        self.stale = None
        self._moved()  # more objects may mean a longer %h
        return True

    def update_mirror(self) -> None:
        """Fetch every branch and tag of a mirror, index its commits and stamp the time;
        GitError if the fetch fails or does not finish within the repository's network timeout."""
        args = ["fetch", "--prune", "--quiet", "origin"]
        args += ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
        proc = spawn(
            self._command(args),
            self.network_timeout,
            None,
            waiting_for=f"cannot update the mirror of {self.source}: git fetch",
        )
        if proc.returncode != 0:
            raise GitError(f"cannot update the mirror of {self.source}: {self._fail(args, proc)}")
        self.write_commit_graph()
        stamp = self.path / STAMP_NAME
        stamp.touch()
        self.fetched_at = datetime.fromtimestamp(stamp.stat().st_mtime, tz=timezone.utc)

    def write_commit_graph(self) -> None:
        """Index the mirror's commits, and the paths each one changes, in a commit-graph (as
        ``git gc`` does for a work tree): ancestor counts, ancestry checks and the
        path-limited log of the chart commit stay fast on a long history. Incremental
        (``--split``): a fetch adds a layer for its new commits. The mirror is ours; a git too
        old to write one only loses the speed."""
        args = ["commit-graph", "write", "--reachable", "--changed-paths", "--split"]
        spawn(["git", "-C", str(self.path), *args], None, None)

    # -- questions about the history ---------------------------------------------------

    def is_ancestor(self, a: str, b: str) -> bool:
        """Is commit ``a`` an ancestor of (or equal to) ``b``?"""

        def ask() -> bool:
            args = ["merge-base", "--is-ancestor", a, b]
            proc = self._run(args)
            if proc.returncode in (0, 1):
                return proc.returncode == 0
            raise self._fail(args, proc)

        return self.answer(("ancestor", a, b), ask)

    def count(self, rev: str) -> int:
        """``git rev-list --count REV``: how many commits ``rev`` has, itself included (the
        ``n`` of chartpress's versions)."""
        return self.answer(("count", rev), lambda: int(self.run("rev-list", "--count", rev)))

    def object_estimate(self) -> int:
        """About how many objects the packs hold (from the size of their indexes: 28 bytes
        an object), without asking git: enough to tell a short history from a long one."""
        pack = self.common_dir() / "objects" / "pack"
        try:
            sizes = [e.stat().st_size for e in os.scandir(pack) if e.name.endswith(".idx")]
        except OSError:
            return 0
        return sum(max(0, size - 1072) // 28 for size in sizes)

    def rewrites_history(self) -> bool:
        """Whether replace refs or a grafts file change what git walks here."""
        if self.git_dir is None and self.probe().returncode != 0:
            return True
        refs = self._refs.split("\n")
        return (
            any(r.startswith("refs/replace/") for r in refs)
            or (self.common_dir() / "info" / "grafts").exists()
        )

    def parents(self, sha: str) -> list[str]:
        """The parents of commit ``sha`` (two or more: a merge)."""

        def ask() -> list[str]:
            return self.run("rev-list", "--parents", "-n", "1", sha, "--").split()[1:]

        return self.answer(("parents", sha), ask)

    def remote_url(self, name: str = "origin") -> str | None:
        """The URL of remote ``name`` (a local checkout's origin names its web home)."""

        def ask() -> str | None:
            return (self.config_value(f"remote.{name}.url") or "").strip() or None

        return self.answer(("remote", name), ask)

    def is_shallow(self) -> bool:
        """A shallow clone lacks history, so chartpress's counts would be wrong."""
        if self.shallow is None:
            self.shallow = self.run("rev-parse", "--is-shallow-repository").strip() == "true"
        return self.shallow

    def is_bare(self) -> bool:
        if self.bare is None:
            self.bare = self.run("rev-parse", "--is-bare-repository").strip() == "true"
        return self.bare

    def abbrev(self) -> int | None:
        """The ``--abbrev`` to pass so ``%h`` matches a full clone; None: git's own is right.

        git sizes ``%h`` from the number of objects in its packs. A blobless mirror has
        no blobs, so git would pick a shorter ``%h`` than chartpress gets on its full
        checkout (binderhub: 7 instead of 8 hex digits). For a partial clone we count the
        reachable objects including the missing blobs, with git's own arithmetic, unless
        the repository sets ``core.abbrev`` itself.
        """
        if self._abbrev is not None:
            return self._abbrev[0]

        def ask() -> int | None:
            if not self.is_partial() or self._config_args()[1] != "core.abbrev=auto":
                return None
            listing = self.run_bytes(
                "rev-list", "--objects", "--no-object-names", "--all", "--missing=print"
            )
            return _auto_abbrev(listing.count(b"\n"))  # one object per line

        self._abbrev = (self.answer(("abbrev",), ask),)
        return self._abbrev[0]

    def short(self, rev: str) -> str:
        """git's ``%h`` of a commit, as a full clone abbreviates it (see :meth:`abbrev`)."""
        if rev not in self._shorts:
            args = ("rev-list", "--abbrev-commit", *self.abbrev_args(), "-n", "1", rev, "--")
            seen = self._seen_shorts.get(rev)
            self._shorts[rev] = self.answer(("short", rev), lambda: seen or self.run(*args))
        return self._shorts[rev]

    def saw_shorts(self, shorts: dict[str, str]) -> None:
        """``%h`` of full shas, as a ``log`` of this state printed them: :meth:`short`
        answers from them instead of asking git."""
        self._seen_shorts.update(shorts)

    def abbrev_args(self) -> list[str]:
        """``["--abbrev=N"]`` for a partial clone, else nothing (see :meth:`abbrev`)."""
        n = self.abbrev()
        return [f"--abbrev={n}"] if n else []
