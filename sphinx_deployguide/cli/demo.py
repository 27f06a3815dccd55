"""``deployguide demo DIR``: build the deterministic demo world."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..demo import build_demo


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="build the demo world (chart source, chart index, deploy repo) in DIR",
        description="Build a small, deterministic world to try deployguide on: a chart source repo "
        "whose history holds the 2018 incident pattern, a chart index, and a deploy repo "
        "in the mybinder.org-deploy layout with a deployguide.toml.",
    )
    parser.add_argument("dir", type=Path, help="an empty or new folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    world = build_demo(args.dir)
    print(f"demo world built in {world.root}")
    print(f"  chart source: {world.source}")
    print(f"  chart index:  {world.index}")
    print(f"  deploy repo:  {world.deploy}")
    print(f"  model:        {world.model}")
    print("\ntry, in the deploy repo:")
    print(f"  cd {world.deploy}")
    print("  deployguide facts                            # every value, with its provenance")
    print("  deployguide checklist staging --format github   # the runbook's staging checklist")
    print("  deployguide lint docs                        # the drift gate")
    print("  deployguide bump binderhub --dry-run         # what the bump commit would change")
    return 0
