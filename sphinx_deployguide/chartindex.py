"""A Helm chart repository index (``index.yaml``): what the facts read of it, and how.

The facts need four fields per entry (version, created, digest, urls) of the model's charts:
:class:`IndexEntry` and :class:`IndexSnapshot` are that model. :func:`parse_index` reads
them from a body, strictly (a broken index must never look like an empty one), from the
YAML parser's events (:mod:`.indexstream`) so that a large index costs little more than its
bytes. Fetching, caching and the freshness rules are :mod:`.indexcache`; the requests
themselves :mod:`.indexfetch`.

A listed version is not yet an installable one: :func:`~.indexfetch.probe_archive` asks the
index's own host whether the chart archive answers (:func:`archive_url` picks which URL, if
any).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urljoin, urlsplit

from .errors import ChartIndexError

if TYPE_CHECKING:  # imported where YAML is read: a warm run reads none
    import yaml

__all__ = [
    "IndexEntry",
    "IndexSnapshot",
    "archive_url",
    "index_loader",
    "load_document",
    "parse_created",
    "parse_index",
]


def _string_scalar_loader(base: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """A safe loader that keeps plain scalars other than null as strings.

    Helm reads ``version`` and ``created`` into Go strings, so an unquoted ``version: 1.10``
    means ``"1.10"``, not the float ``1.1``, and ``created`` must keep its nanoseconds
    instead of becoming a PyYAML datetime.
    """
    resolvers = {
        first: [(tag, regexp) for tag, regexp in entries if tag == "tag:yaml.org,2002:null"]
        for first, entries in base.yaml_implicit_resolvers.items()
    }
    return type(f"Index{base.__name__}", (base,), {"yaml_implicit_resolvers": resolvers})


@functools.cache
def index_loader() -> type[yaml.SafeLoader]:
    """The index's loader, on libyaml when there (~4x faster on the real index, REFERENCE.md).
    Made on first use: a warm run never imports YAML."""
    import yaml

    return _string_scalar_loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader))


class IndexEntry(NamedTuple):
    """The part of one index entry the facts need (a named tuple: a run reads hundreds of
    them from the cache)."""

    version: str
    created: datetime  # aware, UTC, microsecond precision
    digest: str | None
    urls: tuple[str, ...] = ()  # where the chart archive is, as the index lists it


@dataclass(frozen=True)
class IndexSnapshot:
    """The index as known now, with where it came from and how fresh it is."""

    source: str  # URL (credentials removed) or absolute path
    validator: str | None  # ETag / Last-Modified / "sha256:<hex>"
    fetched_at: datetime  # when the data was last confirmed from the source
    status: str  # "live" | "cached" | "stale"
    entries: dict[str, tuple[IndexEntry, ...]]  # chart name -> entries, in index order
    error: str | None = None  # why it is stale
    redirected_to: str | None = None  # where the URL redirected to (credentials redacted)
    #: ``Cache-Control: max-age`` of the index response (seconds): how long a CDN or client
    #: may keep serving an older index, which adds to the delay an operator sees.
    max_age: int | None = None
    #: sha256 of the body the entries were read from (None: entries of another making,
    #: e.g. :meth:`as_of`): what answers worked out from the entries may be kept under.
    digest: str | None = None

    @functools.cached_property
    def _by_version(self) -> dict[tuple[str, str], IndexEntry]:
        table: dict[tuple[str, str], IndexEntry] = {}
        for chart, entries in self.entries.items():
            for entry in entries:
                table.setdefault((chart, entry.version), entry)
        return table

    def find(self, chart: str, version: str) -> IndexEntry | None:
        """The entry of ``chart`` at ``version`` (the first one if re-published), or None."""
        return self._by_version.get((chart, version))

    def as_of(self, moment: datetime) -> IndexSnapshot:
        """The index as it was at ``moment``: without the entries created after it (a
        failure is judged on what was published when it happened)."""
        entries = {
            chart: tuple(e for e in items if e.created <= moment)
            for chart, items in self.entries.items()
        }
        return dataclasses.replace(self, entries=entries, digest=None)


# --------------------------------------------------------------------------- parsing (pure)

_CREATED_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})"
)


def parse_created(value: object) -> datetime:
    """RFC 3339 (``2024-08-08T18:05:34.413844784Z``) -> aware UTC datetime.

    Go writes nanoseconds, Python keeps microseconds: the fraction is truncated (never
    rounded, which could carry into the next second). Raises ValueError otherwise.
    """
    if isinstance(value, datetime):  # tolerate callers that used a datetime-resolving loader
        if value.tzinfo is None:
            raise ValueError(f"timestamp without a time zone: {value.isoformat()}")
        return value.astimezone(timezone.utc)
    if not isinstance(value, str):
        got = "nothing" if value is None else f"a {type(value).__name__}"
        raise ValueError(f"expected an RFC 3339 timestamp string, got {got}")
    match = _CREATED_RE.fullmatch(value.strip())
    if not match:
        raise ValueError(f"expected an RFC 3339 timestamp, got {value!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    if zone in ("Z", "z"):
        tz = timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        if offset >= timedelta(hours=24):
            raise ValueError(f"time zone offset out of range: {value!r}")
        tz = timezone(sign * offset)
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz
        )
    except ValueError as exc:
        raise ValueError(f"invalid timestamp {value!r}: {exc}") from None
    return moment.astimezone(timezone.utc)


def load_document(
    data: bytes,
    charts: Collection[str] | None = None,
    *,
    on_read: Callable[[dict[Any, Any]], None] | None = None,
) -> Any:
    """The index document as the index loader reads it, with the entries of ``charts``
    only (all when None): streamed from the parser's events (:mod:`.indexstream`, which
    never expands an alias, and may stop after the wanted charts: top-level keys after
    ``entries`` are then not read; ``on_read`` is then called before the rest is checked),
    or, for what only the general loader handles (tags, anchors, aliases, deep nesting),
    loaded whole by the bounded loader (:mod:`.safeyaml`)."""
    from . import safeyaml
    from .indexstream import Unusual, index_document

    loader = index_loader()(data)
    try:
        return index_document(
            loader, charts, data=data if isinstance(data, bytes) else None, on_read=on_read
        )
    except Unusual:
        pass
    finally:
        loader.dispose()
    doc = safeyaml.load(data, index_loader())
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if charts is not None and isinstance(entries, dict):
        doc["entries"] = {chart: items for chart, items in entries.items() if str(chart) in charts}
    return doc


def parse_index(
    data: bytes,
    source: str,
    *,
    charts: Collection[str] | None = None,
    on_entries: Callable[[dict[str, tuple[IndexEntry, ...]]], None] | None = None,
) -> dict[str, tuple[IndexEntry, ...]]:
    """Parse an ``index.yaml`` body into chart name -> entries (in index order).

    Only the entries of ``charts`` (all when None) are read and checked: the facts of a
    model need a few charts of an index that may list many. Every problem is a
    ChartIndexError naming ``source``, the key and what was expected: a broken index must
    never look like an empty one. ``on_entries``: called with the entries as soon as they
    are read, before the rest of the document is checked (when the parse stops early), so
    that work on them may start; what is returned, or raised, is what counts.
    """
    import yaml

    from . import safeyaml

    read: list[tuple[Any, dict[str, tuple[IndexEntry, ...]]]] = []

    def on_read(doc: dict[Any, Any]) -> None:
        try:
            read.append((doc["entries"], _chart_entries(doc, source)))
        except ChartIndexError:
            return  # reported once the whole document is read, in the usual order
        if on_entries is not None:
            on_entries(read[-1][1])

    try:
        doc = load_document(data, charts, on_read=on_read if on_entries else None)
    except yaml.YAMLError as exc:
        problem, line = safeyaml.problem_of(exc)
        raise ChartIndexError(
            f"the chart index is not valid YAML: {problem}", file=source, line=line
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ChartIndexError(
            f"the chart index is not UTF-8 YAML text: {exc}", file=source
        ) from None
    if read and isinstance(doc, Mapping) and doc.get("entries") is read[-1][0]:
        return read[-1][1]  # read already
    return _chart_entries(doc, source)


def _chart_entries(doc: Any, source: str) -> dict[str, tuple[IndexEntry, ...]]:
    """The entries of the index document ``doc``, checked (see :func:`parse_index`)."""
    if not isinstance(doc, Mapping):
        got = "an empty document" if doc is None else f"a {_kind(doc)}"
        raise ChartIndexError(
            f"expected a Helm index (a mapping with 'apiVersion' and 'entries'), got {got}",
            file=source,
        )
    if "entries" not in doc:
        raise ChartIndexError(
            "expected a Helm index: the top-level key 'entries' is missing", file=source
        )
    entries = doc["entries"]
    if not isinstance(entries, Mapping):
        raise ChartIndexError(
            f"expected a mapping of chart name -> list of versions, got {_describe_value(entries)}",
            file=source,
            key="entries",
        )

    result: dict[str, tuple[IndexEntry, ...]] = {}
    for chart, items in entries.items():
        key = f"entries.{chart}"
        if not isinstance(items, list):
            raise ChartIndexError(
                f"expected a list of chart versions, got {_describe_value(items)}",
                file=source,
                key=key,
            )
        result[str(chart)] = tuple(
            _parse_entry(item, source, f"{key}[{i}]") for i, item in enumerate(items)
        )
    return result


def _parse_entry(item: Any, source: str, key: str) -> IndexEntry:
    if not isinstance(item, Mapping):
        raise ChartIndexError(
            f"expected a mapping (one chart version), got {_describe_value(item)}",
            file=source,
            key=key,
        )
    version = item.get("version")
    if not isinstance(version, str) or not version:
        raise ChartIndexError(
            f"expected a non-empty string, got {_describe_value(version)}",
            file=source,
            key=f"{key}.version",
        )
    created_raw = item.get("created")
    try:
        created = parse_created(created_raw)
    except ValueError as exc:
        raise ChartIndexError(
            f"version {version}: {exc}",
            file=source,
            key=f"{key}.created",
        ) from None
    digest = item.get("digest")
    if digest is not None and not isinstance(digest, str):
        raise ChartIndexError(
            f"version {version}: expected a string, got {_describe_value(digest)}",
            file=source,
            key=f"{key}.digest",
        )
    urls = item.get("urls")
    if urls is None:
        urls = []
    if not isinstance(urls, list) or not all(isinstance(u, str) and u for u in urls):
        raise ChartIndexError(
            f"version {version}: expected a list of archive URLs, got {_describe_value(urls)}",
            file=source,
            key=f"{key}.urls",
        )
    return IndexEntry(version=version, created=created, digest=digest or None, urls=tuple(urls))


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _describe_value(value: Any) -> str:
    if value is None:
        return "nothing (null or missing)"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    return f"a {_kind(value)}"


# --------------------------------------------------------------------------- chart archives


def archive_url(index_url: str, entry: IndexEntry) -> str | None:
    """The archive of ``entry`` worth probing: its first URL, resolved against the index URL,
    if the index is http(s) and the archive is on the index's own host (other hosts are
    not ours to probe, nor to send a token to); else None."""
    base = urlsplit(index_url)
    if base.scheme.lower() not in ("http", "https") or not entry.urls:
        return None
    url = urljoin(index_url, entry.urls[0])
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return None
    if (parts.hostname, parts.port) != (base.hostname, base.port):
        return None
    return url
