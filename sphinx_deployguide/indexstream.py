"""Read only the charts a model uses from a Helm index, from the YAML parser's events.

The real jupyterhub index is 1.7 MB of 1,775 entries; the facts of a binderhub model need
697 of them, three fields each. Building Python objects for the whole document is most of
the time of ``yaml.load`` (~0.3 s with libyaml); the parser's events alone take a fifth of
that. :func:`index_document` walks the events once, builds the values of the wanted
charts' entries exactly as ``yaml.load`` with the index loader would (plain ``~``/``null``
/empty scalars are None, every other scalar a string), and skips the rest without building
anything. The whole document is still parsed, so a syntax error anywhere is reported.

Helm writes one chart's entries after another, so once the wanted charts are built the
rest of the document would only be skipped. When ``data`` (the document's bytes) is given
and the document is a plain index, the walk stops there: libyaml's C parser checks the
syntax of the whole document first (``raw_parse``, a few milliseconds, no Python objects),
and the bytes show that nothing later can change the result: no tag, anchor, alias or
complex key starts a node anywhere, no flow mapping, no second document, and each wanted
chart key (and ``entries``) is written once. Otherwise the walk goes on to the end.

Anything an index does not normally hold (a tag, an anchor or alias, a key that is not a
scalar, a second document, deep nesting) raises :class:`Unusual`: the caller then loads the
document the general way, which is where such constructs are handled (or refused). Aliases
are never expanded here.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Collection
from typing import Any

from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

#: Plain scalars the index loader reads as None (YAML 1.1's null, the only implicit type).
NULLS = frozenset({"~", "null", "Null", "NULL", ""})
#: Collections nested deeper than this are left to the general loader.
MAX_DEPTH = 64
_STARTS = (MappingStartEvent, SequenceStartEvent)
_ENDS = (MappingEndEvent, SequenceEndEvent)


class Unusual(Exception):
    """The document holds something only the general loader handles."""


class _Done(Exception):
    """Every wanted chart is built and nothing later can change them (see the module doc)."""

    def __init__(self, document: dict[Any, Any]) -> None:
        self.document = document


def index_document(
    loader: Any,
    charts: Collection[str] | None,
    *,
    data: bytes | None = None,
    on_read: Callable[[dict[Any, Any]], None] | None = None,
) -> Any:
    """The document ``loader`` (a PyYAML loader over the index) holds, with ``entries``
    keeping only ``charts`` (all when None). Raises :class:`yaml.YAMLError` for invalid
    YAML, :class:`Unusual` for what must be loaded the general way. ``data``: the bytes the
    loader reads, to stop once the wanted charts are built when that gives the same; then
    ``on_read`` is called with the document so far (the wanted charts' entries) before the
    rest of it is checked, for work that may start on them (the document returned, or the
    error raised, is what counts)."""
    try:
        return _document(loader.get_event, charts, _Early.of(data, charts, on_read))
    except _Done as done:
        return done.document


def _document(
    get: Callable[[], Event], charts: Collection[str] | None, early: _Early | None
) -> Any:
    if type(get()) is not StreamStartEvent:  # pragma: no cover - the parser always starts so
        raise Unusual("no stream start")
    event = get()
    if type(event) is StreamEndEvent:
        return None  # an empty stream: what yaml.load returns for it
    if type(event) is not DocumentStartEvent:  # pragma: no cover
        raise Unusual("no document start")
    event = get()
    if type(event) is MappingStartEvent:
        _check(event)
        document = _top_level(get, charts, early if not event.flow_style else None)
    else:
        document = _build(get, event, 0)
    if type(get()) is not DocumentEndEvent:  # pragma: no cover
        raise Unusual("no document end")
    if type(get()) is not StreamEndEvent:
        raise Unusual("a second document")  # yaml.load refuses it, with its own message
    return document


# (types-PyYAML declares ``anchor``, ``tag``, ``value`` and ``style`` on Event's subclasses,
# not on Event: the events below are told apart by ``type() is``, which mypy does not narrow,
# hence the attr-defined ignores.)
def _check(event: Event) -> None:
    if event.anchor is not None or event.tag is not None:  # type: ignore[attr-defined]
        raise Unusual("a tag or an anchor")


def _key(event: Event) -> str | None:
    if type(event) is not ScalarEvent:
        raise Unusual("a key that is not a scalar")
    _check(event)
    if event.implicit[0] and event.value in NULLS:
        return None
    return event.value


def _top_level(
    get: Callable[[], Event], charts: Collection[str] | None, early: _Early | None
) -> dict[Any, Any]:
    document: dict[Any, Any] = {}
    while type(event := get()) is not MappingEndEvent:
        key = _key(event)
        value_event = get()
        if key == "entries" and type(value_event) is MappingStartEvent:
            _check(value_event)
            plain = early and not value_event.flow_style and early.written_once(event, "entries")
            document[key] = _entries(get, charts, early if plain else None, document)
        else:
            document[key] = _build(get, value_event, 1)
    return document


def _entries(
    get: Callable[[], Event],
    charts: Collection[str] | None,
    early: _Early | None,
    document: dict[Any, Any],
) -> dict[Any, Any]:
    entries: dict[Any, Any] = {}
    wanted = set(charts or ())
    while type(event := get()) is not MappingEndEvent:
        chart = _key(event)
        value_event = get()
        if charts is None or str(chart) in charts:
            entries[chart] = _build(get, value_event, 2)
            if early is not None and early.written_once(event, str(chart)):
                wanted.discard(str(chart))
                if not wanted:
                    document["entries"] = entries
                    if early.on_read is not None:
                        early.on_read(document)
                    if early.valid():
                        raise _Done(document)
        else:
            _skip(get, value_event)
    return entries


#: What could start a tag, an anchor, an alias or a complex key (only where a node starts).
_MARKERS = (b"!", b"&", b"*", b"?")
_MARKERS_RE = re.compile(rb"[!&*?]")
#: What may stand (after blanks) before a node's start.
_NODE_STARTS = frozenset(b"\n:-[,?")


class _Early:
    """Whether a walk may stop once the wanted charts are built (see the module doc)."""

    def __init__(self, data: bytes, on_read: Callable[[dict[Any, Any]], None] | None) -> None:
        self.data = data
        self.on_read = on_read
        self._valid: bool | None = None

    @functools.cached_property
    def text(self) -> bytes:
        """The document after a line break, so that every line starts after one."""
        return b"\n" + self.data

    @classmethod
    def of(
        cls,
        data: bytes | None,
        charts: Collection[str] | None,
        on_read: Callable[[dict[Any, Any]], None] | None = None,
    ) -> _Early | None:
        if data is None or charts is None or not charts or b"{" in data:
            return None  # all charts, or flow mappings somewhere: walk to the end
        if b"\n---" in data or b"\n..." in data or data.startswith((b"---", b"...")):
            return None  # document markers: perhaps a second document
        if any(marker in data for marker in _MARKERS):  # (most indexes have none)
            for found in _MARKERS_RE.finditer(data):
                start = found.start()
                while start and data[start - 1] in b" \t":
                    start -= 1
                if not start or data[start - 1] in _NODE_STARTS:
                    return None  # perhaps a tag, an anchor, an alias or a complex key
        return cls(data, on_read)

    def written_once(self, key: Event, name: str) -> bool:
        """Whether mapping key ``key`` (a plain scalar ``name``) is written once at its
        column, in any of the forms a block mapping key can take."""
        mark: Any = key.start_mark
        if key.style not in (None, "") or not isinstance(mark.column, int):  # type: ignore[attr-defined]
            return False
        line = b"\n" + b" " * mark.column
        if line + b'"' in self.text:
            return False  # a double-quoted key there could spell it with escapes
        raw = re.escape(name.encode("utf-8"))
        pattern = re.compile(re.escape(line) + rb"(?:" + raw + rb"|'" + raw + rb"')[ \t]*:")
        return len(pattern.findall(self.text)) == 1

    def valid(self) -> bool:
        """libyaml's C parser reads the whole document without an error (it raises the
        same located YAMLError as the walk would)."""
        if self._valid is None:
            try:
                from yaml._yaml import CParser
            except ImportError:  # PyYAML without libyaml: walk to the end
                self._valid = False
            else:
                CParser(_Reader(self.data)).raw_parse()
                self._valid = True
        return self._valid


class _Reader:
    """The document as a file for libyaml: parsing bytes, it holds the GIL until the end
    (13 ms for the real index), while between two reads from a file the threads waiting
    for it may run (the git work started on the entries already read). Named as bytes
    are, so that an error says the same."""

    name = "<byte string>"

    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)


def _build(get: Callable[[], Event], event: Event, depth: int) -> Any:
    """The value starting with ``event``, as the index loader constructs it."""
    kind = type(event)
    if kind is ScalarEvent:
        _check(event)
        if event.implicit[0] and event.value in NULLS:  # type: ignore[attr-defined]
            return None
        return event.value  # type: ignore[attr-defined]
    if kind is AliasEvent:
        raise Unusual("an alias")
    _check(event)
    if depth > MAX_DEPTH:
        raise Unusual("deep nesting")
    if kind is SequenceStartEvent:
        items = []
        while type(item := get()) is not SequenceEndEvent:
            items.append(_build(get, item, depth + 1))
        return items
    mapping: dict[Any, Any] = {}
    while type(key_event := get()) is not MappingEndEvent:
        key = _key(key_event)
        mapping[key] = _build(get, get(), depth + 1)
    return mapping


_SEQUENCE, _AT_KEY, _AT_VALUE = -1, 1, 0


def _skip(get: Callable[[], Event], event: Event) -> None:
    """Consume the value starting with ``event`` without building it, still refusing what
    the general loader would treat differently (it builds every part of a document)."""
    kind = type(event)
    if kind is AliasEvent:
        raise Unusual("an alias")
    _check(event)
    if kind is ScalarEvent:
        return
    # One state per open collection: a sequence, or a mapping expecting a key or a value.
    open_ = [_AT_KEY if kind is MappingStartEvent else _SEQUENCE]
    while open_:
        event = get()
        kind = type(event)
        if kind in _ENDS:
            open_.pop()
            if open_ and open_[-1] == _AT_VALUE:  # that collection was a value
                open_[-1] = _AT_KEY
            continue
        if kind is AliasEvent:
            raise Unusual("an alias")
        if event.anchor is not None or event.tag is not None:  # type: ignore[attr-defined]
            raise Unusual("a tag or an anchor")
        state = open_[-1]
        if kind is ScalarEvent:
            if state != _SEQUENCE:
                open_[-1] = _AT_VALUE if state == _AT_KEY else _AT_KEY
        elif state == _AT_KEY:
            raise Unusual("a key that is not a scalar")
        elif len(open_) >= MAX_DEPTH:
            raise Unusual("deep nesting")
        else:
            open_.append(_AT_KEY if kind is MappingStartEvent else _SEQUENCE)
