"""Registering the extension loads none of the facts or drift-check modules.

A rebuild that reads and writes nothing should cost little more than Sphinx's own, so
``setup`` (and the handlers every build runs before reading) must not import them:
they are imported where they are used (see ``sphinx_deployguide/ext/__init__.py``). Checked
in a fresh interpreter, on a real Sphinx application, the way a ``sphinx-build`` starts.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: What resolving facts and running the drift checks import (each one milliseconds, the whole
#: set ~25 ms): none of them may be loaded by registering the extension.
HEAVY = [
    f"sphinx_deployguide.{name}"
    for name in (
        "config",
        "delay",
        "keypath",
        "files",
        "factresolve",
        "facts",
        "verdict",
        "evidence",
        "chartversion",
        "chartresolve",
        "chartindex",
        "links",
        "git",
        "indexcache",
        "drift.finding",
        "drift.pins",
        "drift.coverage",
        "drift.claims",
        "drift.hardcoded",
        "workflow",
    )
]

PROBE = """
import io, json, sys
from sphinx.application import Sphinx
from sphinx.util.docutils import is_directive_registered, is_role_registered

src, out = sys.argv[1], sys.argv[2]
app = Sphinx(src, src, out + "/html", out + "/doctrees", "html", status=None,
             warning=io.StringIO(), freshenv=True)
print(json.dumps({
    "extensions": sorted(app.extensions),
    "registered": [is_directive_registered("deploy-checklist"), is_role_registered("deploy-value")],
    "modules": sorted(sys.modules),
}))
"""


def test_heavy_modules_exist() -> None:
    """The list names real modules (a renamed one would make the next test pass vacuously)."""
    for name in HEAVY:
        assert importlib.util.find_spec(name) is not None, name


def test_setup_imports_no_fact_or_drift_module(tmp_path: Path) -> None:
    src = tmp_path / "docs"
    src.mkdir()
    (src / "conf.py").write_text('extensions = ["sphinx_deployguide"]\n', encoding="utf-8")
    (src / "index.rst").write_text("Runbook\n=======\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(src), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout)
    assert "sphinx_deployguide" in probe["extensions"]
    assert probe["registered"] == [True, True]  # setup ran to its end
    loaded = set(probe["modules"])
    assert "sphinx_deployguide.ext.state" in loaded
    assert sorted(loaded.intersection(HEAVY)) == []
