"""A deadline for a whole network fetch, not for each socket read.

``requests``' timeouts bound one connect and each read: a server that sends one byte every
few seconds never trips them and can keep a build waiting for hours. :func:`call_within`
runs one blocking request in a worker thread and waits at most until the :class:`Deadline`;
when it passes, the sockets the request opened are shut down (so the worker ends too) and
:class:`DeadlineExceeded` is raised. Sessions get a :class:`TrackingAdapter` so that every
socket they connect is known to the call that opened it.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["Deadline", "DeadlineExceeded", "TrackingAdapter", "call_within", "track_sockets"]

T = TypeVar("T")
_local = threading.local()


class Deadline:
    """A point in time ``seconds`` from now (None: no deadline)."""

    def __init__(self, seconds: float | None, *, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._end = None if seconds is None else clock() + seconds

    def remaining(self) -> float:
        return math.inf if self._end is None else self._end - self._clock()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def cap(self, seconds: float) -> float:
        """``seconds``, or less if the deadline comes first (never below 1 ms)."""
        return max(min(seconds, self.remaining()), 0.001)


class DeadlineExceeded(Exception):
    """The deadline passed before the call finished."""


class _Tracking:
    """Registers each socket it connects with the :func:`call_within` running in its thread."""

    sock: Any

    def connect(self) -> None:
        # a mixin: the connection class it is mixed into (below) has connect()
        super().connect()  # type: ignore[misc]
        sockets = getattr(_local, "sockets", None)
        if sockets is not None:
            sockets.append(self.sock)


class _HTTPConnection(_Tracking, HTTPConnection):
    pass


class _HTTPSConnection(_Tracking, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class TrackingAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections report their sockets (see the module doc)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def track_sockets(session: requests.Session) -> None:
    """Mount a :class:`TrackingAdapter` for http(s) on ``session`` (once)."""
    if not isinstance(session.get_adapter("https://"), TrackingAdapter):
        session.mount("https://", TrackingAdapter())
    if not isinstance(session.get_adapter("http://"), TrackingAdapter):
        session.mount("http://", TrackingAdapter())


def _abort(sockets: list[Any]) -> None:
    for sock in list(sockets):
        try:  # the plain socket's shutdown, also under TLS: wakes a blocked recv at once
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass


def call_within(deadline: Deadline, call: Callable[[], T]) -> T:
    """``call()``, or :class:`DeadlineExceeded` once ``deadline`` passes (see the module doc)."""
    if deadline.seconds is None:
        return call()
    if deadline.expired:
        raise DeadlineExceeded
    sockets: list[Any] = []
    outcome: dict[str, Any] = {}

    def work() -> None:
        _local.sockets = sockets
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            _local.sockets = None

    worker = threading.Thread(target=work, name="deployguide-fetch", daemon=True)
    worker.start()
    worker.join(max(deadline.remaining(), 0.0))
    if worker.is_alive():
        _abort(sockets)
        worker.join(1.0)  # it ends now that its socket is closed; never wait long for it
        raise DeadlineExceeded
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value
