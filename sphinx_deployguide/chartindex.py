"""Fetch, parse and cache a Helm chart repository index (``index.yaml``).

The real jupyterhub index is 1.7 MB and takes ~0.4 s to parse even with libyaml, while the
facts need only four fields per entry (version, created, digest, urls). So the parsed subset
is cached as compact JSON under ``cache_dir/index/<slug>.json``, keyed by the response
validator (ETag / Last-Modified, or the body's sha256), with the response's
``Cache-Control: max-age``, and a warm run parses no YAML.

A listed version is not yet an installable one: :func:`probe_archive` asks the index's own
host whether the chart archive answers (:func:`archive_url` picks which URL, if any).

Freshness rules of :func:`load_index` (``source`` is an http(s) URL):

* within ``ttl`` seconds of the last confirmation (and not ``refresh``): the cache is served
  with status ``"cached"`` and no request is made;
* otherwise a conditional GET; ``304`` or an unchanged body -> the cache, status ``"live"``;
  ``200`` -> parse, rewrite the cache, status ``"live"``;
* a network failure (connection error, timeout, truncated body, 5xx/429 after the retries):
  with ``offline="stale"`` and a cache -> the cache with status ``"stale"`` and ``error`` set;
  otherwise :class:`NetworkError`;
* a response that is wrong (4xx, too large, not YAML, not an index) -> :class:`ChartIndexError`,
  whatever the policy: serving an old copy would hide a real problem.

A local file is read, hashed and served with status ``"live"`` on every call (the cache only
saves the parse). Only the entries of the model's charts are read (from the YAML parser's
events, :mod:`.indexstream`) and cached, so a large index costs little more than its bytes.
The requests themselves are in :mod:`.indexfetch`, imported only when one is made: a warm
run reads this cache and imports neither YAML nor the HTTP client.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urljoin, urlsplit

from . import __version__
from .errors import ChartIndexError, NetworkError
from .factcache import cache_file_name, write_file_atomically
from .redact import redact_url

if TYPE_CHECKING:  # imported where a request is made or YAML is read: a warm run does neither
    import requests

CACHE_FORMAT = 3


def _string_scalar_loader(base: type) -> type:
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
def index_loader() -> type:
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


def parse_created(value: str) -> datetime:
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


def load_document(data: bytes, charts: Collection[str] | None = None) -> Any:
    """The index document as the index loader reads it, with the entries of ``charts``
    only (all when None): streamed from the parser's events (:mod:`.indexstream`, which
    never expands an alias, and may stop after the wanted charts: top-level keys after
    ``entries`` are then not read), or, for what only the general loader handles (tags,
    anchors, aliases, deep nesting), loaded whole by the bounded loader (:mod:`.safeyaml`)."""
    from . import safeyaml
    from .indexstream import Unusual, index_document

    loader = index_loader()(data)
    try:
        return index_document(loader, charts, data=data if isinstance(data, bytes) else None)
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
    data: bytes, source: str, *, charts: Collection[str] | None = None
) -> dict[str, tuple[IndexEntry, ...]]:
    """Parse an ``index.yaml`` body into chart name -> entries (in index order).

    Only the entries of ``charts`` (all when None) are read and checked: the facts of a
    model need a few charts of an index that may list many. Every problem is a
    ChartIndexError naming ``source``, the key and what was expected: a broken index must
    never look like an empty one.
    """
    import yaml

    from . import safeyaml

    try:
        doc = load_document(data, charts)
    except yaml.YAMLError as exc:
        problem, line = safeyaml.problem_of(exc)
        raise ChartIndexError(
            f"the chart index is not valid YAML: {problem}", file=source, line=line
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ChartIndexError(
            f"the chart index is not UTF-8 YAML text: {exc}", file=source
        ) from None

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


# --------------------------------------------------------------------------- cache (thin I/O)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _log() -> Any:
    """This module's logger (``logging`` imported when there is something to say)."""
    import logging

    return logging.getLogger(__name__)


def cache_path(cache_dir: Path, source: str) -> Path:
    """``cache_dir/index/<slug>.json``: a readable prefix + a checksum (the file names its
    source inside, so two sources never share a cache)."""
    return Path(cache_dir) / "index" / cache_file_name(source)


@dataclass(frozen=True)
class _Cached:
    validator: str | None
    etag: str | None
    last_modified: str | None
    sha256: str
    fetched_at: datetime
    entries: dict[str, tuple[IndexEntry, ...]]
    redirected_to: str | None = None
    max_age: int | None = None
    charts: tuple[str, ...] | None = None  # the charts read from the body (None: all)


def _aware(text: str) -> datetime:
    """A cached timestamp; a naive one (a hand-edited or foreign cache) is unreadable."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {text!r}")
    return moment


def _read_cache(
    path: Path, source: str, charts: Collection[str] | None = None
) -> tuple[_Cached | None, str | None]:
    """The cached copy, or (None, why it is unusable); a missing file, or one made for
    other charts (then the body is fetched and read again), is not a problem."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot read the cache {path}: {exc.strerror or exc}"
    try:
        doc = json.loads(raw)
        if doc.get("format") != CACHE_FORMAT or doc.get("source") != source:
            return None, f"the cache {path} is for another format or source"
        read = doc["charts"]
        if read is not None and (charts is None or not set(charts) <= set(read)):
            return None, None
        entries = {
            chart: tuple(IndexEntry(v, _aware(c), d, tuple(u)) for v, c, d, u in items)
            for chart, items in doc["entries"].items()
        }
        return (
            _Cached(
                validator=doc.get("validator"),
                etag=doc.get("etag"),
                last_modified=doc.get("last_modified"),
                sha256=doc["sha256"],
                fetched_at=_aware(doc["fetched_at"]),
                entries=entries,
                redirected_to=doc.get("redirected_to"),
                max_age=doc.get("max_age"),
                charts=None if read is None else tuple(read),
            ),
            None,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        _log().warning("ignoring the unreadable index cache %s: %s", path, exc)
        return None, f"the cache {path} is unreadable ({type(exc).__name__})"


def _write_cache(path: Path, source: str, cached: _Cached) -> None:
    """Write atomically (temp file + os.replace): parallel builds never see half a file."""
    doc = {
        "format": CACHE_FORMAT,
        "source": source,
        "validator": cached.validator,
        "etag": cached.etag,
        "last_modified": cached.last_modified,
        "sha256": cached.sha256,
        "fetched_at": cached.fetched_at.isoformat(),
        "redirected_to": cached.redirected_to,
        "max_age": cached.max_age,
        "charts": None if cached.charts is None else list(cached.charts),
        "entries": {
            chart: [[e.version, e.created.isoformat(), e.digest, list(e.urls)] for e in items]
            for chart, items in cached.entries.items()
        },
    }
    data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        write_file_atomically(path, data)
    except OSError as exc:
        raise ChartIndexError(
            f"cannot write the chart index cache: {exc.strerror or exc}; "
            "check that the cache directory ([cache] dir) is writable",
            file=path,
        ) from None


def _snapshot(
    source: str,
    cached: _Cached,
    status: str,
    error: str | None = None,
    fetched_at: datetime | None = None,
) -> IndexSnapshot:
    return IndexSnapshot(
        source=source,
        validator=cached.validator,
        fetched_at=fetched_at or cached.fetched_at,
        status=status,
        entries=cached.entries,
        error=error,
        redirected_to=cached.redirected_to,
        max_age=cached.max_age,
        digest=cached.sha256,
    )


# --------------------------------------------------------------------------- load_index


def load_index(
    source: str,
    *,
    base_dir: Path,
    cache_dir: Path,
    ttl: int,
    offline: str = "stale",
    refresh: bool = False,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = (5, 30),
    retries: int = 3,
    backoff: float = 0.5,
    max_bytes: int = 64 * 2**20,
    max_retry_after: float | None = None,
    deadline: float | None = None,
    charts: Collection[str] | None = None,
) -> IndexSnapshot:
    """The chart index at ``source`` (http(s) URL, or a path relative to ``base_dir``).

    ``retries`` is the number of retries after the first attempt; ``timeout`` is
    (connect, read) in seconds; ``deadline`` bounds the whole fetch (connect, reads,
    redirects, retries and their backoff) in seconds; ``max_retry_after``: the longest
    ``Retry-After`` honoured (default :data:`.indexfetch.MAX_RETRY_AFTER`). ``charts``: the
    charts whose entries are read and cached (all when None). See the module docstring for
    the freshness rules.
    """
    charts = None if charts is None else tuple(sorted(set(charts)))
    if offline not in ("stale", "error"):
        raise ValueError(f"offline must be 'stale' or 'error', not {offline!r}")
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        return _load_url(
            source,
            cache_dir=Path(cache_dir),
            ttl=ttl,
            offline=offline,
            refresh=refresh,
            session=session,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_bytes=max_bytes,
            max_retry_after=max_retry_after,
            deadline=deadline,
            charts=charts,
        )
    if scheme == "file":
        from urllib.request import url2pathname

        path = Path(url2pathname(urlsplit(source).path))
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", source):
        raise ChartIndexError(
            f"unsupported index URL scheme {scheme!r}: use an http(s) URL or a local path",
            file=source,
        )
    else:
        path = Path(source).expanduser()
    if not path.is_absolute():
        path = Path(base_dir) / path
    return _load_file(path.resolve(), cache_dir=Path(cache_dir), max_bytes=max_bytes, charts=charts)


def _load_file(
    path: Path, *, cache_dir: Path, max_bytes: int, charts: tuple[str, ...] | None
) -> IndexSnapshot:
    """A local index: always read and hashed (cheap, and never misses a same-size rewrite)."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ChartIndexError(
                f"the chart index is {size} bytes, over the limit of {max_bytes} bytes",
                file=source,
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise ChartIndexError("the chart index file does not exist", file=source) from None
    except IsADirectoryError:
        raise ChartIndexError(
            "the chart index path is a directory, not a file", file=source
        ) from None
    except OSError as exc:
        raise ChartIndexError(
            f"cannot read the chart index: {exc.strerror or exc}", file=source
        ) from None
    import hashlib  # a local index is hashed on every read; a cached URL one never

    sha = hashlib.sha256(data).hexdigest()
    cpath = cache_path(cache_dir, source)
    cached, _ = _read_cache(cpath, source, charts)
    now = _now()
    if cached is not None and cached.sha256 == sha:
        return _snapshot(source, cached, "live", fetched_at=now)
    entries = parse_index(data, source, charts=charts)
    fresh = _Cached(f"sha256:{sha}", None, None, sha, now, entries, charts=charts)
    _write_cache(cpath, source, fresh)
    return _snapshot(source, fresh, "live")


def _load_url(
    url: str,
    *,
    cache_dir: Path,
    ttl: int,
    offline: str,
    refresh: bool,
    session: requests.Session | None,
    timeout: tuple[float, float],
    retries: int,
    backoff: float,
    max_bytes: int,
    max_retry_after: float | None,
    deadline: float | None,
    charts: tuple[str, ...] | None,
) -> IndexSnapshot:
    source = redact_url(url)
    cpath = cache_path(cache_dir, source)
    cached, cache_problem = _read_cache(cpath, source, charts)
    now = _now()
    if cached is not None and not refresh:
        age = (now - cached.fetched_at).total_seconds()
        if 0 <= age < ttl:
            return _snapshot(source, cached, "cached")

    from . import indexfetch
    from .deadline import Deadline

    headers = {
        "User-Agent": f"sphinx-deployguide/{__version__}",
        "Accept": "application/x-yaml, text/yaml, text/plain;q=0.9, */*;q=0.5",
    }
    if cached is not None:
        if cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
    try:
        response = indexfetch.fetch_index(
            url,
            source,
            headers,
            session=session,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_bytes=max_bytes,
            max_retry_after=(
                indexfetch.MAX_RETRY_AFTER if max_retry_after is None else max_retry_after
            ),
            deadline=Deadline(deadline),
        )
    except indexfetch.Transient as exc:
        attempts = exc.attempts
        reason = f"{exc.reason} (after {attempts} attempt{'s' if attempts != 1 else ''})"
        if cached is not None and offline == "stale":
            _log().info("chart index %s unreachable (%s): serving the cache", source, reason)
            return _snapshot(source, cached, "stale", error=reason)
        raise NetworkError(
            _network_message(source, reason, cached, cache_problem, offline), file=source
        ) from None

    now = _now()
    if response.status == 304:
        if cached is None:
            raise ChartIndexError(
                "the server answered 304 Not Modified to a request without a validator",
                file=source,
            )
        confirmed = dataclasses.replace(
            cached,
            fetched_at=now,
            redirected_to=response.redirected_to,
            max_age=response.max_age if response.max_age is not None else cached.max_age,
        )
        _write_cache(cpath, source, confirmed)
        return _snapshot(source, confirmed, "live")

    import hashlib

    sha = hashlib.sha256(response.body).hexdigest()
    if cached is not None and cached.sha256 == sha:
        entries, charts = cached.entries, cached.charts  # same bytes: no need to parse again
    else:
        entries = parse_index(response.body, source, charts=charts)
    validator = response.etag or response.last_modified or f"sha256:{sha}"
    fresh = _Cached(
        validator,
        response.etag,
        response.last_modified,
        sha,
        now,
        entries,
        redirected_to=response.redirected_to,
        max_age=response.max_age,
        charts=charts,
    )
    _write_cache(cpath, source, fresh)
    return _snapshot(source, fresh, "live")


def _network_message(
    source: str, reason: str, cached: _Cached | None, cache_problem: str | None, offline: str
) -> str:
    text = f"cannot fetch the chart index: {reason}. "
    if cached is not None:  # offline == "error"
        text += (
            f"A cached copy confirmed at {cached.fetched_at:%Y-%m-%d %H:%M:%S} UTC exists, "
            'but offline = "error"; set offline = "stale" to build with it (values marked '
            "stale), or retry when the index is reachable."
        )
    else:
        text += "There is no cached copy" + (f" ({cache_problem})" if cache_problem else "")
        text += (
            " to fall back on. Check the network and the index URL, then retry; or point "
            "the chart's `index` at a local copy of index.yaml."
        )
    return text


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
