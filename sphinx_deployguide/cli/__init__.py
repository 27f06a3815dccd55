"""``deployguide``: the command-line front end.

Each subcommand lives in its own module of this package with ``register(parser)`` (adds
its arguments and sets ``func=run``) and ``run(args) -> int``. Only the module of the
command being run is imported (``diagnose`` has no use for the HTTP client, ``facts`` none
for Sphinx); :data:`COMMANDS` is what ``--help`` lists. User mistakes raise
:class:`~sphinx_deployguide.errors.DeployGuideError`; :func:`main` prints them as one line
and exits with their code, never with a traceback. So does anything unexpected (one line
saying where, exit 2, or 4 for ``diagnose``, where 2 is a verdict), a closed pipe (``| head``:
quietly, exit 141) and SIGTERM (cleanups run, exit 143).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Collection, Sequence

from .._version import __version__
from ..errors import DeployGuideError
from ..exitcodes import (
    EXIT_BAD_INPUT,
    EXIT_BROKEN_PIPE,
    EXIT_COULD_NOT_RUN,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that cleanups (``finally``) run."""


#: Subcommand module -> its summary in ``--help``, in the order listed there.
COMMANDS = {
    "facts": "print every fact with its value and provenance",
    "checklist": "print an environment's deploy checklist (text, GitHub task list or JSON)",
    "lint": "run the drift checks on the docs (the CI gate)",
    "bump": "pin the current chart version (waits for publication, edits, commits)",
    "diagnose": "tell whether a failed deploy log is spurious (rerun) or legitimate",
    "demo": "build the demo world (chart source, chart index, deploy repo) in DIR",
}

#: The exit status of a command that failed unexpectedly (a bug), when not EXIT_BAD_INPUT.
EXIT_ON_BUG = {"diagnose": EXIT_COULD_NOT_RUN}

EPILOG = """exit codes: 0 success; 1 findings or refusal (see each command);
2 bad input (model, arguments); 3 chart not published yet (bump); 4 could not run (diagnose);
141 the output pipe was closed; 143 terminated (SIGTERM)"""


def command_in(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is not a global option."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(commands: Collection[str] = COMMANDS) -> argparse.ArgumentParser:
    """The parser, with the arguments of ``commands`` (the others only listed)."""
    parser = argparse.ArgumentParser(
        prog="deployguide",
        description="Deploy runbooks that cannot lie: facts, drift lint, bump and diagnose for Helm chart deploys.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="the model file (default: ./deployguide.toml, then docs/deployguide.toml)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    # a named command gets its parser alone (``--help`` and a mistyped name list them all)
    named = [name for name in commands if name in COMMANDS] if len(commands) == 1 else []
    for name, summary in COMMANDS.items():
        if named and name not in named:
            continue
        command = subparsers.add_parser(name, help=summary)
        if name in commands:
            importlib.import_module(f".{name}", __name__).register(command)
    return parser


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def _say(message: str) -> None:
    try:
        print(message, file=sys.stderr)
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    """After a broken pipe: later writes (and the flush at exit) go nowhere, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser([name] if (name := command_in(argv)) else ())
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread
        previous = None
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()
        return status
    except DeployGuideError as exc:
        from ..escape import terminal_text

        _say(f"deployguide: error: {terminal_text(exc)}")
        return exc.exit_code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        _say("deployguide: interrupted")
        return EXIT_INTERRUPTED
    except Terminated:
        _say("deployguide: terminated")
        return EXIT_TERMINATED
    except Exception as exc:  # noqa: BLE001 - never a traceback, even for a bug
        from ..stdio import internal_error

        _say(f"deployguide: {internal_error(exc, f'running `deployguide {args.command}`')}")
        return EXIT_ON_BUG.get(args.command, EXIT_BAD_INPUT)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
