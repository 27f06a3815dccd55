"""The hostile suite (see conftest.py)."""
