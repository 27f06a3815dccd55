"""Key paths into loaded YAML/JSON/TOML data: ``dependencies[name=binderhub].version``.

One small grammar serves the pin spec of the model, ``config:FILE#KEY.PATH`` facts, the
``deploy-config`` role and ``deployguide bump``, so all of them agree on what a path means:

- ``key``: a mapping key (any characters but ``.``, ``[`` and ``]``);
- ``[3]``: a list index;
- ``[name=binderhub]``: the one list item that is a mapping whose ``name`` is ``binderhub``;
- ``["a.b"]``: a mapping key that contains dots.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import decode_text, read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class Key:
    """Select a mapping key."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Index:
    """Select a list item by position."""

    index: int

    def __str__(self) -> str:
        return f"[{self.index}]"


@dataclass(frozen=True)
class Match:
    """Select the list item whose ``field`` equals ``value``."""

    field: str
    value: str

    def __str__(self) -> str:
        return f"[{self.field}={self.value}]"


Segment = Key | Index | Match

_TOKEN = re.compile(
    r"""
    (?P<key>[^.\[\]]+)
    | \[(?P<index>-?\d+)\]
    | \[(?P<field>[^=\[\]"']+)=(?P<value>[^\]]*)\]
    | \[(?P<quote>["'])(?P<quoted>.*?)(?P=quote)\]
    | (?P<dot>\.)
    """,
    re.VERBOSE,
)


def parse_key_path(text: str) -> tuple[Segment, ...]:
    """Parse ``a.b[0].c[name=x]`` into segments; ``ValueError`` says where it went wrong."""
    if not text:
        raise ValueError("empty key path")
    segments: list[Segment] = []
    pos = 0
    expect_key = True  # a dot must be followed by a key
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"cannot parse key path {text!r} at character {pos + 1}")
        if m.group("dot"):
            if expect_key or pos + 1 == len(text):
                raise ValueError(f"misplaced '.' in key path {text!r} at character {pos + 1}")
            expect_key = True
        elif m.group("key") is not None:
            if not expect_key:
                raise ValueError(f"missing '.' before {m.group('key')!r} in key path {text!r}")
            segments.append(Key(m.group("key").strip()))
            expect_key = False
        else:
            if m.group("index") is not None:
                segments.append(Index(int(m.group("index"))))
            elif m.group("quote"):
                segments.append(Key(m.group("quoted")))
            else:
                segments.append(Match(m.group("field").strip(), m.group("value").strip()))
            expect_key = False
        pos = m.end()
    return tuple(segments)


def format_key_path(segments: tuple[Segment, ...]) -> str:
    out = ""
    for seg in segments:
        if isinstance(seg, Key):
            out += ("." if out else "") + (
                seg.name if re.fullmatch(r"[^.\[\]]+", seg.name) else f'["{seg.name}"]'
            )
        else:
            out += str(seg)
    return out


def resolve_key_path(data: Any, segments: tuple[Segment, ...]) -> Any:
    """Follow ``segments`` into ``data``; ``LookupError`` names the first segment that fails."""
    current = data
    for i, seg in enumerate(segments):
        where = format_key_path(segments[:i]) or "the top level"
        if isinstance(seg, Key):
            if not isinstance(current, dict):
                raise LookupError(
                    f"{where} is a {type(current).__name__}, not a mapping with key {seg.name!r}"
                )
            if seg.name not in current:
                keys = ", ".join(map(str, list(current)[:10]))
                raise LookupError(f"no key {seg.name!r} under {where} (keys: {keys or 'none'})")
            current = current[seg.name]
        elif isinstance(seg, Index):
            if not isinstance(current, list):
                raise LookupError(f"{where} is a {type(current).__name__}, not a list")
            if not -len(current) <= seg.index < len(current):
                raise LookupError(
                    f"index {seg.index} is out of range under {where} ({len(current)} items)"
                )
            current = current[seg.index]
        else:
            if not isinstance(current, list):
                raise LookupError(
                    f"{where} is a {type(current).__name__}, not a list to select {seg} in"
                )
            found = [
                item
                for item in current
                if isinstance(item, dict) and str(item.get(seg.field)) == seg.value
            ]
            if len(found) != 1:
                what = "no item" if not found else f"{len(found)} items"
                raise LookupError(f"{what} with {seg.field} = {seg.value!r} under {where}")
            current = found[0]
    return current


def load_data_file(path: Path, data: bytes | None = None) -> Any:
    """Load a ``.yaml``/``.yml``/``.json``/``.toml`` file with safe, bounded loaders
    (``data``: its bytes, when the caller has read them).

    Errors are ``ValueError`` with the file and, where the parser knows it, the line: a
    missing or unreadable file, bytes that are not UTF-8 (with their offset), invalid
    syntax, and YAML that aliases would blow up (:mod:`.safeyaml`).
    """
    import yaml  # here: key paths are parsed by commands that read no file

    from . import safeyaml

    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json", ".toml"):
        raise ValueError(
            f"{path}: unsupported file type {suffix!r} (expected .yaml, .yml, .json or .toml)"
        )
    text = read_text(path) if data is None else decode_text(data, path)
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix == ".toml":
            return tomllib.loads(text)
        return safeyaml.load(text, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{path}{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ValueError(f"{path}: values are nested too deeply to read") from None
