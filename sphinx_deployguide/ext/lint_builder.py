"""The ``deployguide-lint`` builder: reads the docs, runs the drift checks, writes no pages.

Like Sphinx's ``linkcheck`` it collects results instead of pages: every ``deployguide``
finding of the build (the drift checks' structured findings, plus the located warnings
other parts of the extension emit while reading, e.g. an unknown fact) goes to
``output.json`` (one JSON object per line, as ``linkcheck`` writes it) and ``output.txt``
in the output directory. ``suppress_warnings`` applies as in any build.
"""

from __future__ import annotations

import io
import json
import logging as std_logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from docutils import nodes
from docutils.utils import get_source_line
from sphinx.builders.dummy import DummyBuilder
from sphinx.util import logging
from sphinx.util.logging import NAMESPACE, WarningStreamHandler

from ..drift import Finding
from .warnings import WARNING_TYPE

if TYPE_CHECKING:
    from sphinx.application import Sphinx

_TYPE_SUFFIX = re.compile(r" \[" + WARNING_TYPE + r"\.[\w-]+\]$")


def display_path(path: str | None, base: Path | None = None) -> str | None:
    """``path`` relative to ``base`` (default: the working directory) when inside it."""
    if not path:
        return None
    base = base or Path.cwd()
    try:
        return Path(path).resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path


class _Collector(WarningStreamHandler):
    """Collects ``deployguide`` warnings that do not come from the drift checks.

    A :class:`WarningStreamHandler` so that Sphinx treats it like its own warning stream:
    taken off while warnings are held back during reading and given them once afterwards.
    """

    def __init__(self, builder: DeployGuideLintBuilder) -> None:
        super().__init__(io.StringIO())
        self.setLevel(std_logging.WARNING)
        self.builder = builder
        self.findings: list[Finding] = []

    def emit(self, record: std_logging.LogRecord) -> None:
        if getattr(record, "type", "") != WARNING_TYPE or hasattr(record, "deployguide_finding"):
            return
        subtype = getattr(record, "subtype", "") or "unknown"
        if logging.is_suppressed_warning(
            WARNING_TYPE, subtype, self.builder.config.suppress_warnings
        ):
            return
        message = record.msg % record.args if record.args else str(record.msg)
        file, line = self._location(getattr(record, "location", None))
        self.findings.append(
            Finding(
                subtype=subtype,
                severity="error" if record.levelno >= std_logging.ERROR else "warning",
                file=file,
                line=line,
                message=_TYPE_SUFFIX.sub("", message),
            )
        )

    def _location(self, location: object) -> tuple[str | None, int | None]:
        env = self.builder.env
        if isinstance(location, tuple) and len(location) == 2:
            docname, line = location
            return (str(env.doc2path(docname)) if docname else None), line
        if isinstance(location, nodes.Node):
            source, line = get_source_line(location)
            return source, line
        if isinstance(location, str) and location:
            if ":" not in location:
                return str(env.doc2path(location)), None
            file, _, line = location.rpartition(":")
            return file or None, int(line) if line.isdigit() else None
        return None, None


class DeployGuideLintBuilder(DummyBuilder):
    """Collect drift findings; write ``output.json`` and ``output.txt``, no pages."""

    name = "deployguide-lint"
    epilog = "Drift findings are in %(outdir)s/output.json (JSON Lines) and output.txt."

    def init(self) -> None:
        self.findings: list[Finding] = []
        self._collector = _Collector(self)
        std_logging.getLogger(NAMESPACE).addHandler(self._collector)

    def finish(self) -> None:
        std_logging.getLogger(NAMESPACE).removeHandler(self._collector)
        from .drift import drift_findings

        drift = drift_findings(self.env)
        # A role may already have warned at read time about what a drift check reports with
        # its fix (e.g. a deploy-config key that does not resolve): keep the drift finding.
        checked = {(f.file, f.subtype) for f in drift if f.subtype == "claim"}
        lines = {(f.file, f.line, f.subtype) for f in drift}
        others = [
            f
            for f in self._collector.findings
            if (f.file, f.line, f.subtype) not in lines
            and not (
                f.subtype == "claim" and (f.file, f.subtype) in checked and _same_target(f, drift)
            )
        ]
        findings = drift + others
        self.findings = sorted(
            (_relative(f) for f in findings),
            key=lambda f: (f.file or "", f.line or 0, f.subtype, f.message),
        )
        self.outdir.mkdir(parents=True, exist_ok=True)
        with open(self.outdir / "output.json", "w", encoding="utf-8") as out:
            for finding in self.findings:
                out.write(json.dumps(finding.as_json(), ensure_ascii=False) + "\n")
        with open(self.outdir / "output.txt", "w", encoding="utf-8") as out:
            for finding in self.findings:
                out.write(format_line(finding) + "\n")


def _same_target(finding: Finding, drift: list[Finding]) -> bool:
    """Whether a drift claim finding in the same file names what ``finding`` names."""
    head = finding.message.split(": ", 1)[0].removeprefix("config:")
    if "#" not in head and "/" not in head:
        return False
    return any(f.file == finding.file and head in f.message for f in drift)


def _relative(finding: Finding) -> Finding:
    path = display_path(finding.file)
    if path == finding.file:
        return finding
    return Finding(
        finding.subtype, finding.severity, path, finding.line, finding.message, finding.fix
    )


def format_line(finding: Finding) -> str:
    """``path:line: [subtype] severity: message; fix: ...``"""
    where = f"{finding.location}: " if finding.location else ""
    return f"{where}[{finding.subtype}] {finding.severity}: {finding.text()}"


def setup_lint_builder(app: Sphinx) -> None:
    app.add_builder(DeployGuideLintBuilder)
