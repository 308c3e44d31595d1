"""The pages' small graphics: the state icons, the latency sparklines and chart.

Their shapes are computed here and drawn by the templates (inline SVG, no JavaScript);
the day bars are `monitor.web.daybars`. A line with a single point (a target probed for
a few minutes) is drawn as a dot: a polyline of one point draws nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from monitor.store import Rollup

# Every state is shown by an icon and a word, never by colour alone.
ICONS = {"UP": "✓", "DEGRADED": "!", "DOWN": "✕", "MAINTENANCE": "⚙", "UNKNOWN": "?"}
OVERALL_ICONS = {
    "operational": "✓",
    "degraded": "!",
    "partial_outage": "!",
    "major_outage": "✕",
    "maintenance": "⚙",
    "checking": "?",
    "unknown": "?",
}


@dataclass(frozen=True, slots=True)
class Line:
    """A polyline in a `width` x `height` box (y grows downwards), with its range.
    `lone`: one point only, given twice, which the templates draw as a round dot."""

    points: str
    low: float
    high: float
    width: int
    height: int
    lone: bool = False


def sparkline(values: Sequence[float | None], width: int = 230, height: int = 48) -> Line | None:
    """The values as a polyline (gaps skipped), scaled to fit in whole units (the box is
    large enough for that; whole numbers format fast); None without any value. A flat
    line (or a single point) runs through the middle."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    low, high = min(present), max(present)
    scale = (height - 2) / ((high - low) or 1.0)
    xs = _xs(len(values), width)
    bottom = height - 1 if high > low else height // 2
    points = [f"{x},{round(bottom - (v - low) * scale)}" for x, v in zip(xs, values, strict=True) if v is not None]
    return _line(points, low, high, width, height)


def _line(points: list[str], low: float, high: float, width: int, height: int) -> Line:
    if len(points) == 1:
        return Line(f"{points[0]} {points[0]}", low, high, width, height, lone=True)
    return Line(" ".join(points), low, high, width, height)


@lru_cache(maxsize=16)
def _xs(count: int, width: int) -> tuple[int, ...]:
    step = width / max(1, count - 1)
    return tuple(round(i * step) for i in range(count))


@dataclass(frozen=True, slots=True)
class Chart:
    """The target page's latency chart: the mean and the slowest probe per bucket."""

    mean: Line
    slowest: Line
    start: float
    end: float


def latency_chart(series: Sequence[Rollup], width: int = 600, height: int = 160) -> Chart | None:
    """Both lines share one scale (0 to the slowest probe) so they can be compared."""
    if not any(r.latency_count for r in series):
        return None
    top = max((r.latency_max or 0.0) for r in series) or 1.0
    step = width / max(1, len(series) - 1)
    # A single bucket stands in the middle rather than on the left edge.
    offset = width / 2 if len(series) == 1 else 0.0

    def line(values: list[float | None]) -> Line:
        points = [
            f"{offset + i * step:.1f},{height - v / top * (height - 4) - 2:.1f}"
            for i, v in enumerate(values)
            if v is not None
        ]
        return _line(points, 0.0, top, width, height)

    return Chart(
        mean=line([r.latency_mean for r in series]),
        slowest=line([r.latency_max for r in series]),
        start=series[0].start,
        end=series[-1].end,
    )
