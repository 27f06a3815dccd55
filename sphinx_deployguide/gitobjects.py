"""Reading a repository's object database: many questions, one git process.

Every git call is a process (a few ms each), and a chart's facts ask about dozens of
revisions and files. So revisions are resolved, files read and commit times looked up in
batches (``cat-file --batch``; ``rev-list --stdin`` for what it cannot carry), each answer
kept in the fact cache (:mod:`.factcache`) like a single one; the object reads of a whole
run go to one long-lived ``cat-file --batch`` process (:class:`~.gitrun.CatFileBatch`).
:class:`GitObjects` is the layer of :class:`~sphinx_deployguide.git.GitRepo` that does this, on top of running git
(:class:`~sphinx_deployguide.gitrun.GitRunner`).
"""

from __future__ import annotations

import posixpath
import re
from datetime import datetime, timezone

from .errors import GitError
from .gitrun import CatFileBatch, GitRunner

__all__ = ["FULL_SHA_RE", "GitObjects", "is_plain_path"]

#: A full commit sha (SHA-1 or SHA-256).
FULL_SHA_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
#: An object name that is a sha or a prefix of one (what versions carry), nothing else.
_ABBREVIATED_RE = re.compile(r"[0-9a-f]{4,64}")

#: The committer time in a commit's header, where git reads it (the line after the author,
#: which follows the tree and the parents); only a well-formed one (else rev-list says).
_COMMITTER_RE = re.compile(
    rb"tree [0-9a-f]+\n(?:parent [0-9a-f]+\n)*author [^\n]*\n"
    rb"committer [^\n>]*> ([0-9]{1,15}) [+-][0-9]{4}\n"
)


def _batchable(rev: str) -> bool:
    """A revision that a line of the batch protocol carries unchanged."""
    return bool(rev) and rev.strip() == rev and "\n" not in rev


def is_plain_path(path: str) -> bool:
    """A normalized relative path that ``REV:PATH`` on a batch line names unchanged."""
    return (
        bool(path)
        and posixpath.normpath(path) == path
        and path != "."
        and not path.startswith("../")
        and path != ".."
        and "\n" not in path
        and not path.endswith("\r")
    )


class GitObjects(GitRunner):
    """Revisions, files and commit times of one repository, asked of git in batches."""

    _batch: CatFileBatch | None = None

    def batch(self) -> CatFileBatch:
        """The run's ``cat-file --batch`` (its process starts when first read from; one
        exchange at a time, so a companion in another thread may share it)."""
        if self._batch is None:
            self._batch = CatFileBatch(self._command(["cat-file", "--batch"]))
        return self._batch

    def close_batch(self) -> None:
        """End the ``cat-file --batch`` process (a fetch changed what its names mean)."""
        if self._batch is not None:
            self._batch.close()
            self._batch = None

    def resolve(self, rev: str) -> str | None:
        """Full sha of the commit ``rev`` names (branch, tag, sha prefix); None if unknown."""
        if _batchable(rev):
            return self.resolve_many([rev])[rev]

        def ask() -> str | None:
            proc = self._run(
                ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"]
            )
            if proc.returncode != 0:  # unknown, or an ambiguous prefix
                return None
            return proc.stdout.decode("ascii", "replace").strip() or None

        return self.answer(("resolve", rev), ask)

    def resolve_or_fail(self, rev: str) -> str:
        """Like :meth:`resolve`, but a clear GitError for an unknown revision."""
        sha = self.resolve(rev)
        if sha is None:
            raise GitError(
                f"{self.source}: unknown revision {rev!r} (not a commit in this repository)"
            )
        return sha

    def resolve_many(self, revs: list[str]) -> dict[str, str | None]:
        """:meth:`resolve` for many revisions with one exchange with ``git cat-file --batch``
        (a peeled commit's content is short, and gives :meth:`commit_stamps` its answer)."""
        revs = list(dict.fromkeys(revs))
        result: dict[str, str | None] = {}
        asked = []
        for rev in revs:
            known, full = self.answers.known(("resolve", rev)) if self.answers else (False, None)
            if known:
                result[rev] = full
            elif _batchable(rev):
                asked.append(rev)
            else:  # the line-based batch protocol cannot carry it
                result[rev] = self.resolve(rev)
        if asked:
            names = [f"{r}^{{commit}}" for r in asked]
            for rev, found in zip(asked, self.cat_file(names), strict=True):
                result[rev] = found[0] if found is not None and found[1] == "commit" else None
                if self.answers is not None:
                    self.answers.remember(("resolve", rev), result[rev])
                    # the commit was read: its time is known too (:meth:`commit_stamps`)
                    full = result[rev]
                    stamp = _committer_stamp(full, found) if full is not None else None
                    if full is not None and stamp is not None:
                        self.answers.remember(("time", full), stamp)
        return {r: result[r] for r in revs}

    def named_commits(self, shas: list[str]) -> dict[str, tuple[str, int] | None]:
        """{abbreviated sha: (the full sha of the commit it names, its committer time), or
        None where :meth:`resolve` says None}: what :meth:`resolve_many` and then
        :meth:`commit_stamps` answer, with one ``log --no-walk --stdin`` that prints each
        commit's time and the name it was asked by, not its whole content (for the hundreds
        of versions an index publishes: a third of the time). A name that is missing,
        ambiguous or not a commit is left out by ``--ignore-missing``; the names left out
        (and a second name of a commit already printed) are then asked as before."""
        names = list(dict.fromkeys(shas))
        if any(not _ABBREVIATED_RE.fullmatch(name) for name in names):
            raise ValueError(f"expected abbreviated commit shas, got {names!r}")
        result: dict[str, tuple[str, int] | None] = {}
        asked = []
        for name in names:
            known, full, timed, stamp = False, None, False, 0
            if self.answers is not None:
                known, full = self.answers.known(("resolve", name))
                if known and full:
                    timed, stamp = self.answers.known(("time", full))
            if known and (full is None or timed):
                result[name] = (full, int(stamp)) if full else None
            else:
                asked.append(name)
        if asked:
            args = ["log", "--no-walk=unsorted", "--ignore-missing", "--stdin", "--source"]
            args += ["--no-show-signature", "--format=%S %H %ct"]
            timeout = self.network_timeout if self.is_partial() else None
            stdin = "".join(f"{name}\n" for name in asked).encode("ascii")
            proc = self._run(args, input=stdin, timeout=timeout)
            if proc.returncode == 0:
                for line in proc.stdout.decode("ascii", "replace").splitlines():
                    asked_as, commit, time = line.split(" ")
                    result[asked_as] = (commit, int(time))
                    if self.answers is not None:
                        self.answers.remember(("resolve", asked_as), commit)
                        self.answers.remember(("time", commit), int(time))
        rest = [name for name in names if name not in result]
        if rest:
            fulls = self.resolve_many(rest)
            stamps = self.commit_stamps(sorted({f for f in fulls.values() if f}))
            result.update((n, (f, stamps[f]) if f else None) for n, f in fulls.items())
        return {name: result[name] for name in names}

    def show(self, rev: str, path: str) -> str | None:
        """Content of the repo-root-relative ``path`` at ``rev`` (UTF-8); None if absent.

        Reads the object database, never a work tree: a source may be a bare mirror, and
        the file may have moved in history.
        """
        _full, (data,) = self.show_many(rev, [path])
        return None if data is None else self.decode_text(data, path, rev)

    def show_many(self, rev: str, paths: list[str]) -> tuple[str, list[bytes | None]]:
        """(full sha of ``rev``, raw content of each path at it or None if absent).

        One ``git cat-file --batch`` resolves a full-sha ``rev`` and reads every file
        (instead of ``rev-parse`` + ``ls-tree`` + ``show`` per file); any other ``rev`` is
        resolved first, so all files come from the same commit. A directory or submodule
        of that name is not a file (None). Paths that the line-based batch protocol
        cannot carry unchanged fall back to ``ls-tree`` + ``show``.
        """
        paths = [p.strip("/") for p in paths]
        plain = all(is_plain_path(p) for p in paths)
        reading = f"reading {', '.join(paths)} at {rev[:12]}"
        if plain and FULL_SHA_RE.fullmatch(rev):
            names = [f"{rev}^{{commit}}", *(f"{rev}:{p}" for p in paths)]
            peeled, *objects = self.cat_file(names, reading=reading)
            if peeled is None:
                raise GitError(
                    f"{self.source}: unknown revision {rev!r} (not a commit in this repository)"
                )
            full = peeled[0]
        else:
            full = self.resolve_or_fail(rev)
            if not plain:
                return full, [self._show_listed(full, p) for p in paths]
            objects = self.cat_file([f"{full}:{p}" for p in paths], reading=reading)
        return full, [o[2] if o is not None and o[1] == "blob" else None for o in objects]

    def _show_listed(self, sha: str, path: str) -> bytes | None:
        """``show`` for a path the batch protocol cannot carry (newline, ``..``, ...)."""
        listing = self.run_bytes("ls-tree", "-z", "--full-tree", sha, "--", path)
        entry = next((e for e in listing.split(b"\0") if e), None)
        if entry is None:
            return None
        meta, _, name = entry.partition(b"\t")
        if name.decode("utf-8", "surrogateescape") != path or meta.split()[1] != b"blob":
            return None  # a directory (or submodule) of that name is not a file
        return self._network_bytes(["show", f"{sha}:{path}"], f"reading {path} at {sha[:12]}")

    def decode_text(self, data: bytes, path: str, rev: str) -> str:
        """``data`` read from ``path`` at ``rev`` as UTF-8; a GitError naming both if not."""
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GitError(f"{self.source}: {path} at {rev} is not UTF-8 text ({exc})") from None

    def cat_file(
        self, names: list[str], *, reading: str | None = None
    ) -> list[tuple[str, str, bytes] | None]:
        """(sha, type, content) of each object name (``REV:PATH``, ``REV^{commit}``, ...)
        with the run's ``git cat-file --batch`` process; None where git says missing/ambiguous.

        git parses each name exactly as ``rev-parse`` does. Blobs a partial clone lacks
        are fetched on demand, hence the network timeout (``reading`` says what for, in its
        message).
        """
        if not names:
            return []
        for name in names:
            if "\n" in name or name.endswith("\r") or not name.strip():
                raise ValueError(f"cannot pass {name!r} to git cat-file --batch")
        what = reading or f"reading {names[0]}"
        return self.batch().read(
            names,
            timeout=self.network_timeout if self.is_partial() else None,
            waiting_for=f"{what} from {self.source} (objects of a partial clone are "
            "fetched from its remote)",
        )

    def commit_times(self, shas: list[str]) -> dict[str, datetime]:
        """Committer time (aware UTC) of each full commit sha (:meth:`commit_stamps`)."""
        return {
            sha: datetime.fromtimestamp(stamp, tz=timezone.utc)
            for sha, stamp in self.commit_stamps(shas).items()
        }

    def commit_stamps(self, shas: list[str]) -> dict[str, int]:
        """Committer time (epoch seconds) of each full commit sha, read from the commits
        (what comparisons need; :meth:`commit_times` makes datetimes of them)."""
        stamps: dict[str, int] = {}
        asked = []
        for sha in dict.fromkeys(shas):
            if not FULL_SHA_RE.fullmatch(sha):  # --stdin would read anything else as a rev
                raise ValueError(f"expected a full commit sha, got {sha!r}")
            known, stamp = self.answers.known(("time", sha)) if self.answers else (False, 0)
            if known:
                stamps[sha] = int(stamp)
            else:
                asked.append(sha)
        if asked:  # read from the commits themselves, by the batch process
            unread = []
            for sha, found in zip(asked, self.cat_file(asked), strict=True):
                stamp = _committer_stamp(sha, found)
                if stamp is None:
                    unread.append(sha)
                    continue
                stamps[sha] = stamp
                if self.answers is not None:
                    self.answers.remember(("time", sha), stamp)
            asked = unread
        if asked:  # a commit header git reads otherwise than the pattern: ask git
            stdin = "".join(f"{sha}\n" for sha in asked).encode("ascii")
            args = ["rev-list", "--no-walk=unsorted", "--timestamp", "--stdin"]
            proc = self._run(args, input=stdin)
            if proc.returncode != 0:
                raise self._fail(args, proc)
            for line in proc.stdout.decode("ascii").split("\n"):
                if line:
                    stamp, sha = line.split(" ")
                    stamps[sha] = int(stamp)
                    if self.answers is not None:
                        self.answers.remember(("time", sha), int(stamp))
        return stamps

    def commit_time(self, rev: str) -> datetime:
        """Committer time of ``rev``, timezone-aware UTC."""
        sha = self.resolve_or_fail(rev)
        out = self.run("show", "-s", "--no-show-signature", "--format=%ct", sha)
        return datetime.fromtimestamp(int(out.strip()), tz=timezone.utc)


def _committer_stamp(sha: str, found: tuple[str, str, bytes] | None) -> int | None:
    """The committer time of the commit ``sha`` as ``cat-file --batch`` read it (None:
    not that commit, or a header the pattern does not read as git does)."""
    if found is None or found[0] != sha or found[1] != "commit":
        return None
    match = _COMMITTER_RE.match(found[2])
    return int(match[1]) if match else None
