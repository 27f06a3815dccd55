# deployguide_config is set by the test to a demo world whose pin holds markup.
extensions = ["sphinx_deployguide", "myst_parser"]
exclude_patterns = ["_build"]
suppress_warnings = ["deployguide.coverage", "deployguide.pin"]
