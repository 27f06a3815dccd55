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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..userregex import UserRegex
from .catalog import Catalog, FailureEntry
from .logtext import LogLine
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


@dataclass
class _Test:
    """One pattern, prepared: its literal pre-filter and how to scan with it."""

    entry: FailureEntry
    index: int  # into the entry's patterns
    regex: re.Pattern[str] | UserRegex
    literal_sets: list[tuple[tuple[str, ...], bool]]  # a match has one literal of each set
    whole_text: re.Pattern[str] | None  # MULTILINE copy for one scan of the joined text


def _prepare(catalog: Catalog) -> list[_Test]:
    tests = []
    for entry in catalog.entries:
        for index, regex in enumerate(entry.regexes):
            if isinstance(regex, UserRegex):
                # RE2 (linear) line by line; Python's parser cannot read RE2 syntax safely
                # (e.g. [[:alpha:]]), so there is no literal pre-filter.
                tests.append(_Test(entry, index, regex, [], None))
                continue
            flags = regex.flags & ~re.UNICODE
            literal_sets = required_literal_sets(regex.pattern, flags)[:3]
            # Scanning the joined text once is much faster than a search per line, and
            # equivalent when every repeat is bounded (a match cannot run far past a line
            # end; those that cross one are re-checked line by line) and no \A/\Z is used.
            # Others (e.g. a user's ".*") are searched line by line, so each line bounds them.
            whole = None
            if (
                not unbounded_repeats(regex.pattern, flags)
                and "\\A" not in regex.pattern
                and "\\Z" not in regex.pattern
            ):
                whole = re.compile(regex.pattern, regex.flags | re.MULTILINE)
            tests.append(_Test(entry, index, regex, literal_sets, whole))
    return tests


class _Text:
    """The cleaned lines joined by newlines, with their offsets (and a case-folded copy on
    demand, with offsets of its own: folding can change lengths, e.g. "ß" -> "ss")."""

    def __init__(self, lines: Sequence[LogLine]) -> None:
        self.lines = lines
        self.text, self.starts = self._join([line.text for line in lines])
        self._folded: tuple[str, list[int]] | None = None

    @staticmethod
    def _join(texts: list[str]) -> tuple[str, list[int]]:
        starts: list[int] = []
        offset = 0
        for text in texts:
            starts.append(offset)
            offset += len(text) + 1
        return "\n".join(texts), starts

    def view(self, folded: bool) -> tuple[str, list[int]]:
        if not folded:
            return self.text, self.starts
        if self._folded is None:
            self._folded = self._join([line.text.casefold() for line in self.lines])
        return self._folded

    def line_at(self, offset: int, starts: list[int] | None = None) -> int:
        return bisect_right(self.starts if starts is None else starts, offset) - 1


def _search_lines(test: _Test, lines: Sequence[LogLine], indexes) -> dict[int, Any]:  # type: ignore[no-untyped-def]
    found = {}
    for i in indexes:
        text = lines[i].text
        if test.literal_sets:
            literals, folded = test.literal_sets[0]
            haystack = text.casefold() if folded else text
            if not any(literal in haystack for literal in literals):
                continue
        hit = test.regex.search(text)
        if hit is not None:
            found[i] = hit
    return found


def _literal_lines(
    literals: tuple[str, ...], folded: bool, text: _Text, limit: int
) -> set[int] | None:
    """Indexes of the lines holding one of ``literals``; None when more than ``limit`` do
    (then another literal set, or one scan of the whole text, is cheaper)."""
    haystack, starts = text.view(folded)
    found: set[int] = set()
    for literal in literals:
        position = haystack.find(literal)
        while position >= 0:
            line = text.line_at(position, starts)
            found.add(line)
            if len(found) > limit:
                return None
            # Continue after this line: one hit per line is enough.
            next_start = starts[line + 1] if line + 1 < len(starts) else len(haystack)
            position = haystack.find(literal, next_start)
    return found


def _scan(test: _Test, text: _Text, limit: int) -> dict[int, Any]:
    """Line index -> first match of ``test`` on that line."""
    for literals, folded in test.literal_sets:
        candidates = _literal_lines(literals, folded, text, limit)
        if candidates is not None:
            return _search_lines(test, text.lines, sorted(candidates))
    if test.whole_text is None:
        return _search_lines(test, text.lines, range(len(text.lines)))
    found: dict[int, Any] = {}
    recheck: set[int] = set()
    for hit in test.whole_text.finditer(text.text):
        first = text.line_at(hit.start())
        if "\n" in hit.group(0):
            recheck.update(range(first, text.line_at(hit.end()) + 1))
        elif first not in found:
            found[first] = hit
    if recheck:
        for i in recheck:
            found.pop(i, None)
        found.update(_search_lines(test, text.lines, sorted(recheck)))
    return found


def match_lines(
    catalog: Catalog, lines: Sequence[LogLine], *, candidate_limit: int | None = None
) -> list[EntryMatch]:
    """The entries that matched at least one line, in catalog order.

    On each line, the first of an entry's patterns that matches is the one reported.
    ``candidate_limit``: above this many lines holding a pattern's literals, the joined
    text is scanned instead of those lines (default: 1/16 of the lines, at least 64).
    """
    text = _Text(lines)
    limit = max(64, len(lines) // 16) if candidate_limit is None else candidate_limit
    per_entry: dict[str, dict[int, tuple[int, Any]]] = {}
    for test in _prepare(catalog):
        hits = per_entry.setdefault(test.entry.id, {})
        for i, found in _scan(test, text, limit).items():
            if i not in hits:  # an earlier pattern of the entry matched this line already
                hits[i] = (test.index, found)
    result = []
    for entry in catalog.entries:
        hits = per_entry.get(entry.id)
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
