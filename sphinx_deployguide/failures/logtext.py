"""Reading a CI log (bounded) and cleaning its lines for matching.

A GitHub Actions log line looks like ``2024-01-04T16:05:12.1234567Z ##[error]\x1b[31mError:
...``: a timestamp, maybe a ``##[group]``/``##[error]`` marker or a ``::error::`` workflow
command, and ANSI colours. Patterns are written against the message alone, so all of that
is removed first, keeping the timestamp (the failure time) and whether the line was flagged
as an error (for "show the last error-looking lines").

A 20 MB log has about 200,000 lines, so :func:`clean_log` cleans the whole text with a few
regular-expression passes (each confined to one line) instead of a Python call per line,
and makes a :class:`LogLine` (timestamp, marker) only for the lines a diagnosis shows;
:func:`clean_line` is the definition both follow.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from itertools import accumulate, count
from operator import add
from typing import Any, BinaryIO, NamedTuple, overload

#: ``diagnose`` reads at most the last this many bytes of a log.
MAX_LOG_BYTES = 20 * 2**20
#: Longer lines are cut to this many characters before matching, which bounds the time any
#: single-level regex can take per line (see :mod:`.regexsafety`).
MAX_LINE = 4096
_CHUNK = 2**20

#: Longer raw lines are cut to this many characters before cleaning (bounds that work too).
_MAX_RAW = 4 * MAX_LINE

#: What starts an escape sequence (ESC, or one of the 8-bit C1 introducers): a line holding
#: none has none to remove.
_ESCAPE_START_RE = re.compile("[\x1b\x90\x98\x9b\x9d\x9e\x9f]")
# The escape sequences of terminal output, exactly those of escape.ESCAPE_SEQUENCES (a test
# proves it on any line), except that no part matches a newline (an unterminated title
# stops at the end of its line), so over a whole text they remove what they remove line by
# line. Written for speed: the ESC-introduced ones start with a literal, so the engine
# jumps from ESC to ESC; the 8-bit forms, rare, are looked for only in a text that has them.
_CSI_TAIL = r"[0-?]{0,32}[ -/]{0,8}[@-~]?"
_STRING_TAIL = r"[^\x07\x1b\x9c\n]{0,2048}(?:\x07|\x1b\\|\x9c)?"
_ESC_SEQUENCES = rf"\x1b(?:\[{_CSI_TAIL}|[\]PX^_]{_STRING_TAIL}|[ -/]{{0,8}}[0-~]?)"
_ESC_SEQUENCES_RE = re.compile(_ESC_SEQUENCES)
_ALL_SEQUENCES_RE = re.compile(
    rf"{_ESC_SEQUENCES}|\x9b{_CSI_TAIL}|[\x90\x98\x9d\x9e\x9f]{_STRING_TAIL}"
)
_C1_CONTROLS = "\x90\x98\x9b\x9c\x9d\x9e\x9f"
# The same, only where text follows a sequence in its line: removing one at the end of a
# line joins nothing (see CleanLog.hay). One at the start of a line is removed as line by
# line cleaning removes it: an unterminated one there runs over what follows, sequences
# included. Atomic, a sequence never cut: a look-ahead's capture matched again (Python 3.10
# has no ``(?>...)``).
_BEFORE_TEXT_ESC_SEQUENCES_RE = re.compile(
    rf"\x1b(?=(?P<seq>\[{_CSI_TAIL}|[\]PX^_]{_STRING_TAIL}|[ -/]{{0,8}}[0-~]?))(?P=seq)(?=[^\n])"
)
_BEFORE_TEXT_ALL_SEQUENCES_RE = re.compile(
    rf"(?=(?P<seq>{_ALL_SEQUENCES_RE.pattern}))(?P=seq)(?=[^\n])"
)
_TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z ?"
_TIMESTAMP_RE = re.compile(_TIMESTAMP)
_MARKER = (
    r"##\[(group|endgroup|error|warning|notice|debug|command|section)\]"
    r"|::(group|endgroup|error|warning|notice|debug)(?: [^:\n]{0,1000})?::"
)
_MARKER_RE = re.compile(_MARKER)
# The same at every line start of a whole text, which the caller prefixes with "\n": a
# leading literal lets the engine jump from newline to newline.
_BOM_AT_STARTS_RE = re.compile("\n\ufeff+")
_MARKER_GROUPLESS = re.sub(r"\((?!\?)", "(?:", _MARKER)
_STAMP_MARKER_AT_STARTS_RE = re.compile(
    rf"\n(?:{_TIMESTAMP}(?:{_MARKER_GROUPLESS})?|{_MARKER_GROUPLESS})"
)
_ERROR_WORDS = r"error|failed|failure|fatal|exception|traceback|timed out|denied|refused"
_ERROR_WORDS_RE = re.compile(rf"\b(?:{_ERROR_WORDS})\b", re.IGNORECASE)
#: What a raw line must hold to look like an error once cleaned (see last_error_lines).
_ERROR_HINT_RE = re.compile(rf"{_ERROR_WORDS}|{_ESCAPE_START_RE.pattern}", re.IGNORECASE)


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
    text = tail.decode("utf-8", errors="replace")
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
    if _ESCAPE_START_RE.search(text):
        text = _decolor(text)
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


def _clean_text(text: str) -> str:
    """What :func:`clean_line` makes of each line of ``text``, for all lines at once (lines
    over ``4 * MAX_LINE`` characters and the ``MAX_LINE`` cut aside: see :class:`CleanLog`).

    Every pass is confined to one line (no pattern matches a newline, except the leading
    one that anchors a line start), in clean_line's order: carriage return, ANSI codes,
    byte-order marks, timestamp, then marker.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if text.endswith("\r"):
            text = text[:-1]
    text = "\n" + _decolor(text)
    if "\ufeff" in text:
        text = _BOM_AT_STARTS_RE.sub("\n", text)
    return _STAMP_MARKER_AT_STARTS_RE.sub("\n", text)[1:]


def _decolor(text: str, *, before_text: bool = False) -> str:
    """``text`` without its escape sequences (see :data:`_ESC_SEQUENCES`); ``before_text``:
    only those followed by text in their line."""
    if not text.isascii() and any(c in text for c in _C1_CONTROLS):
        return (_BEFORE_TEXT_ALL_SEQUENCES_RE if before_text else _ALL_SEQUENCES_RE).sub("", text)
    if "\x1b" not in text:
        return text
    return (_BEFORE_TEXT_ESC_SEQUENCES_RE if before_text else _ESC_SEQUENCES_RE).sub("", text)


def line_starts(lengths: Iterable[int]) -> list[int]:
    """Offsets of lines of these lengths in their newline-joined text."""
    ends = map(add, accumulate(lengths), count(1))
    return [0, *ends]


class LineIndex:
    """Line numbers of offsets in a text (str or bytes), found by counting newlines from the
    nearest offset known before (the start, the end when the number of lines is given, or
    an offset asked before): cheaper than a table of every line start when only the lines
    of a few hits are needed, which are mostly near the end of a log."""

    def __init__(self, text: str | bytes, newlines: int | None = None) -> None:
        self.text = text
        self._newline = "\n" if isinstance(text, str) else b"\n"
        self._offsets = [0]
        self._lines = [0]
        if newlines is not None:
            self._offsets.append(len(text))
            self._lines.append(newlines)

    def line_of(self, offset: int) -> int:
        """Index (0-based) of the line holding ``offset``."""
        after = bisect_right(self._offsets, offset)
        before = after - 1
        if self._offsets[before] == offset:
            return self._lines[before]
        text: Any = self.text  # str or bytes, with ``self._newline`` of the same type
        count = text.count
        line: int
        if after < len(self._offsets) and (
            self._offsets[after] - offset < offset - self._offsets[before]
        ):
            line = self._lines[after] - count(self._newline, offset, self._offsets[after])
        else:
            line = self._lines[before] + count(self._newline, self._offsets[before], offset)
        self._offsets.insert(after, offset)
        self._lines.insert(after, line)
        return line

    def start_of(self, line: int) -> int:
        """Offset of the start of line ``line`` (0-based), found by walking newlines from the
        nearest offset known (the walks of :meth:`line_of` leave offsets to start from)."""
        after = bisect_right(self._lines, line)
        before = after - 1  # the last known offset on a line <= ``line``
        text: Any = self.text
        find, rfind, newline = text.find, text.rfind, self._newline
        if after < len(self._lines) and (
            self._lines[after] - line < line - self._lines[before]
        ):  # nearer from below: walk back from there to the start of ``line``
            offset = self._offsets[after]
            for _ in range(self._lines[after] - line + 1):
                offset = rfind(newline, 0, offset)
            start = offset + 1
        else:
            offset = rfind(newline, 0, self._offsets[before]) + 1  # start of that line
            for _ in range(line - self._lines[before]):
                offset = find(newline, offset) + 1
            start = offset
        if self._offsets[bisect_right(self._offsets, start) - 1] != start:
            where = bisect_right(self._offsets, start)
            self._offsets.insert(where, start)
            self._lines.insert(where, line)
        return start


class CleanLog(Sequence[LogLine]):
    """Every line of a log, cleaned on demand.

    ``self[i]`` is made by :func:`clean_line` when asked for: a diagnosis shows a few
    dozen lines of the hundreds of thousands a log can have. For searching, :attr:`hay`
    is the whole log with the escape sequences followed by text removed (one pass, from
    each line's start as line by line cleaning does): every cleaned line is a part of its
    line there (cleaning only takes a prefix off and cuts the end, and a sequence left at
    the end of a line is outside that part), so a line whose
    ``hay`` line lacks a literal cannot have it once cleaned, except the lines of
    :attr:`long_lines` (cut before their codes are removed). :attr:`texts` and
    :attr:`text` (all cleaned lines, joined) take a few passes over the whole log more:
    they are made only when a search needs them.
    """

    def __init__(self, text: str, first_line: int = 1) -> None:
        #: How many newlines the text holds (its last one may end the last line).
        self.newlines = text.count("\n")
        # lines as text.split("\n") gives them, less an empty last one
        self._count = self.newlines + 1 if text else 0
        if text.endswith("\n"):
            self._count -= 1
        self.first_line = first_line
        self._source = text  # not copied without its last newline: 20 MB is worth keeping once
        self._index = LineIndex(text, self.newlines)

    def __len__(self) -> int:
        return self._count

    @cached_property
    def raw(self) -> list[str]:
        """Every line as read (made when a search needs them all: one ``split``)."""
        return self._source.split("\n")[: self._count]

    def raw_line(self, index: int) -> str:
        """Line ``index`` as read, without splitting the whole log for it."""
        if "raw" in self.__dict__:
            return self.raw[index]
        start = self._index.start_of(index)
        end = self._source.find("\n", start)
        return self._source[start : end if end >= 0 else None]

    @overload
    def __getitem__(self, index: int) -> LogLine: ...

    @overload
    def __getitem__(self, index: slice) -> list[LogLine]: ...

    def __getitem__(self, index: int | slice) -> LogLine | list[LogLine]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("log line index out of range")
        return clean_line(self.raw_line(index), self.first_line + index)

    def text_of(self, index: int) -> str:
        """``self[index].text``."""
        if "texts" in self.__dict__:
            return self.texts[index]
        return clean_line(self.raw_line(index), 0).text

    @cached_property
    def hay(self) -> str:
        """The log without the escape sequences followed by text in their line, lines as in
        the log (see the class docstring): one at the end of its line joins nothing, so it
        may stay (in a GitHub Actions log, half of them are at a line's end)."""
        return _decolor(self._source, before_text=True)

    @cached_property
    def long_lines(self) -> list[int]:
        """Lines cut before cleaning (over ``4 * MAX_LINE`` characters)."""
        # A line that long covers a whole block of half its size without a newline: when
        # every block has one (a find each, not a pass over every line), there is none.
        text, half = self._source, _MAX_RAW // 2
        if all(text.find("\n", i, i + half) >= 0 for i in range(0, len(text) - half + 1, half)):
            return []
        if not self._count or max(map(len, self.raw)) <= _MAX_RAW:
            return []
        return [i for i, line in enumerate(self.raw) if len(line) > _MAX_RAW]

    @cached_property
    def texts(self) -> list[str]:
        """Every cleaned line: ``texts[i] == self[i].text``."""
        if not self._count:
            return []
        texts = _clean_text(self._source).split("\n")[: self._count]
        for i in self.long_lines:
            texts[i] = clean_line(self.raw[i], 0).text
        if max(map(len, texts)) > MAX_LINE:
            texts = [t[:MAX_LINE] for t in texts]
        return texts

    @cached_property
    def text(self) -> str:
        """The cleaned lines joined by newlines."""
        return "\n".join(self.texts)

    @cached_property
    def starts(self) -> list[int]:
        """Offset in :attr:`text` of each line."""
        return line_starts(map(len, self.texts))[: self._count]

    def stamp_before(self, index: int) -> LogLine | None:
        """The nearest line before line ``index`` that has a timestamp.

        A line whose raw text starts with neither a digit, an escape sequence nor a
        byte-order mark has none (only those are removed before the timestamp), so only the
        others are cleaned.
        """
        for i in range(min(index, self._count) - 1, -1, -1):
            first = self.raw_line(i)[:1]
            if first.isdigit() or first == "\ufeff" or _ESCAPE_START_RE.match(first):
                line = self[i]
                if line.stamp is not None and line.timestamp is not None:
                    return line
        return None


def clean_log(log: LogText) -> CleanLog:
    """Every line of ``log``, cleaned (split on ``\\n`` only, like an editor counts lines)."""
    return CleanLog(log.text, log.first_line)


def last_error_lines(lines: CleanLog, count: int = 8) -> list[LogLine]:
    """The last ``count`` lines that look like errors (for an unknown failure).

    Read from the end; a line is cleaned only if its raw text holds one of the error
    words (the marker's "error" among them) or an ANSI code (which may split one).
    """
    found: list[LogLine] = []
    for i in range(len(lines) - 1, -1, -1):
        if not _ERROR_HINT_RE.search(lines.raw[i]):
            continue
        line = lines[i]
        if line.text.strip() and line.looks_like_error():
            found.append(line)
            if len(found) == count:
                break
    return found[::-1]
