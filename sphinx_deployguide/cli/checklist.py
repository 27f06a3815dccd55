"""``deployguide checklist ENV``: print an environment's checklist from the docs site.

The checklist is rendered by Sphinx from the same page the runbook shows (see
:mod:`sphinx_deployguide.ext.checklist_builder`), so the steps and values cannot differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import DeployGuideError
from .common import find_model_path

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
        help="the Sphinx docs folder "
        "(default: ./docs, else the folder of the model if it has conf.py)",
    )
    parser.set_defaults(func=run)


def find_docs_dir(args: argparse.Namespace) -> Path:
    """``--docs``, else ``./docs``, else the model's folder: the first with a ``conf.py``."""
    if args.docs:
        path = Path(args.docs)
        if not (path / "conf.py").is_file():
            raise DeployGuideError("--docs: no conf.py in this folder", file=path)
        return path
    candidates = [Path("docs")]
    if getattr(args, "config", None):
        candidates.append(Path(args.config).parent)
    else:
        try:
            candidates.append(find_model_path(None).parent)
        except DeployGuideError:
            pass
    for candidate in candidates:
        if (candidate / "conf.py").is_file():
            return candidate
    raise DeployGuideError(
        "cannot find the docs (no conf.py in ./docs or beside the model); pass --docs DIR"
    )


def run(args: argparse.Namespace) -> int:
    from ..ext.checklist_builder import render_checklist

    docs = find_docs_dir(args)
    config = Path(args.config) if getattr(args, "config", None) else None
    sys.stdout.write(
        render_checklist(docs, args.env, args.format, config, checklist_id=args.checklist_id)
    )
    return 0
