"""``deployguide lint [DOCS_DIR]``: the docs CI gate.

Builds the docs with the ``deployguide-lint`` checker builder (the same checks as
``sphinx-build -W``), prints one ``path:line: [subtype] severity: message; fix: ...`` line
per finding and, with ``--builddir DIR``, writes ``output.json`` there: JSON Lines, like
linkcheck's (one object per line and finding: file, line, subtype, severity, message, fix).
Nothing is written into the docs folder: without ``--builddir`` the build runs in a
temporary folder that is removed afterwards. Sphinx's messages (and anything an extension
of the docs prints) go to stderr; stdout holds only the findings.

Exit codes: 0 no finding at error level (with ``--strict``: no error or warning);
1 findings at error level (with ``--strict``: or at warning level); 2 could not run
(bad model, missing ``conf.py``, a Sphinx error). ``info`` findings never fail.

``--format github`` prints workflow commands instead: at most 10 ``::error`` and 10
``::warning`` annotations (GitHub shows no more per step), a ``::notice`` saying how many
were left out, and, when ``$GITHUB_STEP_SUMMARY`` is set, the full list as a Markdown table
appended to that file.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ..docsdir import find_docs_dir
from ..drift import Finding
from ..errors import DeployGuideError
from ..escape import markdown_text, terminal_text
from ..exitcodes import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK
from ..stdio import internal_error, stdout_to_stderr
from .common import model_path_if_any

#: GitHub shows at most 10 annotations of each kind per step.
ANNOTATION_CAP = 10
BUILDER = "deployguide-lint"


def register(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``deployguide lint``."""
    parser.description = (
        "Build the docs with the deployguide-lint checker builder and report every drift "
        "finding (claims, typed versions, pins, checklist coverage, stale facts)."
    )
    parser.epilog = (
        "exit codes: 0 clean (no errors); 1 findings at error level (--strict: or warning); "
        "2 could not run (bad model, Sphinx error)"
    )
    parser.add_argument(
        "docs",
        nargs="?",
        metavar="DOCS_DIR",
        help="the Sphinx source folder holding conf.py (default: docs/, docs/source/, doc/ or "
        "doc/source/ beside the model or here, or the folder whose conf.py names the model)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "github", "json"),
        default="text",
        help="text lines (default), GitHub workflow annotations, or one JSON list on stdout",
    )
    parser.add_argument(
        "--builddir",
        metavar="DIR",
        help="keep the build here, with output.json (JSON Lines, one finding object per "
        "line) and output.txt (default: a temporary folder, removed afterwards)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="warnings fail too (like sphinx-build -W)"
    )
    parser.add_argument(
        "-j", "--jobs", type=int, default=1, metavar="N", help="read documents in N processes"
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="fetch git mirrors and the index now, ignoring the cache TTL",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        docs = find_docs_dir(model_path_if_any(args), explicit=args.docs, hint="pass DOCS_DIR")
        with tempfile.TemporaryDirectory(prefix="deployguide-lint-") as tmp:
            findings = lint(
                docs,
                Path(args.builddir) if args.builddir else Path(tmp),
                config=getattr(args, "config", None),
                jobs=args.jobs,
                refresh=args.refresh,
            )
    except DeployGuideError as exc:
        print(f"deployguide lint: could not run: {terminal_text(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.format == "github":
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        kept = ["the job summary"] if summary else []
        if args.builddir:
            kept.append(str(Path(args.builddir) / "output.json"))
        write_github(findings, sys.stdout, kept=kept)
        if summary:
            with open(summary, "a", encoding="utf-8") as out:
                out.write(summary_markdown(findings))
    elif args.format == "json":
        print(json.dumps([f.as_json() for f in findings], indent=2))
    else:
        from ..ext.lint_builder import format_line

        for finding in findings:
            print(terminal_text(format_line(finding), multiline=False))
        print(count_line(findings), file=sys.stderr)
    return exit_code(findings, strict=args.strict)


def exit_code(findings: Sequence[Finding], *, strict: bool = False) -> int:
    failing = {"error", "warning"} if strict else {"error"}
    return EXIT_FINDINGS if any(f.severity in failing for f in findings) else EXIT_OK


def count_line(findings: Sequence[Finding]) -> str:
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    return "deployguide lint: " + ", ".join(
        f"{n} {s}{'s' if n != 1 and s != 'info' else ''}" for s, n in counts.items()
    )


class LintError(DeployGuideError):
    """The docs could not be built (no conf.py, a bad model, a Sphinx error)."""


def lint(
    docs: Path, builddir: Path, *, config: str | None = None, jobs: int = 1, refresh: bool = False
) -> list[Finding]:
    """Build ``docs`` with the checker builder and return its findings (fresh env each run)."""
    from sphinx.application import Sphinx
    from sphinx.errors import ConfigError, ExtensionError, SphinxError
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    from ..ext.lint_builder import DeployGuideLintBuilder

    if not (docs / "conf.py").is_file():
        raise LintError(f"no conf.py in {docs}: pass the docs folder (DOCS_DIR)")
    overrides: dict[str, object] = {}
    if config:
        overrides["deployguide_config"] = str(Path(config).resolve())
    if refresh:
        overrides["deployguide_refresh"] = True
    warnings = io.StringIO()
    try:
        with stdout_to_stderr(), patch_docutils(docs), docutils_namespace():
            app = Sphinx(
                srcdir=docs,
                confdir=docs,
                outdir=builddir,
                doctreedir=builddir / ".doctrees",
                buildername=BUILDER,
                confoverrides=overrides,
                status=None,
                warning=warnings,
                freshenv=True,
                parallel=jobs,
            )
            app.build(force_all=True)
            builder = app.builder
            assert isinstance(builder, DeployGuideLintBuilder)
            findings = list(builder.findings)
    except ExtensionError as exc:
        cause = exc.orig_exc if isinstance(exc.orig_exc, DeployGuideError) else exc
        raise LintError(str(cause)) from None
    except (ConfigError, SphinxError) as exc:
        if isinstance(exc.__cause__, DeployGuideError):  # a bad model: its own message
            raise LintError(str(exc.__cause__)) from None
        hint = ""
        if BUILDER in str(exc):
            hint = f' (is "sphinx_deployguide" in the extensions of {docs / "conf.py"}?)'
        raise LintError(f"{exc}{hint}") from None
    except Exception as exc:  # noqa: BLE001 - a crash of the docs' own code (conf.py, ...)
        raise LintError(internal_error(exc, f"building the docs in {docs}")) from None
    _echo_other_warnings(warnings.getvalue(), sys.stderr)
    return findings


def _echo_other_warnings(text: str, out: TextIO) -> None:
    """Sphinx's own warnings (not drift findings) go to stderr so they are not lost."""
    other = [line for line in text.splitlines() if line.strip() and "[deployguide." not in line]
    for line in other:
        print(f"sphinx: {terminal_text(line, multiline=False)}", file=out)


# --- GitHub workflow commands ------------------------------------------------------------------


def escape_data(text: str) -> str:
    """Escape the message of a workflow command (``%``, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value of a workflow command (also ``:`` and ``,``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    kind = {"error": "error", "warning": "warning"}.get(finding.severity, "notice")
    props = []
    if finding.file:
        props.append(f"file={escape_property(finding.file)}")
        if finding.line:
            props.append(f"line={finding.line}")
    props.append(f"title={escape_property(f'deployguide {finding.subtype}')}")
    return f"::{kind} {','.join(props)}::{escape_data(finding.text())}"


def write_github(findings: Sequence[Finding], out: TextIO, *, kept: Sequence[str] = ()) -> None:
    """At most 10 error and 10 warning annotations, the rest as plain lines of the log, then
    a notice saying so and naming only the places that do hold every finding (``kept``:
    the job summary, ``output.json``)."""
    from ..ext.lint_builder import format_line

    shown = {"error": 0, "warning": 0}
    left = {"error": 0, "warning": 0}
    for finding in findings:
        if finding.severity in shown and shown[finding.severity] < ANNOTATION_CAP:
            shown[finding.severity] += 1
            out.write(annotation(finding) + "\n")
        else:
            if finding.severity in left:
                left[finding.severity] += 1
            out.write(format_line(finding) + "\n")
    if left["error"] or left["warning"]:
        places = ["in this log", *(f"in {place}" for place in kept)]
        where = ", ".join(places[:-1]) + f" and {places[-1]}" if len(places) > 1 else places[0]
        message = (
            f"{left['error']} more errors and {left['warning']} more warnings were not annotated "
            f"(GitHub shows {ANNOTATION_CAP} of each); every finding is listed {where}"
        )
        out.write(f"::notice title={escape_property('deployguide lint')}::{escape_data(message)}\n")
    out.write(count_line(findings) + "\n")


def _cell(text: str | None) -> str:
    """A table cell: inert Markdown on one line (the text may quote config values)."""
    return markdown_text(text or "")


def summary_markdown(findings: Sequence[Finding]) -> str:
    """The full list as a Markdown table for ``$GITHUB_STEP_SUMMARY``."""
    lines = ["## deployguide lint", "", count_line(findings).split(": ", 1)[1], ""]
    if findings:
        lines += ["| severity | check | location | message | fix |", "|---|---|---|---|---|"]
        for f in findings:
            cells = (f.severity, f.subtype, _cell(f.location), _cell(f.message), _cell(f.fix))
            lines.append("| " + " | ".join(cells) + " |")
    else:
        lines.append("No drift: every claim holds.")
    return "\n".join(lines) + "\n\n"
