"""``deployguide bump CHART``: pin the right chart version, commit it, write the PR body."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ..bump.plan import BumpRequest, error_details
from ..bump.run import BumpResult, bump
from ..bump.text import ChecklistSection
from ..bump.waiting import POLL_ENV, WaitReport
from ..config import Model
from ..delay import format_duration
from ..docsdir import DocsNotFound, find_docs_dir
from ..errors import DeployGuideError
from ..exitcodes import EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_UNPUBLISHED
from .common import load_model_from_args

EPILOG = """\
exit codes:
  0  bumped (or committed, or --dry-run), or the pin is already up to date
  1  refused: the pin file has uncommitted changes (--commit), the target is older than
     the pin in the source history, or the pin's commit is unknown (--allow-downgrade), or
     no chart commit has the --to version (its verdict is "never"; the right one is named)
  2  bad input: the model, the pin file or an option is wrong (a --to whose commit the
     chart source lacks even after fetching it)
  3  the target is not installable yet: "pending" or "overdue", said in the verdict's
     words (or --wait timed out)

The target is the chart version at the head of the chart's branch, named as the index
publishes it (or --to, judged the same way). Versions are ordered by their chart commits'
place in the source history, never by SemVer. Only the version string in the pin file
changes; the file is written atomically and read back. Nothing is pushed.
"""


def _bounded(unit: str, maximum: float, shown: str) -> Callable[[str], float]:
    """An argparse ``type``: a finite number of ``unit`` above 0 and at most ``maximum``
    (``shown`` says it in words), so 0, -5, nan, inf or 1e12 is a usage error, not a wait
    that never ends."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of {unit}, got {text!r}") from None
        if not (math.isfinite(value) and 0 < value <= maximum):
            raise argparse.ArgumentTypeError(
                f"expected a number of {unit} above 0 and at most {maximum:g} ({shown}), "
                f"got {text!r}"
            )
        return value

    parse.__name__ = unit
    return parse


#: ``--timeout``: a day at most (a chart that has not appeared by then is overdue anyway).
MAX_TIMEOUT_MIN = 24 * 60
#: ``--poll-interval``: an hour at most.
MAX_POLL_S = 60 * 60
_minutes = _bounded("minutes", MAX_TIMEOUT_MIN, "24 h")
_seconds = _bounded("seconds", MAX_POLL_S, "1 h")


def register(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``deployguide bump``."""
    parser.description = (
        "Compute the chart version to pin, check it is published, edit the pin "
        "changing only the version string, optionally commit it on a branch, and print a PR body."
    )
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("chart", metavar="CHART", help="a chart of the model, e.g. binderhub")
    parser.add_argument(
        "--to",
        metavar="VERSION",
        help="pin this version instead of the current one (any version format)",
    )
    parser.add_argument(
        "--wait", action="store_true", help="wait until the version appears in the chart index"
    )
    parser.add_argument(
        "--timeout",
        metavar="MIN",
        type=_minutes,
        help="with --wait: give up after MIN minutes, at most 1440 (24 h) (default: p95 "
        "publish delay + 10 min, at least 30)",
    )
    parser.add_argument(
        "--commit", action="store_true", help="commit the pin file on a branch (nothing is pushed)"
    )
    parser.add_argument(
        "--branch",
        metavar="NAME",
        help="with --commit: the branch to create or reuse (default bump/CHART-<short sha>)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would change; write nothing"
    )
    parser.add_argument(
        "--allow-downgrade",
        action="store_true",
        help="allow a target older than the pin (or of unknown order)",
    )
    parser.add_argument(
        "--allow-unpublished",
        action="store_true",
        help="pin a version that is not in the chart index yet",
    )
    parser.add_argument(
        "--docs",
        metavar="DIR",
        type=Path,
        help="the docs (Sphinx) folder with the checklists for the PR body "
        "(default: docs/ next to the model, or ./docs)",
    )
    parser.add_argument(
        "--env",
        metavar="ENV",
        help="the environment whose checklist goes into the PR body "
        "(default: the first one deployed, e.g. staging)",
    )
    parser.add_argument(
        "--no-checklist",
        action="store_true",
        help="leave the checklist out of the PR body (it says so)",
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="fetch the chart source and the index now, ignoring the cache TTL",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (status, from, to, commit, message, pr_body, ...)",
    )
    # For tests and local mirrors: below 10 s only for a local or loopback index.
    parser.add_argument("--poll-interval", type=_seconds, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def _poll_interval(args: argparse.Namespace) -> float | None:
    if args.poll_interval is not None:
        return float(args.poll_interval)
    raw = os.environ.get(POLL_ENV, "").strip()
    if not raw:
        return None
    try:
        return _seconds(raw)
    except argparse.ArgumentTypeError as exc:
        raise DeployGuideError(f"{POLL_ENV}: {exc}") from None


class Progress:
    """Progress of ``--wait``: one rewritten line on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.dirty = False

    def __call__(self, r: WaitReport) -> None:
        expected = ""
        if r.median is not None:
            expected = f" (usually published after {format_duration(r.median)}"
            expected += f", p95 {format_duration(r.p95)})" if r.p95 is not None else ")"
        since = (
            f"landed {format_duration(max(r.since_landing, 0))} ago{expected}; "
            if r.since_landing is not None
            else ""
        )
        line = (
            f"waiting for {r.version}: {since}waited {format_duration(r.elapsed)}, "
            f"poll {r.polls} ({r.status}), next in {format_duration(r.next_in)}"
        )
        if self.tty:
            self.stream.write("\r\x1b[K" + line)
            self.dirty = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self, message: str) -> None:
        if self.tty and self.dirty:
            self.stream.write("\r\x1b[K")
        self.stream.write(message + "\n")
        self.stream.flush()


def checklist_environment(model: Model, env: str | None) -> str | None:
    """The environment whose checklist goes into the PR body: ``--env``, checked against
    the model before anything is written (a bad name refuses the bump, it never leaves a
    commit behind), else the first environment deployed (None when there is none)."""
    if env is None:
        order = model.environment_order()
        return order[0] if order else None
    if env not in model.environments:
        known = ", ".join(model.environments) or "none"
        raise DeployGuideError(
            f"no environment {env!r} in the model (environments: {known})",
            file=model.path,
            key="--env",
        )
    return env


def staging_checklist(model: Model, docs_dir: Path | None, env: str | None) -> ChecklistSection:
    """The checklist for the PR body as a GitHub task list (the first environment deployed,
    or ``--env``), or why there is none. ``docs_dir`` is ``--docs``; without it the runbook
    is found from the model (:func:`..docsdir.find_docs_dir`). A Sphinx failure leaves the
    checklist out, never the bump."""
    env = checklist_environment(model, env)
    if env is None:
        return ChecklistSection(error="the model has no environments")
    try:
        docs = find_docs_dir(
            model.path, explicit=docs_dir, hint="pass --docs DIR to include the checklist"
        )
    except DocsNotFound as exc:
        return ChecklistSection(env=env, error=str(exc))
    try:
        from ..ext.checklist_builder import render_checklist
    except ImportError as exc:
        return ChecklistSection(env=env, error=f"the checklist renderer is not available ({exc})")
    failed = f"rendering the {env} checklist from {docs} failed"
    try:
        text = render_checklist(docs, env, fmt="github", config_path=model.path)
    except DeployGuideError as exc:
        return ChecklistSection(env=env, error=f"{failed}: {exc}")
    except Exception as exc:  # noqa: BLE001 - a Sphinx failure must not lose the bump
        return ChecklistSection(env=env, error=f"{failed}: {type(exc).__name__}: {exc}")
    if not text or not text.strip():
        return ChecklistSection(env=env, error=f"the docs in {docs} have no checklist for {env!r}")
    return ChecklistSection(markdown=text, env=env)


def _print_text(result: BumpResult) -> None:
    out = sys.stdout
    if result.status == "up-to-date":
        where = f" on branch {result.branch}" if result.branch else ""
        print(
            f"{result.chart}: already up to date ({result.new} in {result.pin_file}{where})",
            file=out,
        )
        return
    verb = {"dry-run": "would change", "bumped": "changed", "committed": "changed"}[result.status]
    print(
        f"{result.pin_file}:{result.line}: {result.pin_key}: {verb} {result.old} -> {result.new}",
        file=out,
    )
    for note in result.notes:
        print(f"note: {note}", file=out)
    if result.status == "committed":
        print(
            f"committed {result.commit[:12] if result.commit else '?'} on branch "
            f"{result.branch} (not pushed)",
            file=out,
        )
    elif result.status == "dry-run":
        where = f" on branch {result.branch}" if result.branch else ""
        print(f"dry run: nothing written{where}", file=out)
    print("", file=out)
    print(
        "---- commit message ----"
        if result.status != "bumped"
        else "---- suggested commit message ----",
        file=out,
    )
    print(result.message or "", end="", file=out)
    print("---- PR body ----", file=out)
    print(result.pr_body or "", end="", file=out)
    if result.checklist_error:
        print(f"warning: the PR body has no checklist: {result.checklist_error}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    try:
        if args.branch and not args.commit:
            raise DeployGuideError("--branch needs --commit", key="--branch")
        if args.timeout is not None and not args.wait:
            raise DeployGuideError("--timeout needs --wait", key="--timeout")
        model = load_model_from_args(args)
        if not args.no_checklist:
            checklist_environment(model, args.env)
        request = BumpRequest(
            chart=args.chart,
            to=args.to,
            wait=args.wait,
            timeout_min=args.timeout,
            commit=args.commit,
            branch=args.branch,
            dry_run=args.dry_run,
            allow_downgrade=args.allow_downgrade,
            allow_unpublished=args.allow_unpublished,
            poll_interval=_poll_interval(args),
            refresh=args.refresh,
        )
        progress = Progress(sys.stderr)
        result = bump(model, request, progress=progress, say=progress.done)
        if result.evidence is not None:  # the PR body, with the checklist as it reads now
            if args.no_checklist:
                result.add_pr_body(ChecklistSection(skipped=True))
            else:
                result.add_pr_body(staging_checklist(model, args.docs, args.env))
    except DeployGuideError as exc:
        if args.json:
            print(
                json.dumps(
                    {
                        "status": _status(exc),
                        "exit_code": exc.exit_code,
                        "error": str(exc),
                        **error_details(exc),
                    },
                    indent=2,
                )
            )
            return exc.exit_code
        raise
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
    else:
        _print_text(result)
    return result.exit_code


def _status(exc: DeployGuideError) -> str:
    if exc.exit_code == EXIT_REFUSED:
        return "refused"
    if exc.exit_code == EXIT_UNPUBLISHED:
        return "unpublished"
    return "error" if exc.exit_code == EXIT_BAD_INPUT else "failed"
