"""The status page's small graphics: the day bars and the latency sparklines and chart.

Their shapes are computed here and drawn by the templates (inline SVG and plain HTML, no
JavaScript). A thousand targets make 90,000 day bars, so the bar tooltips are built with
per-day texts computed once per page, not once per bar. A line with a single point (a
target probed for a few minutes) is drawn as a dot: a polyline of one point draws nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from markupsafe import Markup, escape

from monitor.store import DayUptime, Rollup
from monitor.web.texts import Texts

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

# A day with less availability than this is a major outage day (a taller, darker bar).
MAJOR_BELOW = 0.95


@dataclass(frozen=True, slots=True)
class DayBar:
    """One day's bar: `level` is ok, degraded, minor, major, maintenance or none;
    `title` is the tooltip (the day and its downtime in words)."""

    level: str
    title: str


class BarPainter:
    """Builds day bars for one page in one language; remembers each day's texts.

    `html(days)` gives a row's bars as ready, escaped `<li>` items: the one piece of
    markup written here rather than in a template, because a jinja loop over 90,000 bars
    alone takes longer than the whole page may (see the README's render figure).
    """

    def __init__(self, texts: Texts) -> None:
        self.texts = texts
        self._label = lru_cache(maxsize=512)(texts.date)
        self._plain = lru_cache(maxsize=2048)(self._plain_title)
        self._ok_items: dict[date, str] = {}

    def html(self, days: Sequence[DayUptime | None]) -> Markup:
        # Most days are clean: their item depends on the date only, so it is built once
        # per page and looked up; the others are built one by one.
        ok_items, items = self._ok_items, []
        for day in days:
            if day is not None:
                u = day.uptime
                if u.observed > 0 and u.down <= 0 and u.degraded <= 0:
                    item = ok_items.get(day.day)
                    if item is None:
                        item = ok_items[day.day] = self._item(self.bar(day))
                    items.append(item)
                    continue
            items.append(self._item(self.bar(day)))
        return Markup("".join(items))

    @staticmethod
    def _item(bar: DayBar) -> str:
        return f'<li class="{bar.level}" title="{escape(bar.title)}"></li>'

    def bar(self, day: DayUptime | None) -> DayBar:
        if day is None:
            return DayBar("none", "")
        u = day.uptime
        if u.down > 0:
            ratio = u.ratio if u.ratio is not None else 0.0
            level = "major" if ratio < MAJOR_BELOW else "minor"
            return DayBar(level, self._title("page.day_down", day, u.down))
        if u.observed <= 0:
            if u.maintenance > 0:
                return DayBar("maintenance", self._title("page.day_maintenance", day, u.maintenance))
            return DayBar("none", self._plain("page.day_none", day.day))
        if u.degraded > 0:
            return DayBar("degraded", self._title("page.day_degraded", day, u.degraded))
        return DayBar("ok", self._plain("page.day_ok", day.day))

    def _title(self, key: str, day: DayUptime, seconds: float) -> str:
        return self.texts(key, date=self._label(day.day), duration=self.texts.duration(seconds))

    def _plain_title(self, key: str, day: date) -> str:
        return self.texts(key, date=self._label(day))


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
