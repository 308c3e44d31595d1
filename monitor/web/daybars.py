"""The day bars: one small inline SVG per target instead of an element per day.

A thousand targets with 90 days each were 90,000 `<li>` elements (5-6 MB of HTML). Now a
row is one `<svg>` holding one `<path>` per quiet level (the clean days, the days without
data: each run of them one sub-path) and one `<rect>` per day worth a look (downtime,
degraded, maintenance), which carries that day's tooltip. The level's colour (and the
stripes of a day with downtime) come from one `<pattern>` per level, defined once per
page (`macros.html.j2`, `bar_patterns`), that also draws the gap between two days. The
whole row's summary ("84 of 90 days without downtime; 12 Jun 2026: down for 25 min")
is the SVG's `<title>`: its accessible name, and the tooltip over the clean days. Every
day's own line is on the target's page (`every_day=True` here, and its table).

A day's level is worked out once per snapshot (`levels`, one letter per day), not per
language or per render; the markup of a row without notable days depends on those
letters alone and is built once per page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from functools import lru_cache

from markupsafe import Markup, escape

from monitor.store import DayUptime
from monitor.web.texts import Texts

# A day with less availability than this is a major outage day (red, not orange).
MAJOR_BELOW = 0.95
# The SVG's units: a day is DAY_WIDTH wide (its bar BAR_WIDTH, then the gap), HEIGHT high.
DAY_WIDTH, BAR_WIDTH, HEIGHT = 10, 8, 28

LETTERS = {"ok": "o", "degraded": "d", "minor": "m", "major": "x", "maintenance": "p", "none": "n"}
TO_COME = "-"  # a day of a watch still to come: drawn as "none", not counted
LEVELS = {**{letter: level for level, letter in LETTERS.items()}, TO_COME: "none"}
QUIET = frozenset("on" + TO_COME)  # drawn as one path each, without a tooltip of their own
_RUN = re.compile(r"(.)\1*")


def level(day: DayUptime | None) -> str:
    """ok, degraded, minor (downtime), major (downtime, under MAJOR_BELOW), maintenance
    or none (no data, or a day still to come)."""
    if day is None:
        return "none"
    u = day.uptime
    if u.down > 0:
        ratio = u.ratio if u.ratio is not None else 0.0
        return "major" if ratio < MAJOR_BELOW else "minor"
    if u.observed <= 0:
        return "maintenance" if u.maintenance > 0 else "none"
    return "degraded" if u.degraded > 0 else "ok"


def levels(days: Sequence[DayUptime | None]) -> str:
    """One letter per day (`LETTERS`, `TO_COME`), oldest first: `level` of each day,
    written out (90,000 days a snapshot)."""
    out = []
    for day in days:
        if day is None:
            out.append(TO_COME)
            continue
        u = day.uptime
        observed = u.observed
        if u.down > 0:
            out.append("x" if observed <= 0 or observed - u.down < MAJOR_BELOW * observed else "m")
        elif observed <= 0:
            out.append("p" if u.maintenance > 0 else "n")
        else:
            out.append("d" if u.degraded > 0 else "o")
    return "".join(out)


@lru_cache(maxsize=4096)
def _run_path(start: int, length: int) -> str:
    width = length * DAY_WIDTH
    return f"M{start * DAY_WIDTH} 0h{width}v{HEIGHT}h-{width}z"


class BarPainter:
    """Draws the day bars of one page in one language (`caption` names the span).

    `svg(days, letters)` gives a row's bars as one escaped `<svg>`; `every_day=True`
    (the target's page) gives every day its own tooltip."""

    def __init__(self, texts: Texts, caption: str, every_day: bool = False) -> None:
        self.texts, self.caption, self.every_day = texts, caption, every_day
        self._date = lru_cache(maxsize=512)(texts.date)
        self._plain = lru_cache(maxsize=2048)(self._plain_title)
        self._quiet_rows: dict[str, Markup] = {}
        self._letters: dict[str, tuple[str, list[int]]] = {}
        self._counted: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._days: dict[tuple[object, ...], tuple[str, str]] = {}
        self._duration = lru_cache(maxsize=4096)(texts.duration)

    def svg(self, days: Sequence[DayUptime | None], letters: str) -> Markup:
        if not self.every_day and QUIET.issuperset(letters):
            found = self._quiet_rows.get(letters)
            if found is None:
                found = self._quiet_rows[letters] = self._draw(days, letters)
            return found
        return self._draw(days, letters)

    def _draw(self, days: Sequence[DayUptime | None], letters: str) -> Markup:
        paths, notable = self._shapes(letters)
        rects, remarks = [], []
        for i in notable:
            day = days[i]
            if day is None:
                rects.append(self._rect(LEVELS[letters[i]], i, ""))
                continue
            title, rect = self._day(i, letters[i], day)
            if letters[i] not in QUIET:
                remarks.append(title)
            rects.append(rect)
        summary = escape(self.summary(letters, remarks))
        return Markup(
            f'<svg class="bars" viewBox="0 0 {len(letters) * DAY_WIDTH} {HEIGHT}" preserveAspectRatio="none" '
            f'role="img"><title>{summary}</title>{paths}{"".join(rects)}</svg>'
        )

    def _shapes(self, letters: str) -> tuple[str, list[int]]:
        """The paths of the quiet days, and the days drawn one by one. Rows often share
        their letters (every day clean; a network outage that took many at once)."""
        found = self._letters.get(letters)
        if found is None:
            quiet: dict[str, list[str]] = {}
            notable: list[int] = []
            for run in _RUN.finditer(letters):
                letter, start, end = run.group(1), run.start(), run.end()
                if letter in QUIET and not self.every_day:
                    quiet.setdefault(LEVELS[letter], []).append(_run_path(start, end - start))
                else:
                    notable.extend(range(start, end))
            paths = "".join(f'<path class="{name}" d="{"".join(d)}"/>' for name, d in quiet.items())
            found = self._letters[letters] = (paths, notable)
        return found

    def _day(self, index: int, letter: str, day: DayUptime) -> tuple[str, str]:
        """A day's tooltip and its rect. Targets that failed together share their days'
        figures, so each is worded once per page."""
        u = day.uptime
        key = (index, letter, day.day, u.down, u.degraded, u.maintenance)
        found = self._days.get(key)
        if found is None:
            title = self.title(day)
            found = self._days[key] = (title, self._rect(LEVELS[letter], index, title))
        return found

    @staticmethod
    def _rect(level: str, index: int, title: str) -> str:
        inner = f"<title>{escape(title)}</title>" if title else ""
        return f'<rect class="{level}" x="{index * DAY_WIDTH}" width="{DAY_WIDTH}" height="{HEIGHT}">{inner}</rect>'

    def summary(self, letters: str, remarks: Sequence[str]) -> str:
        """The caption, how many days were clean, each notable day, days without data."""
        clean, no_data = self._counts(letters)
        return f"{self.caption}: {'; '.join([clean, *remarks, *no_data])}"

    def _counts(self, letters: str) -> tuple[str, tuple[str, ...]]:
        found = self._counted.get(letters)
        if found is None:
            t, total = self.texts, len(letters) - letters.count(TO_COME)
            clean = t("page.days_clean", n=letters.count("o"), total=total)
            no_data = (t("page.days_no_data", n=letters.count("n"), total=total),) if "n" in letters else ()
            found = self._counted[letters] = (clean, no_data)
        return found

    def title(self, day: DayUptime) -> str:
        """The day and what happened in it, in words ("12 Jun 2026: down for 25 min")."""
        u = day.uptime
        found = level(day)
        if found in ("minor", "major"):
            return self._title("page.day_down", day, u.down)
        if found == "maintenance":
            return self._title("page.day_maintenance", day, u.maintenance)
        if found == "degraded":
            return self._title("page.day_degraded", day, u.degraded)
        return self._plain("page.day_ok" if found == "ok" else "page.day_none", day.day)

    def _title(self, key: str, day: DayUptime, seconds: float) -> str:
        return self.texts(key, date=self._date(day.day), duration=self._duration(round(seconds)))

    def _plain_title(self, key: str, day: date) -> str:
        return self.texts(key, date=self._date(day))
