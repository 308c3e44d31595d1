"""Alert messages: jinja2 templates in `templates/alerts/`, Indonesian and English.

`Texts.render(template, alert)` renders one template (`title.txt.j2`, `text.txt.j2`,
`telegram.html.j2`, `email.html.j2`, `slack.md.j2`, `discord.md.j2`) in the configured
language, with times shown in the configured time zone. Their words come from the one
text catalogue (`monitor.texts`) as `t`: the messages' layout from
`templates/texts/alerts.toml`, the state words and reasons as on the status page.
Templates ending in `.html.j2` are autoescaped; Slack's mrkdwn gets its own `mrkdwn`
escaping filter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from monitor.notifiers.base import Alert
from monitor.resources import templates_dir
from monitor.texts import load_catalog

# Colour of each alert kind in chat layouts and e-mail: red for outages, green for
# recoveries, orange for warnings, grey for information.
_RED, _GREEN, _ORANGE, _GREY = "#d62728", "#2ca02c", "#ff7f0e", "#7f7f7f"
COLOURS = {
    "down": _RED,
    "reminder": _RED,
    "refresh": _RED,
    "escalation": _RED,
    "up": _GREEN,
    "degraded": _ORANGE,
    "cert": _ORANGE,
    "flapping": _ORANGE,
    "stable": _GREY,
    "test": _GREY,
    "storage_failing": _RED,
    "storage_recovered": _GREEN,
    "connectivity_lost": _RED,
    "connectivity_restored": _GREEN,
    "location_stale": _RED,
    "location_back": _GREEN,
    "preflight": _GREEN,  # with a warning orange, with a problem red (`colour`)
}


def iso_utc(unix: float | None) -> str | None:
    """Unix seconds -> ISO 8601 in UTC with a `Z` (what machines receive)."""
    if unix is None:
        return None
    moment = datetime.fromtimestamp(unix, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def colour(alert: Alert) -> str:
    """The alert's colour as `#rrggbb`; a recovery into DEGRADED stays orange."""
    if alert.kind in ("up", "stable", "preflight") and alert.new != "UP":
        return _RED if alert.new == "DOWN" else _ORANGE
    return COLOURS.get(alert.kind, _GREY)


class Texts:
    """Renders alert templates in one language and time zone."""

    def __init__(
        self, language: str = "en", timezone: str = "UTC", title: str = "monitor", directory: Path | None = None
    ) -> None:
        self.language = language
        self.title = title
        self.zone = ZoneInfo(timezone)
        folder = directory or templates_dir()
        self.words = load_catalog(folder).words(language)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(folder)),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=False,
            keep_trailing_newline=False,
        )
        self.env.filters["localtime"] = self._localtime
        self.env.filters["mrkdwn"] = _mrkdwn
        # Macros imported from the (unescaped) macros template return Markup; `plain`
        # turns it back into text so an HTML template escapes names like "R&D <lab>".
        self.env.filters["plain"] = lambda value: str.__str__(value)

    def render(self, template: str, alert: Alert | None = None, **extra: Any) -> str:
        context = {
            "lang": self.language,
            "t": self.words,
            "title": self.title,
            "alert": alert,
            "colour": colour(alert) if alert else _GREY,
            **extra,
        }
        return self.env.get_template(f"alerts/{template}").render(context).strip()

    def _localtime(self, unix: float | None) -> str:
        if unix is None:
            return ""
        return datetime.fromtimestamp(unix, self.zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _mrkdwn(value: Any) -> str:
    text = str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
