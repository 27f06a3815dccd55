"""The project's docs: the user guide and a runbook for the embedded demo world.

The demo world (a chart source repo, a chart index and a deploy repo, the same SHAs on every
machine) is built into ``_build/demo-world/`` on the first build, so every value on these
pages is computed from real git history and a real index, offline.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx_deployguide import __version__
from sphinx_deployguide.demo import build_demo, is_current

HERE = Path(__file__).parent
DEMO = HERE / "_build" / "demo-world"
MODEL = DEMO / "deploy" / "deployguide.toml"

# Built once and kept (the same world keeps incremental builds incremental); built anew when
# missing, interrupted while writing, or made by other demo code.
if not is_current(DEMO):
    if DEMO.exists():
        shutil.rmtree(DEMO)
    build_demo(DEMO)

project = "sphinx-deployguide"
author = "sphinx-deployguide developers"
copyright = "sphinx-deployguide developers"
release = version = __version__

extensions = [
    "sphinx_deployguide",
    "myst_parser",
    "sphinx_design",
    "sphinx_copybutton",
]
deployguide_config = str(MODEL.relative_to(HERE))

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
exclude_patterns = ["_build", "ci"]
nitpicky = True

# pydata-sphinx-theme: the theme the Jupyter sites' docs are built on (mybinder.org-deploy
# uses jupyterhub-sphinx-theme, a thin layer over it), so this runbook looks the way a
# runbook written with this extension will look where it is used; and it has a dark mode,
# which keeps the extension's colours honest. The browser tests also build it in alabaster
# and furo.
html_theme = "pydata_sphinx_theme"
html_title = "sphinx-deployguide"
html_context = {"default_mode": "auto"}  # light or dark as the reader's system says
