"""``[pin]``: is the version the deploy repo pins one that exists, or will exist soon?

An empty or null pin is an error: it deploys nothing anyone chose. A pin that is not in
the chart index is either early (its chart commit landed less than
the usual publish delay ago: wait) or wrong for good (a merge SHA, as in the 2018
incident, or a SHA that is not in the source at all). Telling these apart is the point:
the first needs patience, the others need a different version, which is named.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..chartversion import compute_chart_version, landing_commit, parse_version
from ..errors import DeployGuideError
from ..redact import redact_url
from .finding import Finding
from .locate import key_line

if TYPE_CHECKING:
    from ..facts import ChartState

SUBTYPE = "pin"


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def pin_location(deploy_repo: Path, state: ChartState) -> tuple[str, int | None]:
    """Absolute path of the pin file and the line of the pinned value."""
    path = (deploy_repo / state.spec.pin.file).resolve()
    return str(path), key_line(path, state.spec.pin.segments)


def check_pin(
    state: ChartState,
    *,
    wait_seconds: float | None,
    now: datetime,
    file: str | None,
    line: int | None,
) -> Finding | None:
    """Classify the pin of one chart; ``None`` when it is the current, published version.

    Messages name the chart source by ``state.repo.source`` (credentials already
    redacted), never by the model's ``spec.source``: findings reach CI annotations.
    """
    spec, name, pinned = state.spec, state.spec.name, state.pinned
    current = state.current.version
    source = redact_url(state.repo.source)
    index_source = redact_url(state.index.source)

    def error(message: str, fix: str) -> Finding:
        return Finding(SUBTYPE, "error", file, line, message, fix)

    if pinned is None or not pinned.strip():
        shown = "null" if pinned is None else "empty"
        return error(
            f"the {name} pin ({spec.pin.key}) is {shown}: expected a chart version "
            f"(the current one is {current})",
            _empty_pin_fix(name, current, null=pinned is None),
        )
    if state.index.find(name, pinned) is not None:
        if pinned == current:
            return None
        n = len(state.pending)
        behind = f"{n} chart commit{'s' if n != 1 else ''} behind" if n else "not"
        move = f"run `deployguide bump {name}` to move to {current}"
        if state.index.find(name, current) is None:
            usually = f" (usually within {_minutes(wait_seconds)} min)" if wait_seconds else ""
            move += f" once it is published{usually}"
        return Finding(
            SUBTYPE,
            "info",
            file,
            line,
            f"{name} pins {pinned} (published), {behind} the current chart version {current}",
            move,
        )

    parsed = parse_version(pinned)
    published_current = state.published is not None
    suggestion = f"pin {current}" + (
        " (published)" if published_current else " (the current chart version)"
    )
    if parsed is None or not parsed.sha:
        return error(
            f"{name} pins {pinned}, which is not in the chart index {index_source} "
            "and names no commit",
            suggestion,
        )
    repo = state.repo
    try:
        full = state.pin_commit or repo.resolve(parsed.sha)
    except DeployGuideError:
        full = None
    if full is None:
        return error(
            f"{name} pins {pinned}, whose commit {parsed.sha} is not in the chart source "
            f"{source}: this version will never be published",
            suggestion,
        )
    try:
        correct = compute_chart_version(repo, full, spec.chartpress, name, spec.scheme)
    except DeployGuideError as exc:
        return error(
            f"{name} pins {pinned}, but its chart version cannot be computed: {exc}", suggestion
        )
    if correct.commit_full != full:
        merge = " (a merge commit)" if _is_merge(repo, full) else ""
        status = "published" if state.index.find(name, correct.version) else "not yet published"
        return error(
            f"{name} pins {pinned}, which will never be published: {parsed.sha}{merge} "
            f"is a commit of {source} but not a chart commit; the chart at that commit "
            f"comes from chart commit {correct.commit}, version {correct.version} ({status})",
            f"pin {correct.version}",
        )
    if correct.version != pinned:
        return error(
            f"{name} pins {pinned}, but chartpress makes {correct.version} for chart commit "
            f"{correct.commit}: the pinned version will never be published",
            f"pin {correct.version}",
        )
    try:
        landed_at = repo.commit_time(landing_commit(repo, full, spec.branch))
    except DeployGuideError:
        return error(
            f"{name} pins {pinned}, whose chart commit {correct.commit} is not on {spec.branch}: "
            "charts are published only after they land",
            f"merge {correct.commit} first, or {suggestion}",
        )
    age = (now - landed_at).total_seconds()
    if wait_seconds is None:
        return Finding(
            SUBTYPE,
            "warning",
            file,
            line,
            f"{name} pins {pinned}, which is not yet published (its chart commit landed "
            f"{_minutes(age)} min ago; no publish history to say when it will be)",
            "wait for it to appear in the index before deploying; "
            "`deployguide bump` waits for publication",
        )
    if age <= wait_seconds:
        return Finding(
            SUBTYPE,
            "warning",
            file,
            line,
            f"{name} pins {pinned}, which is not yet published; expected within "
            f"{_minutes(wait_seconds - age)} min (its chart commit landed {_minutes(age)} min ago; "
            f"charts usually appear within {_minutes(wait_seconds)} min)",
            "wait, then rerun the deploy; do not change the pin",
        )
    if state.index.status == "stale":
        # The index could not be fetched: it may well have been published since.
        return Finding(
            SUBTYPE,
            "warning",
            file,
            line,
            f"{name} pins {pinned}, which is not in the cached chart index ({_minutes(age)} min "
            f"after its chart commit landed), but the index could not be fetched: "
            f"{redact_url(state.index.error or 'network error')}",
            "rerun when the index is reachable",
        )
    return error(
        f"{name} pins {pinned}, which is still not published {_minutes(age)} min after its "
        f"chart commit landed (charts usually appear within {_minutes(wait_seconds)} min): "
        "the publish job may have failed",
        f"check the chart source's publish workflow, or {suggestion}",
    )


def _empty_pin_fix(name: str, current: str, *, null: bool) -> str:
    """A fix that works with ``deployguide bump`` as it is: it edits an existing value
    only (not a null one), and needs ``--allow-downgrade`` for a pin it cannot order."""
    if null:
        return f'write "{current}" there (`deployguide bump {name}` replaces a value, not null)'
    return f"run `deployguide bump {name} --allow-downgrade`, which pins {current}"


def _is_merge(repo, full: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        return len(repo.run("rev-list", "--parents", "-n", "1", full).split()) > 2
    except DeployGuideError:
        return False
