# deployguide_config is set by the tests (confoverrides) to the demo world's model.
extensions = ["sphinx_deployguide", "myst_parser"]
myst_enable_extensions = ["colon_fence"]
exclude_patterns = ["_build"]
