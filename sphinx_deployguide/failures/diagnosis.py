"""From matches and live checks to one verdict (pure, apart from the checks it calls).

Several entries can match one log (a Helm timeout and the runner's ``exit code 143``). The
most specific one wins: an entry whose live check decided, then one whose check could not
run, then the others; among those, the change's own stages before network, runner and
infrastructure ones (:data:`~.catalog.STAGES` order), a legitimate verdict before a
spurious one, and finally catalog order (the model's entries first). All are reported.

Verdicts and exit codes: ``spurious`` 0 (safe to rerun), ``legitimate`` 1, ``undetermined``
2 (something matched but its verdict depends on a check that could not run, or on a human),
``unknown`` 2 (nothing matched).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..exitcodes import VERDICT_EXIT_CODES
from .catalog import STAGES, Catalog, FailureEntry
from .checks import run_check
from .checktypes import CheckContext, CheckResult, LazyFacts
from .logtext import CleanLog, LogLine, last_error_lines
from .matcher import EntryMatch, match_lines

_VERDICT_RANK = {"legitimate": 2, "spurious": 1, "undetermined": 0}


@dataclass(frozen=True)
class JudgedMatch:
    """One matched entry with its (checked) verdict."""

    match: EntryMatch
    check: CheckResult | None
    verdict: str  # "spurious" | "legitimate" | "undetermined"
    summary: str
    action: str
    evidence: tuple[str, ...]
    order: int  # position of the entry in the catalog

    @property
    def entry(self) -> FailureEntry:
        return self.match.entry

    def rank(self) -> tuple[int, int, int, int]:
        checked = 0 if self.check is None else (2 if self.check.decided else 1)
        stage = len(STAGES) - STAGES.index(self.entry.stage)
        return (checked, stage, _VERDICT_RANK[self.verdict], -self.order)


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on a CI log, with the findings it rests on."""

    verdict: str  # "spurious" | "legitimate" | "undetermined" | "unknown"
    findings: tuple[JudgedMatch, ...]  # best first
    error_lines: tuple[LogLine, ...]  # the last error-looking lines (for "unknown")

    @property
    def winner(self) -> JudgedMatch | None:
        return self.findings[0] if self.findings else None

    @property
    def exit_code(self) -> int:
        return VERDICT_EXIT_CODES[self.verdict]


def judge(match: EntryMatch, check: CheckResult | None, order: int) -> JudgedMatch:
    """Combine an entry's static verdict with its live check."""
    entry = match.entry
    lines = "line of the log matches" if match.count == 1 else "lines of the log match"
    evidence: tuple[str, ...] = (
        f"{match.count} {lines} {entry.id!r} (stage {entry.stage}; catalog verdict "
        f"{entry.verdict})",
    )
    if check is not None:
        evidence += check.evidence
        if check.decided:
            return JudgedMatch(
                match, check, check.verdict or "", check.summary, check.action, evidence, order
            )
        summary = f"the live check {check.check} {check.summary}"
        return JudgedMatch(
            match, check, "undetermined", summary, f"{check.action} {entry.remedy}", evidence, order
        )
    if entry.verdict == "depends":
        summary = f"{entry.title}: it depends (no live check for this entry; see the explanation)"
        return JudgedMatch(match, None, "undetermined", summary, entry.remedy, evidence, order)
    return JudgedMatch(match, None, entry.verdict, entry.title, entry.remedy, evidence, order)


def diagnose_lines(
    catalog: Catalog,
    lines: CleanLog,
    *,
    now: datetime,
    facts: LazyFacts | None = None,
    failed_at: datetime | None = None,
    as_of: bool = False,
) -> Diagnosis:
    """Match ``lines``, run the live checks of the matched entries, pick the winner.

    ``facts`` is asked for the model's facts only when a matched entry's check needs them.
    ``as_of``: ``now`` is a moment in the past, judged on what was known then.
    """
    ctx = CheckContext(
        lines=lines,
        now=now,
        failed_at=failed_at,
        as_of=as_of,
        facts=facts if facts is not None else LazyFacts(None, "no model loaded"),
    )
    order = {entry.id: i for i, entry in enumerate(catalog.entries)}
    findings = [judge(m, run_check(m, ctx), order[m.entry.id]) for m in match_lines(catalog, lines)]
    findings.sort(key=JudgedMatch.rank, reverse=True)
    if not findings:
        return Diagnosis("unknown", (), tuple(last_error_lines(lines)))
    return Diagnosis(findings[0].verdict, tuple(findings), ())
