# The failure catalog page: shipped entries plus the model's own [[failures]] entries.
# Tests point deployguide_config at a model (confoverrides) when they need one.
extensions = ["sphinx_deployguide", "myst_parser", "sphinx_design"]
deployguide_config = ""
exclude_patterns = ["_build"]
