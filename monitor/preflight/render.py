"""The checklist as text (a table on a terminal, plain lines otherwise), HTML (printable
on one A4 page for a regency's ~50 targets), Markdown or JSON.

Every format shows the same `View`: each row's words in the configured language, from
the text catalogue (`templates/texts/preflight.toml`, `t("preflight.cert.during", ...)`),
with its values formatted here (times in the configured zone, sizes, percentages,
reasons in words). HTML and Markdown are jinja2 templates (`templates/preflight.html.j2`,
`preflight.md.j2`; the rows' table is `preflight_rows.html.j2`, which the admin view
shows too). JSON (`to_json`) carries the words and, for scripts, each row's text key and
raw values; its shape is documented in docs/preflight.md.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text as RichText

from monitor.preflight.model import Checklist, Moment, Percent, Phrase, ReasonCode, Row, Size, Status, Text, Value
from monitor.report.render import markdown_cell
from monitor.resources import templates_dir
from monitor.texts import LANGUAGES, Catalog, Words, load_catalog

FORMATS = ("text", "html", "md", "json")
JSON_VERSION = 1
OK_IDS_SHOWN = 3  # an ok row names this many of its ids, then how many more (JSON: all)

STATUS_WORDS = {
    Status.OK: "preflight.status.ok",
    Status.WARNING: "preflight.status.warning",
    Status.PROBLEM: "preflight.status.problem",
}
CHECK_TITLES = {
    "history": "preflight.check.history",
    "certificates": "preflight.check.certificates",
    "domains": "preflight.check.domains",
    "states": "preflight.check.states",
    "availability": "preflight.check.availability",
    "power": "preflight.check.power",
    "cameras": "preflight.check.cameras",
    "notify": "preflight.check.notify",
    "notifiers": "preflight.check.notifiers",
    "deadman": "preflight.check.deadman",
    "storage": "preflight.check.storage",
    "integrity": "preflight.check.integrity",
    "storage_health": "preflight.check.storage_health",
    "instances": "preflight.check.instances",
    "connectivity": "preflight.check.connectivity",
    "open_files": "preflight.check.open_files",
    "clock": "preflight.check.clock",
    "maintenance": "preflight.check.maintenance",
}
_STYLES = {Status.OK: "green", Status.WARNING: "yellow", Status.PROBLEM: "bold red"}


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


def words(language: str) -> Words:
    return _catalog(templates_dir()).words(language if language in LANGUAGES else "en")


@dataclass(frozen=True)
class ShownRow:
    """One row in words."""

    status: str  # ok | warning | problem
    status_word: str
    check: str
    title: str
    ids: tuple[str, ...]  # those shown
    more: str  # "+ 43 more" for the ids of an ok row not shown, else ""
    found: str
    todo: str


@dataclass(frozen=True)
class View:
    """The checklist in words, as every format lays it out."""

    language: str
    heading: str
    organisation: str
    watch: str
    start: str
    end: str
    zone: str
    generated: str
    summary: str
    legend: str
    rows: tuple[ShownRow, ...]
    labels: dict[str, str]


class Formatter:
    """Values and texts in one language and zone."""

    def __init__(self, checklist: Checklist, language: str) -> None:
        self.checklist = checklist
        self.t = words(language)
        self.language = self.t.lang

    def when(self, at: float) -> str:
        return datetime.fromtimestamp(at, self.checklist.zone).strftime("%Y-%m-%d %H:%M")

    def number(self, value: float, digits: int) -> str:
        shown = f"{value:,.{digits}f}"
        if self.language == "id":  # 1.234,5 in Indonesian
            shown = shown.replace(",", "_").replace(".", ",").replace("_", ".")
        return shown

    def value(self, value: Value) -> str:
        if isinstance(value, Moment):
            return self.when(value.at)
        if isinstance(value, Size):
            return self.size(value.bytes)
        if isinstance(value, Percent):
            return f"{self.number(min(value.value, 99.99) if value.value < 100 else 100.0, 2)} %"
        if isinstance(value, ReasonCode):
            return self.t.reason(value.code)
        if isinstance(value, Phrase):
            return self.t(value.key)
        if isinstance(value, float):
            return self.number(value, 1)
        return str(value)

    def size(self, count: int) -> str:
        amount, unit = float(count), "B"
        for unit in ("B", "KB", "MB", "GB", "TB"):
            if amount < 1000 or unit == "TB":
                break
            amount /= 1000
        return f"{self.number(amount, 0 if unit == 'B' else 1)} {unit}"

    def text(self, text: Text | None) -> str:
        if text is None:
            return ""
        return self.t(text.key, **{name: self.value(v) for name, v in text.values.items()})

    def row(self, row: Row) -> ShownRow:
        """A row in words. An ok row names only its first ids: what is fine needs no
        list on the printed page, what is not names every id."""
        ids, more = row.ids, ""
        if row.status is Status.OK and len(ids) > OK_IDS_SHOWN + 1:
            ids, more = ids[:OK_IDS_SHOWN], self.t("preflight.more_ids", count=len(ids) - OK_IDS_SHOWN)
        return ShownRow(
            str(row.status),
            self.t(STATUS_WORDS[row.status]),
            row.check,
            self.t(CHECK_TITLES[row.check]),
            ids,
            more,
            self.text(row.found),
            self.text(row.todo),
        )

    def summary(self) -> str:
        c = self.checklist
        return self.t(
            "preflight.summary",
            ok=c.count(Status.OK),
            warnings=c.count(Status.WARNING),
            problems=c.count(Status.PROBLEM),
        )


def view(checklist: Checklist, language: str) -> View:
    f = Formatter(checklist, language)
    t = f.t
    labels = {
        "watch": t("preflight.watch"),
        "period": t("preflight.period"),
        "until": t("preflight.until"),
        "generated": t("preflight.generated"),
        "timezone": t("preflight.timezone"),
        "status": t("preflight.column.status"),
        "check": t("preflight.column.check"),
        "ids": t("preflight.column.ids"),
        "found": t("preflight.column.found"),
        "todo": t("preflight.column.todo"),
        "todo_label": t("preflight.todo_label"),
    }
    return View(
        language=f.language,
        heading=t("preflight.title"),
        organisation=checklist.title,
        watch=checklist.window.name,
        start=f.when(checklist.window.start),
        end=f.when(checklist.window.end),
        zone=str(checklist.zone),
        generated=f.when(checklist.now),
        summary=f.summary(),
        legend=t("preflight.legend"),
        rows=tuple(f.row(r) for r in checklist.rows),
        labels=labels,
    )


def render(checklist: Checklist, fmt: str, language: str, terminal: bool = False, width: int = 120) -> str:
    """The checklist as `text`, `html`, `md` or `json`; `terminal`: text as a table."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    if fmt == "json":
        return json.dumps(to_json(checklist, language), ensure_ascii=False, indent=2) + "\n"
    shown = view(checklist, language)
    if fmt == "text":
        return _table(shown, width) if terminal else plain(shown)
    template = _environment(templates_dir()).get_template(f"preflight.{fmt}.j2")
    return template.render(view=shown, md=markdown_cell)


def plain(shown: View) -> str:
    """Plain lines: the header, then per row its status, check and ids, what was found
    and, indented, what to do."""
    lines = [
        f"{shown.heading} {shown.watch}",
        f"{shown.labels['period']}: {shown.start} {shown.labels['until']} {shown.end} ({shown.zone})",
        shown.summary,
        "",
    ]
    for row in shown.rows:
        ids = f" [{', '.join((*row.ids, row.more) if row.more else row.ids)}]" if row.ids else ""
        lines.append(f"{row.status_word.upper():<10} {row.title}{ids}: {row.found}")
        if row.todo:
            lines.append(f"{'':<10} → {row.todo}")
    return "\n".join(lines) + "\n"


def _table(shown: View, width: int) -> str:
    # Cells are `Text`, never markup: a finding may hold brackets ("[defaults]").
    console = Console(width=width, highlight=False, record=True, file=io.StringIO(), force_terminal=True)
    console.print(RichText.assemble((shown.heading, "bold"), " ", shown.watch))
    console.print(
        RichText(f"{shown.labels['period']}: {shown.start} {shown.labels['until']} {shown.end} ({shown.zone})")
    )
    console.print(RichText(shown.summary))
    table = RichTable(show_lines=True, expand=True)
    for key, ratio in (("status", None), ("check", None), ("ids", 2), ("found", 5)):
        table.add_column(shown.labels[key], overflow="fold", ratio=ratio, no_wrap=ratio is None)
    for row in shown.rows:
        found = row.found + (f"\n→ {row.todo}" if row.todo else "")
        ids = ", ".join((*row.ids, row.more) if row.more else row.ids)
        status = RichText(row.status_word, style=_STYLES[Status(row.status)])
        table.add_row(status, RichText(row.title), RichText(ids), RichText(found))
    console.print(table)
    return console.export_text(styles=True)


def _json_value(value: Value, checklist: Checklist) -> Any:
    if isinstance(value, Moment):
        return datetime.fromtimestamp(value.at, checklist.zone).isoformat(timespec="seconds")
    if isinstance(value, Size):
        return value.bytes
    if isinstance(value, Percent):
        return round(value.value, 4)
    if isinstance(value, ReasonCode):
        return value.code
    if isinstance(value, Phrase):
        return value.key
    return value


def to_json(checklist: Checklist, language: str) -> dict[str, Any]:
    """The documented JSON shape (docs/preflight.md)."""
    f = Formatter(checklist, language)

    def iso(at: float) -> str:
        return datetime.fromtimestamp(at, checklist.zone).isoformat(timespec="seconds")

    def values(text: Text | None) -> dict[str, Any] | None:
        return None if text is None else {k: _json_value(v, checklist) for k, v in text.values.items()}

    return {
        "version": JSON_VERSION,
        "title": checklist.title,
        "watch": {
            "name": checklist.window.name,
            "start": iso(checklist.window.start),
            "end": iso(checklist.window.end),
        },
        "checked_at": iso(checklist.now),
        "language": f.language,
        "summary": {str(s): checklist.count(s) for s in Status},
        "exit_code": checklist.exit_code,
        "rows": [
            {
                "check": row.check,
                "status": str(row.status),
                "ids": list(row.ids),
                "found": f.text(row.found),
                "todo": f.text(row.todo) or None,
                "found_key": row.found.key,
                "found_values": values(row.found),
                "todo_key": row.todo.key if row.todo else None,
                "todo_values": values(row.todo),
            }
            for row in checklist.rows
        ],
    }
