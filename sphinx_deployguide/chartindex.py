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
saves the parse). An optional bearer token for private indexes comes from the environment
variable ``DEPLOYGUIDE_INDEX_TOKEN``; it is sent only over https (or to a loopback host) and
never appears in a message.
"""

from __future__ import annotations

import dataclasses
import email.utils
import functools
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import requests
import yaml

from . import __version__, safeyaml
from .deadline import Deadline, DeadlineExceeded, call_within, track_sockets
from .errors import ChartIndexError, NetworkError
from .redact import redact_url

log = logging.getLogger(__name__)

CACHE_FORMAT = 2
TOKEN_ENV = "DEPLOYGUIDE_INDEX_TOKEN"
#: Statuses worth retrying: the server is overloaded, restarting or rate-limiting us.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504}) | frozenset(range(520, 530))
#: Longest ``Retry-After`` we honour; a server asking for more gets this (a docs build should
#: not hang for an hour because a CDN said so).
MAX_RETRY_AFTER = 30.0
_CHUNK = 64 * 1024
#: Redirects followed (by hand: loops are caught, credentials stay with their origin).
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5

try:  # libyaml is ~4x faster on the real index (REFERENCE.md)
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader


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


IndexLoader = _string_scalar_loader(_BaseLoader)
IndexPureLoader = _string_scalar_loader(yaml.SafeLoader)


@dataclass(frozen=True)
class IndexEntry:
    """The part of one index entry the facts need."""

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


def parse_index(
    data: bytes, source: str, *, loader: type | None = None
) -> dict[str, tuple[IndexEntry, ...]]:
    """Parse an ``index.yaml`` body into chart name -> entries (in index order).

    Every problem is a ChartIndexError naming ``source``, the key and what was expected:
    a broken index must never look like an empty one. ``loader`` is for benchmarks.
    """
    try:
        doc = safeyaml.load(data, loader or IndexLoader)
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
    charts = doc["entries"]
    if not isinstance(charts, Mapping):
        raise ChartIndexError(
            f"expected a mapping of chart name -> list of versions, got {_describe_value(charts)}",
            file=source,
            key="entries",
        )

    result: dict[str, tuple[IndexEntry, ...]] = {}
    for chart, items in charts.items():
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


# --------------------------------------------------------------------------- retry policy (pure)


def retry_delay(
    attempt: int,
    backoff: float,
    retry_after: str | None = None,
    *,
    max_retry_after: float = MAX_RETRY_AFTER,
    now: datetime | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based).

    Exponential backoff ``backoff * 2**attempt``; a ``Retry-After`` header (seconds or an
    HTTP date) replaces it, capped at ``max_retry_after``. An unparseable header is ignored.
    """
    delay = backoff * (2**attempt)
    if retry_after:
        text = retry_after.strip()
        asked: float | None = None
        if text.isdigit():
            asked = float(text)
        else:
            try:
                when = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=timezone.utc)
                asked = (when - (now or _now())).total_seconds()
        if asked is not None:
            delay = min(max(asked, 0.0), max_retry_after)
    return max(delay, 0.0)


# --------------------------------------------------------------------------- cache (thin I/O)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def cache_path(cache_dir: Path, source: str) -> Path:
    """``cache_dir/index/<slug>.json``: a readable prefix + a hash, so sources never collide."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", re.sub(r"^[a-z]+://", "", source)).strip("-.")
    return Path(cache_dir) / "index" / f"{readable[-60:] or 'index'}-{digest}.json"


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


def _aware(text: str) -> datetime:
    """A cached timestamp; a naive one (a hand-edited or foreign cache) is unreadable."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {text!r}")
    return moment


def _read_cache(path: Path, source: str) -> tuple[_Cached | None, str | None]:
    """The cached copy, or (None, why it is unusable); a missing file is not a problem."""
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
            ),
            None,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("ignoring the unreadable index cache %s: %s", path, exc)
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
        "entries": {
            chart: [[e.version, e.created.isoformat(), e.digest, list(e.urls)] for e in items]
            for chart, items in cached.entries.items()
        },
    }
    data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
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
    max_retry_after: float = MAX_RETRY_AFTER,
    deadline: float | None = None,
) -> IndexSnapshot:
    """The chart index at ``source`` (http(s) URL, or a path relative to ``base_dir``).

    ``retries`` is the number of retries after the first attempt; ``timeout`` is
    (connect, read) in seconds; ``deadline`` bounds the whole fetch (connect, reads,
    redirects, retries and their backoff) in seconds. See the module docstring for the
    freshness rules.
    """
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
            deadline=Deadline(deadline),
        )
    if scheme == "file":
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
    return _load_file(path.resolve(), cache_dir=Path(cache_dir), max_bytes=max_bytes)


def _load_file(path: Path, *, cache_dir: Path, max_bytes: int) -> IndexSnapshot:
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
    sha = hashlib.sha256(data).hexdigest()
    cpath = cache_path(cache_dir, source)
    cached, _ = _read_cache(cpath, source)
    now = _now()
    if cached is not None and cached.sha256 == sha:
        return _snapshot(source, cached, "live", fetched_at=now)
    entries = parse_index(data, source)
    fresh = _Cached(f"sha256:{sha}", None, None, sha, now, entries)
    _write_cache(cpath, source, fresh)
    return _snapshot(source, fresh, "live")


def _auth_headers(url: str) -> dict[str, str]:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        return {}
    parts = urlsplit(url)
    if parts.scheme == "https" or parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return {"Authorization": f"Bearer {token}"}
    log.warning("not sending %s over plain http to %s", TOKEN_ENV, parts.hostname)
    return {}


class _Transient(Exception):
    """A failure worth retrying (and, in the end, a NetworkError)."""

    def __init__(self, reason: str, retry_after: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.attempts = 1  # how many requests were made in all (set by the retry loop)


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes
    etag: str | None
    last_modified: str | None
    redirected_to: str | None = None  # the final URL (redacted) when it was not the asked one
    max_age: int | None = None


@dataclass(frozen=True)
class _Redirect:
    location: str


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
    max_retry_after: float,
    deadline: Deadline,
) -> IndexSnapshot:
    source = redact_url(url)
    cpath = cache_path(cache_dir, source)
    cached, cache_problem = _read_cache(cpath, source)
    now = _now()
    if cached is not None and not refresh:
        age = (now - cached.fetched_at).total_seconds()
        if 0 <= age < ttl:
            return _snapshot(source, cached, "cached")

    headers = {
        "User-Agent": f"sphinx-deployguide/{__version__}",
        "Accept": "application/x-yaml, text/yaml, text/plain;q=0.9, */*;q=0.5",
    }
    if cached is not None:
        if cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
    headers.update(_auth_headers(url))

    own_session = session is None
    sess = session or requests.Session()
    track_sockets(sess)
    try:
        response = _fetch_with_retries(
            sess,
            url,
            source,
            headers,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_bytes=max_bytes,
            max_retry_after=max_retry_after,
            deadline=deadline,
        )
    except _Transient as exc:
        attempts = exc.attempts
        reason = f"{exc.reason} (after {attempts} attempt{'s' if attempts != 1 else ''})"
        if cached is not None and offline == "stale":
            log.info("chart index %s unreachable (%s): serving the cache", source, reason)
            return _snapshot(source, cached, "stale", error=reason)
        raise NetworkError(
            _network_message(source, reason, cached, cache_problem, offline), file=source
        ) from None
    finally:
        if own_session:
            sess.close()

    now = _now()
    if response.status == 304:
        if cached is None:
            raise ChartIndexError(
                "the server answered 304 Not Modified to a request without a validator",
                file=source,
            )
        confirmed = _Cached(
            cached.validator,
            cached.etag,
            cached.last_modified,
            cached.sha256,
            now,
            cached.entries,
            redirected_to=response.redirected_to,
            max_age=response.max_age if response.max_age is not None else cached.max_age,
        )
        _write_cache(cpath, source, confirmed)
        return _snapshot(source, confirmed, "live")

    sha = hashlib.sha256(response.body).hexdigest()
    if cached is not None and cached.sha256 == sha:
        entries = cached.entries  # same bytes as last time: no need to parse again
    else:
        entries = parse_index(response.body, source)
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


def _fetch_with_retries(
    sess: requests.Session,
    url: str,
    source: str,
    headers: dict[str, str],
    *,
    timeout: tuple[float, float],
    retries: int,
    backoff: float,
    max_bytes: int,
    max_retry_after: float,
    deadline: Deadline,
) -> _Response:
    attempt = 0
    while True:
        try:
            return _fetch_following(
                sess, url, source, headers, timeout=timeout, max_bytes=max_bytes, deadline=deadline
            )
        except _Transient as exc:
            exc.attempts = attempt + 1
            if attempt >= retries:
                raise
            delay = retry_delay(attempt, backoff, exc.retry_after, max_retry_after=max_retry_after)
            if delay >= deadline.remaining():
                if not deadline.expired:
                    exc.reason += (
                        f"; no time left to retry within network.timeout ({deadline.seconds:g} s)"
                    )
                raise
            log.info("chart index %s: %s; retrying in %.2f s", source, exc.reason, delay)
            time.sleep(delay)
            attempt += 1


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme.lower(), pa.hostname, pa.port) == (pb.scheme.lower(), pb.hostname, pb.port)


def _fetch_following(
    sess: requests.Session,
    url: str,
    source: str,
    headers: dict[str, str],
    *,
    timeout: tuple[float, float],
    max_bytes: int,
    deadline: Deadline,
) -> _Response:
    """One GET with redirects followed by hand, all within ``deadline``.

    A loop (a URL seen twice) or more than :data:`MAX_REDIRECTS` hops is a ChartIndexError
    (a retry would loop again). A hop to another origin (scheme, host, port) goes without
    the ``Authorization`` header; the final URL is reported in the response.
    """
    visited = [url]
    current = url
    while True:
        hop = headers if _same_origin(url, current) else _without_auth(headers)
        limits = (deadline.cap(timeout[0]), deadline.cap(timeout[1]))
        try:
            answer = call_within(
                deadline,
                functools.partial(
                    _fetch_once, sess, current, source, hop, timeout=limits, max_bytes=max_bytes
                ),
            )
        except DeadlineExceeded:
            raise _Transient(
                f"no complete answer within network.timeout ({deadline.seconds:g} s)"
            ) from None
        if isinstance(answer, _Response):
            if current == url:
                return answer
            return dataclasses.replace(answer, redirected_to=redact_url(current))
        target = urljoin(current, answer.location)
        if target in visited:
            chain = " -> ".join(redact_url(u) for u in [*visited, target])
            raise ChartIndexError(f"redirect loop: {chain}", file=source)
        if len(visited) > MAX_REDIRECTS:
            raise ChartIndexError(
                f"more than {MAX_REDIRECTS} redirects (last to {redact_url(target)})", file=source
            )
        if urlsplit(target).scheme.lower() not in ("http", "https"):
            raise ChartIndexError(
                f"redirected to a URL that is not http(s): {redact_url(target)}", file=source
            )
        visited.append(target)
        current = target


def _without_auth(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != "authorization"}


def _fetch_once(
    sess: requests.Session,
    url: str,
    source: str,
    headers: dict[str, str],
    *,
    timeout: tuple[float, float],
    max_bytes: int,
) -> _Response | _Redirect:
    """One GET; raises _Transient for what a retry may fix, ChartIndexError for the rest."""
    try:
        resp = sess.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=False)
    except requests.exceptions.RequestException as exc:
        raise _classify(exc, timeout, source) from None
    try:
        if resp.status_code in RETRY_STATUSES:
            raise _Transient(
                f"HTTP {resp.status_code} {resp.reason or ''}".rstrip(),
                resp.headers.get("Retry-After"),
            )
        if resp.status_code == 304:
            return _Response(
                304,
                b"",
                resp.headers.get("ETag"),
                resp.headers.get("Last-Modified"),
                max_age=cache_max_age(resp.headers.get("Cache-Control")),
            )
        if resp.status_code in REDIRECT_STATUSES and resp.headers.get("Location"):
            return _Redirect(resp.headers["Location"])
        if resp.status_code != 200:
            hint = ""
            if resp.status_code in (401, 403):
                hint = f"; for a private index set {TOKEN_ENV}"
            elif resp.status_code == 404:
                hint = "; check the chart's `index` URL"
            raise ChartIndexError(
                f"HTTP {resp.status_code} {resp.reason or ''}".rstrip() + hint, file=source
            )
        declared = _content_length(resp)
        if declared is not None and declared > max_bytes:
            raise ChartIndexError(
                f"the chart index is {declared} bytes (Content-Length), over the limit of "
                f"{max_bytes} bytes; refused without downloading it",
                file=source,
            )
        chunks: list[bytes] = []
        received = 0
        try:
            for chunk in resp.iter_content(_CHUNK):
                received += len(chunk)
                if received > max_bytes:
                    raise ChartIndexError(
                        f"the chart index is larger than the limit of {max_bytes} bytes; "
                        "download aborted",
                        file=source,
                    )
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise _classify(exc, timeout, source, declared=declared, received=received) from None
        body = b"".join(chunks)
        encoded = resp.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        if declared is not None and not encoded and len(body) < declared:
            raise _Transient(
                f"truncated body: Content-Length is {declared} bytes but the connection "
                f"closed after {len(body)}"
            )
        return _Response(
            200,
            body,
            resp.headers.get("ETag"),
            resp.headers.get("Last-Modified"),
            max_age=cache_max_age(resp.headers.get("Cache-Control")),
        )
    finally:
        resp.close()  # an aborted stream closes the connection instead of draining it


def _content_length(resp: requests.Response) -> int | None:
    value = resp.headers.get("Content-Length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _classify(
    exc: requests.exceptions.RequestException,
    timeout: tuple[float, float],
    source: str,
    *,
    declared: int | None = None,
    received: int | None = None,
) -> Exception:
    """A short reason for a requests failure; invalid URLs are not worth retrying."""
    E = requests.exceptions
    if isinstance(exc, (E.InvalidURL, E.MissingSchema, E.InvalidSchema, E.InvalidHeader)):
        return ChartIndexError(f"invalid index URL: {exc}", file=source)
    if isinstance(exc, E.ConnectTimeout):
        return _Transient(f"connect timeout ({timeout[0]:g} s)")
    if isinstance(exc, E.ReadTimeout) or "Read timed out" in str(exc):
        return _Transient(f"read timeout ({timeout[1]:g} s)")
    if isinstance(exc, E.ChunkedEncodingError):
        if declared is not None:
            got = re.search(r"IncompleteRead\((\d+) bytes read", str(exc))
            count = (received or 0) + int(got.group(1)) if got else received
            return _Transient(
                f"truncated body: Content-Length is {declared} bytes but the connection "
                f"closed after {count}"
            )
        return _Transient("the connection broke while reading the body")
    if isinstance(exc, E.SSLError):
        return _Transient(f"TLS error: {_root_cause(exc)}")
    if isinstance(exc, E.ConnectionError):
        return _Transient(f"connection failed: {_root_cause(exc)}")
    return _Transient(f"{type(exc).__name__}: {_root_cause(exc)}")


def _root_cause(exc: BaseException) -> str:
    """The innermost useful text of a requests/urllib3 exception chain."""
    seen = exc
    for _ in range(6):
        inner = getattr(seen, "reason", None)
        if inner is None and seen.args and isinstance(seen.args[0], BaseException):
            inner = seen.args[0]
        if not isinstance(inner, BaseException):
            break
        seen = inner
    text = str(seen)
    # urllib3 prefixes "<urllib3.connection.HTTPConnection object at 0x..>: "
    text = re.sub(r"^<[^>]+>:\s*", "", text)
    match = re.search(r"\[Errno -?\d+\][^')\"]*", text)
    if match:
        return match.group(0).strip()
    return text[:200]


_MAX_AGE_RE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,9})\"?\s*(?:,|$)", re.IGNORECASE)


def cache_max_age(header: str | None) -> int | None:
    """Seconds of ``max-age`` in a ``Cache-Control`` header; None when it has none."""
    match = _MAX_AGE_RE.search(header or "")
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------- chart archives

#: (connect, read) seconds for the archive probe: it decides a state, it must not hang a build.
ARCHIVE_TIMEOUT = (3.0, 5.0)


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


def probe_archive(
    url: str,
    *,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = ARCHIVE_TIMEOUT,
) -> str | None:
    """Why the chart archive at ``url`` does not answer, or None when it does.

    A ``HEAD`` (a ``GET`` of the first byte if the server refuses HEAD); any status below
    400 answers (a redirect is not followed: the server knows the archive). One attempt
    with a deadline: a verdict waits for no one.
    """
    headers = {"User-Agent": f"sphinx-deployguide/{__version__}", **_auth_headers(url)}
    own = session is None
    sess = session or requests.Session()
    try:
        resp = sess.head(url, headers=headers, timeout=timeout, allow_redirects=False)
        resp.close()
        if resp.status_code in (405, 501):
            ranged = {**headers, "Range": "bytes=0-0"}
            resp = sess.get(
                url, headers=ranged, timeout=timeout, stream=True, allow_redirects=False
            )
            resp.close()
    except requests.exceptions.RequestException as exc:
        problem = _classify(exc, timeout, url)
        reason = problem.reason if isinstance(problem, _Transient) else str(problem)
        return f"{redact_url(url)} does not answer ({reason})"
    finally:
        if own:
            sess.close()
    if resp.status_code >= 400:
        status = f"HTTP {resp.status_code} {resp.reason or ''}".rstrip()
        return f"{redact_url(url)} does not answer ({status})"
    return None
