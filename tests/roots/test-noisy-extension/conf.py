# A site whose extension prints on stdout during setup (tests/hostile copies noisy_ext.py
# next to a runbook's conf.py the same way).
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
extensions = ["noisy_ext"]
