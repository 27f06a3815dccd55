# A small runbook for the demo world that holds: every claim true, no typed versions.
# Tests set deployguide_config to the demo world's deployguide.toml (-D / confoverrides).
extensions = ["sphinx_deployguide", "myst_parser"]
deployguide_config = "../deployguide.toml"
exclude_patterns = ["_build"]
