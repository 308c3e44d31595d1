"""The web pages' texts in Indonesian and English, and how times and durations read.

Every user-facing string lives in `templates/strings.toml`, each entry with its `id` and
`en` text side by side; `Texts` is one language's view of that catalog, handed to the
templates as `t`. Times are shown in the configured zone, durations in words.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("id", "en")


def load_catalog(path: Path) -> dict[str, dict[str, str]]:
    """`strings.toml` flattened to {"page.updated": {"id": ..., "en": ...}, ...}."""
    with path.open("rb") as f:
        raw = tomllib.load(f)
    catalog: dict[str, dict[str, str]] = {}

    def walk(table: Mapping[str, Any], prefix: str) -> None:
        # An entry is a table whose keys are exactly the languages (so no section may
        # have a sub-table named "id" or "en").
        if set(table) == set(LANGUAGES):
            catalog[prefix] = {lang: str(table.get(lang, "")) for lang in LANGUAGES}
            return
        for key, value in table.items():
            walk(value, f"{prefix}.{key}" if prefix else key)

    walk(raw, "")
    return catalog


@dataclass(frozen=True)
class Texts:
    """One language's texts and formats. Templates call `t("key", name=value)`."""

    catalog: Mapping[str, Mapping[str, str]]
    lang: str
    zone: ZoneInfo

    def __call__(self, key: str, **values: object) -> str:
        entry = self.catalog.get(key)
        if entry is None:
            raise KeyError(f"no text {key!r} in strings.toml")
        return entry[self.lang].format(**values) if values else entry[self.lang]

    def reason(self, code: str) -> str:
        """A machine reason (`monitor.result.Reason`) in plain words."""
        key = f"reason.{code}"
        return self(key if key in self.catalog else "reason.other")

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
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
            amount, total = divmod(total, size)
            if amount:
                parts.append(self(f"unit.{unit}", n=amount))
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
