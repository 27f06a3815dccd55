# deployguide_config is set by the tests (confoverrides) to the demo world's model.
extensions = ["sphinx_deployguide"]
exclude_patterns = ["_build"]
