"""Regular expressions written by users run on RE2: linear time, whatever the pattern.

Python's ``re`` backtracks, so ``^(a|a)+$`` or ``x.*y.*z.*w`` can take minutes on one long
line; no static check catches every such pattern. The patterns a user writes (the model's
``[[failures]]``, ``deploy-claim :matches:``) are therefore compiled with Google's RE2, whose
matching time is linear in the text by construction. Its syntax covers what a log or config
pattern needs (classes, groups, named groups, alternation, bounded and unbounded repeats,
``(?i)``); it has no backreferences or lookarounds, and a pattern it cannot compile is refused
when it is loaded, with RE2's reason. The shipped catalog keeps Python's ``re`` (its patterns
are vetted by :mod:`.failures.regexsafety` and the tests).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

__all__ = ["UserRegex", "UserRegexError", "compile_user_regex"]


class UserRegexError(ValueError):
    """RE2 cannot compile the pattern; the message says why (and how to fix common cases)."""


def _hint(reason: str) -> str:
    if "\\Z" in reason:
        return " (RE2 writes the end of the text as \\z)"
    if re.search(r"invalid escape sequence: \\[1-9]", reason):
        return " (backreferences are not supported)"
    if "invalid perl operator: (?<" in reason or "(?=" in reason or "(?!" in reason:
        return " (lookarounds are not supported)"
    return ""


class UserRegex:
    """A compiled RE2 pattern with the small part of ``re.Pattern``'s API the callers use."""

    __slots__ = ("_regex", "flags", "pattern")

    def __init__(self, pattern: str, *, ignore_case: bool = False, multiline: bool = False):
        import re2  # here: most builds and commands compile no pattern of a user

        options = re2.Options()
        options.log_errors = False  # RE2 would print its own copy of the error on stderr
        options.case_sensitive = not ignore_case
        source = f"(?m){pattern}" if multiline else pattern
        try:
            self._regex = re2.compile(source, options)
        except re2.error as exc:
            raw = exc.args[0] if exc.args else exc
            reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            raise UserRegexError(f"RE2 cannot compile it: {reason}{_hint(reason)}") from None
        except (TypeError, ValueError) as exc:  # e.g. a surrogate that is not UTF-8
            raise UserRegexError(f"RE2 cannot compile it: {exc}") from None
        self.pattern = pattern
        self.flags = re.IGNORECASE if ignore_case else 0
        if multiline:
            self.flags |= re.MULTILINE

    def search(self, text: str) -> Any:
        return self._regex.search(text)

    def finditer(self, text: str) -> Iterator[Any]:
        matches: Iterator[Any] = self._regex.finditer(text)  # (re2 has no type information)
        return matches

    def __repr__(self) -> str:
        return f"UserRegex({self.pattern!r})"


def compile_user_regex(
    pattern: str, *, ignore_case: bool = False, multiline: bool = False
) -> UserRegex:
    """Compile a user's pattern with RE2; :class:`UserRegexError` says why it cannot be."""
    return UserRegex(pattern, ignore_case=ignore_case, multiline=multiline)
