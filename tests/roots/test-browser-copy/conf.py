# deployguide_config is set by tests/test_browser.py (-D) to a demo world's model.
project = "Copy check"
extensions = ["sphinx_deployguide"]
