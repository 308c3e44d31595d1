"""How the web pages' texts read in one language: words, times and durations.

The words come from the one catalogue (`monitor.texts`, `templates/texts/`): the pages'
own in `web.toml`, the state words and reasons in `shared.toml`. `Texts` is one
language's view of it, handed to the templates as `t`; it adds how times (in the
configured zone), durations, latencies and percentages read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from monitor.texts import Words

# The catalogue's words for an incident's status and a banner's level.
STATUS_WORDS = {
    "investigating": "timeline.investigating",
    "identified": "timeline.identified",
    "monitoring": "timeline.monitoring",
    "resolved": "timeline.resolved",
}
LEVEL_WORDS = {"info": "notice.info", "warning": "notice.warning", "critical": "notice.critical"}


@dataclass(frozen=True)
class Texts(Words):
    """One language's texts and formats. Templates call `t("key", name=value)`,
    `t.state(value)` and `t.reason(code)`."""

    zone: ZoneInfo

    def local(self, at: float) -> datetime:
        return datetime.fromtimestamp(at, self.zone)

    def date(self, at: float | date) -> str:
        """`12 Jun 2026` (`12 Agu 2026`): a unix time in the zone, or a date as it is."""
        when = self.local(at) if isinstance(at, float | int) else at
        month = self("months").split()[when.month - 1]
        return f"{when.day} {month} {when.year}"

    def time(self, at: float) -> str:
        """`12 Jun 2026 14:05 WIB`: date, time and the zone's abbreviation."""
        when = self.local(at)
        return f"{self.date(when)} {when:%H:%M} {when.tzname()}"

    def duration(self, seconds: float) -> str:
        """Two largest units in words: `2 jam 5 menit`, `3 d 4 h`, `45 s`."""
        total = max(0, round(seconds))
        parts = []
        for key, size in (("unit.d", 86400), ("unit.h", 3600), ("unit.m", 60), ("unit.s", 1)):
            amount, total = divmod(total, size)
            if amount:
                parts.append(self(key, n=amount))
        return " ".join(parts[:2]) if parts else self("unit.s", n=0)

    def latency(self, seconds: float) -> str:
        if seconds >= 1:
            return self("unit.s", n=f"{seconds:.2f}".rstrip("0").rstrip("."))
        return self("unit.ms", n=round(seconds * 1000))

    def percent(self, ratio: float | None) -> str:
        """`99.95%` (`99,95%` in Indonesian); never rounds a loss up to 100%."""
        if ratio is None:
            return "—"
        value = min(ratio * 100, 99.99) if ratio < 1 else 100.0
        text = f"{value:.2f}".rstrip("0").rstrip(".") if value < 100 else "100"
        return (text.replace(".", ",") if self.lang == "id" else text) + "%"
