"""``deployguide``: the command-line front end.

Each subcommand lives in its own module of this package with ``register(subparsers)``
(whose parser sets ``func=run``) and ``run(args) -> int``. User mistakes raise
:class:`~sphinx_deployguide.errors.DeployGuideError`; :func:`main` prints them as one line
and exits with their code, never with a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import DeployGuideError

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = (
    "facts",
    "checklist",
    "lint",
    "bump",
    "diagnose",
    "demo",
)

EPILOG = """exit codes: 0 success; 1 findings or refusal (see each command);
2 bad input (model, arguments); 3 chart not published yet (bump); 4 could not run (diagnose)"""


def build_parser() -> argparse.ArgumentParser:
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
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except DeployGuideError as exc:
        print(f"deployguide: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("deployguide: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
