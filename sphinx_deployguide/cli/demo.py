"""``deployguide demo DIR``: build the deterministic demo world."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from ..demo import build_demo
from ..exitcodes import EXIT_OK


def register(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``deployguide demo``."""
    parser.description = (
        "Build a small, deterministic world to try deployguide on: a chart source repo "
        "whose history holds the 2018 incident pattern, a chart index, and a deploy repo "
        "in the mybinder.org-deploy layout with a deployguide.toml."
    )
    parser.add_argument("dir", type=Path, help="an empty or new folder")
    parser.set_defaults(func=run)


#: What to try in the demo deploy repo, each with what it shows (every one of them works
#: there as written: the docs are found in docs/source, as in mybinder.org-deploy).
TRY = (
    ("deployguide facts", "every value, with its provenance"),
    ("deployguide checklist staging --format github", "the runbook's staging checklist"),
    ("deployguide lint", "the drift gate (finds the docs in docs/source)"),
    ("deployguide bump binderhub --dry-run", "what the bump commit would change"),
)


def run(args: argparse.Namespace) -> int:
    world = build_demo(args.dir)
    print(f"demo world built in {world.root}")
    print(f"  chart source: {world.source}")
    print(f"  chart index:  {world.index}")
    print(f"  deploy repo:  {world.deploy}")
    print(f"  model:        {world.model}")
    print("\ntry, in the deploy repo:")
    print(f"  cd {shlex.quote(str(world.deploy))}")
    width = max(len(command) for command, _ in TRY)
    for command, what in TRY:
        print(f"  {command:<{width}}  # {what}")
    return EXIT_OK
