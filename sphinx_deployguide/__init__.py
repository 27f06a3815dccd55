"""sphinx-deployguide: deploy runbooks whose values are computed, not typed.

As a Sphinx extension: ``extensions = ["sphinx_deployguide", "myst_parser", "sphinx_design"]``
and ``deployguide_config = "deployguide.toml"`` in ``conf.py``.
"""

from __future__ import annotations

__version__ = "0.1.0"


def setup(app):  # type: ignore[no-untyped-def]
    """Sphinx entry point; imports Sphinx-only code lazily so the CLI starts fast."""
    from .ext import setup as setup_extension

    return setup_extension(app)
