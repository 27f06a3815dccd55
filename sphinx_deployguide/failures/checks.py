"""Live checks: turn a ``depends`` catalog entry into a verdict with evidence.

This module is the registry (check name -> check). The checks live in
:mod:`.chart_published` and :mod:`.log_checks`; what they share (:class:`.CheckResult`,
:class:`.CheckContext`, lazily resolved facts, the failure time) in :mod:`.checktypes`.
Each check has a thin adapter that gathers evidence (from the log, the chart index and the
chart source via :class:`~sphinx_deployguide.facts.FactSet`) and a pure ``decide_*``
function that turns the evidence into a :class:`.CheckResult`, so the decision logic can be
tested with plain values and the adapters against real git repos and a real HTTP index.

``chart-published``
    "chart version not found": published now? published after the failure? still within
    the publish delay of its chart commit? or built from a SHA that is not a chart commit
    (the 2018-01-04 incident), in which case the right version is named.
``chart-repository``
    "not a valid chart repository": the URL the model expects and a server/network error
    means transient; another URL or a 404 means the URL is wrong.
``rollout``
    a wait/rollout timeout: pods in ``CrashLoopBackOff``/``ImagePullBackOff``/
    ``ErrImagePull`` mean the change is broken; otherwise rerun once.
"""

from __future__ import annotations

from collections.abc import Callable

from .chart_published import check_chart_published
from .checktypes import CheckContext, CheckResult
from .log_checks import check_chart_repository, check_rollout
from .matcher import EntryMatch

#: The live checks by the name a catalog entry's ``check`` gives.
REGISTRY: dict[str, Callable[[EntryMatch, CheckContext], CheckResult]] = {
    "chart-published": check_chart_published,
    "chart-repository": check_chart_repository,
    "rollout": check_rollout,
}


def run_check(match: EntryMatch, ctx: CheckContext) -> CheckResult | None:
    """The entry's live check, or None when it has none."""
    if match.entry.check is None:
        return None
    return REGISTRY[match.entry.check](match, ctx)
