"""Helpers for the drift tests: put a test root's runbook into a demo world, drift the world.

The runbooks live in ``tests/roots/test-drift-clean`` (every claim holds) and
``tests/roots/test-drift`` (one example of every drift check); their ``conf.py`` names
``../deployguide.toml``, so copied to ``<deploy repo>/docs`` they document that world.
The typed values of the drifted runbook are ``@CURRENT_VERSION@``-style markers replaced
with the world's own versions and commits when installed (see :func:`install_docs`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOTS = Path(__file__).parent / "roots"


def install_docs(world, root: str) -> Path:
    """Copy ``tests/roots/test-<root>`` to ``<world.deploy>/docs`` and return that folder,
    with the markers in its pages replaced by the world's values (typed in, as a person would)."""
    docs = Path(world.deploy) / "docs"
    if docs.exists():  # the demo's own runbook: replaced, not mixed in
        shutil.rmtree(docs)
    shutil.copytree(ROOTS / f"test-{root}", docs)
    markers = {
        "@CURRENT_VERSION@": world.current_version,
        "@PINNED_VERSION@": world.pinned_version,
        "@PR_COMMIT@": world.pr_commit[:7],
        "@MERGE_VERSION@": merge_sha_version(world),
    }
    for page in docs.glob("*.md"):
        text = page.read_text(encoding="utf-8")
        for marker, value in markers.items():
            text = text.replace(marker, value)
        page.write_text(text, encoding="utf-8")
    return docs


def merge_sha_version(world) -> str:
    """The version the 2018 incident pinned: the current format with the merge commit's SHA."""
    base = world.current_version.rsplit(".h", 1)[0]
    return f"{base}.h{world.merge_commit[:7]}"


def pin(world, version: str, current: str | None = None) -> Path:
    """Write ``version`` as the pin in the deploy repo's ``mybinder/Chart.yaml``
    (replacing ``current``, by default the world's original pin)."""
    chart = Path(world.deploy) / "mybinder" / "Chart.yaml"
    text = chart.read_text(encoding="utf-8")
    current = f'"{current or world.pinned_version}"'
    assert current in text, "the demo pin moved"
    chart.write_text(text.replace(current, f'"{version}"'), encoding="utf-8")
    return chart


def line_of(path: Path, needle: str, start: int = 1) -> int:
    """1-based line of the first line at or after ``start`` containing ``needle``."""
    for number, text in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if number >= start and needle in text:
            return number
    raise AssertionError(f"{needle!r} not in {path}")
