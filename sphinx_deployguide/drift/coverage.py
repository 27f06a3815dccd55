"""``[coverage]``: every environment of the model has a checklist, and only those do.

An environment without a checklist is deployed from memory; a checklist for an environment
the model lacks documents something nobody deploys; and a checklist for ``prod`` whose
``after`` environment (``staging``) has none skips the step that makes prod safe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..config import Environment
from .finding import Finding

SUBTYPE = "coverage"


@dataclass(frozen=True)
class ChecklistRef:
    """Where the runbook has a checklist for an environment."""

    env: str
    checklist_id: str
    file: str | None
    line: int | None


def check_coverage(
    environments: Mapping[str, Environment],
    checklists: Sequence[ChecklistRef],
    *,
    model_file: str,
    env_line: Callable[[str], int | None],
) -> list[Finding]:
    """Findings for missing, unknown and out-of-order checklists.

    ``env_line(name)`` gives the line of ``[environments.NAME]`` in the model, where a
    missing checklist is reported (there is no page to point at).
    """
    findings: list[Finding] = []
    covered = {c.env for c in checklists}
    known = ", ".join(environments) or "none"
    for name in environments:
        if name not in covered:
            findings.append(
                Finding(
                    SUBTYPE,
                    "warning",
                    model_file,
                    env_line(name),
                    f"environment {name!r} has no deploy-checklist",
                    f"add a deploy-checklist for {name} to the runbook, "
                    f"or remove [environments.{name}] from the model",
                )
            )
    for ref in checklists:
        env = environments.get(ref.env)
        if env is None:
            findings.append(
                Finding(
                    SUBTYPE,
                    "warning",
                    ref.file,
                    ref.line,
                    f"checklist {ref.checklist_id!r} is for environment {ref.env!r}, "
                    f"which the model does not have (environments: {known})",
                    f"use one of: {known}, or add [environments.{ref.env}] to the model",
                )
            )
        elif env.after and env.after not in covered:
            findings.append(
                Finding(
                    SUBTYPE,
                    "warning",
                    ref.file,
                    ref.line,
                    f"environment {ref.env!r} is deployed after {env.after!r}, "
                    f"which has no deploy-checklist: the runbook skips {env.after}",
                    f"add a deploy-checklist for {env.after} before this one",
                )
            )
    return findings
