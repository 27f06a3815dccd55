"""Every warning the extension emits, listed once, and the one helper that emits them.

All warnings carry ``type="deployguide"``, a subtype from :class:`DeployGuideWarning` and a
location, so ``-W`` fails the build at the right line and a project can silence one kind with
``suppress_warnings = ["deployguide.stale"]``. (The same idea as MyST-Parser's ``MystWarnings``.)
"""

from __future__ import annotations

from enum import Enum
from typing import Union

from docutils import nodes
from sphinx.util import logging

from ..redact import redact_url

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
    location: Location,
    subtype: DeployGuideWarning | str,
    message: str,
) -> None:
    """Log a located deployguide warning (``-W`` turns it into a build failure).

    ``location`` is a node, a ``(docname, lineno)`` pair or a ``"path:line"`` string; it is
    required so that every message points the reader at the line to fix.
    """
    subtype = DeployGuideWarning(subtype)
    logger.warning(
        redact_url(message),  # it may quote a config value or a URL with its credentials
        type=WARNING_TYPE,
        subtype=subtype.value,
        location=location,
    )


def warning_table() -> list[tuple[str, str]]:
    """(``deployguide.<subtype>``, description) rows, for the docs."""
    return [(f"{WARNING_TYPE}.{w.value}", w.description) for w in DeployGuideWarning]
