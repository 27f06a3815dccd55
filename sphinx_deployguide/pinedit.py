"""Byte-preserving edits of a version pin in a YAML file.

A bump must change the version string and nothing else: reviewers read the diff, and a
reformatted ``Chart.yaml`` (lost comments, requoted strings, reordered keys, CRLF turned
into LF) hides the one line that matters. So the file is never dumped again: PyYAML's
composer gives the exact character offsets of the pinned scalar (quotes included), the
new value is spliced in with the same quoting style, and the result is parsed again to
confirm that the pin now holds the target.

The pure part (:func:`locate_pin`, :func:`replace_pin`) works on bytes; the I/O adapters
(:func:`read_pin`, :func:`edit_pin_file`, :func:`atomic_write_bytes`) read and write files.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from .errors import DeployGuideError
from .keypath import Index, Key, Match, Segment, parse_key_path

STR_TAG = "tag:yaml.org,2002:str"
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+\-/]*\Z")


class PinEditError(DeployGuideError):
    """The pin cannot be located or edited safely (names the file and the key)."""


@dataclass(frozen=True)
class PinLocation:
    """Where a pinned scalar sits in the text: character offsets of the whole scalar."""

    start: int  # character offset of the scalar's first character (its opening quote if quoted)
    end: int  # character offset just past the scalar (past the closing quote if quoted)
    line: int  # 1-based
    column: int  # 1-based
    style: str | None  # None (plain), "'" or '"'
    value: str  # the scalar's value (unquoted, unescaped)
    text: str  # the scalar exactly as written in the file


# --- composing with alias/anchor awareness ---------------------------------------------


class _AliasNode(Node):
    """An alias (``*name``) in the composed tree, so a pin reached through one is refused."""

    id = "alias"

    def __init__(self, target: Node, anchor: str, start_mark: Any, end_mark: Any) -> None:
        super().__init__(target.tag, target.value, start_mark, end_mark)
        self.target = target
        self.anchor = anchor


class _Loader(Reader, Scanner, Parser, Composer, SafeConstructor, Resolver):
    """Pure-Python safe loader (exact character marks) that keeps anchors and aliases visible."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        node = super().compose_node(parent, index)
        if node is None:  # (PyYAML's composer always gives a node; its stubs allow None)
            return None
        if isinstance(event, AliasEvent):
            return _AliasNode(node, event.anchor or "", event.start_mark, event.end_mark)
        # a mark of our own on PyYAML's node (its anchor, read back with getattr)
        node.deployguide_anchor = event.anchor  # type: ignore[attr-defined]
        return node


def _compose(text: str, file: str) -> Node:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if "single document" in (exc.context or "") + (exc.problem or ""):
            problem = "the file holds several YAML documents; a pin file must hold exactly one"
        raise PinEditError(f"cannot parse YAML: {problem}", file=file, line=line) from exc
    except yaml.YAMLError as exc:
        raise PinEditError(f"cannot parse YAML: {exc}", file=file) from exc
    except RecursionError:
        raise PinEditError("cannot parse YAML: values are nested too deeply", file=file) from None
    finally:
        loader.dispose()
    if node is None:
        raise PinEditError("the file holds no YAML document", file=file)
    return node


# --- key paths -------------------------------------------------------------------------


def parse_pin_key(key: str, file: str) -> tuple[Segment, ...]:
    """Parse a key path (``dependencies[name=binderhub].version``) with the shared parser."""
    try:
        return tuple(parse_key_path(key))
    except ValueError as exc:
        raise PinEditError(f"invalid key path: {exc}", file=file, key=key) from exc


def _segment(seg: Any) -> tuple[str, Any, Any]:
    """Normalise a key-path segment to ("key", name) / ("index", i) / ("match", field, value)."""
    if isinstance(seg, Key):
        return ("key", seg.name, None)
    if isinstance(seg, Index):
        return ("index", seg.index, None)
    if isinstance(seg, Match):
        return ("match", seg.field, seg.value)
    raise TypeError(f"unsupported key-path segment {seg!r}")


def _describe(node: Node) -> str:
    if isinstance(node, _AliasNode):
        return f"an alias (*{node.anchor})"
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"the scalar {node.value!r}"


def _only(found: list[Node], missing: str, several: str, *, file: str, line: int, key: str) -> Node:
    """The one node a key or a ``[field=value]`` match selects; a second one is named by its line."""
    if not found:
        raise PinEditError(missing, file=file, line=line, key=key)
    if len(found) > 1:
        raise PinEditError(several, file=file, line=found[1].start_mark.line + 1, key=key)
    return found[0]


def _walk(root: Node, segments: tuple[Segment, ...], file: str, key: str) -> Node:
    node = root
    trail = "the document"
    for raw in segments:
        kind, a, b = _segment(raw)
        line = node.start_mark.line + 1
        if isinstance(node, _AliasNode):
            raise PinEditError(
                f"{trail} is an alias (*{node.anchor}); editing through an alias would change "
                "every place that uses the anchor, so it is refused",
                file=file,
                line=line,
                key=key,
            )
        if kind == "key":
            if not isinstance(node, MappingNode):
                raise PinEditError(
                    f"expected a mapping with key {a!r} at {trail}, found {_describe(node)}",
                    file=file,
                    line=line,
                    key=key,
                )
            found = [v for k, v in node.value if isinstance(k, ScalarNode) and k.value == a]
            merge = any(isinstance(k, ScalarNode) and k.value == "<<" for k, _ in node.value)
            hint = " (merge keys `<<` are not followed)" if merge else ""
            node = _only(
                found,
                f"key {a!r} not found in {trail}{hint}",
                f"key {a!r} appears {len(found)} times in {trail}",
                file=file,
                line=line,
                key=key,
            )
            trail = f"{a!r}" if trail == "the document" else f"{trail}.{a}"
        elif not isinstance(node, SequenceNode):  # an index or a match: both need a list
            raise PinEditError(
                f"expected a list at {trail}, found {_describe(node)}",
                file=file,
                line=line,
                key=key,
            )
        elif kind == "index":
            if not -len(node.value) <= a < len(node.value):
                raise PinEditError(
                    f"index [{a}] is out of range: {trail} has {len(node.value)} item(s)",
                    file=file,
                    line=line,
                    key=key,
                )
            node = node.value[a]
            trail = f"{trail}[{a}]"
        else:  # match
            matches = []
            for item in node.value:
                target = item.target if isinstance(item, _AliasNode) else item
                if not isinstance(target, MappingNode):
                    continue
                for k, v in target.value:
                    v = v.target if isinstance(v, _AliasNode) else v
                    if (
                        isinstance(k, ScalarNode)
                        and k.value == a
                        and isinstance(v, ScalarNode)
                        and v.value == b
                    ):
                        matches.append(item)
                        break
            node = _only(
                matches,
                f"no item with {a}={b} in {trail}",
                f"{len(matches)} items with {a}={b} in {trail}; expected one",
                file=file,
                line=line,
                key=key,
            )
            trail = f"{trail}[{a}={b}]"
    return node


# --- locating and replacing (pure) ------------------------------------------------------


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PinEditError(
            f"not UTF-8 text (byte {exc.start}): expected a YAML file", file=file
        ) from exc


def locate_pin(text: str, segments: tuple[Segment, ...], *, file: str, key: str) -> PinLocation:
    """Find the pinned scalar; refuse anything that is not one plain/quoted one-line scalar."""
    node = _walk(_compose(text, file), segments, file, key)
    line = node.start_mark.line + 1
    if isinstance(node, _AliasNode):
        raise PinEditError(
            f"the value is an alias (*{node.anchor}); edit the anchored value instead",
            file=file,
            line=line,
            key=key,
        )
    if not isinstance(node, ScalarNode):
        raise PinEditError(
            f"expected a version string, found {_describe(node)}", file=file, line=line, key=key
        )
    anchor = getattr(node, "deployguide_anchor", None)
    if anchor is not None:
        raise PinEditError(
            f"the value carries an anchor (&{anchor}); changing it would also change every "
            "alias of it, so it is refused",
            file=file,
            line=line,
            key=key,
        )
    if node.style not in (None, "'", '"'):
        raise PinEditError(
            "the value is a block scalar (| or >); expected a one-line string",
            file=file,
            line=line,
            key=key,
        )
    if node.style is None and node.value == "":
        raise PinEditError(
            "the pin has no value (null); write the current version there first",
            file=file,
            line=line,
            key=key,
        )
    start, end = node.start_mark.index, node.end_mark.index
    written = text[start:end]
    if written.startswith("!"):  # an explicit tag: skip "!tag" and the blanks after it
        match = re.match(r"!\S*[ \t]+", written)
        if match is None:
            raise PinEditError("cannot find the value after its tag", file=file, line=line, key=key)
        if node.tag != STR_TAG:
            raise PinEditError(
                f"the value is tagged {node.tag}; expected a string", file=file, line=line, key=key
            )
        start += match.end()
        written = text[start:end]
    if "\n" in written or "\r" in written:
        raise PinEditError(
            "the value spans several lines; expected a one-line string",
            file=file,
            line=line,
            key=key,
        )
    return PinLocation(
        start=start,
        end=end,
        line=line,
        column=node.start_mark.column + 1,
        style=node.style,
        value=node.value,
        text=written,
    )


def _plain_is_string(value: str) -> bool:
    return bool(_PLAIN_SAFE.match(value)) and (
        Resolver().resolve(ScalarNode, value, (True, False)) == STR_TAG
    )


def _double_quote(value: str) -> str:
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable() and char not in "\u2028\u2029\x85":
            out.append(char)
        else:
            out.append(f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def format_scalar(value: str, style: str | None) -> str:
    """``value`` in the old scalar's style; a plain one that would not stay a string is quoted."""
    if style == "'" and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    if style is None and _plain_is_string(value):
        return value
    return _double_quote(value)


def replace_pin(
    data: bytes, key: str, new_value: str, *, file: str, segments: tuple[Segment, ...] | None = None
) -> tuple[bytes, PinLocation]:
    """Return ``data`` with only the pinned scalar replaced, and where the old one was.

    Every byte outside the scalar is kept (BOM, CRLF, comments, quotes elsewhere).
    The result is parsed again and must hold ``new_value`` as a string at ``key``.
    """
    if segments is None:
        segments = parse_pin_key(key, file)
    text = _decode(data, file)
    loc = locate_pin(text, segments, file=file, key=key)
    new_text = text[: loc.start] + format_scalar(new_value, loc.style) + text[loc.end :]
    check = locate_pin(new_text, segments, file=file, key=key)
    resolved = Resolver().resolve(ScalarNode, check.value, (check.style is None, False))
    if check.value != new_value or resolved != STR_TAG:
        raise PinEditError(  # a bug in the splice, never a user mistake: refuse to write it
            f"internal check failed: after the edit the pin reads {check.value!r}, "
            f"expected {new_value!r}",
            file=file,
            line=loc.line,
            key=key,
        )
    return new_text.encode("utf-8"), loc


# --- file adapters ----------------------------------------------------------------------


def _read_pin_file(path: Path, file: str, key: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise PinEditError("pin file not found", file=file, key=key) from exc
    except OSError as exc:
        raise PinEditError(f"cannot read pin file: {exc.strerror}", file=file, key=key) from exc


def read_pin(path: Path, key: str, *, display: str | None = None) -> PinLocation:
    """Read the pin's current value (and where it is) from ``path``."""
    file = display or str(path)
    data = _read_pin_file(path, file, key)
    return locate_pin(_decode(data, file), parse_pin_key(key, file), file=file, key=key)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path``'s content atomically, keeping its mode: temp file + fsync + rename.

    If anything fails before the rename, the original file is untouched and the temp file
    is removed. A symlink is followed (its target is rewritten, the link kept).
    """
    target = Path(os.path.realpath(path))
    mode = stat.S_IMODE(target.stat().st_mode)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".deployguide-tmp", dir=target.parent
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


@dataclass(frozen=True)
class PinEdit:
    """The result of an edit: old and new value, where, and the bytes before/after."""

    file: str
    key: str
    line: int
    old: str
    new: str
    before: bytes
    after: bytes


def plan_pin_edit(path: Path, key: str, new_value: str, *, display: str | None = None) -> PinEdit:
    """Compute the edit without writing (used by --dry-run and before any refusal is decided)."""
    file = display or str(path)
    before = _read_pin_file(path, file, key)
    after, loc = replace_pin(before, key, new_value, file=file)
    return PinEdit(
        file=file, key=key, line=loc.line, old=loc.value, new=new_value, before=before, after=after
    )


def apply_pin_edit(path: Path, edit: PinEdit) -> None:
    """Write a planned edit atomically, then read the file back and confirm the pin."""
    if path.read_bytes() != edit.before:
        raise PinEditError(
            "the file changed while the bump was running; nothing written",
            file=edit.file,
            key=edit.key,
        )
    try:
        atomic_write_bytes(path, edit.after)
    except OSError as exc:
        raise PinEditError(
            f"cannot write the pin file (left unchanged): {exc}", file=edit.file, key=edit.key
        ) from exc
    check = read_pin(path, edit.key, display=edit.file)
    if check.value != edit.new:
        raise PinEditError(
            f"after writing, the pin reads {check.value!r}, expected {edit.new!r}",
            file=edit.file,
            line=check.line,
            key=edit.key,
        )


def edit_pin_file(path: Path, key: str, new_value: str, *, display: str | None = None) -> PinEdit:
    """Set the pin at ``key`` in ``path`` to ``new_value``, changing no other byte."""
    edit = plan_pin_edit(path, key, new_value, display=display)
    if edit.before != edit.after:
        apply_pin_edit(path, edit)
    return edit
