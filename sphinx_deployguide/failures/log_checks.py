"""Checks decided from the log line itself (and the model's URLs): ``chart-repository``
and ``rollout``.

``chart-repository``: a 404 / unknown host or a URL that is not the model's repository is
legitimate; a network or server error on the right URL is spurious. ``rollout``: pods in
``CrashLoopBackOff``/``ImagePullBackOff``/``ErrImagePull`` anywhere in the log make a wait
timeout legitimate; otherwise rerun once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .checktypes import CheckContext, CheckResult
from .logtext import CleanLog
from .matcher import EntryMatch, search_log

_NOT_FOUND_RE = re.compile(r"\b404\b|Not Found|no such host", re.IGNORECASE)
_TRANSIENT_RE = re.compile(
    r"\b(?:50[0234]|429)\b|timeout|timed out|connection reset|connection refused|EOF|TLS handshake",
    re.IGNORECASE,
)


def _repo_url(index: str) -> str:
    """The repository URL of an index URL (``.../index.yaml`` -> ``...``), no trailing slash."""
    url = index.rstrip("/")
    if url.endswith("/index.yaml"):
        url = url[: -len("/index.yaml")]
    return url.rstrip("/")


def decide_chart_repository(
    url: str, line: str, line_number: int, expected: Sequence[str] | None
) -> CheckResult:
    """Is the repository wrong (legitimate) or was it briefly unreachable (spurious)? (pure)

    ``expected``: the repository URLs of the model's charts (None: no model to compare with;
    empty: the model's indexes are local files). The log line's own error decides first.
    """
    name = "chart-repository"
    evidence = [f"repository {url} (log line {line_number})"]
    data: dict[str, Any] = {"url": url}
    if _NOT_FOUND_RE.search(line):
        evidence.append("the error says 404 / not found / no such host")
        return CheckResult(
            name,
            "legitimate",
            f"{url} does not serve an index (404 or unknown host)",
            "Check the repository URL in the deploy repo: it is wrong or the repository moved.",
            tuple(evidence),
            data,
        )
    if expected:
        wanted = [_repo_url(u) for u in expected]
        data["expected"] = wanted
        if _repo_url(url) not in wanted:
            evidence.append(f"the model's chart repositories are: {', '.join(wanted)}")
            return CheckResult(
                name,
                "legitimate",
                f"{url} is not the chart repository of any chart in the model",
                f"Fix the repository URL in the deploy repo (expected {' or '.join(wanted)}).",
                tuple(evidence),
                data,
            )
        evidence.append("the URL is the model's chart repository")
    if _TRANSIENT_RE.search(line):
        evidence.append("the error is a network or server error (5xx, 429, timeout, reset)")
        return CheckResult(
            name,
            "spurious",
            f"{url} could not be reached (a network or server error)",
            "Rerun the deploy job; if it keeps failing, check the chart host's status.",
            tuple(evidence),
            data,
        )
    if expected:
        return CheckResult(
            name,
            "spurious",
            f"{url} is the right repository; it could not be reached",
            "Rerun the deploy job; if it keeps failing, check the chart host's status.",
            tuple(evidence),
            data,
        )
    why = (
        "no model to compare the URL with"
        if expected is None
        else "the model's chart indexes are local files"
    )
    return CheckResult(
        name,
        None,
        f"could not decide: the log line gives no cause and there is {why}"
        if expected is None
        else f"could not decide: the log line gives no cause and {why}",
        "Check the URL by hand; rerun if it is the right one.",
        tuple(evidence),
        data,
    )


def check_chart_repository(match: EntryMatch, ctx: CheckContext) -> CheckResult:
    got = match.group("url")
    if got is None:
        return CheckResult(
            "chart-repository", None, "could not run: the log line names no URL", "Rerun once."
        )
    url, hit = got
    facts, _problem = ctx.facts.get()
    expected = (
        None
        if facts is None
        else [c.spec.index for c in facts.charts.values() if "://" in c.spec.index]
    )
    return decide_chart_repository(url, hit.text, hit.number, expected)


POD_FAILURE_RE = re.compile(
    r"\b(CrashLoopBackOff|ImagePullBackOff|ErrImagePull|CreateContainerConfigError|InvalidImageName)\b"
)


def decide_rollout(lines: CleanLog) -> CheckResult:
    """Legitimate when the log shows pods that cannot start, else rerun once (pure)."""
    name = "rollout"
    found = [(lines[i], m.group(1)) for i, m in sorted(search_log(POD_FAILURE_RE, lines).items())]
    if found:
        reasons = sorted({reason for _, reason in found})
        evidence = tuple(f"line {line.number}: {line.text.strip()[:200]}" for line, _ in found[:5])
        return CheckResult(
            name,
            "legitimate",
            f"pods of the new release do not start ({', '.join(reasons)})",
            "Fix the image or configuration, or roll back (`helm rollback`); rerunning deploys "
            "the same broken pods.",
            evidence,
            {"reasons": reasons},
        )
    return CheckResult(
        name,
        "spurious",
        "no CrashLoopBackOff, ImagePullBackOff or ErrImagePull in the log: probably a slow rollout",
        "Rerun once; if it times out again, treat it as legitimate and look at the pods "
        "(`kubectl get pods`, `kubectl describe pod`).",
        ("no pod failure state (CrashLoopBackOff, ImagePullBackOff, ErrImagePull) in the log",),
    )


def check_rollout(match: EntryMatch, ctx: CheckContext) -> CheckResult:
    return decide_rollout(ctx.lines)
