"""Running git: bounded processes, and every failure a clear GitError.

Every call is an argument list (never a shell string) with a fixed environment
(:func:`git_env`); a call that may wait for the network has a deadline and is killed with
every helper it started when the time is up (:func:`spawn`); a failure names the command
(credentials redacted) and git's own message. :class:`GitRunner` is the part of a
repository that runs git in it: :class:`~sphinx_deployguide.git.GitRepo` builds its
queries on it, :class:`~sphinx_deployguide.gitobjects.GitObjects` its batch reads (one
long-lived :class:`CatFileBatch` per repository and run).
"""

from __future__ import annotations

import os
import selectors
import shlex
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from .errors import GitError
from .factcache import Answers
from .redact import redact_url

T = TypeVar("T")

__all__ = ["NETWORK_TIMEOUT", "CatFileBatch", "GitRunner", "git_env", "show_command", "spawn"]

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


def spawn(
    cmd: list[str], timeout: float | None, input: bytes | None, *, waiting_for: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run one git command (an argument list, never a shell) with the fixed environment.

    With a ``timeout`` git runs in a process group of its own and the whole group is killed
    when the time is up: a fetch waits in a helper (``git-remote-https``) that killing git
    alone would leave behind, holding the connection. ``waiting_for`` says, in the
    GitError of a timeout, what was waited for.
    """
    proc = _popen(
        cmd,
        stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        session=timeout is not None,
    )
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc, group=True)
        assert timeout is not None
        raise _timed_out(waiting_for or show_command(cmd), timeout) from None
    except BaseException:  # interrupted (Ctrl-C, SIGTERM): leave no git behind
        _kill(proc, group=timeout is not None)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _popen(cmd: list[str], *, stdin: Any, stderr: Any, session: bool) -> subprocess.Popen[bytes]:
    """Start git with the fixed environment (in a session of its own with ``session``, so
    its whole process group can be killed); a clear GitError when there is no git."""
    try:
        return subprocess.Popen(
            cmd,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=git_env(),
            start_new_session=session,
        )
    except FileNotFoundError:
        raise GitError(
            "git is required but was not found on PATH: install git (or fix PATH) and retry"
        ) from None


def _timed_out(what: str, timeout: float) -> GitError:
    return GitError(
        f"{what}: no answer within network.timeout ({timeout:g} s); check that the "
        "server answers, or raise [network] timeout in the model"
    )


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


class CatFileBatch:
    """One ``git cat-file --batch`` process that answers every object read of a run.

    A process costs a few ms to start, and a chart's facts read objects at a dozen moments
    (resolving revisions, reading files, commit times); one process, started when first
    asked and kept until the repository is dropped (or :meth:`close`), answers them all.
    Each exchange has the deadline of a one-shot call: with a ``timeout`` the process (in a
    session of its own) is killed with every helper it started when the time is up (a
    partial clone fetches missing blobs from its remote), and the next exchange starts a
    new one. A process that dies says why in a GitError with its stderr.
    """

    def __init__(self, cmd: list[str]) -> None:
        self.cmd = cmd
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._pid = 0  # the process that started it: a forked child starts its own
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize[..., CatFileBatch] | None = None

    def read(
        self, names: list[str], *, timeout: float | None, waiting_for: str
    ) -> list[tuple[str, str, bytes] | None]:
        """(sha, type, content) of each object name; None where git says missing or
        ambiguous. ``waiting_for`` names what is read, in the GitError of a timeout."""
        request = "".join(f"{name}\n" for name in names).encode("utf-8", "surrogateescape")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            proc, stderr = self._started()
            try:
                return self._exchange(proc, request, len(names), deadline)
            except _Died:
                self._drop()
                stderr.seek(0)
                message = redact_url(stderr.read().decode("utf-8", "replace").strip())
                raise GitError(
                    f"git command failed (exit {proc.returncode}): {show_command(self.cmd)}\n"
                    f"{message or '(git printed no error message)'}"
                ) from None
            except subprocess.TimeoutExpired:
                self._drop()
                assert timeout is not None
                raise _timed_out(waiting_for, timeout) from None
            except BaseException:  # interrupted mid-answer: the protocol's state is lost
                self._drop()
                raise

    def close(self) -> None:
        """End the process (it exits when its input ends)."""
        with self._lock:
            if self._finalizer is not None and self._pid == os.getpid():
                self._finalizer()
            self._proc = None

    def _started(self) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
        if self._proc is None or self._pid != os.getpid():
            stderr = tempfile.TemporaryFile()  # never fills up and blocks git
            try:
                proc = _popen(self.cmd, stdin=subprocess.PIPE, stderr=stderr, session=True)
            except BaseException:
                stderr.close()
                raise
            self._proc, self._stderr, self._pid = proc, stderr, os.getpid()
            self._finalizer = weakref.finalize(self, _finish, proc, stderr)
        assert self._stderr is not None
        return self._proc, self._stderr

    def _drop(self) -> None:
        """Kill the process and its group (after a timeout, an interrupt, a death)."""
        if self._proc is not None and self._finalizer is not None:
            self._finalizer.detach()
            _kill(self._proc, group=True)
            _finish(self._proc, self._stderr)
        self._proc = None

    def _exchange(
        self, proc: subprocess.Popen[bytes], request: bytes, count: int, deadline: float | None
    ) -> list[tuple[str, str, bytes] | None]:
        assert proc.stdin is not None and proc.stdout is not None
        out_fd, in_fd = proc.stdout.fileno(), proc.stdin.fileno()
        os.set_blocking(in_fd, False)
        pending, buf, pos = memoryview(request), bytearray(), 0
        result: list[tuple[str, str, bytes] | None] = []
        with selectors.DefaultSelector() as selector:
            selector.register(out_fd, selectors.EVENT_READ)
            if pending:
                selector.register(in_fd, selectors.EVENT_WRITE)
            while len(result) < count:
                # parse every answer that is whole: a header line, then size bytes and "\n"
                end = buf.find(b"\n", pos)
                if end >= 0:
                    header = bytes(buf[pos:end])
                    if header.rsplit(b" ", 1)[-1] in (b"missing", b"ambiguous"):
                        result.append(None)
                        pos = end + 1
                        continue
                    sha, kind, size = header.decode("ascii").split(" ")
                    if len(buf) >= end + 1 + int(size) + 1:
                        result.append((sha, kind, bytes(buf[end + 1 : end + 1 + int(size)])))
                        pos = end + 1 + int(size) + 1
                        continue
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(self.cmd, 0)
                for key, _ in selector.select(left):
                    if key.fd == in_fd:
                        try:
                            pending = pending[os.write(in_fd, pending[:65536]) :]
                        except BrokenPipeError:
                            raise _Died from None
                        if not pending:
                            selector.unregister(in_fd)
                    else:
                        chunk = os.read(out_fd, 1 << 16)
                        if not chunk:  # git exited: a fatal error
                            raise _Died
                        buf += chunk
        if pos != len(buf):  # more than was asked: never expected
            raise _Died
        return result


class _Died(Exception):
    """The batch process ended (or answered out of turn) in the middle of an exchange."""


def _finish(proc: subprocess.Popen[bytes], stderr: IO[bytes] | None) -> None:
    """Close the input of a batch process and reap it (kill it if it does not exit)."""
    try:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        _kill(proc, group=True)
    if proc.stdout is not None:
        proc.stdout.close()
    if stderr is not None:
        stderr.close()


def show_command(cmd: list[str]) -> str:
    """A command as a person would type it, credentials redacted (for messages)."""
    return redact_url(" ".join(shlex.quote(c) for c in cmd))


class GitRunner:
    """Runs git in one repository (work tree or bare), addressed with ``git -C path``."""

    def __init__(self, path: Path, *, source: str | None = None) -> None:
        self.path = Path(path)
        #: What the user configured (URL or path), credentials redacted, for messages.
        self.source = redact_url(source) if source is not None else str(self.path)
        #: Bound (seconds) of every operation that may wait for the network: a clone, a
        #: fetch, the lazy object fetches of a blobless mirror (the model's network.timeout).
        self.network_timeout = NETWORK_TIMEOUT
        #: git's answers kept under the repository's state (:mod:`.factcache`), when it was
        #: opened with a cache; None: every question goes to git.
        self.answers: Answers | None = None
        self._abbrev_config: tuple[str, ...] | None = None
        self._config: dict[str, list[tuple[str, str]]] | None = None

    def answer(self, question: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()``, kept in the fact cache under ``question`` (a tuple naming the
        question and its arguments) and the repository's state. Only for answers that are
        a function of the repository alone, as JSON values; a failure is never kept."""
        if self.answers is None:
            return compute()
        answer: T = self.answers.ask(question, compute)
        return answer

    def config_values(self) -> dict[str, list[tuple[str, str]]]:
        """The settings git's answers here depend on, read with one ``git config``
        (``core.abbrev``, the partial-clone and promisor settings, every remote's URL):
        {key as git names it: [(scope, value), ...] in git's order}. Read once per GitRunner
        (the questions built on it are kept in the fact cache)."""
        if self._config is None:
            pattern = r"^(core\.abbrev|extensions\.partialclone|remote\..*\.(promisor|url))$"
            args = ["config", "-z", "--show-scope", "--get-regexp", pattern]
            proc = spawn(["git", "-C", str(self.path), *args], None, None)
            if proc.returncode not in (0, 1):  # 1: none of them is set
                raise self._fail(["config", "--get-regexp", "..."], proc)
            # -z --show-scope: "scope" NUL "key\nvalue" NUL per setting (any value character)
            fields = proc.stdout.decode("utf-8", "replace").split("\0")
            config: dict[str, list[tuple[str, str]]] = {}
            for scope, record in zip(fields[0::2], fields[1::2], strict=False):  # a NUL ends it
                key, _, value = record.partition("\n")
                config.setdefault(key, []).append((scope, value))
            self._config = config
        return self._config

    def config_value(self, key: str, *, scope: str | None = None) -> str | None:
        """The value ``git config [--SCOPE] --get KEY`` prints (the last one set), from
        :meth:`config_values`; None when it is not set."""
        values = [v for s, v in self.config_values().get(key, []) if scope in (None, s)]
        return values[-1] if values else None

    def _config_args(self) -> tuple[str, ...]:
        """``-c core.abbrev=...``: the repository's own setting, else git's "auto".

        A ``core.abbrev`` in the user's ``~/.gitconfig`` (say 12) would give ``%h`` a length
        that CI's chartpress never published; the repository's own setting is what
        chartpress would use there too, so only that one is kept.
        """
        if self._abbrev_config is None:

            def local_setting() -> str:
                return (self.config_value("core.abbrev", scope="local") or "").strip()

            value = self.answer(("core.abbrev",), local_setting)
            self._abbrev_config = ("-c", f"core.abbrev={value or 'auto'}")
        return self._abbrev_config

    def _command(self, args: Sequence[str]) -> list[str]:
        return ["git", *self._config_args(), "-C", str(self.path), *args]

    def _run(
        self, args: Sequence[str], *, timeout: float | None = None, input: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        return spawn(self._command(args), timeout, input)

    def _fail(self, args: Sequence[str], proc: subprocess.CompletedProcess[bytes]) -> GitError:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        stderr = stderr or proc.stdout.decode("utf-8", "replace").strip()  # e.g. `commit`
        cmd = self._command(args)
        return GitError(
            f"git command failed (exit {proc.returncode}): {show_command(cmd)}\n"
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

    def is_partial(self) -> bool:
        """A partial (e.g. blobless) clone: objects are fetched lazily from a promisor remote."""

        def ask() -> bool:
            config = self.config_values()
            if any(value for _scope, value in config.get("extensions.partialclone", ())):
                return True
            truthy = ("true", "1", "yes", "on")
            return any(
                value.strip().lower() in truthy
                for key, values in config.items()
                if key.lower().endswith(".promisor")
                for _scope, value in values
            )

        return self.answer(("partial",), ask)

    def _network_bytes(self, args: list[str], what: str, *, input: bytes | None = None) -> bytes:
        """``run_bytes`` for what may fetch objects lazily (a partial clone's missing blobs):
        bounded by :attr:`network_timeout`, with a message saying what was waited for."""
        timeout = self.network_timeout if self.is_partial() else None
        proc = spawn(
            self._command(args),
            timeout,
            input,
            waiting_for=f"{what} from {self.source} (objects of a partial clone are "
            "fetched from its remote)",
        )
        if proc.returncode != 0:
            raise self._fail(args, proc)
        return proc.stdout
