"""``deployguide facts``: every fact with its value and provenance."""

from __future__ import annotations

import argparse
import json
import sys

from ..escape import terminal_text
from ..exitcodes import EXIT_OK
from ..redact import redact_url
from .common import load_model_from_args

#: The widest the value column gets; a longer value has its provenance on the next line.
VALUE_COLUMN = 48


def register(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``deployguide facts``."""
    parser.description = (
        "Compute the facts of the model (chart version, pin, publish delay, ...) and print them."
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
    from ..indexcache import start_index_loads

    model = load_model_from_args(args)
    # the index is requested and parsed while the git side is imported and asked
    indexes = start_index_loads(model, refresh=args.refresh, offline=model.offline)
    from ..factresolve import resolve_facts

    facts = resolve_facts(model, refresh=args.refresh, indexes=indexes)
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
        return EXIT_OK
    # long lists fold (the JSON has every item); a value wider than its column puts the
    # provenance on the next line, in its column, so that column stays readable
    rows = [
        (
            n,
            terminal_text(f.display(fold=True), multiline=False),
            terminal_text(f.provenance.describe(), multiline=False),
        )
        for n in names
        for f in (facts.facts[n],)
    ]
    name_width = max([len("fact"), *(len(r[0]) for r in rows)])
    value_width = min(max([len("value"), *(len(r[1]) for r in rows)]), VALUE_COLUMN)
    print(f"{'fact':<{name_width}}  {'value':<{value_width}}  provenance")
    for name, value, provenance in rows:
        if len(value) <= value_width:
            print(f"{name:<{name_width}}  {value:<{value_width}}  {provenance}")
        else:
            print(f"{name:<{name_width}}  {value}")
            print(f"{'':<{name_width + value_width + 4}}{provenance}")
    if missing:
        print("\nnot computed (the reason):")
        width = max(len(n) for n in missing)
        for name, reason in missing.items():
            print(f"{name:<{width}}  {terminal_text(reason, multiline=False)}")
    return EXIT_OK
