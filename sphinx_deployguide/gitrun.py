"""Running git: one process per question, bounded, and every failure a clear GitError.

Every call is an argument list (never a shell string) with a fixed environment
(:func:`git_env`); a call that may wait for the network has a deadline and is killed with
every helper it started when the time is up (:func:`spawn`); a failure names the command
(credentials redacted) and git's own message. :class:`GitRunner` is the part of a
repository that runs git in it: :class:`~sphinx_deployguide.git.GitRepo` builds its
queries on it, :class:`~sphinx_deployguide.gitobjects.GitObjects` its batch reads.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .errors import GitError
from .factcache import Answers
from .redact import redact_url

T = TypeVar("T")

__all__ = ["NETWORK_TIMEOUT", "GitRunner", "git_env", "show_command", "spawn"]

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
        what = waiting_for or show_command(cmd)
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

    def answer(self, question: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()``, kept in the fact cache under ``question`` (a tuple naming the
        question and its arguments) and the repository's state. Only for answers that are
        a function of the repository alone, as JSON values; a failure is never kept."""
        if self.answers is None:
            return compute()
        answer: T = self.answers.ask(question, compute)
        return answer

    def _config_args(self) -> tuple[str, ...]:
        """``-c core.abbrev=...``: the repository's own setting, else git's "auto".

        A ``core.abbrev`` in the user's ``~/.gitconfig`` (say 12) would give ``%h`` a length
        that CI's chartpress never published; the repository's own setting is what
        chartpress would use there too, so only that one is kept.
        """
        if self._abbrev_config is None:

            def local_setting() -> str:
                args = ["git", "-C", str(self.path), "config", "--local", "--get", "core.abbrev"]
                local = spawn(args, None, None)
                return local.stdout.decode().strip() if local.returncode == 0 else ""

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
