"""Publish delay statistics: how long after a chart commit lands does its chart appear?

Also the one way outputs write a duration (:func:`format_duration`) and a moment
(:func:`iso_utc` in facts and data, :func:`readable_utc` in sentences).

Pure functions over numbers, so the statistics can be checked against the real binderhub
publish history without git or HTTP. Percentiles use linear interpolation between closest
ranks (numpy's default), and the median is robust to the re-published index entries whose
``created`` was overwritten hours later.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

#: How many of the newest versions (by index ``created``) the statistics use.
RECENT_VERSIONS = 50


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) of ``values`` by linear interpolation."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class DelayStats:
    """Delay statistics in seconds; ``wait`` is the advised wait (p90 up to the minute).

    ``samples`` are the delays the statistics were computed from, oldest version first, so a
    picture of the distribution draws exactly what the numbers summarise.
    """

    count: int
    median: float
    p90: float
    p95: float
    samples: tuple[float, ...] = ()

    @property
    def wait(self) -> int:
        return int(math.ceil(self.p90 / 60) * 60)


def delay_stats(delays_seconds: Sequence[float]) -> DelayStats | None:
    """Statistics over delays in seconds; ``None`` when there is nothing to measure."""
    usable = [d for d in delays_seconds if d >= 0]
    if not usable:
        return None
    return DelayStats(
        count=len(usable),
        median=percentile(usable, 50),
        p90=percentile(usable, 90),
        p95=percentile(usable, 95),
        samples=tuple(usable),
    )


def format_duration(seconds: float) -> str:
    """The one way every output writes a duration: ``45 s``, ``4.5 min``, ``2 h 10 min``,
    ``225 days``.

    Precision shrinks as durations grow: tenths under ten seconds (fast test polls) and
    under ten minutes (a pin merged 4.5 minutes early), whole minutes up to two days
    (publish delays, waits), whole days beyond (a chart commit that never got published).
    """
    seconds = max(0.0, float(seconds))
    if seconds < 59.5:
        return f"{_tenths(seconds) if seconds < 10 else round(seconds)} s"
    minutes = seconds / 60
    if minutes < 9.95:
        return f"{_tenths(minutes)} min"
    if minutes < 59.5:
        return f"{round(minutes)} min"
    if seconds < 48 * 3600:
        hours, rest = divmod(round(minutes), 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days = int(seconds // 86400)
    return f"{days} days"


def _tenths(value: float) -> str:
    """``4.5``, ``5`` (not ``5.0``)."""
    return f"{value:.1f}".removesuffix(".0")


def iso_utc(moment: datetime) -> str:
    """RFC 3339 in UTC to the second, as facts show times: ``2024-03-26T15:42:24Z``."""
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def readable_utc(moment: datetime) -> str:
    """A moment in a sentence, in UTC to the second: ``2018-01-04 10:02:11 UTC``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def readable_utc_minute(iso: str) -> str:
    """An RFC 3339 moment as a page's "as of" line shows it, in UTC to the minute:
    ``2026-11-29T02:15:00Z`` -> ``2026-11-29 02:15 UTC`` (text that is no moment is kept)."""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
