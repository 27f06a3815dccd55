"""Reading a CI log (bounded) and cleaning its lines for matching.

A GitHub Actions log line looks like ``2024-01-04T16:05:12.1234567Z ##[error]\x1b[31mError:
...``: a timestamp, maybe a ``##[group]``/``##[error]`` marker or a ``::error::`` workflow
command, and ANSI colours. Patterns are written against the message alone, so all of that
is removed first, keeping the timestamp (the failure time) and whether the line was flagged
as an error (for "show the last error-looking lines").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, NamedTuple

from ..escape import ESCAPE_SEQUENCES

#: ``diagnose`` reads at most the last this many bytes of a log.
MAX_LOG_BYTES = 20 * 2**20
#: Longer lines are cut to this many characters before matching, which bounds the time any
#: single-level regex can take per line (see :mod:`.regexsafety`).
MAX_LINE = 4096
_CHUNK = 2**20

_TIMESTAMP_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z ?")
_MARKER_RE = re.compile(
    r"##\[(group|endgroup|error|warning|notice|debug|command|section)\]"
    r"|::(group|endgroup|error|warning|notice|debug)(?: [^:\n]{0,1000})?::"
)
_ERROR_WORDS_RE = re.compile(
    r"\b(?:error|failed|failure|fatal|exception|traceback|timed out|denied|refused)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LogText:
    """The part of a log that was read; line numbers are those of the whole log."""

    text: str
    first_line: int  # line number of the first line of ``text``
    total_bytes: int
    read_bytes: int

    @property
    def truncated(self) -> bool:
        return self.read_bytes < self.total_bytes


class LogLine(NamedTuple):
    """One cleaned line (a tuple: a 20 MB log has hundreds of thousands of them)."""

    number: int
    text: str  # cleaned: no timestamp, marker or ANSI codes; at most MAX_LINE characters
    stamp: str | None  # the runner's timestamp as written (parsed on demand: few are needed)
    marker: str | None  # "error", "group", ... from ##[...] or ::...::
    cut: bool = False  # longer than MAX_LINE

    @property
    def timestamp(self) -> datetime | None:
        """The runner's timestamp (UTC), None when absent or not a real date."""
        return parse_stamp(self.stamp) if self.stamp else None

    def looks_like_error(self) -> bool:
        return self.marker == "error" or bool(_ERROR_WORDS_RE.search(self.text))


def read_log_tail(stream: BinaryIO, max_bytes: int = MAX_LOG_BYTES) -> LogText:
    """Read ``stream`` to its end, keeping only the last ``max_bytes`` (whole lines).

    Streams (stdin) are handled like files: the skipped part is counted, not kept, so
    memory stays bounded and line numbers still match the whole log.
    """
    tail = bytearray()
    total = 0
    skipped_lines = 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        total += len(chunk)
        tail += chunk
        excess = len(tail) - max_bytes
        if excess > 0:
            skipped_lines += tail.count(b"\n", 0, excess)
            del tail[:excess]
    if total > len(tail):
        # Drop the partial first line so every line we match is whole.
        newline = tail.find(b"\n")
        if newline >= 0:
            skipped_lines += 1
            del tail[: newline + 1]
        else:
            tail.clear()
    text = bytes(tail).decode("utf-8", errors="replace")
    return LogText(text=text, first_line=skipped_lines + 1, total_bytes=total, read_bytes=len(tail))


def parse_stamp(stamp: str) -> datetime | None:
    """``2024-01-04T16:05:12.1234567Z`` -> aware UTC datetime (None if not a real date)."""
    date_time, _, fraction = stamp.rstrip("Z ").partition(".")
    micro = fraction[:6].ljust(6, "0")
    try:
        return datetime.fromisoformat(f"{date_time}.{micro}+00:00")
    except ValueError:
        return None


def clean_line(raw: str, number: int) -> LogLine:
    """Strip ANSI codes, the runner timestamp and workflow markers from one line."""
    text = raw[:-1] if raw.endswith("\r") else raw
    cut = False
    if len(text) > 4 * MAX_LINE:
        text, cut = text[: 4 * MAX_LINE], True  # bound the cleaning work too
    if "\x1b" in text:
        text = ESCAPE_SEQUENCES.sub("", text)
    if text.startswith("\ufeff"):
        text = text.lstrip("\ufeff")
    stamp = None
    if text[:1].isdigit():
        found_stamp = _TIMESTAMP_RE.match(text)
        if found_stamp:
            stamp = found_stamp.group(0)
            text = text[found_stamp.end() :]
    marker = None
    if text.startswith(("##[", "::")):
        found = _MARKER_RE.match(text)
        if found:
            marker = found.group(1) or found.group(2)
            text = text[found.end() :]
    if len(text) > MAX_LINE:
        text, cut = text[:MAX_LINE], True
    return LogLine(number, text, stamp, marker, cut)


def clean_log(log: LogText) -> list[LogLine]:
    """Every line of ``log``, cleaned (split on ``\\n`` only, like an editor counts lines)."""
    raw_lines = log.text.split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    return [clean_line(raw, log.first_line + i) for i, raw in enumerate(raw_lines)]


def last_error_lines(lines: list[LogLine], count: int = 8) -> list[LogLine]:
    """The last ``count`` lines that look like errors (for an unknown failure)."""
    found: list[LogLine] = []
    for line in reversed(lines):
        if line.text.strip() and line.looks_like_error():
            found.append(line)
            if len(found) == count:
                break
    return found[::-1]
