"""``deployguide_historical``: docname globs of pages that quote past versions and commits on
purpose (mybinder.org-deploy's ``incident-reports/*``) are exempt from ``[hardcoded]``."""

from __future__ import annotations

import json
from pathlib import Path

from sphinx_deployguide.cli import main

REPORT = """\
---
orphan: true
---
# 2024-03-19: staging failed to deploy

We pinned {pinned}, then {version}; the merge commit {merge} was never a chart commit.
"""


def lint_findings(world, capsys) -> list[dict]:
    capsys.readouterr()
    code = main(["lint", "--format", "json"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return json.loads(out)


def write_report(world) -> Path:
    docs = world.deploy / "docs" / "source"
    report = docs / "incident-reports" / "2024-03-19-merge-sha.md"
    report.parent.mkdir()
    report.write_text(
        REPORT.format(
            pinned=world.pinned_version, version=world.current_version, merge=world.merge_commit[:7]
        ),
        encoding="utf-8",
    )
    # a typed version on a page that is not historical: still an error
    index = docs / "index.md"
    index.write_text(index.read_text() + f"\nToday we deploy {world.current_version}.\n")
    return report


def hardcoded(findings: list[dict]) -> list[tuple[str, int]]:
    return sorted((f["file"], f["line"]) for f in findings if f["subtype"] == "hardcoded")


def test_historical_pages_are_exempt_from_hardcoded(demo_copy, capsys, monkeypatch):
    monkeypatch.chdir(demo_copy.deploy)
    report = write_report(demo_copy)
    rel = report.relative_to(demo_copy.deploy).as_posix()

    index = demo_copy.deploy / "docs" / "source" / "index.md"
    typed = ("docs/source/index.md", len(index.read_text().splitlines()))
    before = hardcoded(lint_findings(demo_copy, capsys))
    # the pin, the version and the merge commit of the report, and the typed version
    assert before == sorted([typed, *[(rel, 6)] * 3])

    conf = demo_copy.deploy / "docs" / "source" / "conf.py"
    conf.write_text(conf.read_text() + 'deployguide_historical = ["incident-reports/*"]\n')
    after = hardcoded(lint_findings(demo_copy, capsys))
    assert after == [typed]
