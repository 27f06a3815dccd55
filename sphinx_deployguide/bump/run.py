"""The whole bump, one step per line: facts of the chart -> target -> pin (working file,
or the reused branch) -> refusals -> publication (wait) -> evidence -> write / commit.

The PR body comes after (:func:`..text.pr_body` on ``result.evidence``): it holds the
staging checklist, which the front end renders (the core never imports Sphinx) once the
pin is written, as the runbook reads it then.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..chartresolve import resolve_chart
from ..config import Model
from ..delay import iso_utc
from ..exitcodes import EXIT_OK
from .branch import check_editable, open_pin_file, write_pin
from .plan import BumpRequest, chart_to_bump, check_order, read_pin_state, resolve_target
from .text import BumpEvidence, ChecklistSection, commit_message, gather_evidence, pr_body
from .waiting import WaitReport, find_publication


@dataclass
class BumpResult:
    """What the bump did, and the evidence its messages are written from."""

    status: str  # "bumped" | "committed" | "dry-run" | "up-to-date"
    chart: str
    old: str
    new: str
    pin_file: str
    pin_key: str
    line: int | None = None
    branch: str | None = None
    commit: str | None = None
    message: str | None = None
    pr_body: str | None = None
    evidence: BumpEvidence | None = None  # None: up to date, nothing to say
    notes: list[str] = field(default_factory=list)
    checklist_error: str | None = None
    waited: float | None = None
    exit_code: int = EXIT_OK
    state: str | None = None  # the target's verdict (see ..verdict); "published" once found

    def add_pr_body(self, checklist: ChecklistSection) -> None:
        """Write the PR body, with ``checklist`` (rendered by the front end) in it."""
        if self.evidence is not None:
            self.checklist_error = checklist.error
            self.pr_body = pr_body(self.evidence, checklist)

    def as_json(self) -> dict[str, Any]:
        ev = self.evidence
        published = ev.published if ev else None
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "chart": self.chart,
            "from": self.old,
            "to": self.new,
            "pin": {"file": self.pin_file, "key": self.pin_key, "line": self.line},
            "branch": self.branch,
            "commit": self.commit,
            "message": self.message,
            "pr_body": self.pr_body,
            "published_at": iso_utc(published.created) if published else None,
            "compare_url": ev.compare_url if ev else None,
            "commits": [{"sha": s, "subject": t} for s, t in (ev.commits if ev else [])],
            "rolled_back": [{"sha": s, "subject": t} for s, t in (ev.rolled_back if ev else [])],
            "pending": [{"sha": s, "subject": t} for s, t in (ev.pending if ev else [])],
            "notes": self.notes,
            "checklist_error": self.checklist_error,
            "waited_seconds": self.waited,
            "state": self.state,
        }


def bump(
    model: Model,
    req: BumpRequest,
    *,
    progress: Callable[[WaitReport], None] = lambda report: None,
    say: Callable[[str], None] = lambda line: None,
    sleep: Callable[[float], None] = time.sleep,
) -> BumpResult:
    """Do the bump, up to the commit; raises BumpRefused (1), DeployGuideError (2) or
    NotPublished (3). ``result.add_pr_body`` writes the PR body afterwards."""
    spec, pin_spec = chart_to_bump(model, req.chart)
    state = resolve_chart(
        model, spec, refresh=req.refresh, offline=model.offline, versions=(req.to,)
    )
    target = resolve_target(state, req.to)
    pin_file = open_pin_file(model, pin_spec, req, target, say)
    pin = read_pin_state(state, pin_spec, pin_file.text, pin_file.display)
    result = BumpResult(
        "up-to-date",
        req.chart,
        pin.version,
        target.version,
        pin_file.display,
        pin_spec.key,
        pin.line,
    )
    if pin.version == target.version:
        result.branch = pin_file.branch if pin_file.on_branch else None
        return result

    result.notes += check_order(
        state.repo,
        pin,
        target,
        allow_downgrade=req.allow_downgrade,
        where=pin_file.where,
        file=pin_file.display,
    )
    check_editable(pin_file, target.version, dry_run=req.dry_run)
    found = find_publication(model, state, target, req, progress=progress, say=say, sleep=sleep)
    target = found.target
    result.notes += found.notes
    result.new, result.state, result.waited = target.version, found.state, found.waited

    evidence = gather_evidence(
        req.chart, state, pin_spec, pin, target, found.entry, found.snapshot.source, found.landed
    )
    result.evidence, result.message = evidence, commit_message(evidence)
    if req.dry_run:
        result.status = "dry-run"
        result.branch = pin_file.branch if req.commit else None
        return result
    written = write_pin(pin_file, target.version, pin.version, result.message)
    result.status, result.branch, result.commit = written.status, written.branch, written.commit
    return result
