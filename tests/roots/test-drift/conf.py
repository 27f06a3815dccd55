# The deliberately drifted runbook: one example of every drift check (tests only, not the site).
# Tests set deployguide_config to a demo world's deployguide.toml and pin the incident's merge
# SHA in that world's deploy repo (tests/test_drift_sphinx.py: drifted_world()).
extensions = ["sphinx_deployguide", "myst_parser"]
deployguide_config = "../deployguide.toml"
exclude_patterns = ["_build"]
