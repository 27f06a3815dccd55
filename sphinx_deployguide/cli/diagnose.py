"""``deployguide diagnose [LOG|-]``: is this CI failure spurious (rerun) or legitimate?

Exit codes: 0 spurious (safe to rerun, or wait and rerun), 1 legitimate (a human must fix
something), 2 undetermined or unknown (a match whose live check could not run, or nothing
matched: the output says which), 4 could not run (unreadable log, invalid model or
catalog, bad ``--failed-at``/``--now``/``--env``).

Without a model (no ``deployguide.toml`` found and no ``--config``), the shipped catalog is
still matched and checks that need only the log (``rollout``) still decide; the checks that
need the chart index and git say they could not run, and such a match is ``undetermined``
(exit 2) rather than guessed. A model that exists but is invalid is an error (exit 4): its
own ``[[failures]]`` entries would otherwise be silently ignored.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DeployGuideError, ModelError
from ..escape import terminal_text
from ..exitcodes import EXIT_COULD_NOT_RUN
from ..failures import (
    MAX_LOG_BYTES,
    Diagnosis,
    JudgedMatch,
    LazyFacts,
    LogText,
    clean_log,
    diagnose_lines,
    load_model_catalog,
    read_log_tail,
)
from ..failures.catalog import FailureEntry
from ..redact import redact_url, redact_value
from .common import find_model_path

if TYPE_CHECKING:
    from ..config import Model

RUNBOOK_ENV = "DEPLOYGUIDE_RUNBOOK_URL"
DEFAULT_RUNBOOK = "failures.html"


class DiagnoseError(DeployGuideError):
    """diagnose could not run (exit code 4)."""

    exit_code = EXIT_COULD_NOT_RUN


def register(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``deployguide diagnose``."""
    parser.description = (
        "Match a CI log against the failure catalog, run the live checks (chart index, git, "
        "pod states) and print the verdict, the matched lines, the evidence, the next action "
        "and the runbook link."
    )
    parser.epilog = (
        "exit codes: 0 spurious (rerun, maybe after waiting), 1 legitimate, "
        "2 undetermined/unknown, 4 could not run"
    )
    parser.add_argument(
        "log",
        nargs="?",
        default="-",
        metavar="LOG",
        help=f"the CI log file, or - for stdin (default); only the last {MAX_LOG_BYTES // 2**20} MB are read",
    )
    parser.add_argument(
        "--env",
        metavar="ENV",
        help="the environment whose deploy failed (names its job in the advice)",
    )
    parser.add_argument(
        "--failed-at",
        metavar="TIME",
        help="when the deploy failed (ISO 8601 with a timezone, e.g. 2018-05-24T10:00:00Z); "
        "default: the timestamp of the matched log line",
    )
    parser.add_argument(
        "--now",
        metavar="TIME",
        help="judge as of TIME instead of the current time, on the index as it was then (to "
        "reproduce a past diagnosis)",
    )
    parser.add_argument(
        "--runbook-url",
        metavar="URL",
        help=f"URL of the runbook's failure page; entries link to URL#failure-<id> "
        f"(default: ${RUNBOOK_ENV}, else {DEFAULT_RUNBOOK})",
    )
    parser.add_argument("--json", action="store_true", help="print the diagnosis as JSON")
    parser.set_defaults(func=run)


def parse_time(value: str, option: str) -> datetime:
    """An aware UTC datetime from ISO 8601 text; a clear error otherwise."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Runner timestamps carry 7 fraction digits; Python 3.10's fromisoformat takes up to 6.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DiagnoseError(
            f"{option}: {value!r} is not an ISO 8601 time (e.g. 2018-05-24T10:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        raise DiagnoseError(f"{option}: {value!r} has no timezone; add Z for UTC (e.g. {value}Z)")
    return moment.astimezone(timezone.utc)


def read_log(name: str) -> LogText:
    if name == "-":
        if sys.stdin.isatty():
            raise DiagnoseError(
                "no LOG given and stdin is a terminal: pass a log file or pipe one in"
            )
        return read_log_tail(sys.stdin.buffer)
    path = Path(name)
    try:
        with path.open("rb") as stream:
            # Streamed, keeping only the tail; the skipped part's newlines are counted so
            # line numbers are those of the whole file.
            return read_log_tail(stream)
    except OSError as exc:
        raise DiagnoseError(f"cannot read the log: {exc.strerror}", file=path) from None


def runbook_link(base: str, entry: FailureEntry) -> str:
    return f"{base}#{entry.anchor}"


def _load_model(args: argparse.Namespace) -> tuple[Model | None, str | None]:
    """The model, or None with a note when there is none to find."""
    try:
        path = find_model_path(getattr(args, "config", None))
    except ModelError:
        return None, "no deployguide.toml here or in docs/ (pass --config PATH)"
    from ..config import load_model

    try:
        return load_model(path), None
    except ModelError as exc:
        raise DiagnoseError(
            f"cannot use the model (its failure entries and facts are needed): {exc}"
        ) from None


def _job_hint(model: Model, env: str | None) -> str | None:
    if env is None:
        return None
    environment = model.environments[env]
    if environment.job and environment.workflow:
        return f"the job `{environment.job}` of {environment.workflow}"
    if environment.job:
        return f"the job `{environment.job}`"
    return None


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except DeployGuideError as exc:
        # Any failure to run (bad log, model, catalog or option) is exit 4, never 2, which
        # means "undetermined" for this command.
        print(f"deployguide diagnose: error: {terminal_text(exc)}", file=sys.stderr)
        return EXIT_COULD_NOT_RUN


def _run(args: argparse.Namespace) -> int:
    failed_at = parse_time(args.failed_at, "--failed-at") if args.failed_at else None
    now = parse_time(args.now, "--now") if args.now else datetime.now(timezone.utc)
    base = args.runbook_url or os.environ.get(RUNBOOK_ENV) or DEFAULT_RUNBOOK
    if "#" in base:
        raise DiagnoseError(
            f"--runbook-url / ${RUNBOOK_ENV}: {base!r} must be a page URL without a #fragment"
        )
    model, model_note = _load_model(args)
    if args.env is not None:
        if model is None:
            raise DiagnoseError(f"--env {args.env}: needs the model, but {model_note}")
        if args.env not in model.environments:
            known = ", ".join(model.environments) or "none"
            raise DiagnoseError(
                f"--env: unknown environment {args.env!r}; the model has: {known}", file=model.path
            )
    catalog = load_model_catalog(model)
    log = read_log(args.log)
    lines = clean_log(log)
    if model is not None:
        from ..factresolve import resolve_facts

        facts = LazyFacts(lambda: resolve_facts(model))
    else:
        facts = LazyFacts(None, "no deployguide.toml found")
    diagnosis = diagnose_lines(
        catalog, lines, now=now, facts=facts, failed_at=failed_at, as_of=args.now is not None
    )
    job = _job_hint(model, args.env) if model is not None else None
    if not facts.requested:
        model_note = None  # no check needed the model: nothing is missing
    name = "<stdin>" if args.log == "-" else args.log
    # Log lines may hold credentials (a repository URL with a token): none is printed.
    if args.json:
        document = as_json(diagnosis, log, name, base, model_note, job)
        print(json.dumps(redact_value(document), indent=2))
    else:
        text = render_text(diagnosis, log, name, base, model_note, job)
        print(terminal_text(redact_url(text)))
    return diagnosis.exit_code


# --------------------------------------------------------------------------- output


def _finding_json(finding: JudgedMatch, base: str) -> dict[str, Any]:
    entry = finding.entry
    check = finding.check
    return {
        "id": entry.id,
        "title": entry.title,
        "stage": entry.stage,
        "catalog_verdict": entry.verdict,
        "verdict": finding.verdict,
        "summary": finding.summary,
        "action": finding.action,
        "evidence": list(finding.evidence),
        "check": None
        if check is None
        else {
            "name": check.check,
            "decided": check.decided,
            "verdict": check.verdict,
            "summary": check.summary,
            "data": check.data,
        },
        "lines": [
            {
                "line": hit.number,
                "text": hit.text,
                "groups": hit.groups,
                "timestamp": hit.timestamp.isoformat() if hit.timestamp else None,
            }
            for hit in finding.match.hits
        ],
        "count": finding.match.count,
        "runbook": runbook_link(base, entry),
        "origin": entry.origin,
    }


def as_json(
    diagnosis: Diagnosis, log: LogText, name: str, base: str, note: str | None, job: str | None
) -> dict[str, Any]:
    return {
        "verdict": diagnosis.verdict,
        "exit_code": diagnosis.exit_code,
        "log": {
            "name": name,
            "total_bytes": log.total_bytes,
            "read_bytes": log.read_bytes,
            "truncated": log.truncated,
            "first_line": log.first_line,
        },
        "model_note": note,  # why checks needing the model could not run (None: not needed or loaded)
        "job": job,
        "findings": [_finding_json(f, base) for f in diagnosis.findings],
        "error_lines": [{"line": line.number, "text": line.text} for line in diagnosis.error_lines],
    }


_HEADLINES = {
    "spurious": "SPURIOUS: not caused by the change; rerun (see the next action)",
    "legitimate": "LEGITIMATE: something must be fixed before a rerun can pass",
    "undetermined": "UNDETERMINED: a known failure, but its verdict needs a check that could not run",
    "unknown": "UNKNOWN: no catalog entry matched this log",
}


def render_text(
    diagnosis: Diagnosis, log: LogText, name: str, base: str, note: str | None, job: str | None
) -> str:
    out: list[str] = []
    if log.truncated:
        out.append(
            f"note: the log is {log.total_bytes / 2**20:.1f} MB; only its last "
            f"{log.read_bytes / 2**20:.1f} MB (from line {log.first_line}) were read"
        )
    if note:
        out.append(f"note: {note}: checks that need the chart index or git cannot run")
    out.append(f"verdict: {_HEADLINES[diagnosis.verdict]} (exit {diagnosis.exit_code})")
    winner = diagnosis.winner
    if winner is None:
        out.append("")
        if diagnosis.error_lines:
            out.append("last error-looking lines:")
            out += [
                f"  {name}:{line.number}: {line.text.strip()}" for line in diagnosis.error_lines
            ]
        else:
            out.append("no error-looking lines either: is this the log of the failed job?")
        out.append("")
        out.append(
            "next action: read the log; if this failure recurs, add a [[failures]] entry to deployguide.toml"
        )
        return "\n".join(out)
    entry = winner.entry
    checked = f", live check {winner.check.check}" if winner.check else ""
    out.append(f"failure: {entry.title} [{entry.id}; stage {entry.stage}{checked}]")
    out.append(f"  {winner.summary}")
    out.append("")
    out.append("matched lines:")
    for hit in winner.match.hits[:10]:
        out.append(f"  {name}:{hit.number}: {hit.text.strip()}")
    if winner.match.count > 10:
        out.append(f"  ... and {winner.match.count - 10} more")
    out.append("evidence:")
    out += [f"  - {item}" for item in winner.evidence]
    action = winner.action
    if job and winner.verdict == "spurious":
        action += f" (rerun {job})"
    out.append(f"next action: {action}")
    out.append(f"runbook: {runbook_link(base, entry)}")
    others = diagnosis.findings[1:]
    if others:
        out.append("")
        out.append("also matched (less specific):")
        for other in others:
            first = other.match.first
            out.append(
                f"  - {other.entry.id} ({other.verdict}): {other.summary} "
                f"[{name}:{first.number}] {runbook_link(base, other.entry)}"
            )
    return "\n".join(out)
