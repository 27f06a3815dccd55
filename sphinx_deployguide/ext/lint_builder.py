"""The ``deployguide-lint`` builder: reads the docs, runs the drift checks, writes no pages.

Like Sphinx's ``linkcheck`` it collects results instead of pages: every ``deployguide``
finding of the build (the drift checks', plus the located warnings other parts of the
extension emit, e.g. an unknown fact), as :func:`.warnings.report` kept them in the
``deployguide`` domain, goes to ``output.json`` (one JSON object per line, as ``linkcheck``
writes it) and ``output.txt`` in the output directory. ``suppress_warnings`` applies as in
any build.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

from sphinx.builders.dummy import DummyBuilder

from .state import get_state

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

    from ..drift.finding import Finding


class DeployGuideLintBuilder(DummyBuilder):
    """Collect drift findings; write ``output.json`` and ``output.txt``, no pages."""

    name = "deployguide-lint"
    epilog = "Drift findings are in %(outdir)s/output.json (JSON Lines) and output.txt."

    def init(self) -> None:
        self.findings: list[Finding] = []

    def finish(self) -> None:
        self.findings = sorted(
            (_relative(f) for f in build_findings(self.env)),
            key=lambda f: (f.file or "", f.line or 0, f.subtype, f.message),
        )
        self.outdir.mkdir(parents=True, exist_ok=True)
        with open(self.outdir / "output.json", "w", encoding="utf-8") as out:
            for finding in self.findings:
                out.write(json.dumps(finding.as_json(), ensure_ascii=False) + "\n")
        with open(self.outdir / "output.txt", "w", encoding="utf-8") as out:
            for finding in self.findings:
                out.write(format_line(finding) + "\n")


def build_findings(env: BuildEnvironment) -> list[Finding]:
    """The build's own findings (the drift checks', the model's), then those logged while
    reading the documents, less any at the place and of the subtype of one of the build's:
    a check that reports what a page already warned about says it with its fix."""
    state = get_state(env)
    checked = state.runtime.findings
    places = {(f.file, f.line, f.subtype) for f in checked}
    return [
        *checked,
        *(f for f in state.read_findings() if (f.file, f.line, f.subtype) not in places),
    ]


def _relative(finding: Finding) -> Finding:
    from ..drift.finding import display_path  # here: only a lint build reports findings

    path = display_path(finding.file)
    if path == finding.file:
        return finding
    return replace(finding, file=path)


def format_line(finding: Finding) -> str:
    """``path:line: [subtype] severity: message; fix: ...``"""
    where = f"{finding.location}: " if finding.location else ""
    return f"{where}[{finding.subtype}] {finding.severity}: {finding.text()}"


def setup_lint_builder(app: Sphinx) -> None:
    app.add_builder(DeployGuideLintBuilder)
