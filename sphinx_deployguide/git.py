"""Thin adapter over the ``git`` command line.

Chart versions must come out exactly as chartpress computes them, so we ask git itself
(history simplification, ``describe``, ``%h``) instead of re-implementing any of it.
Every call is an argument list (never a shell string) with a fixed environment, and every
failure becomes a :class:`~sphinx_deployguide.errors.GitError` naming the command and
git's own message.

A chart source is either a local repository (work tree or bare) or a remote URL that we
mirror as a blobless bare clone in the cache directory (:func:`open_source`).
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from .errors import GitError
from .factcache import Answers, answers_path, source_state
from .redact import redact_url

T = TypeVar("T")

__all__ = ["GitRepo", "open_source", "is_plain_path", "is_remote_url", "mirror_slug"]

#: Variables that would point ``git -C PATH`` at another repository (they are set inside
#: git hooks, e.g. when a pre-commit hook builds the docs).
_REPO_ENV_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_GRAFT_FILE",
    "GIT_SHALLOW_FILE",
    "GIT_REPLACE_REF_BASE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_QUARANTINE_PATH",
)

#: Network operations (clone, fetch, the lazy object fetches of a blobless mirror) are
#: bounded by the model's ``network.timeout``; this is the bound without a model.
NETWORK_TIMEOUT = 900.0

#: Name of the stamp file (inside a mirror) whose mtime is the last successful fetch.
STAMP_NAME = "deployguide-fetched"

_URL_RE = re.compile(r"^(?:https?|git|ssh|file)://", re.IGNORECASE)
_SCP_RE = re.compile(r"^[A-Za-z0-9._~-]+@[A-Za-z0-9._-]+:(?!//)")
_FULL_SHA_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")

_SHALLOW_HINT = (
    "it is a shallow clone, but chart versions need the full history "
    "(run `git fetch --unshallow` in it, or use `fetch-depth: 0` with actions/checkout)"
)


def git_env() -> dict[str, str]:
    """The environment for every git call: C locale, never prompt, never page."""
    env = {k: v for k, v in os.environ.items() if k not in _REPO_ENV_VARS}
    env.update(
        LC_ALL="C",
        LANGUAGE="C",
        GIT_TERMINAL_PROMPT="0",
        GIT_PAGER="cat",
        PAGER="cat",
        # read-only commands must not take the index lock of a user's work tree
        GIT_OPTIONAL_LOCKS="0",
    )
    return env


def is_remote_url(source: str) -> bool:
    """True for https://, http://, git://, ssh://, file:// URLs and scp-like ``git@host:path``."""
    return bool(_URL_RE.match(source) or _SCP_RE.match(source))


def mirror_slug(url: str) -> str:
    """A readable, collision-free directory name for a mirror of ``url``, derived from the
    redacted URL: no credential ever names a folder (and a new token keeps the mirror)."""
    url = redact_url(url)
    readable = re.sub(r"(?i)^[a-z][a-z0-9+.-]*://", "", url)
    readable = re.sub(r"^[^/]*@", "", readable)
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", readable).strip("-.")[:80] or "repo"
    import hashlib  # here: a local source has no mirror

    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    return f"{readable}-{digest}"


def _auto_abbrev(count: int) -> int:
    """git's automatic ``%h`` length for a repository of ``count`` objects.

    Same arithmetic as git's ``repo_find_unique_abbrev_r``: bits needed for ``count``,
    halved and rounded up, at least 7.
    """
    bits = count.bit_length()  # == msb(count) + 1
    return max(7, (bits + 1) // 2)


class GitRepo:
    """One git repository (work tree or bare), addressed with ``git -C path``."""

    def __init__(self, path: Path, *, source: str | None = None) -> None:
        self.path = Path(path)
        #: What the user configured (URL or path), credentials redacted, for messages.
        self.source = redact_url(source) if source is not None else str(self.path)
        #: For a mirror: when it was last fetched successfully (None for local sources).
        self.fetched_at: datetime | None = None
        #: For a mirror served without a successful fetch: why (see ``open_source``).
        self.stale: str | None = None
        #: For a mirror: the URL it mirrors (as configured: never put it in a message).
        self.mirror_of: str | None = None
        self._refetched = False
        self._shorts: dict[str, str] = {}  # rev -> %h; a fetch may lengthen them
        self._abbrev: int | None | bool = False  # False: not computed yet
        self._abbrev_config: tuple[str, ...] | None = None
        #: Bound (seconds) of every operation that may wait for the network: a clone, a
        #: fetch, the lazy object fetches of a blobless mirror (the model's network.timeout).
        self.network_timeout = NETWORK_TIMEOUT
        #: git's answers kept under the repository's state (:mod:`.factcache`), when it was
        #: opened with a cache; None: every question goes to git.
        self.answers: Answers | None = None
        #: From :meth:`probe`: the git directory, bare?, shallow?, every ref.
        self.git_dir: Path | None = None
        self.bare: bool | None = None
        self.shallow: bool | None = None
        self._refs = ""
        self._cdup: str | None = None
        self._anchors: dict[str, int] = {}
        self._anchor_sources: list[Callable[[], dict[str, int]]] = []

    def __repr__(self) -> str:
        return f"GitRepo({str(self.path)!r})"

    # -- running git -----------------------------------------------------------------

    def _config_args(self) -> tuple[str, ...]:
        """``-c core.abbrev=...``: the repository's own setting, else git's "auto".

        A ``core.abbrev`` in the user's ``~/.gitconfig`` (say 12) would give ``%h`` a length
        that CI's chartpress never published; the repository's own setting is what
        chartpress would use there too, so only that one is kept.
        """
        if self._abbrev_config is None:

            def local_setting() -> str:
                args = ["git", "-C", str(self.path), "config", "--local", "--get", "core.abbrev"]
                local = _spawn(args, None, None)
                return local.stdout.decode().strip() if local.returncode == 0 else ""

            value = self.answer(("core.abbrev",), local_setting)
            self._abbrev_config = ("-c", f"core.abbrev={value or 'auto'}")
        return self._abbrev_config

    @property
    def count_anchors(self) -> dict[str, int]:
        """Published ancestor counts, {SHA prefix: count}, from the chart index's names
        (chartpress >= 2): they let a count walk only the commits since one
        (:func:`~sphinx_deployguide.chartversion.ancestor_count`, which checks them). Read
        from their sources (:meth:`add_count_anchors`) when first needed."""
        while self._anchor_sources:
            self._anchors.update(self._anchor_sources.pop()())
        return self._anchors

    @count_anchors.setter
    def count_anchors(self, anchors: dict[str, int]) -> None:
        self._anchors, self._anchor_sources = dict(anchors), []

    def add_count_anchors(self, source: Callable[[], dict[str, int]]) -> None:
        """Where more published counts can be read (an index's entries), when needed."""
        self._anchor_sources.append(source)

    def answer(self, question: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()``, kept in the fact cache under ``question`` (a tuple naming the
        question and its arguments) and the repository's state. Only for answers that are
        a function of the repository alone, as JSON values; a failure is never kept."""
        if self.answers is None:
            return compute()
        return self.answers.ask(question, compute)

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
        proc = _spawn(["git", "-C", str(self.path), *args], None, None)
        if proc.returncode != 0:
            return proc
        text = proc.stdout.decode("utf-8", "surrogateescape")
        bare, shallow, git_dir, *rest = text.split("\n")[:-1]
        # --show-cdup prints nothing in a bare repository or a git directory; the refs come
        # in pairs of lines (objects, then names)
        self._cdup = rest.pop(0) if len(rest) % 2 else None
        self.bare, self.shallow, self.git_dir = bare == "true", shallow == "true", Path(git_dir)
        self._refs = "\n".join(rest)
        return proc

    def state(self) -> str:
        """A fingerprint of the repository's state as last probed (see :mod:`.factcache`)."""
        if self.git_dir is None:
            raise GitError(f"{self.source}: the repository was not opened with a probe")
        return source_state(self._common_dir(), self.git_dir, self._refs)

    def _common_dir(self) -> Path:
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
        self._abbrev = False
        self._shorts.clear()
        if self.answers is not None and self.probe().returncode == 0:
            self.answers.moved(self.state())

    def _command(self, args: tuple[str, ...] | list[str]) -> list[str]:
        return ["git", *self._config_args(), "-C", str(self.path), *args]

    def _run(
        self,
        args: tuple[str, ...] | list[str],
        *,
        timeout: float | None = None,
        input: bytes | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        cmd = self._command(args)
        return _spawn(cmd, timeout, input)

    def _fail(
        self, args: tuple[str, ...] | list[str], proc: subprocess.CompletedProcess[bytes]
    ) -> GitError:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        stderr = stderr or proc.stdout.decode("utf-8", "replace").strip()  # e.g. `commit`
        cmd = self._command(args)
        return GitError(
            f"git command failed (exit {proc.returncode}): {_show_cmd(cmd)}\n"
            f"{redact_url(stderr) or '(git printed no error message)'}"
        )

    def run_bytes(
        self, *args: str, timeout: float | None = None, input: bytes | None = None
    ) -> bytes:
        """``git -C path ARGS``; raw stdout. GitError with command and stderr on failure."""
        proc = self._run(args, timeout=timeout, input=input)
        if proc.returncode != 0:
            raise self._fail(args, proc)
        return proc.stdout

    def run(self, *args: str, timeout: float | None = None, input: bytes | None = None) -> str:
        """``git -C path ARGS``; stdout as text without the trailing newline."""
        out = self.run_bytes(*args, timeout=timeout, input=input)
        return out.decode("utf-8", "replace").rstrip("\n")

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
            _fetch_mirror(self)
        except GitError as exc:
            self.stale = str(exc)
            return False
        self.stale = None
        self._moved()  # more objects may mean a longer %h
        return True

    # -- queries ---------------------------------------------------------------------

    def resolve(self, rev: str) -> str | None:
        """Full sha of the commit ``rev`` names (branch, tag, sha prefix); None if unknown."""

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
        if plain and _FULL_SHA_RE.fullmatch(rev):
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
        with one ``git cat-file --batch`` process; None where git says missing/ambiguous.

        git parses each name exactly as ``rev-parse`` does. Blobs a partial clone lacks
        are fetched on demand, hence the network timeout (``reading`` says what for, in its
        message).
        """
        if not names:
            return []
        for name in names:
            if "\n" in name or name.endswith("\r") or not name.strip():
                raise ValueError(f"cannot pass {name!r} to git cat-file --batch")
        stdin = "".join(f"{name}\n" for name in names).encode("utf-8", "surrogateescape")
        what = reading or f"reading {names[0]}"
        out = self._network_bytes(["cat-file", "--batch"], what, input=stdin)
        pos, result = 0, []
        for _name in names:
            end = out.index(b"\n", pos)
            header, pos = out[pos:end], end + 1
            if header.rsplit(b" ", 1)[-1] in (b"missing", b"ambiguous"):
                result.append(None)
                continue
            sha, kind, size = header.decode("ascii").split(" ")
            result.append((sha, kind, out[pos : pos + int(size)]))
            pos += int(size) + 1  # the content is followed by a newline
        return result

    def resolve_many(self, revs: list[str]) -> dict[str, str | None]:
        """:meth:`resolve` for many revisions with one ``git cat-file --batch-check``."""
        revs = list(dict.fromkeys(revs))
        result: dict[str, str | None] = {}
        asked = []
        for rev in revs:
            known, full = self.answers.known(("resolve", rev)) if self.answers else (False, None)
            if known:
                result[rev] = full
            elif rev.strip() == rev and rev and "\n" not in rev:
                asked.append(rev)
            else:  # the line-based batch protocol cannot carry it
                result[rev] = self.resolve(rev)
        if asked:
            lines = "".join(f"{r}^{{commit}}\n" for r in asked)
            args = ["cat-file", "--batch-check=%(objectname)"]
            proc = self._run(args, input=lines.encode("utf-8", "surrogateescape"))
            if proc.returncode != 0:
                raise self._fail(args, proc)
            # one answer per line: the object name, or "<name> missing" / "... ambiguous"
            answers = proc.stdout.decode("utf-8", "surrogateescape").split("\n")
            for rev, line in zip(asked, answers[: len(asked)], strict=True):
                found = line.strip()
                result[rev] = found if _FULL_SHA_RE.fullmatch(found) else None
                if self.answers is not None:
                    self.answers.remember(("resolve", rev), result[rev])
        return {r: result[r] for r in revs}

    def commit_times(self, shas: list[str]) -> dict[str, datetime]:
        """Committer time (aware UTC) of each full commit sha, with one ``rev-list``."""
        return {
            sha: datetime.fromtimestamp(stamp, tz=timezone.utc)
            for sha, stamp in self.commit_stamps(shas).items()
        }

    def commit_stamps(self, shas: list[str]) -> dict[str, int]:
        """Committer time (epoch seconds) of each full commit sha, with one ``rev-list``
        (what comparisons need; :meth:`commit_times` makes datetimes of them)."""
        stamps: dict[str, int] = {}
        asked = []
        for sha in dict.fromkeys(shas):
            if not _FULL_SHA_RE.fullmatch(sha):  # --stdin would read anything else as a rev
                raise ValueError(f"expected a full commit sha, got {sha!r}")
            known, stamp = self.answers.known(("time", sha)) if self.answers else (False, None)
            if known:
                stamps[sha] = int(stamp)
            else:
                asked.append(sha)
        if asked:
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
        pack = self._common_dir() / "objects" / "pack"
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
            or (self._common_dir() / "info" / "grafts").exists()
        )

    def parents(self, sha: str) -> list[str]:
        """The parents of commit ``sha`` (two or more: a merge)."""

        def ask() -> list[str]:
            return self.run("rev-list", "--parents", "-n", "1", sha, "--").split()[1:]

        return self.answer(("parents", sha), ask)

    def commit_time(self, rev: str) -> datetime:
        """Committer time of ``rev``, timezone-aware UTC."""
        sha = self.resolve_or_fail(rev)
        out = self.run("show", "-s", "--no-show-signature", "--format=%ct", sha)
        return datetime.fromtimestamp(int(out.strip()), tz=timezone.utc)

    def remote_url(self, name: str = "origin") -> str | None:
        """The URL of remote ``name`` (a local checkout's origin names its web home)."""

        def ask() -> str | None:
            proc = self._run(["config", "--get", f"remote.{name}.url"])
            if proc.returncode != 0:  # 1: no such remote
                return None
            return proc.stdout.decode("utf-8", "replace").strip() or None

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

    def is_partial(self) -> bool:
        """A partial (e.g. blobless) clone: objects are fetched lazily from a promisor remote."""

        def ask() -> bool:
            pattern = r"^(extensions\.partialclone|remote\..*\.promisor)$"
            proc = self._run(["config", "-z", "--get-regexp", pattern])
            if proc.returncode not in (0, 1):
                raise self._fail(["config", "--get-regexp", "..."], proc)
            # -z: "key\nvalue" records ended by NUL (a value may hold any character)
            for record in proc.stdout.decode("utf-8", "replace").split("\0"):
                key, _, value = record.partition("\n")
                if key.lower() == "extensions.partialclone" and value:
                    return True
                if key.lower().endswith(".promisor") and value.strip().lower() in (
                    "true",
                    "1",
                    "yes",
                    "on",
                ):
                    return True
            return False

        return self.answer(("partial",), ask)

    def abbrev(self) -> int | None:
        """The ``--abbrev`` to pass so ``%h`` matches a full clone; None: git's own is right.

        git sizes ``%h`` from the number of objects in its packs. A blobless mirror has
        no blobs, so git would pick a shorter ``%h`` than chartpress gets on its full
        checkout (binderhub: 7 instead of 8 hex digits). For a partial clone we count the
        reachable objects including the missing blobs, with git's own arithmetic, unless
        the repository sets ``core.abbrev`` itself.
        """
        if self._abbrev is not False:
            return self._abbrev  # type: ignore[return-value]

        def ask() -> int | None:
            if not self.is_partial() or self._config_args()[1] != "core.abbrev=auto":
                return None
            listing = self.run_bytes(
                "rev-list", "--objects", "--no-object-names", "--all", "--missing=print"
            )
            return _auto_abbrev(listing.count(b"\n"))  # one object per line

        self._abbrev = self.answer(("abbrev",), ask)
        return self._abbrev

    def short(self, rev: str) -> str:
        """git's ``%h`` of a commit, as a full clone abbreviates it (see :meth:`abbrev`)."""
        if rev not in self._shorts:
            args = ("rev-list", "--abbrev-commit", *self.abbrev_args(), "-n", "1", rev, "--")
            self._shorts[rev] = self.answer(("short", rev), lambda: self.run(*args))
        return self._shorts[rev]

    def _network_bytes(self, args: list[str], what: str, *, input: bytes | None = None) -> bytes:
        """``run_bytes`` for what may fetch objects lazily (a partial clone's missing blobs):
        bounded by :attr:`network_timeout`, with a message saying what was waited for."""
        timeout = self.network_timeout if self.is_partial() else None
        proc = _spawn(
            self._command(args),
            timeout,
            input,
            waiting_for=f"{what} from {self.source} (objects of a partial clone are "
            "fetched from its remote)",
        )
        if proc.returncode != 0:
            raise self._fail(args, proc)
        return proc.stdout

    def abbrev_args(self) -> list[str]:
        """``["--abbrev=N"]`` for a partial clone, else nothing (see :meth:`abbrev`)."""
        n = self.abbrev()
        return [f"--abbrev={n}"] if n else []


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


def _spawn(
    cmd: list[str], timeout: float | None, input: bytes | None, *, waiting_for: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run one git command (an argument list, never a shell) with the fixed environment.

    With a ``timeout`` git runs in a process group of its own and the whole group is killed
    when the time is up: a fetch waits in a helper (``git-remote-https``) that killing git
    alone would leave behind, holding the connection. ``waiting_for`` says, in the
    GitError of a timeout, what was waited for.
    """
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=git_env(),
            start_new_session=timeout is not None,
        )
    except FileNotFoundError:
        raise GitError(
            "git is required but was not found on PATH: install git (or fix PATH) and retry"
        ) from None
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc, group=True)
        what = waiting_for or _show_cmd(cmd)
        raise GitError(
            f"{what}: no answer within network.timeout ({timeout:g} s); check that the "
            "server answers, or raise [network] timeout in the model"
        ) from None
    except BaseException:  # interrupted (Ctrl-C, SIGTERM): leave no git behind
        _kill(proc, group=timeout is not None)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _kill(proc: subprocess.Popen[bytes], *, group: bool) -> None:
    """Kill git (and with ``group`` every process it started), then reap it."""
    try:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=5)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        pass


def _show_cmd(cmd: list[str]) -> str:
    return redact_url(" ".join(shlex.quote(c) for c in cmd))


# -- opening a chart source ----------------------------------------------------------


def open_source(
    source: str,
    *,
    base_dir: Path,
    cache_dir: Path,
    ttl: int,
    refresh: bool = False,
    on_fetch_error: str = "error",
    network_timeout: float = NETWORK_TIMEOUT,
) -> GitRepo:
    """Open a chart source: a local repository, or a remote URL mirrored in ``cache_dir``.

    * Local path (relative to ``base_dir``): must be the top of a work tree or a bare
      repository.
    * Remote URL: a blobless bare clone under ``cache_dir/"git"/<slug>``, fetched again
      when its stamp is older than ``ttl`` seconds or with ``refresh``. If that fetch
      fails, ``on_fetch_error="stale"`` returns the existing mirror with ``repo.stale``
      set to the reason; the default ``"error"`` raises. A clone or fetch (and a lazy
      fetch of a missing object later) that takes longer than ``network_timeout`` seconds
      is stopped: a GitError saying so.

    A shallow repository is refused: chartpress counts every ancestor. git's answers about
    the repository are kept in ``cache_dir`` under its state (:mod:`.factcache`; with
    ``refresh`` none is read back).
    """
    if on_fetch_error not in ("error", "stale"):
        raise ValueError(f"on_fetch_error must be 'error' or 'stale', not {on_fetch_error!r}")
    if is_remote_url(source):
        repo = _open_mirror(source, Path(cache_dir), ttl, refresh, on_fetch_error, network_timeout)
    else:
        repo = _open_local(source, Path(base_dir))
        repo.network_timeout = network_timeout  # a user's own blobless clone fetches too
    if repo.shallow:
        raise GitError(f"chart source {repo.source}: {_SHALLOW_HINT}")
    assert repo.git_dir is not None  # probed
    repo.answers = Answers(answers_path(cache_dir, repo.git_dir), repo.state(), read=not refresh)
    return repo


def _open_local(source: str, base_dir: Path) -> GitRepo:
    path = Path(source).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not path.exists():
        raise GitError(f"chart source {source!r} not found: {path} does not exist")
    if not path.is_dir():
        raise GitError(
            f"chart source {source!r}: {path} is not a directory (expected a git repository)"
        )
    repo = GitRepo(path, source=source)
    probe = repo.probe()
    if probe.returncode != 0:
        raise GitError(
            f"chart source {source!r}: {path} is not a git repository\n"
            + probe.stderr.decode("utf-8", "replace").strip()
        )
    assert repo.git_dir is not None
    if repo._cdup == "":  # the top of a work tree
        return repo
    if repo.bare:
        top = repo.git_dir
    elif repo._cdup is not None:  # "../" below the top
        top = (path / repo._cdup).resolve()
    else:  # inside a .git directory: no work tree (git says so)
        top = Path(repo.run("rev-parse", "--show-toplevel"))
    if top.resolve() != path.resolve():
        raise GitError(
            f"chart source {source!r}: {path} is inside the git repository {top}, not its top "
            "level; point `source` at the repository itself (chartpress paths are resolved "
            "from its root)"
        )
    return repo


def _open_mirror(
    url: str, cache_dir: Path, ttl: int, refresh: bool, on_fetch_error: str, timeout: float
) -> GitRepo:
    root = cache_dir / "git"
    mirror = root / mirror_slug(url)
    stamp = mirror / STAMP_NAME
    if not mirror.exists():
        _clone_mirror(url, root, mirror, timeout)
        repo = GitRepo(mirror, source=url)
        repo.mirror_of, repo.network_timeout = url, timeout
    else:
        repo = GitRepo(mirror, source=url)
        repo.mirror_of, repo.network_timeout = url, timeout
        if not (mirror / "HEAD").is_file() or repo.probe().returncode != 0 or not repo.bare:
            raise GitError(
                f"cache directory {mirror} (mirror of {redact_url(url)}) is not a bare git "
                "repository; delete it so it is cloned again"
            )
        try:
            age = time.time() - stamp.stat().st_mtime
        except FileNotFoundError:
            age = float("inf")
        if refresh or age < 0 or age >= ttl:
            try:
                _fetch_mirror(repo)
            except GitError as exc:
                if on_fetch_error != "stale":
                    raise
                repo.stale = str(exc)
    if stamp.exists():
        repo.fetched_at = datetime.fromtimestamp(stamp.stat().st_mtime, tz=timezone.utc)
    if repo.probe().returncode != 0:  # what the clone or fetch left
        raise GitError(f"cache directory {mirror} (mirror of {redact_url(url)}) is unreadable")
    return repo


def _fetch_mirror(repo: GitRepo) -> None:
    """Fetch every branch and tag of a mirror, index its commits and stamp the time;
    GitError if the fetch fails or does not finish within the repository's network timeout."""
    args = ["fetch", "--prune", "--quiet", "origin"]
    args += ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
    proc = _spawn(
        repo._command(args),
        repo.network_timeout,
        None,
        waiting_for=f"cannot update the mirror of {repo.source}: git fetch",
    )
    if proc.returncode != 0:
        raise GitError(f"cannot update the mirror of {repo.source}: {repo._fail(args, proc)}")
    _write_commit_graph(repo)
    stamp = repo.path / STAMP_NAME
    stamp.touch()
    repo.fetched_at = datetime.fromtimestamp(stamp.stat().st_mtime, tz=timezone.utc)


def _write_commit_graph(repo: GitRepo) -> None:
    """Index the mirror's commits, and the paths each one changes, in a commit-graph (as
    ``git gc`` does for a work tree): ancestor counts, ancestry checks and the
    path-limited log of the chart commit stay fast on a long history. Incremental
    (``--split``): a fetch adds a layer for its new commits. The mirror is ours; a git too
    old to write one only loses the speed."""
    args = ["commit-graph", "write", "--reachable", "--changed-paths", "--split"]
    _spawn(["git", "-C", str(repo.path), *args], None, None)


def _clone_mirror(url: str, root: Path, mirror: Path, timeout: float) -> None:
    """Clone into a temporary sibling, then rename: a failed clone leaves nothing behind."""
    import shutil
    import tempfile

    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".clone-", dir=root))
    failed = f"cannot mirror chart source {redact_url(url)}"
    try:
        target = tmp / "repo.git"
        args = ["clone", "--bare", "--quiet", "--filter=blob:none", "--", url, str(target)]
        proc = _spawn(
            ["git", "-C", str(root), *args], timeout, None, waiting_for=f"{failed}: git clone"
        )
        if proc.returncode != 0:
            raise GitError(f"{failed}: {GitRepo(root)._fail(args, proc)}")
        _write_commit_graph(GitRepo(target))
        (target / STAMP_NAME).touch()
        try:
            os.rename(target, mirror)
        except OSError:
            if not mirror.exists():  # lost a race with another process: use its clone
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
