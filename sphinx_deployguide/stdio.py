"""Keeping machine output machine-readable and failures short.

* :func:`stdout_to_stderr`: while Sphinx runs inside a CLI command (``checklist``, ``lint``,
  ``bump``), everything written to stdout, by Sphinx or by any extension or theme of the
  docs (``print`` or a subprocess writing to file descriptor 1), goes to stderr instead, so
  ``--format json|github`` and ``--json`` print only their own output on stdout.
* :func:`sphinx_warning_stream`: where an embedded Sphinx writes its warnings. Sphinx
  colours them unless ``sphinx-build`` turned colour off, which only it does; so a file,
  a pipe or ``NO_COLOR`` gets them without escape sequences.
* :func:`internal_error`: an unexpected exception as one located line (where in our code it
  happened) instead of a traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from .escape import ESCAPE_SEQUENCES, terminal_text
from .redact import redact_url

__all__ = ["internal_error", "sphinx_warning_stream", "stdout_to_stderr"]

PACKAGE = Path(__file__).resolve().parent


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send Python-level and file-descriptor-level stdout to stderr for the duration."""
    saved_fd = None
    try:
        sys.stdout.flush()
        if sys.stdout.fileno() == 1:
            saved_fd = os.dup(1)
            os.dup2(2, 1)
    except (AttributeError, OSError, ValueError):  # no real file behind sys.stdout
        saved_fd = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved_fd is not None:
            sys.stderr.flush()
            os.dup2(saved_fd, 1)
            os.close(saved_fd)


def wants_colour(stream: TextIO) -> bool:
    """Colour on ``stream``: a terminal (not a dumb one), and no ``NO_COLOR``."""
    if "NO_COLOR" in os.environ or "NO_COLOUR" in os.environ:
        return False
    if os.environ.get("TERM", "").lower() == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _Plain:
    """A text stream that writes through to another without escape sequences."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(ESCAPE_SEQUENCES.sub("", text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def sphinx_warning_stream(stream: TextIO | None = None) -> TextIO:
    """``stream`` (default stderr) for an embedded Sphinx's warnings: as it is on a
    terminal that wants colour, else one that drops Sphinx's colour codes."""
    target = stream if stream is not None else sys.stderr
    # (_Plain has the write and flush Sphinx calls, not the rest of TextIO's interface)
    return target if wants_colour(target) else _Plain(target)  # type: ignore[return-value]


def internal_error(exc: BaseException, doing: str) -> str:
    """``internal error while DOING: Type: message (at file.py:LINE in func)``: the frame of
    this package nearest the failure, credentials redacted, control characters removed."""
    import traceback  # only for a failure

    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(PACKAGE)]
    nearest = ours or frames
    frame = nearest[-1] if nearest else None
    where = ""
    if frame is not None:
        try:
            shown = Path(frame.filename).resolve().relative_to(PACKAGE.parent).as_posix()
        except ValueError:
            shown = frame.filename
        where = f" (at {shown}:{frame.lineno} in {frame.name})"
    text = str(exc).splitlines()[0] if str(exc).strip() else ""
    detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return terminal_text(
        redact_url(
            f"internal error while {doing}: {detail}{where}; this is a bug, please report it"
        ),
        multiline=False,
    )
