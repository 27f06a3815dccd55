# No `project` on purpose: the storage prefix falls back to the docs folder's name.
# deployguide_config is set by tests/test_reader.py to a demo world with an old pin.
extensions = ["sphinx_deployguide", "myst_parser"]
exclude_patterns = ["_build"]
