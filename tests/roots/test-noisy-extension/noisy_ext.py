"""An extension that prints on stdout while Sphinx sets it up, as some themes do.

Copied next to a runbook's ``conf.py`` by the hostile tests: ``deployguide checklist``,
``lint`` and ``bump`` must keep that text off their machine-readable stdout.
"""

import subprocess
import sys


def setup(app):
    print("matplotlib is not installed, social cards will not be generated")
    subprocess.run([sys.executable, "-c", "print('a line from a subprocess')"], check=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
