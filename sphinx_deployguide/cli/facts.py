"""``deployguide facts``: every fact with its value and provenance."""

from __future__ import annotations

import argparse
import json
import sys

from ..escape import terminal_text
from ..facts import resolve_facts
from ..redact import redact_url
from .common import load_model_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "facts",
        help="print every fact with its value and provenance",
        description="Compute the facts of the model (chart version, pin, publish delay, ...) and print them.",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"facts": {NAME: {"value": ..., "source": ..., "status": ...}}, '
        '"unavailable": {NAME: REASON}}',
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="fetch git mirrors and the index now, ignoring the cache TTL",
    )
    parser.add_argument(
        "prefix", nargs="?", default="", help="only facts whose name starts with this"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    facts = resolve_facts(load_model_from_args(args), refresh=args.refresh)
    for problem in facts.problems:  # missing files named by the model: the rest stands
        print(f"deployguide: warning: {terminal_text(problem)}", file=sys.stderr)
    if facts.stale:
        print(
            "deployguide: warning: some values are stale (served from the cache after a network "
            f"failure; as of {facts.as_of}): see the status of each",
            file=sys.stderr,
        )
    names = facts.names(args.prefix)
    # what could not be computed is listed with its reason, never silently left out
    missing = {
        n: redact_url(r) for n, r in sorted(facts.unavailable.items()) if n.startswith(args.prefix)
    }
    if args.json:
        document = {"facts": {n: facts.facts[n].as_json() for n in names}, "unavailable": missing}
        print(json.dumps(document, indent=2))
        return 0
    rows = [
        (n, terminal_text(f.display(), multiline=False), terminal_text(f.provenance.describe()))
        for n in names
        for f in (facts.facts[n],)
    ]
    widths = [
        max([len(h), *(len(r[i]) for r in rows)])
        for i, h in enumerate(("fact", "value", "provenance"))
    ]
    widths[1] = min(widths[1], 48)
    print(f"{'fact':<{widths[0]}}  {'value':<{widths[1]}}  provenance")
    for name, value, provenance in rows:
        print(f"{name:<{widths[0]}}  {value:<{widths[1]}}  {provenance}")
    if missing:
        print("\nnot computed (the reason):")
        width = max(len(n) for n in missing)
        for name, reason in missing.items():
            print(f"{name:<{width}}  {terminal_text(reason, multiline=False)}")
    return 0
