"""sphinx-deployguide: deploy runbooks whose values are computed, not typed.

As a Sphinx extension: ``extensions = ["sphinx_deployguide", "myst_parser", "sphinx_design"]``
and ``deployguide_config = "deployguide.toml"`` in ``conf.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from sphinx.application import Sphinx

__all__ = ["__version__", "setup"]


def setup(app: Sphinx) -> dict[str, Any]:
    """Sphinx entry point; imports Sphinx-only code lazily so the CLI starts fast."""
    from .ext import setup as setup_extension

    return setup_extension(app)
