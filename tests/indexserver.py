"""A real HTTP server on 127.0.0.1 serving a Helm ``index.yaml``, with fault injection.

Tests talk to it over real sockets with ``requests`` (no mocks). Use the ``index_server``
fixture (function-scoped, from ``tests/conftest.py``) or the context manager::

    from tests.indexserver import Fault, IndexServer, make_index_yaml  # (pythonpath = ["."])

    with IndexServer(make_index_yaml({"binderhub": [("1.0.0-0.dev.git.3.habc1234",
                                                     "2024-08-08T18:05:34.413844784Z")]})) as srv:
        srv.url                     # "http://127.0.0.1:PORT/index.yaml"

API (all attributes may be changed while the server runs; access is thread-safe):

``IndexServer(body=b"", *, etag="auto", last_modified=None, path="/index.yaml")``
    ``start()`` / ``stop()`` (or ``with``); ``url``, ``base_url``, ``port``.
    After ``stop()`` the port refuses connections: use the old ``url`` to simulate
    "network down".

Content
    ``set_body(body, *, etag="auto", last_modified=None)``
        Serve ``body`` (bytes or str) from now on (pending swaps are dropped). ``etag="auto"``
        derives a quoted ETag from the body's sha256 (a new body -> a new ETag); ``None``
        sends no ETag; a string is sent as is. ``last_modified`` (an HTTP date string, see
        ``http_date()``) likewise. ``body``, ``etag``, ``last_modified``: what is served now.
    ``swap_after(n, body, *, etag="auto", last_modified=None)``
        The next ``n`` requests (every request counts, faults included) get the current
        body; request ``n + 1`` onwards gets ``body`` (e.g. "the new chart version is
        published after 3 polls" for ``bump --wait``). Several swaps may be queued.
    ``add_file(path, body)``  serve another path (200, no validators).
    ``conditional = True``    answer ``304`` when If-None-Match matches the ETag (it takes
        precedence) or If-Modified-Since is not older than Last-Modified. ``False``: always 200.
    ``require_auth = None``   e.g. ``"Bearer s3cret"``: other requests get 401.
    ``headers = {}``          extra headers of every index answer (200 and 304), e.g.
        ``{"Cache-Control": "max-age=600"}`` as GitHub Pages sends.
    Files added with ``add_file`` answer ``HEAD`` too (chart archives); a path nobody
    added answers 404.

Faults
    ``faults``: a ``collections.deque`` of :class:`Fault`, one consumed per request, before the
    normal answer. ``srv.fail(500, 503)`` appends status faults; ``srv.fail(Fault(status=429,
    headers={"Retry-After": "0"}))`` anything else. A ``Fault`` field set means:
    ``status`` answer with this status (and ``body``, ``headers``) instead of the index;
    ``delay`` sleep first (pair with a small client read timeout); ``truncate=N`` send the
    index (never a 304) with its full Content-Length but only its first N bytes, then close;
    ``reset`` close the connection without answering; ``trickle=S`` send the body one byte
    every S seconds (a server that never times out a read). Fields combine (delay + status,
    delay + truncate).
    Persistent, for every request: ``delay`` (seconds), ``truncate`` (bytes or None),
    ``redirect`` (a Location: every request to the index path gets a 302 there),
    ``stream_size`` (serve a generated body of that many bytes in 64 KiB chunks instead of the
    index, never a 304, without Content-Length unless ``stream_declare_length``: an oversized
    body that is never held in memory).

Helpers
    ``make_index_yaml({"chart": [(version, created[, digest]) | entry mapping, ...]})`` -> bytes
    of a Helm index (quoted like Helm writes it); ``http_date(datetime | epoch | None)``.
    The ``index_server`` fixture yields a started server serving an empty index
    (``entries: {}``); it is stopped after the test.

Observation
    ``requests``: list of :class:`RecordedRequest` (method, path, headers with lower-case
    names, status sent, bytes_sent, completed: the whole answer was written);
    ``request_count``; ``last_request``; ``statuses()``; ``wait_idle(timeout)`` waits until no
    handler runs (e.g. before checking ``completed`` of an aborted download);
    ``on_request``: optional callable ``(server, recorded_request) -> None`` run before each
    answer (for anything not covered above).
"""

from __future__ import annotations

import collections
import email.utils
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

__all__ = ["Fault", "IndexServer", "RecordedRequest", "http_date", "make_index_yaml"]


def http_date(moment: datetime | float | None = None) -> str:
    """An HTTP date (``Sun, 06 Nov 1994 08:49:37 GMT``) for ``Last-Modified``."""
    if moment is None:
        moment = time.time()
    if isinstance(moment, datetime):
        moment = moment.timestamp()
    return email.utils.formatdate(moment, usegmt=True)


def make_index_yaml(
    charts: Mapping[str, Iterable[tuple[str, str] | tuple[str, str, str] | Mapping[str, Any]]],
    *,
    generated: str = "2024-10-24T11:45:31.263782848Z",
) -> bytes:
    """A Helm index body: ``{chart: [(version, created[, digest]) | full entry mapping]}``.

    Values are quoted as Helm writes them, so versions and timestamps stay strings.
    """
    entries: dict[str, list[dict[str, Any]]] = {}
    for chart, items in charts.items():
        out = []
        for item in items:
            if isinstance(item, Mapping):
                out.append(dict(item))
                continue
            version, created, *rest = item
            digest = rest[0] if rest else hashlib.sha256(f"{chart}-{version}".encode()).hexdigest()
            out.append(
                {
                    "apiVersion": "v2",
                    "created": created,
                    "digest": digest,
                    "name": chart,
                    "urls": [f"https://example.org/charts/{chart}-{version}.tgz"],
                    "version": version,
                }
            )
        entries[chart] = out
    doc = {"apiVersion": "v1", "entries": entries, "generated": generated}
    return yaml.safe_dump(doc, default_flow_style=False, sort_keys=True).encode()


@dataclass
class Fault:
    """One injected misbehaviour (see the module docstring)."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    truncate: int | None = None
    reset: bool = False
    trickle: float = 0.0


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    status: int | None = None  # status sent (None: no answer, e.g. reset or aborted)
    bytes_sent: int = 0  # body bytes written
    completed: bool = False  # the whole answer was written without the client hanging up


@dataclass
class _Content:
    body: bytes
    etag: str | None
    last_modified: str | None


def _content(body: bytes | str, etag: str | None, last_modified: str | None) -> _Content:
    if isinstance(body, str):
        body = body.encode()
    if etag == "auto":
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return _Content(bytes(body), etag, last_modified)


class IndexServer:
    """See the module docstring."""

    def __init__(
        self,
        body: bytes | str = b"",
        *,
        etag: str | None = "auto",
        last_modified: str | None = None,
        path: str = "/index.yaml",
    ) -> None:
        self._lock = threading.RLock()
        self._content = _content(body, etag, last_modified)
        self._swaps: list[tuple[int, _Content]] = []
        self._files: dict[str, bytes] = {}
        self._requests: list[RecordedRequest] = []
        self._active = 0
        self._idle = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.path = path
        self.faults: collections.deque[Fault] = collections.deque()
        self.conditional = True
        self.require_auth: str | None = None
        self.headers: dict[str, str] = {}
        self.delay = 0.0
        self.truncate: int | None = None
        self.redirect: str | None = None
        self.stream_size: int | None = None
        self.stream_declare_length = False
        self.on_request: Callable[[IndexServer, RecordedRequest], None] | None = None
        self.port = 0

    # -- lifecycle
    def start(self) -> IndexServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering; the port is closed (connections are refused afterwards)."""
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a delay
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + self.path

    # -- content
    def set_body(
        self, body: bytes | str, *, etag: str | None = "auto", last_modified: str | None = None
    ) -> None:
        with self._lock:
            self._content = _content(body, etag, last_modified)
            self._swaps.clear()

    def swap_after(
        self,
        n: int,
        body: bytes | str,
        *,
        etag: str | None = "auto",
        last_modified: str | None = None,
    ) -> None:
        with self._lock:
            self._swaps.append((len(self._requests) + n, _content(body, etag, last_modified)))
            self._swaps.sort(key=lambda item: item[0])

    @property
    def body(self) -> bytes:
        with self._lock:
            return self._content.body

    @property
    def etag(self) -> str | None:
        with self._lock:
            return self._content.etag

    @property
    def last_modified(self) -> str | None:
        with self._lock:
            return self._content.last_modified

    def add_file(self, path: str, body: bytes | str) -> None:
        with self._lock:
            self._files[path] = body.encode() if isinstance(body, str) else bytes(body)

    def fail(self, *faults: int | Fault) -> None:
        """Queue faults: ints are statuses (``fail(500, 503)``), or :class:`Fault` objects."""
        with self._lock:
            for fault in faults:
                self.faults.append(Fault(status=fault) if isinstance(fault, int) else fault)

    # -- observation
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def last_request(self) -> RecordedRequest | None:
        with self._lock:
            return self._requests[-1] if self._requests else None

    def statuses(self) -> list[int | None]:
        with self._lock:
            return [r.status for r in self._requests]

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no request is being handled; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

    # -- used by the handler
    def _begin(self, record: RecordedRequest) -> tuple[Fault | None, _Content]:
        with self._lock:
            self._requests.append(record)
            self._active += 1
            number = len(self._requests)
            while self._swaps and number > self._swaps[0][0]:
                self._content = self._swaps.pop(0)[1]
            fault = self.faults.popleft() if self.faults else None
            return fault, self._content

    def _end(self) -> None:
        with self._idle:
            self._active -= 1
            self._idle.notify_all()


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True

    def weak(tag: str) -> str:  # weak comparison, as for GET (RFC 9110 13.1.2)
        return tag.strip().removeprefix("W/")

    return any(weak(tag) == weak(etag) for tag in header.split(","))


def _not_modified_since(header: str, last_modified: str) -> bool:
    try:
        since = email.utils.parsedate_to_datetime(header)
        modified = email.utils.parsedate_to_datetime(last_modified)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=timezone.utc)
    return modified <= since


class _Handler(BaseHTTPRequestHandler):
    owner: IndexServer
    protocol_version = "HTTP/1.1"  # every answer says Connection: close

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep pytest output clean
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, *, head: bool) -> None:
        srv = self.owner
        record = RecordedRequest(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}
        )
        fault, content = srv._begin(record)
        try:
            self._answer(srv, record, fault, content, head)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            record.completed = False  # the client hung up (e.g. a refused oversized body)
        finally:
            self.close_connection = True
            srv._end()

    def _answer(
        self,
        srv: IndexServer,
        record: RecordedRequest,
        fault: Fault | None,
        content: _Content,
        head: bool,
    ) -> None:
        if srv.on_request is not None:
            srv.on_request(srv, record)
        delay = srv.delay + (fault.delay if fault else 0.0)
        if delay and srv._stopping.wait(delay):
            return  # the server is shutting down: no answer
        if fault is not None and fault.reset:
            self.connection.close()
            return
        if fault is not None and fault.status is not None:
            self._send(record, fault.status, fault.body, fault.headers, head=head)
            return
        if srv.require_auth is not None and self.headers.get("Authorization") != srv.require_auth:
            self._send(record, 401, b"unauthorized\n", {"WWW-Authenticate": "Bearer"}, head=head)
            return
        path = self.path.split("?", 1)[0]
        with srv._lock:
            extra = srv._files.get(path)
        if extra is not None:
            self._send(record, 200, extra, {}, head=head)
            return
        if path != srv.path:
            self._send(record, 404, b"not found\n", {}, head=head)
            return
        if srv.redirect is not None:
            self._send(record, 302, b"", {"Location": srv.redirect}, head=head)
            return
        validators = dict(srv.headers)
        if content.etag:
            validators["ETag"] = content.etag
        if content.last_modified:
            validators["Last-Modified"] = content.last_modified
        if srv.stream_size is not None:
            self._stream(record, srv.stream_size, srv.stream_declare_length, head)
            return
        truncate = srv.truncate
        if fault is not None and fault.truncate is not None:
            truncate = fault.truncate
        if truncate is None and srv.conditional and self._not_modified(content):
            self._send(record, 304, b"", validators, head=True)
            return
        trickle = fault.trickle if fault is not None else 0.0
        self._send(
            record, 200, content.body, validators, head=head, truncate=truncate, trickle=trickle
        )

    def _not_modified(self, content: _Content) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:  # RFC 9110: If-None-Match takes precedence
            return bool(content.etag) and _etag_matches(inm, content.etag or "")
        ims = self.headers.get("If-Modified-Since")
        if ims is not None and content.last_modified:
            return _not_modified_since(ims, content.last_modified)
        return False

    def _send(
        self,
        record: RecordedRequest,
        status: int,
        body: bytes,
        headers: Mapping[str, str],
        *,
        head: bool,
        truncate: int | None = None,
        trickle: float = 0.0,
    ) -> None:
        self.send_response(status)
        record.status = status
        lower = {k.lower() for k in headers}
        if status != 304:
            if "content-type" not in lower:
                self.send_header("Content-Type", "application/x-yaml")
            if "content-length" not in lower:
                self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if head or status == 304:
            record.completed = True
            return
        payload = body if truncate is None else body[: max(0, truncate)]
        if trickle:
            for i in range(len(payload)):
                if self.owner._stopping.wait(trickle):
                    return
                self.wfile.write(payload[i : i + 1])
                self.wfile.flush()
                record.bytes_sent = i + 1
        self.wfile.write(b"" if trickle else payload)
        self.wfile.flush()
        record.bytes_sent = len(payload)
        record.completed = truncate is None
        if truncate is not None:
            self.connection.shutdown(2)  # close mid-body: the client sees a short read

    def _stream(self, record: RecordedRequest, size: int, declare: bool, head: bool) -> None:
        self.send_response(200)
        record.status = 200
        self.send_header("Content-Type", "application/x-yaml")
        if declare:
            self.send_header("Content-Length", str(size))
        self.send_header("Connection", "close")
        self.end_headers()
        if head:
            record.completed = True
            return
        chunk = (b"# padding " + b"x" * 80 + b"\n") * 700  # ~64 KiB of valid YAML comments
        sent = 0
        while sent < size:
            piece = chunk[: size - sent]
            self.wfile.write(piece)
            sent += len(piece)
            record.bytes_sent = sent
        self.wfile.flush()
        record.completed = True
