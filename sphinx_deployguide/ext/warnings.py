"""Every warning the extension emits, listed once, and the one function that emits them.

All warnings carry ``type="deployguide"``, a subtype from :class:`DeployGuideWarning` and a
location, so ``-W`` fails the build at the right line and a project can silence one kind with
``suppress_warnings = ["deployguide.stale"]``. (The same idea as MyST-Parser's ``MystWarnings``.)
Each one is also a structured :class:`~sphinx_deployguide.drift.Finding` kept in the
``deployguide`` domain, which the lint builder writes out (:func:`report`).
"""

from __future__ import annotations

import os
from enum import Enum
from typing import TYPE_CHECKING, Union

from docutils import nodes
from docutils.utils import get_source_line
from sphinx.util import logging

from .state import get_state, reading_docname

if TYPE_CHECKING:
    from sphinx.environment import BuildEnvironment

    from ..drift import Finding

logger = logging.getLogger(__name__)

WARNING_TYPE = "deployguide"


class DeployGuideWarning(str, Enum):
    """Warning subtypes, each with its description: the one list (docs render it).

    ``suppress_warnings = ["deployguide.<value>"]`` silences one subtype.
    """

    description: str

    def __new__(cls, value: str, description: str) -> DeployGuideWarning:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    FACT = "fact", "A fact name is unknown, or a config: lookup does not resolve."
    CHECKLIST = (
        "checklist",
        "A deploy-checklist is malformed: unknown environment, body not a list, empty, "
        "a duplicate step id, or a checklist id used twice.",
    )
    CLAIM = (
        "claim",
        "A claim role (deploy-file, deploy-config, deploy-job) is malformed or does not hold.",
    )
    HARDCODED = (
        "hardcoded",
        "A chart version or commit is typed in prose instead of coming from a role.",
    )
    PIN = "pin", "The pin in the deploy repo is wrong or behind (drift check)."
    COVERAGE = (
        "coverage",
        "An environment of the model has no checklist, or a checklist names an unknown one.",
    )
    STALE = (
        "stale",
        "Facts were served from the cache after a network failure; pages show a stale mark.",
    )
    FAILURES = "failures", "The failure catalog could not be rendered (deploy-failures)."
    CONFIG = (
        "config",
        "deployguide_config is missing, or the model cannot be loaded or resolved (e.g. "
        "its members = KEY gives no members).",
    )
    CODE = "code", "A deploy-code block has an unknown {{ placeholder }}."
    FILE = (
        "file",
        "A file the model names (a values, workflow or pin file) is missing or cannot be "
        "read; the rest of the site still builds.",
    )
    INTERNAL = (
        "internal",
        "An unexpected error inside the extension (a bug): reported where it happened, and "
        "the rest of the site still builds.",
    )


Location = Union[nodes.Node, str, "tuple[str, int | None]"]


def warn(
    env: BuildEnvironment | None,
    location: Location,
    subtype: DeployGuideWarning | str,
    message: str,
) -> None:
    """A located warning from reading or from a handler (``-W`` turns it into a failure).

    ``location`` is a node, a ``(docname, lineno)`` pair or a ``"path:line"`` string; it is
    required so that every message points the reader at the line to fix.
    """
    from ..drift import Finding  # here: the extension registers without the drift checks

    file, line = _file_line(env, location)
    report(env, Finding(_subtype(subtype).value, "warning", file, line, message), location)


def report(
    env: BuildEnvironment | None, finding: Finding, location: Location | None = None
) -> None:
    """The one way out of the extension: log ``finding`` as a ``deployguide.<subtype>``
    warning (an error or an info line by its severity) and keep it for the lint builder, in
    the document being read or, between documents, in the build's findings.

    ``location`` defaults to the finding's own ``file:line``. Without an environment (before
    Sphinx made one) the finding is only logged.
    """
    subtype = _subtype(finding.subtype).value
    if env is not None:
        if logging.is_suppressed_warning(WARNING_TYPE, subtype, env.config.suppress_warnings):
            return
        get_state(env).add_finding(reading_docname(env), finding)
    if location is None and finding.file:
        location = f"{finding.file}:{finding.line or ''}"
    log = {"error": logger.error, "warning": logger.warning, "info": logger.info}
    log[finding.severity](
        finding.text(),  # redacted: it may quote a config value or a URL with its credentials
        type=WARNING_TYPE,
        subtype=subtype,
        location=location,
    )


def _subtype(value: str) -> DeployGuideWarning:
    """The subtype named ``value`` (a ValueError for one not listed)."""
    # By value only: the enum's __new__ takes a description to define a member, not to
    # look one up, which mypy cannot tell apart.
    return DeployGuideWarning(value)  # type: ignore[call-arg]


def _file_line(env: BuildEnvironment | None, location: Location) -> tuple[str | None, int | None]:
    """The file and line Sphinx shows for ``location`` (as its log record translator does)."""
    if isinstance(location, nodes.Node):
        source, line = get_source_line(location)
        return (os.path.abspath(source) if source else None), line
    if isinstance(location, tuple):
        docname, lineno = location
        if not docname or env is None:
            return None, lineno
        return str(env.doc2path(docname)), lineno
    if ":" not in location:
        return (str(env.doc2path(location)) if env is not None else location), None
    file, _, line_text = location.rpartition(":")
    return file or None, int(line_text) if line_text.isdigit() else None


def warning_table() -> list[tuple[str, str]]:
    """(``deployguide.<subtype>``, description) rows, for the docs."""
    return [(f"{WARNING_TYPE}.{w.value}", w.description) for w in DeployGuideWarning]
