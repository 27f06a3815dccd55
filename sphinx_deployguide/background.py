"""Work started in a thread now, its result waited for later.

For what would otherwise wait in turn: the chart index (a request, a YAML parse) is read
while git, in its own processes, answers about the source; git is asked two questions at
once (:func:`~sphinx_deployguide.chartresolve.ask_beside`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["in_background"]

T = TypeVar("T")


def in_background(call: Callable[[], T], name: str = "index") -> Callable[[], T]:
    """Start ``call()`` in a thread; the returned function waits for its result (raising
    what it raised)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=f"deployguide-{name}", daemon=True)
    worker.start()

    def result() -> T:
        worker.join()
        if "error" in outcome:
            raise outcome["error"]
        value: T = outcome["value"]
        return value

    return result
