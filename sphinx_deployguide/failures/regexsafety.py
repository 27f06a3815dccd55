"""Static checks on the shipped catalog's regexes, from Python's own regex parser.

Patterns that users write run on RE2 (:mod:`sphinx_deployguide.userregex`), which cannot
backtrack. Only the shipped catalog uses Python's ``re``, which does: a pattern like
``(a+)+b`` or ``(x|xy)*z`` takes exponential time on a long line that almost matches. So a
shipped pattern is refused when a quantified part contains another quantifier, an
alternation or a backreference (:func:`unsafe_reason`), and every repeat in it is bounded
(:func:`unbounded_repeats`, enforced by the tests).

The same parse also gives the literal text every match must contain, which the matcher uses
as a fast substring pre-filter (:func:`required_literal_sets`).
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterator
from typing import Any

if sys.version_info >= (3, 11):
    # re's own parser (sre_parse until 3.11, which warns since): typeshed has no stubs for it
    import re._parser as sre_parse  # type: ignore[import-not-found]
    from re._constants import MAXREPEAT  # type: ignore[import-not-found]
else:
    import sre_parse
    from sre_constants import MAXREPEAT

_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def _name(op_code: Any) -> str:
    return getattr(op_code, "name", None) or str(op_code)


@functools.lru_cache(maxsize=1024)
def _parse(pattern: str, flags: int = 0) -> Any:
    """Parsed once per pattern: loading a catalog vets it, matching takes its literals."""
    return sre_parse.parse(pattern, flags)


def _children(op: str, av: Any) -> list[Any]:
    """The sub-sequences of one parsed node."""
    if op in _REPEATS:
        return [av[2]]
    if op == "SUBPATTERN":
        return [av[-1]]
    if op == "BRANCH":
        return list(av[1])
    if op in ("ASSERT", "ASSERT_NOT"):
        return [av[1]]
    if op == "ATOMIC_GROUP":
        return [av]
    if op == "GROUPREF_EXISTS":
        return [branch for branch in av[1:] if branch is not None]
    return []


def _contains(seq: Any, wanted: set[str], *, repeat_over_one: bool = False) -> str | None:
    """The first node kind of ``wanted`` inside ``seq`` (repeats only when max > 1)."""
    for op_code, av in seq:
        op = _name(op_code)
        if op in wanted:
            if op not in _REPEATS or not repeat_over_one or av[1] > 1:
                return op
        for child in _children(op, av):
            found = _contains(child, wanted, repeat_over_one=repeat_over_one)
            if found:
                return found
    return None


def _walk(seq: Any) -> Iterator[tuple[str, Any]]:
    for op_code, av in seq:
        op = _name(op_code)
        yield op, av
        for child in _children(op, av):
            yield from _walk(child)


def unsafe_reason(pattern: str, flags: int = 0) -> str | None:
    """Why ``pattern`` can backtrack exponentially, or None when it cannot."""
    parsed = _parse(pattern, flags)
    for op, av in _walk(parsed):
        if op in ("GROUPREF", "GROUPREF_EXISTS"):
            return "a backreference"
        if op in _REPEATS and av[1] > 1:
            inner = _contains(av[2], _REPEATS | {"BRANCH"}, repeat_over_one=True)
            if inner in _REPEATS:
                return "a nested quantifier (a repeated group containing a repeat, like (a+)+)"
            if inner == "BRANCH":
                return "an alternation inside a repeated group (like (a|ab)*)"
    return None


def unbounded_repeats(pattern: str, flags: int = 0, limit: int = 1000) -> list[str]:
    """Repeats of ``pattern`` without an upper bound (or above ``limit``), as text."""
    found = []
    for op, av in _walk(_parse(pattern, flags)):
        if op in _REPEATS and (av[1] == MAXREPEAT or av[1] > limit):
            found.append(f"{{{av[0]},{'' if av[1] == MAXREPEAT else av[1]}}}")
    return found


Candidate = tuple[tuple[str, ...], bool]  # literals (one of which is in every match), folded


def _score(candidate: Candidate) -> tuple[int, int]:
    return (min(map(len, candidate[0])), -len(candidate[0]))


def _fold(candidate: Candidate) -> Candidate:
    literals, folded = candidate
    return (tuple(dict.fromkeys(lit.casefold() for lit in literals)), True) if folded else candidate


def _class_literals(av: Any) -> list[str] | None:
    """The characters of a small class of plain literals (``[234]``), else None."""
    if len(av) > 8 or not all(_name(op) == "LITERAL" for op, _ in av):
        return None
    return [chr(value) for _, value in av]


def _candidates(seq: Any, folded: bool) -> list[Candidate]:
    """Every literal set found at this level: each is contained in every match of ``seq``."""
    found: list[Candidate] = []
    runs: list[str] = []

    def extend(new_runs: list[str]) -> None:
        if runs:
            found.pop()  # the run so far is a prefix of the extended one: keep only the longest
        found.append((tuple(new_runs), folded))

    for op_code, av in seq:
        op = _name(op_code)
        if op == "LITERAL":
            new_runs = [run + chr(av) for run in runs] if runs else [chr(av)]
            extend(new_runs)
            runs = new_runs
            continue
        if op == "IN" and runs:
            members = _class_literals(av)
            if members is not None and len(runs) * len(members) <= 16:
                new_runs = [run + member for run in runs for member in members]
                extend(new_runs)
                runs = new_runs
                continue
        runs = []
        if op == "SUBPATTERN":
            found += _candidates(av[-1], folded or bool(av[1] & re.IGNORECASE))
        elif op == "ATOMIC_GROUP":
            found += _candidates(av, folded)
        elif op in _REPEATS and av[0] >= 1:
            found += _candidates(av[2], folded)
        elif op == "BRANCH":
            best = [_best(_candidates(branch, folded)) for branch in av[1]]
            parts = [part for part in best if part is not None]
            if len(parts) == len(best):  # every branch has literals
                any_folded = any(part[1] for part in parts)
                strings: list[str] = []
                for literals, _part_folded in parts:
                    strings += [lit.casefold() if any_folded else lit for lit in literals]
                found.append((tuple(dict.fromkeys(strings)), any_folded))
    return [_fold(c) for c in found if c[0] and all(c[0])]


def _best(candidates: list[Candidate]) -> Candidate | None:
    return max(candidates, key=_score) if candidates else None


def required_literal_sets(pattern: str, flags: int = 0) -> list[Candidate]:
    """All literal sets of ``pattern``, best (longest shortest literal) first; a matching
    line contains one literal of *each* set (case-folded ones: of ``line.casefold()``)."""
    parsed = _parse(pattern, flags)
    found = _candidates(parsed, bool(parsed.state.flags & re.IGNORECASE))
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=_score, reverse=True)


def required_literals(pattern: str, flags: int = 0) -> Candidate:
    """The best literal set of ``pattern`` (``((), False)`` when there is none).

    Conservative: repeats that may be absent, lookarounds and large classes are not used.
    """
    sets = required_literal_sets(pattern, flags)
    return sets[0] if sets else ((), False)
