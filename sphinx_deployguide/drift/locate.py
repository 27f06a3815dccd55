"""Find the line of a key in a data file, so a finding about a pin or an environment points
at the line to edit rather than at the whole file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..keypath import Index, Key, Match, Segment

if TYPE_CHECKING:  # imported where a file is read: most builds locate nothing
    import yaml


def yaml_key_line(text: str, segments: tuple[Segment, ...]) -> int | None:
    """1-based line of the value at ``segments`` in YAML ``text``; ``None`` if not found.

    Uses ``yaml.compose`` (node tree with positions, no object construction) with the safe
    loader, so nothing in the file is executed.
    """
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None
    for seg in segments:
        if node is None:
            return None
        if isinstance(seg, Key) and isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if getattr(k, "value", None) == seg.name), None)
        elif isinstance(seg, Index) and isinstance(node, yaml.SequenceNode):
            items = node.value
            node = items[seg.index] if -len(items) <= seg.index < len(items) else None
        elif isinstance(seg, Match) and isinstance(node, yaml.SequenceNode):
            node = next((item for item in node.value if _has_field(item, seg)), None)
        else:
            return None
    return node.start_mark.line + 1 if node is not None else None


def _has_field(item: yaml.Node, seg: Match) -> bool:
    import yaml

    if not isinstance(item, yaml.MappingNode):
        return False
    return any(
        getattr(k, "value", None) == seg.field and getattr(v, "value", None) == seg.value
        for k, v in item.value
    )


def key_line(path: Path, segments: tuple[Segment, ...]) -> int | None:
    """Line of a key path in a YAML file; for JSON/TOML, the first line naming the last key."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        line = yaml_key_line(text, segments)  # JSON is YAML, positions included
        if line is not None:
            return line
    last = next((s.name for s in reversed(segments) if isinstance(s, Key)), None)
    if last is None:
        return None
    pattern = re.compile(rf"""^\s*["']?{re.escape(last)}["']?\s*[:=]""")
    for number, line_text in enumerate(text.splitlines(), start=1):
        if pattern.search(line_text):
            return number
    return None
