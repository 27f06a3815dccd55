"""The fact cache: answers that are pure functions of their inputs, kept on disk.

A chart's facts take a few dozen git questions (chartpress's version at a commit, ``%h``,
ancestor counts, where a commit landed, commit times), a few hundred milliseconds on a long
history, and the same answers every time nothing moved. Every such answer is a function of
the repository's state alone, so :func:`source_state` fingerprints that state (one ``git
rev-parse`` lists every ref; a few ``stat`` calls cover the object store, the config files
and git itself) and :class:`Answers` keeps git's answers under that fingerprint: a run that
finds the state it stored last time asks git nothing it asked before.

Only those answers are cached. Everything that depends on the time or on the network is
worked out on every run by its owner: whether to fetch a mirror (its age, or a pin that
names a commit it lacks: the fetch changes the state, and with it the key, before any
verdict), the index and its freshness (:mod:`.indexcache`), archive probes, ages and states
(:mod:`.verdict`). The user's files are read on every run; only the parse of a file is
reused when its bytes are the same (:func:`parsed_file`). ``--refresh`` reads nothing back.
(A docs rebuild with nothing changed skips the run altogether while its last build's facts
provably hold, a TTL and the verdicts' next change at most: :mod:`.factinputs`.)
An unreadable or foreign cache file is ignored.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._version import __version__

__all__ = [
    "Answers",
    "cache_file_name",
    "parsed_file",
    "ref_files",
    "source_state",
    "write_file_atomically",
]

#: Bump when stored answers change shape or meaning.
CACHE_FORMAT = 1


def cache_file_name(text: str, suffix: str = ".json") -> str:
    """A file name for what ``text`` names: readable, and different for different texts
    (a checksum of the whole; every cache file says inside what it is for, so a rare
    clash only costs a miss)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", re.sub(r"^[a-z]+://", "", text)).strip("-.")
    return f"{readable[-60:] or 'cache'}-{zlib.crc32(text.encode()):08x}{suffix}"


def write_file_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: a reader (another
    build in parallel) sees the old content or the new, never half of it. OSError if the
    folder cannot be written."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _stat(path: Path) -> list[int] | None:
    """A file by its times (the change time, which nothing can set back, too), size and
    inode; None when it is missing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino]


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None


def _object_store(objects: Path) -> list[Any]:
    """The packs of an object store and the change times of its loose-object folders (a new
    loose object can lengthen a ``%h`` or make a SHA prefix ambiguous), with its
    alternates, recursively."""
    try:
        packs = sorted(p for p in os.listdir(objects / "pack") if p.endswith((".pack", ".idx")))
    except OSError:
        packs = []
    loose = []
    try:
        with os.scandir(objects) as folders:
            for entry in folders:
                if len(entry.name) == 2:
                    loose.append((entry.name, entry.stat().st_mtime_ns))
    except OSError:
        pass
    state: list[Any] = [str(objects), packs, sorted(loose)]
    alternates = _read(objects / "info" / "alternates")
    if alternates:
        for line in alternates.split("\n"):
            if line and not line.startswith("#"):
                state.append(_object_store((objects / line).resolve()))
    return state


def source_state(common_dir: Path, git_dir: Path, refs: str) -> str:
    """A fingerprint of everything git's answers about a repository depend on.

    ``refs``: git's listing of every ref with its object (from the probe that opens the
    repository); ``git_dir``: its git directory (a linked work tree's own), ``common_dir``
    where its objects and config are. Also: ``HEAD``, the object store, the config files
    git reads (the repository's, the user's, the system's, and ``GIT_*`` variables), the
    shallow and grafts files, and which git runs.
    """
    home = Path.home()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    config_files = [
        common_dir / "config",
        git_dir / "config.worktree",
        Path(os.environ.get("GIT_CONFIG_GLOBAL", home / ".gitconfig")),
        xdg / "git" / "config",
        Path(os.environ.get("GIT_CONFIG_SYSTEM", "/etc/gitconfig")),
    ]
    git = shutil.which("git")
    parts = [
        CACHE_FORMAT,
        __version__,
        str(git_dir),
        refs,
        _read(git_dir / "HEAD"),
        _object_store(common_dir / "objects"),
        [(str(p), _stat(p)) for p in config_files],
        _read(common_dir / "shallow"),
        _stat(common_dir / "info" / "grafts"),
        sorted((k, v) for k, v in os.environ.items() if k.startswith("GIT_")),
        (git, _stat(Path(git)) if git else None),
    ]
    return json.dumps(parts, default=str)  # compared whole: nothing to hash


def ref_files(common_dir: Path, git_dir: Path) -> str:
    """The files git keeps refs in, each by inode, size and times: ``packed-refs``, every
    loose ref (the shared ones and a linked work tree's own) and a reftable stack.

    Git moves a ref by writing a new file and renaming it over the old one, so the same
    listing means the same refs: in :func:`source_state` it stands for git's listing of
    them where starting a git process would cost more than the answer it saves
    (:mod:`.factinputs`)."""
    roots = [common_dir / "refs", common_dir / "reftable"]
    if git_dir != common_dir:
        roots.append(git_dir / "refs")
    found: list[tuple[str, list[int] | None]] = []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            found += [
                (os.path.join(folder, name), _stat(Path(folder, name))) for name in sorted(files)
            ]
    found.append(("packed-refs", _stat(common_dir / "packed-refs")))
    return json.dumps(found)


#: How long a question waits for another thread computing it before computing it too (the
#: questions never wait for each other in a circle; this only bounds a slow git).
WAIT_FOR_OTHER = 60.0


class Answers:
    """Answers to questions about one repository, stored on disk under its state.

    ``ask(question, compute)``: the stored answer, else ``compute()`` (stored with it).
    Questions are tuples of strings and numbers (kept under their ``repr``); answers are
    JSON values. A failure is never
    an answer (an exception is not stored): it may be the network's. Safe to share between
    threads (a repository and its :meth:`~sphinx_deployguide.git.GitRepo.companion`): a
    question asked in one while another computes it waits for that answer (up to
    :data:`WAIT_FOR_OTHER` seconds, then computes it too) instead of asking git again.
    """

    def __init__(self, path: Path, state: str, *, read: bool = True) -> None:
        self.path = path
        self.state = state
        self._answers: dict[str, Any] = self._load() if read else {}
        #: Whether answers were read back (a warm run: most questions are answered here).
        self.read_back = bool(self._answers)
        self._dirty = False
        self._lock = threading.Lock()
        #: Questions being computed: (the thread computing it, set when it is done).
        self._computing: dict[str, tuple[int, threading.Event]] = {}

    def _load(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(doc, dict) or doc.get("state") != self.state:
            return {}
        answers = doc.get("answers")
        return answers if isinstance(answers, dict) else {}

    def ask(self, question: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        key, here = repr(question), threading.get_ident()
        mine: threading.Event | None = None
        with self._lock:
            if key in self._answers:
                return self._answers[key]
            thread, other = self._computing.get(key, (here, None))
            if other is None:
                mine = threading.Event()
                self._computing[key] = (here, mine)
        if other is not None and thread != here:  # asked there now: its answer, once known
            other.wait(WAIT_FOR_OTHER)
            with self._lock:
                if key in self._answers:
                    return self._answers[key]
        return self._compute(key, compute, mine)  # (or there it failed, or took too long)

    def _compute(self, key: str, compute: Callable[[], Any], mine: threading.Event | None) -> Any:
        try:
            answer = compute()  # unlocked: it may ask other questions, or wait for git
            with self._lock:
                self._answers[key] = answer
                self._dirty = True
            return answer
        finally:
            if mine is not None:
                with self._lock:
                    self._computing.pop(key, None)
                mine.set()

    def known(self, question: tuple[Any, ...]) -> tuple[bool, Any]:
        """(whether ``question`` has a stored answer, the answer)."""
        key = repr(question)
        with self._lock:
            return (key in self._answers, self._answers.get(key))

    def remember(self, question: tuple[Any, ...], answer: Any) -> None:
        with self._lock:
            self._answers[repr(question)] = answer
            self._dirty = True

    def moved(self, state: str) -> None:
        """The repository changed (a fetch): what was known is about another state."""
        with self._lock:
            if state != self.state:
                self.state = state
                self._answers = {}
                self._dirty = True

    def save(self) -> None:
        """Write the answers if some are new; a cache that cannot be written only costs the
        next run time."""
        with self._lock:
            if not self._dirty:
                return
            text = json.dumps(
                {"state": self.state, "answers": self._answers}, separators=(",", ":")
            )
            self._dirty = False
        try:
            write_file_atomically(self.path, text.encode())
        except OSError:
            with self._lock:
                self._dirty = True


def answers_path(cache_dir: Path, repository: Path) -> Path:
    """Where the answers about ``repository`` are kept."""
    return Path(cache_dir) / "answers" / cache_file_name(str(repository))


def parsed_file(
    cache_dir: Path, data: bytes, what: str, parse: Callable[[], Any], *, read: bool = True
) -> Any:
    """``parse()`` of a file whose bytes are ``data``, reused while the bytes are the same
    (``what`` names the parse, e.g. the key read from the file). The file itself is read by
    the caller on every run: only the work of parsing it again is saved."""
    answers = Answers(
        Path(cache_dir) / "parsed" / cache_file_name(what),
        f"{CACHE_FORMAT}|{__version__}|{what}|{data.decode('latin-1')}",
        read=read,
    )
    known, value = answers.known(("parse",))
    if known:
        return value
    value = parse()
    try:  # only what JSON keeps as it is (a YAML date, say, is parsed again next time)
        if json.loads(json.dumps(value)) == value:
            answers.remember(("parse",), value)
            answers.save()
    except (TypeError, ValueError):
        pass
    return value
