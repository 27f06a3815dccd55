"""Matching cleaned log lines against the catalog (pure).

Each entry's patterns are tried on every line (the first pattern that matches a line wins
for that line). A literal every match must contain (from :mod:`.regexsafety`) is looked up
in the whole text first, so most patterns never run at all on a log without their error;
the others scan the joined text once instead of being called once per line. Named
groups (``chart``, ``version``, ``url``, ...) are kept as evidence for the live checks.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from ahocorasick_rs import BytesAhoCorasick, MatchKind

from ..userregex import UserRegex
from .catalog import Catalog, FailureEntry
from .logtext import CleanLog, LineIndex
from .regexsafety import required_literal_sets, unbounded_repeats

#: At most this many matched lines are kept per entry (all are counted).
MAX_HITS = 50


@dataclass(frozen=True)
class LineHit:
    """One matched line."""

    number: int
    text: str
    timestamp: datetime | None
    groups: dict[str, str]
    pattern: int  # index into the entry's patterns


@dataclass(frozen=True)
class EntryMatch:
    """Every line one entry matched (the first :data:`MAX_HITS`) and how many in all."""

    entry: FailureEntry
    hits: tuple[LineHit, ...]
    count: int

    @property
    def first(self) -> LineHit:
        return self.hits[0]

    @property
    def last(self) -> LineHit:
        return self.hits[-1]

    def group(self, name: str) -> tuple[str, LineHit] | None:
        """The last value captured for group ``name``, with its line."""
        for hit in reversed(self.hits):
            value = hit.groups.get(name)
            if value:
                return value, hit
        return None


class _Test:
    """One pattern, prepared: its literal pre-filter and how to scan with it."""

    def __init__(self, regex: re.Pattern[str] | UserRegex) -> None:
        self.regex = regex
        self.flags = regex.flags & ~re.UNICODE
        # A match holds one literal of each set (the sets with the longest literals first).
        # A user's pattern runs on RE2 (linear) line by line: Python's parser cannot read
        # RE2 syntax safely (e.g. [[:alpha:]]), so it has no literal pre-filter.
        self.literal_sets: list[tuple[tuple[str, ...], bool]] = (
            []
            if isinstance(regex, UserRegex)
            else required_literal_sets(regex.pattern, self.flags)[:3]
        )

    @cached_property
    def whole_text(self) -> re.Pattern[str] | None:
        """A MULTILINE copy for one scan of the joined text, when that is safe.

        Scanning the joined text once is much faster than a search per line, and
        equivalent when every repeat is bounded (a match cannot run far past a line end;
        those that cross one are re-checked line by line) and no \\A/\\Z is used. Others
        (e.g. a user's ".*") are searched line by line, so each line bounds them.
        """
        pattern = self.regex.pattern
        if isinstance(self.regex, UserRegex):
            return None
        if unbounded_repeats(pattern, self.flags) or "\\A" in pattern or "\\Z" in pattern:
            return None
        return re.compile(pattern, self.regex.flags | re.MULTILINE)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _leftmost(literals: list[str], data: bytes) -> list[tuple[int, int, int]]:
    """(literal index, start, end) of the leftmost, non-overlapping occurrences."""
    if not literals:
        return []
    automaton = BytesAhoCorasick(
        [_encode(literal) for literal in literals], matchkind=MatchKind.LeftmostFirst
    )
    return automaton.find_matches_as_indexes(data)


#: Bytes of the log read first to guess which literals are on too many lines to help.
_SAMPLE = 2**18


class _View:
    """One text, as UTF-8, with the lines holding each literal it was asked about.

    Literals are looked for together (Aho-Corasick), in batches: those of the patterns'
    first literal sets, then, only if some pattern needs them, those of the second sets,
    and so on. The search reports only non-overlapping occurrences; but no literal holds a
    newline, so a line holding a literal holds a reported occurrence (the literal's own or
    one overlapping it), and on those few lines every literal of the batch is checked.
    Literals on more than ``limit`` lines are no help as a pre-filter and are left out
    (None): those of one or two characters, those a sample of the log shows to be frequent
    (they would only slow the search down), and those the search finds too often.
    """

    def __init__(self, data: bytes, newlines: int, limit: int) -> None:
        self.data = data
        self.index = LineIndex(data, newlines)
        self.limit = limit
        self.lines: dict[str, set[int] | None] = {}

    def search(self, literals: Iterable[str]) -> None:
        """Find the lines of every literal not looked for yet."""
        data, limit = self.data, self.limit
        batch = sorted(set(literals) - self.lines.keys())
        for literal in batch:
            if len(literal) < 3:
                self.lines[literal] = None
        batch = [literal for literal in batch if literal not in self.lines]
        if len(data) > 3 * _SAMPLE:
            middle = len(data) // 2
            sample = data[:_SAMPLE] + data[middle : middle + _SAMPLE] + data[-_SAMPLE:]
            seen = Counter(i for i, _, _ in _leftmost(batch, sample))
            scale = len(data) / len(sample)
            for i, n in seen.items():
                if n * scale > limit:
                    self.lines[batch[i]] = None
            batch = [literal for literal in batch if literal not in self.lines]
        found = _leftmost(batch, data)
        texts: dict[int, bytes] = {}
        for _, start, _ in found:
            line = self.index.line_of(start)
            if line not in texts:
                end = data.find(b"\n", start)
                texts[line] = data[data.rfind(b"\n", 0, start) + 1 : end if end >= 0 else None]
        for literal in batch:
            needle = _encode(literal)
            lines = {line for line, text in texts.items() if needle in text}
            self.lines[literal] = lines if len(lines) <= limit else None


class _Haystack:
    """Where literals are looked for: :attr:`CleanLog.hay` and its case-folded copy."""

    def __init__(self, log: CleanLog, tests: Iterable[_Test], limit: int) -> None:
        self.log = log
        self.limit = limit
        # (folded, rank of the set in its pattern) -> the literals of those sets
        self._batches: dict[tuple[bool, int], set[str]] = {}
        for test in tests:
            for rank, (literals, folded) in enumerate(test.literal_sets):
                self._batches.setdefault((folded, rank), set()).update(literals)
        self._views: dict[bool, _View] = {}

    def view(self, folded: bool) -> _View:
        if folded not in self._views:
            hay = self.log.hay
            if not folded:
                data = _encode(hay)
            elif hay.isascii():  # the same as casefold() there, and faster
                data = self.view(False).data.lower()
            else:
                data = _encode(hay.casefold())
            self._views[folded] = _View(data, self.log.newlines, self.limit)
        return self._views[folded]

    def lines_with(self, literal: str, folded: bool) -> set[int] | None:
        """Indexes of the lines holding ``literal``; None when more than ``limit`` do."""
        view = self.view(folded)
        if literal not in view.lines:
            rank = min(
                r for (f, r), batch in self._batches.items() if f == folded and literal in batch
            )
            view.search(self._batches[folded, rank])
        return view.lines[literal]

    def candidates(self, literals: tuple[str, ...], folded: bool) -> set[int] | None:
        """Lines that may hold one of ``literals`` once cleaned; None when more than
        ``limit`` do (then another literal set, or one scan of the whole text, is cheaper)."""
        found = set(self.log.long_lines)
        for literal in literals:
            lines = self.lines_with(literal, folded)
            if lines is None:
                return None
            found |= lines
            if len(found) > self.limit:
                return None
        return found


def _search_lines(test: _Test, log: CleanLog, indexes: Iterable[int]) -> dict[int, Any]:
    found = {}
    for i in indexes:
        text = log.text_of(i)
        if test.literal_sets:
            literals, folded = test.literal_sets[0]
            haystack = text.casefold() if folded else text
            if not any(literal in haystack for literal in literals):
                continue
        hit = test.regex.search(text)
        if hit is not None:
            found[i] = hit
    return found


def _scan(test: _Test, hay: _Haystack) -> dict[int, Any]:
    """Line index -> first match of ``test`` on that line."""
    log = hay.log
    for literals, folded in test.literal_sets:
        candidates = hay.candidates(literals, folded)
        if candidates is not None:
            return _search_lines(test, log, sorted(candidates))
    if test.whole_text is None:
        return _search_lines(test, log, range(len(log)))
    found: dict[int, Any] = {}
    recheck: set[int] = set()
    for hit in test.whole_text.finditer(log.text):
        first = bisect_right(log.starts, hit.start()) - 1
        if "\n" in hit.group(0):
            recheck.update(range(first, bisect_right(log.starts, hit.end())))
        elif first not in found:
            found[first] = hit
    if recheck:
        for i in recheck:
            found.pop(i, None)
        found.update(_search_lines(test, log, sorted(recheck)))
    return found


def _limit(log: CleanLog, candidate_limit: int | None) -> int:
    return max(64, len(log) // 16) if candidate_limit is None else candidate_limit


def search_log(regex: re.Pattern[str], log: CleanLog) -> dict[int, re.Match[str]]:
    """Line index -> first match of ``regex`` on that cleaned line, for every line."""
    test = _Test(regex)
    return _scan(test, _Haystack(log, [test], _limit(log, None)))


def match_lines(
    catalog: Catalog, lines: CleanLog, *, candidate_limit: int | None = None
) -> list[EntryMatch]:
    """The entries that matched at least one line, in catalog order.

    On each line, the first of an entry's patterns that matches is the one reported.
    ``candidate_limit``: above this many lines holding a pattern's literals, the joined
    text is scanned instead of those lines (default: 1/16 of the lines, at least 64).
    """
    tests = {regex: _Test(regex) for entry in catalog.entries for regex in entry.regexes}
    hay = _Haystack(lines, tests.values(), _limit(lines, candidate_limit))
    result = []
    for entry in catalog.entries:
        hits: dict[int, tuple[int, Any]] = {}
        for index, regex in enumerate(entry.regexes):
            for i, found in _scan(tests[regex], hay).items():
                if i not in hits:  # an earlier pattern of the entry matched this line already
                    hits[i] = (index, found)
        if not hits:
            continue
        kept = []
        for i in sorted(hits)[:MAX_HITS]:
            index, found = hits[i]
            line = lines[i]
            groups = {k: v for k, v in found.groupdict().items() if v}
            kept.append(LineHit(line.number, line.text, line.timestamp, groups, index))
        result.append(EntryMatch(entry, tuple(kept), len(hits)))
    return result
