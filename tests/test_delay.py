from __future__ import annotations

import csv
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sphinx_deployguide.chartindex import parse_created
from sphinx_deployguide.delay import (
    RECENT_VERSIONS,
    delay_stats,
    format_duration,
    iso_utc,
    percentile,
    readable_utc,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_percentile_interpolates_linearly() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10], 90) == 10
    assert percentile([0, 10], 90) == pytest.approx(9)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_wait_is_p90_rounded_up_to_the_minute() -> None:
    stats = delay_stats([60, 120, 180, 240, 301])
    assert stats is not None
    assert stats.p90 == pytest.approx(276.6)
    assert stats.wait == 300
    assert delay_stats([]) is None
    assert delay_stats([-5]) is None  # a created before its commit landed is not a delay


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "0.5 s"),
        (42, "42 s"),
        (45, "45 s"),
        (60, "1 min"),
        (270, "4.5 min"),
        (300, "5 min"),
        (408, "6.8 min"),
        (1380, "23 min"),
        (7200, "2 h"),
        (7800, "2 h 10 min"),
        (47 * 3600, "47 h"),
        (225 * 86400 + 3000, "225 days"),
        (323549 * 60, "224 days"),  # the age once printed as "323549 min"
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_moments_are_written_in_utc_as_date_writes_them() -> None:
    """Both moment formats, in any time zone, against GNU date's rendering of the epoch."""
    moment = datetime(2018, 1, 4, 11, 2, 11, 999, tzinfo=timezone(timedelta(hours=1)))
    epoch = f"@{int(moment.timestamp())}"

    def date(fmt: str) -> str:
        return subprocess.run(
            ["date", "-u", "-d", epoch, fmt], capture_output=True, text=True, check=True
        ).stdout.strip()

    assert readable_utc(moment) == date("+%Y-%m-%d %H:%M:%S UTC") == "2018-01-04 10:02:11 UTC"
    assert iso_utc(moment) == date("+%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.skipif(
    not (DATA / "binderhub-publish-delays.csv").exists(), reason="../shared/data is absent"
)
def test_real_binderhub_delays_of_the_last_50_versions() -> None:
    with open(DATA / "binderhub-publish-delays.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: parse_created(r["index_created"]))
    recent = rows[-RECENT_VERSIONS:]
    delays = [
        (
            parse_created(r["index_created"]) - parse_created(r["main_commit_committer_utc"])
        ).total_seconds()
        for r in recent
    ]
    stats = delay_stats(delays)
    assert stats is not None and stats.count == 50
    assert round(stats.median / 60, 1) == 5.0
    assert round(stats.p90 / 60, 1) == 8.1
    assert stats.wait == 9 * 60
