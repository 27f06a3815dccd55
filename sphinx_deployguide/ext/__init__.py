"""The Sphinx extension: one module per component, each with a ``setup_<thing>(app)``.

``extensions = ["sphinx_deployguide", "myst_parser"]`` and
``deployguide_config = "deployguide.toml"`` in ``conf.py`` is all a project needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import __version__
from .browser import setup_browser
from .checklist import setup_checklist
from .checklist_builder import setup_checklist_builder
from .code import setup_code
from .codewrap import setup_codewrap
from .delay_chart import setup_delay_chart
from .drift import setup_drift
from .facts_table import setup_facts_table
from .failures import setup_failures
from .lists import setup_lists
from .matrix import setup_matrix
from .plaintext import setup_plaintext
from .reference import setup_reference
from .state import setup_state
from .status import setup_status
from .tokens import setup_tokens
from .values import setup_values

if TYPE_CHECKING:
    from sphinx.application import Sphinx

# Bump when the pickled state (ext.state.DeployGuideState, node attributes) changes shape.
ENV_VERSION = 4


def setup(app: Sphinx) -> dict[str, Any]:
    # "env": a different model means different facts on every page.
    app.add_config_value("deployguide_config", "", "env", types=(str,))
    # "" = the model's `offline` policy; "stale" or "error" override it.
    app.add_config_value("deployguide_offline", "", "env", types=(str,))
    # Fetch the chart sources and the index again, ignoring the cache TTL.
    app.add_config_value("deployguide_refresh", False, "", types=(bool,))

    setup_state(app)
    setup_values(app)
    setup_tokens(app)
    setup_lists(app)
    setup_plaintext(app)
    setup_matrix(app)
    setup_checklist(app)
    setup_checklist_builder(app)
    setup_code(app)
    setup_codewrap(app)
    setup_delay_chart(app)
    setup_status(app)
    setup_facts_table(app)
    setup_reference(app)
    setup_drift(app)
    setup_browser(app)
    setup_failures(app)
    # Other components add their setup_<thing>(app) lines here (drift, failures, browser).

    return {
        "version": __version__,
        "env_version": ENV_VERSION,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
