"""``deployguide checklist ENV``: print an environment's checklist from the docs site.

The checklist is rendered by Sphinx from the same page the runbook shows (see
:mod:`sphinx_deployguide.ext.checklist_builder`), so the steps and values cannot differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..docsdir import find_docs_dir
from ..escape import terminal_text
from ..exitcodes import EXIT_OK
from .common import model_path_if_any

FORMATS = ("text", "github", "json")


def register(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``deployguide checklist``."""
    parser.description = (
        "Render the deploy-checklist of ENV from the docs site, values filled, e.g. "
        "`deployguide checklist staging --format github` for a PR body."
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
        help="the Sphinx docs folder (default: docs/, docs/source/, doc/ or doc/source/ beside "
        "the model or here, or the folder whose conf.py names the model)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..ext.checklist_builder import render_checklist

    docs = find_docs_dir(model_path_if_any(args), explicit=args.docs)
    config = Path(args.config) if getattr(args, "config", None) else None
    text = render_checklist(docs, args.env, args.format, config, checklist_id=args.checklist_id)
    sys.stdout.write(text if args.format == "json" else terminal_text(text))
    return EXIT_OK
