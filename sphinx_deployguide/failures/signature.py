"""Catalog patterns as people read them, for the runbook page (``deploy-failures``)."""

from __future__ import annotations

import re

_CASE_PAIR_RE = re.compile(r"\[([A-Z])([a-z])\](?![{*+?])")
_CLASS_REPEAT_RE = re.compile(r"(?:\[(?:\\.|[^\]\\])+\]|\\[wsdSWD]|\.)(?:\{\d*,?\d*\}|[*+?])\??")


def _named_groups_to_placeholders(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("(?P<", i):
            end_name = pattern.index(">", i)
            name = pattern[i + 4 : end_name]
            depth, j, in_class = 1, end_name + 1, False
            while j < len(pattern) and depth:
                char = pattern[j]
                if char == "\\":
                    j += 2
                    continue
                if in_class:
                    in_class = char != "]"
                elif char == "[":
                    in_class = True
                elif char == "(":
                    depth += 1
                elif char == ")":
                    depth -= 1
                j += 1
            body = pattern[end_name + 1 : j - 1]
            words = re.fullmatch(r"[\w /-]+(?:\|[\w /-]+)+", body)
            out.append(f"({body})" if words else f"<{name.upper()}>")
            i = j
        else:
            out.append(pattern[i])
            i += 1
    return "".join(out)


def readable_signature(pattern: str) -> str:
    """A catalog pattern as a person reads it: ``chart "<CHART>" version "<VERSION>" ...``.

    Heuristic (named groups become ``<NAME>``, character-class repeats ``…``, escapes and
    anchors go); the exact regex stays in the catalog and in ``diagnose --json``.
    """
    text = _named_groups_to_placeholders(pattern)
    # [Cc]an't (either case of one letter) reads "can't"
    text = _CASE_PAIR_RE.sub(lambda m: m[2] if m[1].lower() == m[2] else m[0], text)
    text = text.replace("(?:^|[\\s:])", "")
    text = re.sub(r"\(\?[aiLmsux]+:", "(", text)
    text = _CLASS_REPEAT_RE.sub("…", text)
    text = re.sub(r"\\b|^\^|\$$", "", text)
    text = re.sub(r"\(\?:([^()|]*)\)\?", r"[\1]", text)
    text = text.replace("(?:", "(")
    if text.startswith("(") and text.endswith(")") and text.count("(") == 1:
        text = text[1:-1]
    text = re.sub(r"([\"'])\?", r"\1", text)  # an optional quote: show it
    text = re.sub(r"\\(.)", r"\1", text)
    return text.strip()
