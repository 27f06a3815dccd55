# The runbook of the demo deploy repo (written by `deployguide demo`). Every value on its
# pages is computed from the chart source, the chart index and this repo on each build,
# and the drift checks fail the build (`sphinx-build -n -W`) when a page stops being true.
project = "demo.invalid deployment"
extensions = ["sphinx_deployguide", "myst_parser", "sphinx_design"]
# The docs live in docs/source/, as in mybinder.org-deploy; the model is at the repo root.
deployguide_config = "../../deployguide.toml"
exclude_patterns = ["_build"]
