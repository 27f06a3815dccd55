"""``deployguide checklist ENV``: print an environment's checklist from the docs site.

The checklist is rendered by Sphinx from the same page the runbook shows (see
:mod:`sphinx_deployguide.ext.checklist_builder`), so the steps and values cannot differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import DeployGuideError
from .common import find_runbook

FORMATS = ("text", "github", "json")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "checklist",
        help="print an environment's deploy checklist (text, GitHub task list or JSON)",
        description=(
            "Render the deploy-checklist of ENV from the docs site, values filled, e.g. "
            "`deployguide checklist staging --format github` for a PR body."
        ),
    )
    parser.add_argument("env", metavar="ENV", help="the environment (as in deployguide.toml)")
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default: text)"
    )
    parser.add_argument(
        "--id",
        dest="checklist_id",
        metavar="ID",
        help="the checklist's :id: when ENV has several "
        "(default: the one whose id is ENV, else the first)",
    )
    parser.add_argument(
        "--docs",
        metavar="DIR",
        help="the Sphinx docs folder (default: docs/ beside the model, the model's folder, "
        "or ./docs: the first with a conf.py)",
    )
    parser.set_defaults(func=run)


def find_docs_dir(args: argparse.Namespace) -> Path:
    """``--docs``, else the runbook found from the model (``--config`` or the default)."""
    if args.docs:
        path = Path(args.docs)
        if not (path / "conf.py").is_file():
            raise DeployGuideError("--docs: no conf.py in this folder", file=path)
        return path
    found = find_runbook(args)
    if found is None:
        raise DeployGuideError(
            "cannot find the docs (no conf.py in docs/ beside the model, the model's folder "
            "or ./docs); pass --docs DIR"
        )
    return found


def run(args: argparse.Namespace) -> int:
    from ..ext.checklist_builder import render_checklist

    docs = find_docs_dir(args)
    config = Path(args.config) if getattr(args, "config", None) else None
    sys.stdout.write(
        render_checklist(docs, args.env, args.format, config, checklist_id=args.checklist_id)
    )
    return 0
