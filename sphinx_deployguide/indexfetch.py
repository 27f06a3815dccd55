"""HTTP for the chart index: one GET with redirects followed by hand, retries with backoff,
all within a deadline for the whole fetch (:mod:`.deadline`); and the probe that asks whether
a chart archive answers.

Imported only when a request is made (:mod:`.indexcache` reads its cache without it): a warm
run imports neither ``requests`` nor the deadline machinery. An optional bearer token for
private indexes comes from the environment variable ``DEPLOYGUIDE_INDEX_TOKEN``; it is sent
only over https (or to a loopback host), only to the index's own origin, and never appears in
a message.
"""

from __future__ import annotations

import dataclasses
import email.utils
import functools
import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import requests

from ._version import __version__
from .deadline import Deadline, DeadlineExceeded, call_within, track_sockets
from .errors import ChartIndexError
from .redact import redact_url

__all__ = [
    "ARCHIVE_TIMEOUT",
    "MAX_RETRY_AFTER",
    "TOKEN_ENV",
    "FetchLimits",
    "Response",
    "Transient",
    "auth_headers",
    "cache_max_age",
    "fetch_index",
    "probe_archive",
    "retry_delay",
]

log = logging.getLogger("sphinx_deployguide.chartindex")

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
                asked = (when - (now or datetime.now(timezone.utc))).total_seconds()
        if asked is not None:
            delay = min(max(asked, 0.0), max_retry_after)
    return max(float(delay), 0.0)


# --------------------------------------------------------------------------- one fetch


def auth_headers(url: str) -> dict[str, str]:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        return {}
    parts = urlsplit(url)
    if parts.scheme == "https" or parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return {"Authorization": f"Bearer {token}"}
    log.warning("not sending %s over plain http to %s", TOKEN_ENV, parts.hostname)
    return {}


class Transient(Exception):
    """A failure worth retrying (and, in the end, a NetworkError)."""

    def __init__(self, reason: str, retry_after: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.attempts = 1  # how many requests were made in all (set by the retry loop)


@dataclass(frozen=True)
class Response:
    """A complete answer of the index server (or a 304)."""

    status: int
    body: bytes
    etag: str | None
    last_modified: str | None
    redirected_to: str | None = None  # the final URL (redacted) when it was not the asked one
    max_age: int | None = None


@dataclass(frozen=True)
class _Redirect:
    """A redirect to follow (by hand: see :func:`_fetch_following`)."""

    location: str


@dataclass(frozen=True)
class FetchLimits:
    """How far one fetch may go: ``timeout`` (connect, read) per request in seconds,
    ``retries`` after the first attempt, ``backoff`` between them (see :func:`retry_delay`),
    the largest body and the longest ``Retry-After`` honoured."""

    timeout: tuple[float, float]
    retries: int
    backoff: float
    max_bytes: int
    max_retry_after: float


def fetch_index(
    url: str,
    source: str,
    headers: dict[str, str],
    *,
    session: requests.Session | None,
    limits: FetchLimits,
    deadline: Deadline,
) -> Response:
    """GET the index at ``url`` (``source``: the same, redacted, for messages), retrying what
    may pass, within ``deadline``. Raises :class:`Transient` when it failed for good in a
    way a later run may not (the caller may serve its cache), ChartIndexError otherwise."""
    own_session = session is None
    sess = session or requests.Session()
    track_sockets(sess)
    try:
        return _fetch_with_retries(
            sess, url, source, {**headers, **auth_headers(url)}, limits=limits, deadline=deadline
        )
    finally:
        if own_session:
            sess.close()


def _fetch_with_retries(
    sess: requests.Session,
    url: str,
    source: str,
    headers: dict[str, str],
    *,
    limits: FetchLimits,
    deadline: Deadline,
) -> Response:
    attempt = 0
    while True:
        try:
            return _fetch_following(
                sess,
                url,
                source,
                headers,
                timeout=limits.timeout,
                max_bytes=limits.max_bytes,
                deadline=deadline,
            )
        except Transient as exc:
            exc.attempts = attempt + 1
            if attempt >= limits.retries:
                raise
            delay = retry_delay(
                attempt, limits.backoff, exc.retry_after, max_retry_after=limits.max_retry_after
            )
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
) -> Response:
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
            raise Transient(
                f"no complete answer within network.timeout ({deadline.seconds:g} s)"
            ) from None
        if isinstance(answer, Response):
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
) -> Response | _Redirect:
    """One GET; raises Transient for what a retry may fix, ChartIndexError for the rest."""
    try:
        resp = sess.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=False)
    except requests.exceptions.RequestException as exc:
        raise _classify(exc, timeout, source) from None
    try:
        if resp.status_code in RETRY_STATUSES:
            raise Transient(
                f"HTTP {resp.status_code} {resp.reason or ''}".rstrip(),
                resp.headers.get("Retry-After"),
            )
        if resp.status_code == 304:
            return Response(
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
            raise Transient(
                f"truncated body: Content-Length is {declared} bytes but the connection "
                f"closed after {len(body)}"
            )
        return Response(
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
        return Transient(f"connect timeout ({timeout[0]:g} s)")
    if isinstance(exc, E.ReadTimeout) or "Read timed out" in str(exc):
        return Transient(f"read timeout ({timeout[1]:g} s)")
    if isinstance(exc, E.ChunkedEncodingError):
        if declared is not None:
            # urllib3's IncompleteRead counts every byte of the body read so far (``received``
            # is what had reached us in whole chunks: a part of it).
            got = re.search(r"IncompleteRead\((\d+) bytes read", str(exc))
            count = int(got.group(1)) if got else received
            return Transient(
                f"truncated body: Content-Length is {declared} bytes but the connection "
                f"closed after {count}"
            )
        return Transient("the connection broke while reading the body")
    if isinstance(exc, E.SSLError):
        return Transient(f"TLS error: {_root_cause(exc)}")
    if isinstance(exc, E.ConnectionError):
        return Transient(f"connection failed: {_root_cause(exc)}")
    return Transient(f"{type(exc).__name__}: {_root_cause(exc)}")


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
    headers = {"User-Agent": f"sphinx-deployguide/{__version__}", **auth_headers(url)}
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
        reason = problem.reason if isinstance(problem, Transient) else str(problem)
        return f"{redact_url(url)} does not answer ({reason})"
    finally:
        if own:
            sess.close()
    if resp.status_code >= 400:
        status = f"HTTP {resp.status_code} {resp.reason or ''}".rstrip()
        return f"{redact_url(url)} does not answer ({status})"
    return None
