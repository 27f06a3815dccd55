"""Loading a chart index: the local file or the URL, its cache, and the freshness rules.

The real jupyterhub index is 1.7 MB and takes ~0.4 s to parse even with libyaml, while the
facts need only four fields per entry. So the parsed subset (:func:`~.chartindex.parse_index`)
is cached as compact JSON under ``cache_dir/index/<slug>.json``, keyed by the response
validator (ETag / Last-Modified, or the body's sha256), with the response's
``Cache-Control: max-age``, and a warm run parses no YAML.

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
saves the parse). Only the entries of the model's charts are read and cached. The requests
themselves are in :mod:`.indexfetch`, imported only when one is made: a warm run reads this
cache and imports neither YAML nor the HTTP client.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ._version import __version__
from .background import in_background
from .chartindex import IndexEntry, IndexSnapshot, parse_index
from .delay import readable_utc
from .errors import ChartIndexError, NetworkError
from .factcache import cache_file_name, write_file_atomically
from .redact import redact_url

if TYPE_CHECKING:  # imported where a request is made, or there is something to log
    import logging

    import requests

    from .config import Model

__all__ = [
    "CACHE_FORMAT",
    "IndexLoad",
    "cache_path",
    "index_charts",
    "load_index",
    "start_index_loads",
]

CACHE_FORMAT = 3


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _log() -> logging.Logger:
    """The chart index's logger, the one :mod:`.indexfetch` logs to too (``logging``
    imported when there is something to say)."""
    import logging

    return logging.getLogger("sphinx_deployguide.chartindex")


def cache_path(cache_dir: Path, source: str) -> Path:
    """``cache_dir/index/<slug>.json``: a readable prefix + a checksum (the file names its
    source inside, so two sources never share a cache)."""
    return Path(cache_dir) / "index" / cache_file_name(source)


@dataclass(frozen=True)
class _Cached:
    """What the cache file of an index keeps: the entries read and how fresh they are."""

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
    on_read: Callable[[IndexSnapshot], None] | None = None,
) -> IndexSnapshot:
    """The chart index at ``source`` (http(s) URL, or a path relative to ``base_dir``).

    ``retries`` is the number of retries after the first attempt; ``timeout`` is
    (connect, read) in seconds; ``deadline`` bounds the whole fetch (connect, reads,
    redirects, retries and their backoff) in seconds; ``max_retry_after``: the longest
    ``Retry-After`` honoured (default :data:`.indexfetch.MAX_RETRY_AFTER`). ``charts``: the
    charts whose entries are read and cached (all when None). ``on_read``: called with the
    entries of a body being parsed as soon as they are read, before the rest of the body
    is checked (:func:`~.chartindex.parse_index`), to start work on them; only the snapshot
    returned is judged. See the module docstring for the freshness rules.
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
            on_read=on_read,
        )
    path = local_index_path(source, base_dir)
    if path is None:
        raise ChartIndexError(
            f"unsupported index URL scheme {scheme!r}: use an http(s) URL or a local path",
            file=source,
        )
    return _load_file(
        path,
        cache_dir=Path(cache_dir),
        max_bytes=max_bytes,
        charts=charts,
        on_read=on_read,
    )


def local_index_path(source: str, base_dir: Path) -> Path | None:
    """The file a local index ``source`` (a path relative to ``base_dir``, or a ``file://``
    URL) names; None for a URL of any other scheme."""
    scheme = urlsplit(source).scheme.lower()
    if scheme == "file":
        from urllib.request import url2pathname

        path = Path(url2pathname(urlsplit(source).path))
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", source):
        return None
    else:
        path = Path(source).expanduser()
    if not path.is_absolute():
        path = Path(base_dir) / path
    return path.resolve()


def index_charts(model: Model, index: str) -> list[str]:
    """The charts of the model whose entries are read from ``index`` (one read and one
    cache serve them all; the index's other charts are skipped)."""
    return [spec.name for spec in model.charts.values() if spec.index == index]


class IndexLoad:
    """A chart index being loaded in a thread (:func:`start_index_loads`). Called, it
    waits for the snapshot (raising what loading raised); :meth:`ahead` gives the entries
    as soon as they are read, before the rest of the body is checked, so that git may be
    asked about them meanwhile (nothing is judged on them: the snapshot is)."""

    def __init__(self, load: Callable[[Callable[[IndexSnapshot], None]], IndexSnapshot]) -> None:
        self._read: IndexSnapshot | None = None
        self._seen = threading.Event()

        def run() -> IndexSnapshot:
            try:
                return load(self._saw)
            finally:
                self._seen.set()  # read or not, the load is over

        self._result = in_background(run)

    def _saw(self, snapshot: IndexSnapshot) -> None:
        self._read = snapshot
        self._seen.set()

    def __call__(self) -> IndexSnapshot:
        return self._result()

    def ahead(self) -> IndexSnapshot:
        """The entries read so far (a snapshot of the body), else the snapshot."""
        self._seen.wait()  # set at the latest when the load ends, which has a deadline
        return self._read if self._read is not None else self()


def start_index_loads(
    model: Model, *, refresh: bool, offline: str, indexes: Iterable[str] | None = None
) -> dict[str, IndexLoad]:
    """Start loading each index of the model (``indexes``: only these), each in a thread.
    Called first thing, the request and the parse go on while the rest of the run gets
    ready (imports the git side, opens the source): a cold run waits for the index least."""
    wanted = indexes if indexes is not None else [s.index for s in model.charts.values()]

    def loader(index: str) -> Callable[[Callable[[IndexSnapshot], None]], IndexSnapshot]:
        return lambda on_read: load_index(
            index,
            base_dir=model.base_dir,
            cache_dir=model.cache_dir,
            ttl=model.cache_ttl,
            offline=offline,
            refresh=refresh,
            retries=model.retries,
            timeout=(min(5.0, model.timeout), model.timeout),
            deadline=model.timeout,
            charts=index_charts(model, index),
            on_read=on_read,
        )

    return {index: IndexLoad(loader(index)) for index in dict.fromkeys(wanted)}


def _load_file(
    path: Path,
    *,
    cache_dir: Path,
    max_bytes: int,
    charts: tuple[str, ...] | None,
    on_read: Callable[[IndexSnapshot], None] | None,
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
    entries = parse_index(data, source, charts=charts, on_entries=_read(on_read, source, sha))
    fresh = _Cached(f"sha256:{sha}", None, None, sha, now, entries, charts=charts)
    _write_cache(cpath, source, fresh)
    return _snapshot(source, fresh, "live")


def _read(
    on_read: Callable[[IndexSnapshot], None] | None, source: str, sha: str
) -> Callable[[dict[str, tuple[IndexEntry, ...]]], None] | None:
    """What :func:`~.chartindex.parse_index` calls with the entries it has read: ``on_read``
    with them as a snapshot of the body whose sha256 is ``sha``."""
    if on_read is None:
        return None
    return lambda entries: on_read(IndexSnapshot(source, None, _now(), "live", entries, digest=sha))


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
    on_read: Callable[[IndexSnapshot], None] | None,
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
            limits=indexfetch.FetchLimits(
                timeout,
                retries,
                backoff,
                max_bytes,
                indexfetch.MAX_RETRY_AFTER if max_retry_after is None else max_retry_after,
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
        entries = parse_index(
            response.body, source, charts=charts, on_entries=_read(on_read, source, sha)
        )
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
            f"A cached copy confirmed at {readable_utc(cached.fetched_at)} exists, "
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
