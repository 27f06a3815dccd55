"""Drift checks: does what the runbook says still hold in the deploy repo and the chart source?

Pure functions over the model, files of the deploy repo and the resolved facts; no Sphinx.
The Sphinx extension (:mod:`sphinx_deployguide.ext.drift`) feeds them what it collected
while reading and turns each :class:`Finding` into a located ``deployguide`` warning; the
``deployguide lint`` builder collects the same findings for terminals and CI.

One module per check: :mod:`.claims`, :mod:`.hardcoded`, :mod:`.pins`, :mod:`.coverage`;
:mod:`.locate` finds the line of a key in a data file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .finding import SEVERITIES, Finding

__all__ = ["HISTORICAL_ROLE", "SEVERITIES", "Finding"]

#: The role that marks a version or commit as deliberately historical: the ``hardcoded``
#: check skips it (here, not in :mod:`.hardcoded`: the extension registers the role in every
#: build and imports that check only when a page has something for it to check).
HISTORICAL_ROLE = "deploy-historical"


def __getattr__(name: str) -> Any:
    """``Finding`` and ``SEVERITIES`` from :mod:`.finding`, imported on first use: the
    extension imports this package for :data:`HISTORICAL_ROLE` alone when it registers."""
    if name in ("Finding", "SEVERITIES"):
        from . import finding

        return getattr(finding, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
