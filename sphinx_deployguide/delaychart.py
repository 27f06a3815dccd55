"""The publish delay as a picture: an SVG histogram with the cumulative curve, drawn from
numbers the facts layer computed (the per-version delays and their median, p90 and advised
wait), never from anything else.

Pure functions returning text, so the picture is tested without Sphinx and the page needs no
JavaScript and no plotting library. Colours are CSS classes with plain presentation
attributes as a fallback; ``deployguide.css`` maps them to the theme's variables, so the
chart follows light and dark themes. Sizes are in a fixed ``viewBox`` that scales down to
its container.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from .delay import format_duration

WIDTH, HEIGHT = 360, 232
LEFT, RIGHT, TOP, BOTTOM = 28, 36, 54, 40
FONT = 11
#: Bin widths (minutes) to choose from: the smallest that keeps the bins at most :data:`BINS`.
STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 240, 480)
BINS = 24


@dataclass(frozen=True)
class DelayPicture:
    """What one chart shows: delays in seconds, oldest version first, and their statistics
    as the facts give them (seconds)."""

    chart: str
    samples: tuple[float, ...]
    median: float
    p90: float
    wait: float

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def within_wait(self) -> int:
        return sum(1 for s in self.samples if s <= self.wait)

    @property
    def slowest(self) -> float:
        return max(self.samples)


@dataclass(frozen=True)
class Axis:
    """The x axis in minutes: ``cap`` is its end, ``step`` the bin width; slower versions
    go into one overflow bar after it."""

    cap: int
    step: int

    @property
    def bins(self) -> int:
        return self.cap // self.step


def choose_axis(picture: DelayPicture) -> Axis:
    """Up to twice the advised wait (past it, the outliers of a re-published index entry
    would squash everything else into one bar), at least up to the wait and the slowest
    version below that."""
    minutes = [s / 60 for s in picture.samples]
    marks = max(picture.wait, picture.p90, picture.median) / 60
    top = max(min(max(minutes), 2 * marks), marks * 1.15, 1.0)
    step = next((s for s in STEPS if top / s <= BINS), STEPS[-1])
    return Axis(cap=int(math.ceil(top / step) * step), step=step)


def summary(picture: DelayPicture) -> str:
    """One line with the numbers in minutes (text, LaTeX and man builders print this)."""
    d = format_duration
    return (
        f"Publish delay of {picture.chart} over the last {picture.count} versions: "
        f"median {d(picture.median)}, 90th percentile {d(picture.p90)}, advised wait "
        f"{d(picture.wait)}; {picture.within_wait} of {picture.count} were published within "
        f"the advised wait, the slowest after {d(picture.slowest)}."
    )


def description(picture: DelayPicture, axis: Axis) -> str:
    """The chart in words, for its ``<desc>``: what is drawn and what it shows."""
    d = format_duration
    over = sum(1 for s in picture.samples if s / 60 > axis.cap)
    text = (
        f"Bars: how many of the last {picture.count} {picture.chart} versions were published "
        f"in each {axis.step}-minute interval after their change landed; line: the share "
        f"published so far. Half were published within {d(picture.median)} (the median), "
        f"nine in ten within {d(picture.p90)} (the 90th percentile). The advised wait is "
        f"{d(picture.wait)}: {picture.within_wait} of {picture.count} versions were published "
        f"within it."
    )
    if over:
        text += (
            f" {over} took longer than {axis.cap} min (the last bar, not to scale); "
            f"the slowest took {d(picture.slowest)}."
        )
    return text


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def render_svg(picture: DelayPicture, id_prefix: str) -> str:
    """The chart as inline SVG; ``id_prefix`` makes its title/desc ids unique on the page."""
    if not picture.samples:
        raise ValueError("a delay chart needs at least one delay")
    axis = choose_axis(picture)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    overflow = [s for s in picture.samples if s / 60 > axis.cap]
    slots = axis.bins + (2 if overflow else 0)  # a gap, then the overflow bar
    slot = plot_w / slots
    counts = [0] * axis.bins
    for s in picture.samples:
        minute = s / 60
        if minute <= axis.cap:
            counts[min(int(minute // axis.step), axis.bins - 1)] += 1
    tallest = max([*counts, len(overflow), 1])

    def x(minutes: float) -> float:
        return LEFT + min(minutes, axis.cap) / axis.step * slot

    def y_count(n: float) -> float:
        return TOP + plot_h - n / tallest * plot_h

    def y_share(share: float) -> float:
        return TOP + plot_h - share * plot_h

    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="deployguide-delay-svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" font-size="{FONT}" fill="currentColor">',
        f'<title id="{title_id}">{escape(_title(picture))}</title>',
        f'<desc id="{desc_id}">{escape(description(picture, axis))}</desc>',
    ]
    # axes and grid
    out.append(
        f'<g class="dg-axis" stroke="currentColor" stroke-opacity="0.5" fill="none">'
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}"/>'
        f'<line x1="{WIDTH - RIGHT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}"/></g>'
    )
    out += _ticks(axis, tallest, x, y_count, y_share, plot_h, overflow, slot)
    # bars
    bars = []
    for i, n in enumerate(counts):
        if n:
            bars.append(_bar(LEFT + i * slot, slot, y_count(n), TOP + plot_h, n))
    if overflow:
        left = LEFT + (axis.bins + 1) * slot
        bars.append(_bar(left, slot, y_count(len(overflow)), TOP + plot_h, len(overflow)))
    out.append('<g class="dg-bar" fill="#7f9fbf">' + "".join(bars) + "</g>")
    # cumulative share (of every version, so it ends below 100% when some are off the axis)
    ordered = sorted(s / 60 for s in picture.samples)
    points: list[tuple[float, float]] = [(LEFT, y_share(0))]
    for i, minute in enumerate(ordered):
        if minute > axis.cap:
            break
        points += [
            (x(minute), y_share(i / picture.count)),
            (x(minute), y_share((i + 1) / picture.count)),
        ]
    done = sum(1 for m in ordered if m <= axis.cap) / picture.count
    points.append((x(axis.cap), y_share(done)))
    path = " ".join(f"{_num(px)},{_num(py)}" for px, py in points)
    out.append(
        f'<polyline class="dg-curve" points="{path}" fill="none" stroke="#1f5fa0" '
        f'stroke-width="2"/>'
    )
    out += _markers(picture, x)
    out.append("</svg>")
    return "".join(out)


def _title(picture: DelayPicture) -> str:
    return (
        f"Publish delay of {picture.chart}, last {picture.count} versions: median "
        f"{format_duration(picture.median)}, p90 {format_duration(picture.p90)}, advised wait "
        f"{format_duration(picture.wait)}"
    )


def _bar(left: float, slot: float, top: float, base: float, n: int) -> str:
    pad = min(1.5, slot * 0.1)
    return (
        f'<rect x="{_num(left + pad)}" y="{_num(top)}" width="{_num(slot - 2 * pad)}" '
        f'height="{_num(base - top)}"><title>{n}</title></rect>'
    )


def _ticks(
    axis: Axis,
    tallest: int,
    x: Callable[[float], float],
    y_count: Callable[[float], float],
    y_share: Callable[[float], float],
    plot_h: int,
    overflow: list[float],
    slot: float,
) -> list[str]:
    """Minutes under the x axis, version counts on the left, the share on the right."""
    out = ['<g class="dg-ticks" fill="currentColor" fill-opacity="0.85">']
    every = next(s for s in (*STEPS, axis.cap) if axis.cap / s <= 6 and s % axis.step == 0)
    base = TOP + plot_h
    for minute in range(0, axis.cap + 1, every):
        out.append(
            f'<text x="{_num(x(minute))}" y="{base + 14}" text-anchor="middle">{minute}</text>'
        )
    if overflow:
        mid = LEFT + (axis.bins + 1.5) * slot
        out.append(
            f'<text x="{_num(mid)}" y="{base + 14}" text-anchor="middle">&gt;{axis.cap}</text>'
        )
    out.append(
        f'<text x="{_num(LEFT + (WIDTH - LEFT - RIGHT) / 2)}" y="{base + 31}" '
        f'text-anchor="middle">minutes from merge to publication</text>'
    )
    step = max(1, math.ceil(tallest / 4))
    for n in range(0, tallest + 1, step):
        out.append(f'<text x="{LEFT - 6}" y="{_num(y_count(n) + 4)}" text-anchor="end">{n}</text>')
    for share in (0, 0.5, 1):
        out.append(
            f'<text x="{WIDTH - RIGHT + 6}" y="{_num(y_share(share) + 4)}">{int(share * 100)}%</text>'
        )
    out.append("</g>")
    return out


#: Marker labels: their rows' baselines, the estimated width of a character (generous for
#: the sans-serif fonts themes use), the space between a label and its own line, and the
#: least space between a label and any other marker's line.
LABEL_ROWS = (12, 26, 40)
CHAR_WIDTH = 0.6 * FONT
LABEL_OFFSET = 4
LABEL_CLEARANCE = 3


@dataclass(frozen=True)
class Label:
    """Where a marker's label goes: its row, its anchor ``x`` and ``anchor`` (SVG)."""

    row: int
    x: float
    anchor: str

    def span(self, text: str) -> tuple[float, float]:
        """The estimated left and right of the text."""
        width = len(text) * CHAR_WIDTH
        if self.anchor == "start":
            return self.x, self.x + width
        if self.anchor == "end":
            return self.x - width, self.x
        return self.x - width / 2, self.x + width / 2


def place_labels(marks: list[tuple[str, float]]) -> list[Label]:
    """A label for each ``(text, line x)``: one row each, every label inside the picture,
    and no marker line through another marker's label (a line runs from just below its
    own label down to the axis, so it crosses the labels of the rows below it). Centred
    over its line where it can be, else beside it. The markers are often a minute apart."""
    best: tuple[int, list[Label]] | None = None
    for rows in itertools.permutations(range(len(marks))):
        for anchors in itertools.product(("middle", "start", "end"), repeat=len(marks)):
            labels = [
                Label(row, px + {"start": LABEL_OFFSET, "end": -LABEL_OFFSET}.get(a, 0.0), a)
                for (_, px), row, a in zip(marks, rows, anchors, strict=True)
            ]
            cost = _crossings(marks, labels) * 100 + sum(a != "middle" for a in anchors)
            if best is None or cost < best[0]:
                best = (cost, labels)
            if cost == 0:
                return labels
    assert best is not None
    return best[1]


def _crossings(marks: list[tuple[str, float]], labels: list[Label]) -> int:
    """How many labels leave the picture or have another marker's line through them."""
    count = 0
    for (text, _), label in zip(marks, labels, strict=True):
        left, right = label.span(text)
        if left < 2 or right > WIDTH - 2:
            count += 1
        for (_, px), other in zip(marks, labels, strict=True):
            below = other.row < label.row  # that line starts above this label's row
            if (
                other is not label
                and below
                and left - LABEL_CLEARANCE <= px <= right + LABEL_CLEARANCE
            ):
                count += 1
    return count


def _markers(picture: DelayPicture, x: Callable[[float], float]) -> list[str]:
    """Median, p90 and the advised wait: a line each, labelled in its own row, placed so
    that no line strikes through a label (:func:`place_labels`)."""
    out = []
    rows = (
        ("median", f"median {format_duration(picture.median)}", picture.median, "4 3"),
        ("p90", f"90% within {format_duration(picture.p90)}", picture.p90, "2 3"),
        ("wait", f"advised wait {format_duration(picture.wait)}", picture.wait, ""),
    )
    lines = [x(seconds / 60) for _, _, seconds, _ in rows]
    labels = place_labels([(label, px) for (_, label, _, _), px in zip(rows, lines, strict=True)])
    for (name, label, _, dash), px, place in zip(rows, lines, labels, strict=True):
        label_y = LABEL_ROWS[place.row]
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<g class="dg-mark dg-{name}" data-deployguide-mark="{name}">'
            f'<line x1="{_num(px)}" y1="{label_y + 4}" x2="{_num(px)}" y2="{HEIGHT - BOTTOM}" '
            f'stroke="currentColor" stroke-width="1.5"{dashes}/>'
            f'<text x="{_num(place.x)}" y="{label_y}" text-anchor="{place.anchor}">'
            f"{escape(label)}</text></g>"
        )
    return out
