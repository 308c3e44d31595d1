"""Rendering an availability `Report` as HTML (printable), Markdown or CSV.

HTML and Markdown are jinja2 templates (`templates/report.html.j2`, `report.md.j2`);
their words come from the one text catalogue (`monitor.texts`): the report's layout from
`templates/texts/report.toml` (`t("report.title")`), the reasons through `t.reason`,
which read as on the status page and in the alerts.

CSV is for spreadsheets: stable English column names, plain numbers (seconds, percent,
milliseconds), machine reason codes and ISO 8601 times in the configured zone; one
summary table and, after a blank line, the incident list.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from monitor.resources import templates_dir
from monitor.texts import LANGUAGES, Catalog, load_catalog

if TYPE_CHECKING:
    from monitor.report.build import Figures, Outage, Report

FORMATS = ("html", "md", "csv")


@cache
def _catalog(folder: Path) -> Catalog:
    return load_catalog(folder)


@cache
def _environment(folder: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_report(report: Report, fmt: str, language: str) -> str:
    """The report as `html`, `md` or `csv`, its words in `language` (`id` or `en`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r} (one of {', '.join(FORMATS)})")
    if fmt == "csv":
        return _csv(report)
    folder = templates_dir()
    lang = language if language in LANGUAGES else "en"
    helpers = Helpers(report, _catalog(folder), lang)
    template = _environment(folder).get_template(f"report.{fmt}.j2")
    return template.render(
        report=report,
        language=lang,
        t=helpers.t,
        when=helpers.when,
        span=helpers.span,
        outage=helpers.outage,
        percent=helpers.percent,
        ms=helpers.ms,
        group=helpers.group,
        md=markdown_cell,
    )


class Helpers:
    """The formatting functions the templates call, bound to a report and a language."""

    def __init__(self, report: Report, catalog: Catalog, language: str) -> None:
        self.report, self.language = report, language
        self.t = catalog.words(language)

    def when(self, at: float) -> str:
        return datetime.fromtimestamp(at, self.report.zone).strftime("%Y-%m-%d %H:%M")

    def span(self, seconds: float | None) -> str:
        """A duration in words, rounded to the second under an hour (`1 mnt 46 dtk`,
        `45 s`) and to the minute from an hour up (`2 hari 3 jam 5 mnt`, `1 h 30 min`):
        rounding is monotonic, so a part never reads longer than its whole."""
        if seconds is None:
            return self.t("report.not_available")
        rest = round(seconds)
        if rest >= 3600:
            rest = round(seconds / 60) * 60
        units = (
            ("report.unit_day", 86400),
            ("report.unit_hour", 3600),
            ("report.unit_minute", 60),
            ("report.unit_second", 1),
        )
        parts = []
        for key, size in units:
            if rest >= size:
                parts.append(f"{rest // size} {self.t(key)}")
                rest %= size
        return " ".join(parts) or f"0 {self.t('report.unit_second')}"

    def outage(self, outage: Outage) -> str:
        """An outage's downtime, and the rest of its length when it was not all downtime:
        `2 jam (+1 jam pemeliharaan, +2 jam tidak terpantau)`."""
        rest = [
            self.t(key, duration=self.span(seconds))
            for key, seconds in (
                ("report.outage_maintenance", outage.maintenance),
                ("report.outage_unmonitored", outage.unmonitored),
            )
            if round(seconds) > 0
        ]
        return self.span(outage.downtime) + (f" ({', '.join(rest)})" if rest else "")

    def _number(self, value: float, digits: int) -> str:
        text = f"{value:,.{digits}f}"
        if self.language == "id":  # 1.234,5 in Indonesian
            text = text.replace(",", "_").replace(".", ",").replace("_", ".")
        return text

    def percent(self, value: float | None) -> str:
        """`99,95 %`; a loss never rounds up to 100 (as on the status page)."""
        if value is None:
            return self.t("report.not_available")
        return f"{self._number(min(value, 99.999) if value < 100 else value, 3)} %"

    def ms(self, seconds: float | None) -> str:
        return self.t("report.not_available") if seconds is None else f"{self._number(seconds * 1000, 0)} ms"

    def group(self, name: str) -> str:
        return name or self.t("report.no_group")


def markdown_cell(text: str) -> str:
    """Text safe inside a Markdown table cell: no table breaks, no markup, no HTML."""
    out = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for char in "*_`[]<>#":
        out = out.replace(char, "\\" + char)
    return out


_SUMMARY = (
    "level",
    "group",
    "target",
    "name",
    "availability_percent",
    "downtime_seconds",
    "maintenance_seconds",
    "unmonitored_seconds",
    "incidents",
    "longest_outage_seconds",
    "mttr_seconds",
    "p50_ms",
    "p95_ms",
    "probes",
    "failed_probes",
)
_INCIDENTS = (
    "target",
    "name",
    "start",
    "end",
    "length_seconds",
    "reason",
    "detail",
    "downtime_seconds",
    "maintenance_seconds",
    "unmonitored_seconds",
)


# A cell starting with one of these is a formula to a spreadsheet: a name, a reason or a
# probe's detail (a remote server's words, a push job's message) must stay text.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class _TextWriter:
    """`csv.writer` whose text cells are never read as formulas (OWASP: a leading `'`)."""

    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Sequence[object]) -> None:
        self._writer.writerow([f"'{v}" if isinstance(v, str) and v.startswith(_FORMULA) else v for v in row])


def _csv(report: Report) -> str:
    out = io.StringIO()
    writer = _TextWriter(out)

    def iso(at: float) -> str:
        return datetime.fromtimestamp(at, report.zone).isoformat()

    writer.writerow(_SUMMARY)
    writer.writerow(_row("all", report.overall, ""))
    for figures in report.groups:
        writer.writerow(_row("group", figures, ""))
    for figures in report.targets:
        writer.writerow(_row("target", figures, figures.uptime.target))
    writer.writerow([])
    writer.writerow(_INCIDENTS)
    for outage in report.overall.incidents:
        writer.writerow(
            [
                outage.target,
                outage.name,
                iso(outage.start),
                "" if outage.end is None else iso(outage.end),
                round(outage.length, 3),
                outage.reason,
                outage.detail,
                round(outage.downtime, 3),
                round(outage.maintenance, 3),
                round(outage.unmonitored, 3),
            ]
        )
    return out.getvalue()


def _row(level: str, f: Figures, target: str) -> list[object]:
    def num(value: float | None, scale: float = 1.0, digits: int = 3) -> object:
        return "" if value is None else round(value * scale, digits)

    return [
        level,
        f.group,
        target,
        f.name,
        num(f.availability, digits=4),
        num(f.uptime.down),
        num(f.uptime.maintenance),
        num(f.uptime.unmonitored),
        len(f.incidents),
        num(f.longest),
        num(f.mttr),
        num(f.p50, 1000, 1),
        num(f.p95, 1000, 1),
        f.latency.count,
        f.latency.failures,
    ]
