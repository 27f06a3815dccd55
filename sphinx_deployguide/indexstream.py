"""Read only the charts a model uses from a Helm index, from the YAML parser's events.

The real jupyterhub index is 1.7 MB of 1,775 entries; the facts of a binderhub model need
697 of them, three fields each. Building Python objects for the whole document is most of
the time of ``yaml.load`` (~0.3 s with libyaml); the parser's events alone take a fifth of
that. :func:`index_document` walks the events once, builds the values of the wanted
charts' entries exactly as ``yaml.load`` with the index loader would (plain ``~``/``null``
/empty scalars are None, every other scalar a string), and skips the rest without building
anything. The whole document is still parsed, so a syntax error anywhere is reported.

Anything an index does not normally hold (a tag, an anchor or alias, a key that is not a
scalar, a second document, deep nesting) raises :class:`Unusual`: the caller then loads the
document the general way, which is where such constructs are handled (or refused). Aliases
are never expanded here.
"""

from __future__ import annotations

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


def index_document(loader: Any, charts: Collection[str] | None) -> Any:
    """The document ``loader`` (a PyYAML loader over the index) holds, with ``entries``
    keeping only ``charts`` (all when None). Raises :class:`yaml.YAMLError` for invalid
    YAML, :class:`Unusual` for what must be loaded the general way."""
    get: Callable[[], Event] = loader.get_event
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
        document = _top_level(get, charts)
    else:
        document = _build(get, event, 0)
    if type(get()) is not DocumentEndEvent:  # pragma: no cover
        raise Unusual("no document end")
    if type(get()) is not StreamEndEvent:
        raise Unusual("a second document")  # yaml.load refuses it, with its own message
    return document


def _check(event: Event) -> None:
    if event.anchor is not None or event.tag is not None:  # type: ignore[attr-defined]
        raise Unusual("a tag or an anchor")


def _key(event: Event) -> str | None:
    if type(event) is not ScalarEvent:
        raise Unusual("a key that is not a scalar")
    _check(event)
    if event.implicit[0] and event.value in NULLS:  # type: ignore[attr-defined]
        return None
    return event.value  # type: ignore[attr-defined]


def _top_level(get: Callable[[], Event], charts: Collection[str] | None) -> dict[Any, Any]:
    document: dict[Any, Any] = {}
    while type(event := get()) is not MappingEndEvent:
        key = _key(event)
        value_event = get()
        if key == "entries" and type(value_event) is MappingStartEvent:
            _check(value_event)
            document[key] = _entries(get, charts)
        else:
            document[key] = _build(get, value_event, 1)
    return document


def _entries(get: Callable[[], Event], charts: Collection[str] | None) -> dict[Any, Any]:
    entries: dict[Any, Any] = {}
    while type(event := get()) is not MappingEndEvent:
        chart = _key(event)
        value_event = get()
        if charts is None or str(chart) in charts:
            entries[chart] = _build(get, value_event, 2)
        else:
            _skip(get, value_event)
    return entries


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
