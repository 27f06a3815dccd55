"""``[pin]``: is the version the deploy repo pins one that exists, or will exist soon?

An empty or null pin is an error: it deploys nothing anyone chose. Otherwise the pin's
:class:`~sphinx_deployguide.verdict.Verdict` decides, in its own words: ``published`` is
fine (an info line when newer charts wait), ``pending`` needs patience (a warning),
``overdue`` and ``never`` need a different version or a look at the publish job (errors),
and ``unknown`` is said as a warning: a source that lacks the commit is no proof the
version is wrong, so no other version is advised.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..verdict import newest_published
from .finding import Finding
from .locate import key_line

if TYPE_CHECKING:
    from ..config import PinSpec
    from ..facts import ChartState

SUBTYPE = "pin"

#: How bad each state of a pinned version is for the gate.
SEVERITY = {"pending": "warning", "unknown": "warning", "overdue": "error", "never": "error"}


def _pin_of(state: ChartState) -> PinSpec:
    """The pin of a chart the deploy repo pins (a chart-only model's charts are not checked)."""
    if state.spec.pin is None:
        raise ValueError(f"chart {state.spec.name} has no pin: a chart-only model pins nothing")
    return state.spec.pin


def pin_location(deploy_repo: Path, state: ChartState) -> tuple[str, int | None]:
    """Absolute path of the pin file and the line of the pinned value."""
    pin = _pin_of(state)
    path = (deploy_repo / pin.file).resolve()
    return str(path), key_line(path, pin.segments)


def check_pin(state: ChartState, *, file: str | None, line: int | None) -> Finding | None:
    """Classify the pin of one chart; ``None`` when it is the current, published version.

    The words are the verdicts' (``state.pin_verdict``, ``state.head_verdict``), which name
    the chart source without credentials: findings reach CI annotations.
    """
    name, pinned, current = state.spec.name, state.pinned, state.version
    if pinned is None or not pinned.strip() or state.pin_verdict is None:
        shown = "null" if pinned is None else "empty"
        head = state.head_verdict
        return Finding(
            SUBTYPE,
            "error",
            file,
            line,
            f"the {name} pin ({_pin_of(state).key}) is {shown}: expected a chart version "
            f"(the current one is {current}, {head.state})",
            _empty_pin_fix(state, null=pinned is None),
        )
    verdict, head = state.pin_verdict, state.head_verdict
    if state.behind_pin is not None and verdict.state == "published":
        # the pin is fine; the local copy of the source is older than it: no version to advise
        return Finding(
            SUBTYPE,
            "warning",
            file,
            line,
            f"{name} pins {pinned} (published), but {state.behind_pin}",
            f"update {verdict.source} (`git fetch`), then check again",
            verdict.state,
        )
    if verdict.state != "published":
        return Finding(
            SUBTYPE,
            SEVERITY[verdict.state],
            file,
            line,
            f"{name} pin: {verdict.reason}",
            verdict.fix,
            verdict.state,
        )
    if verdict.chart_commit is not None and verdict.chart_commit == head.chart_commit:
        return None
    if pinned == current:
        return None
    n = len(state.pending)
    behind = f"{n} chart commit{'s' if n != 1 else ''} behind" if n else "not"
    message = f"{name} pins {pinned} (published), {behind} the current chart version {current}"
    move = f"run `deployguide bump {name}` to move to {current}"
    if not head.published:
        message += f"; {head.state}: {head.reason}"
        move += " once it is published"
    return Finding(SUBTYPE, "info", file, line, message, move, verdict.state)


def _empty_pin_fix(state: ChartState, *, null: bool) -> str:
    """A fix that works with ``deployguide bump`` as it is, in the words of the current
    chart's verdict: ``bump`` edits an existing value only (not a null one), needs
    ``--allow-downgrade`` for a pin it cannot order, and refuses a chart that is not
    published; an overdue or never-published chart is not offered at all, the newest
    published one is."""
    name, head, current = state.spec.name, state.head_verdict, state.version
    if head.state == "pending":  # it will be installable: wait for it
        if null:
            return f'write "{current}" there once it is published ({head.reason})'
        return (
            f"run `deployguide bump {name} --allow-downgrade --wait`, which pins {current} once "
            f"it is published ({head.reason})"
        )
    target, to, note = current, "", ""
    if not head.published:  # overdue, never, unknown: not installable, so never offered
        newest = newest_published(state, state.head, now=head.now)
        if newest is None:
            return (
                f"the current chart is {head.state} ({head.reason}): pin a version the index "
                f"publishes, e.g. `deployguide bump {name} --to VERSION --allow-downgrade`"
            )
        target, to = newest.asked, f" --to {newest.asked}"
        note = f", the newest published version (the current chart is {head.state}: {head.reason})"
    if null:
        return f'write "{target}" there{note}; `deployguide bump {name}` replaces a value, not null'
    return f"run `deployguide bump {name}{to} --allow-downgrade`, which pins {target}{note}"
