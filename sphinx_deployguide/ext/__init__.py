"""The Sphinx extension: one module per component, each with a ``setup_<thing>(app)``.

``extensions = ["sphinx_deployguide", "myst_parser"]`` and
``deployguide_config = "deployguide.toml"`` in ``conf.py`` is all a project needs.

Registering imports the components and what they register with (Sphinx, docutils, the
store :mod:`.state`, :mod:`.warnings`, :mod:`.guard`), nothing of the facts or the drift
checks: those are imported where they are used (a directive's or a role's ``run``, an event
handler, a visitor), so a rebuild that reads and writes nothing never loads them.
``tests/test_ext_imports.py`` names the modules that must stay out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._version import __version__
from .browser import setup_browser
from .buildfacts import setup_build_facts
from .checklist import setup_checklist
from .checklist_builder import setup_checklist_builder
from .code import setup_code
from .codewrap import setup_codewrap
from .delay_chart import setup_delay_chart
from .drift import setup_drift
from .facts_table import setup_facts_table
from .failures import setup_failures
from .lint_builder import setup_lint_builder
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

# Bump when what is pickled with the environment (node attributes, the records of
# ext.state's domain) changes shape.
ENV_VERSION = 6


def setup(app: Sphinx) -> dict[str, Any]:
    setup_state(app)
    setup_build_facts(app)
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
    setup_lint_builder(app)

    return {
        "version": __version__,
        "env_version": ENV_VERSION,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
