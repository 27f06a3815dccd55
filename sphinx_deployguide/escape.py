"""Escaping text from outside (commit subjects, index entries, config values, logs) for the
format it goes into. One module, used by every output that is not HTML (docutils escapes
HTML itself):

* :func:`markdown_text` for Markdown that GitHub renders (``checklist --format github``, the
  bump PR body): nothing in a value can open a link, an image, HTML, emphasis, a table cell, a
  new line (so no forged ``- [x]`` step), or notify people with ``@mention``;
* :func:`markdown_code` and :func:`markdown_fence` for values inside inline code and code
  blocks: the delimiter is longer than any backtick run of the value;
* :func:`terminal_text` for terminals and commit messages: ANSI/OSC escape sequences and
  other control characters are removed, so upstream text cannot recolour, retitle,
  hyperlink or rewrite what a person reads.
"""

from __future__ import annotations

import re

__all__ = [
    "ESCAPE_SEQUENCES",
    "inert_references",
    "markdown_code",
    "markdown_fence",
    "markdown_text",
    "terminal_text",
]

# CommonMark lets a backslash escape any ASCII punctuation. These start markup anywhere in a
# line: links and images, HTML and <autolinks>, entities, emphasis, code, table cells,
# strikethrough. A value has no line break, so block markup (lists, task boxes, quotes,
# headings) can only start where the value starts a line: its first character is escaped too.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>!|~&])")
_MD_LINE_START = re.compile(r"^(\s*)([-+#>=]|\d{1,9}(?=[.)](?:\s|$)))")
# "@name" (a user or team mention) is broken by a zero-width space, as Renovate does: GitHub
# looks for mentions in the rendered text, where a backslash escape is already gone.
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
_NEWLINES = re.compile(r"[\r\n\u2028\u2029\x85]+")
# GitHub closes an issue when a PR body or a merged commit message says "fixes #N" (or
# "closes owner/repo#N", "resolves https://github.com/.../issues/N"): a keyword, an optional
# colon, then a reference. A keyword followed by one (or ending the text, where a link may
# follow) gets a zero-width space after its first letter, so it is no keyword any more.
_CLOSING = re.compile(
    r"(?i)\b(?P<first>[cfr])(?P<rest>lose[sd]?|ix(?:e[sd])?|esolve[sd]?)\b"
    r"(?=[:\s]*(?:$|\\?[#\[]|gh-\d|[\w.-]+/[\w.-]+#\d|https?://))"
)
# "#N" / "GH-N" standing alone names an issue of the repository showing the text (the deploy
# repo), never the one the text came from: broken the same way (links.qualify_refs writes
# the chart source's references as owner/repo#N first, which stay links).
_BARE_REF = re.compile(r"(?i)(?<![\w/&.-])(#|gh-)(?=\d)")

# ESC [ ... final (CSI), ESC ] ... BEL or ESC \ (OSC: titles, hyperlinks), ESC P/X/^/_ ... ST
# (DCS, SOS, PM, APC), other two-byte ESC sequences; and their 8-bit C1 forms. Every repeat
# is bounded, so a hostile text full of unterminated sequences costs linear time.
ESCAPE_SEQUENCES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]{0,32}[ -/]{0,8}[@-~]?
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]{0,2048}(?:\x07|\x1b\\|\x9c)?
    | \x1b[ -/]{0,8}[0-~]?
    """,
    re.VERBOSE,
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROLS_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def inert_references(text: str) -> str:
    """``text`` without GitHub closing keywords or bare issue references (``#N``), each
    broken by a zero-width space: shown in a PR body or a commit message of the deploy repo,
    upstream text can neither close its issues nor point at the wrong one."""
    text = _CLOSING.sub("\\g<first>\u200b\\g<rest>", text)
    return _BARE_REF.sub("\\1\u200b", text)


def markdown_text(text: object) -> str:
    """``text`` as inert Markdown: one line, markup characters escaped, mentions, closing
    keywords and bare issue references broken."""
    flat = inert_references(terminal_text(_NEWLINES.sub(" ", str(text)), multiline=False))
    escaped = _MD_LINE_START.sub(_escape_line_start, _MD_INLINE.sub(r"\\\1", flat))
    return _MENTION.sub("@\u200b", escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker = match.groups()
    if marker[0].isdigit():  # "1." / "1)": escape the delimiter after the number
        return f"{indent}{marker}\\"
    return f"{indent}\\{marker}"


def markdown_code(text: object) -> str:
    """``text`` as one inline code span, whatever backticks it holds."""
    flat = terminal_text(_NEWLINES.sub(" ", str(text)), multiline=False)
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or longest else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def markdown_fence(text: str) -> str:
    """The backtick fence for a code block holding ``text`` (longer than any run in it)."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    return "`" * max(3, longest + 1)


def terminal_text(text: object, *, multiline: bool = True) -> str:
    """``text`` without escape sequences or control characters (tabs kept; newlines kept
    when ``multiline``), safe to print on a terminal or to put in a commit message."""
    cleaned = ESCAPE_SEQUENCES.sub("", str(text))
    return (_CONTROLS if multiline else _CONTROLS_ONE_LINE).sub("", cleaned)
