"""The preflight checklist's values: a `Row` per finding, the `Checklist` of them.

A row's texts are keys of the text catalogue (`templates/texts/preflight.toml`) with
their values, not prose: the renderer puts them into words in the configured language,
and the JSON output carries the key and the values for scripts. Values are plain
numbers and strings, or one of the small wrappers below where the renderer must format
them (a time in the configured zone, a size, a percentage, a reason or another
catalogue text in words).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import tzinfo
from enum import StrEnum


class Status(StrEnum):
    """How a row reads: fine, worth a look, or something that would fail during the
    watch period (any problem makes `monitor preflight` exit 1)."""

    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"


@dataclass(frozen=True)
class Moment:
    """A unix time, shown in the configured zone."""

    at: float


@dataclass(frozen=True)
class Size:
    """A number of bytes, shown as `1.2 GB`."""

    bytes: int


@dataclass(frozen=True)
class Percent:
    """A percentage (0-100), shown as `98.75 %`."""

    value: float


@dataclass(frozen=True)
class ReasonCode:
    """A machine reason (`monitor.result.Reason`), shown in words."""

    code: str


@dataclass(frozen=True)
class Phrase:
    """Another text of the catalogue (no placeholders), shown in words."""

    key: str


Value = str | int | float | Moment | Size | Percent | ReasonCode | Phrase


@dataclass(frozen=True)
class Text:
    """A catalogue key and the values of its placeholders."""

    key: str
    values: Mapping[str, Value] = field(default_factory=dict)


def text(key: str, **values: Value) -> Text:
    return Text(key, values)


@dataclass(frozen=True)
class Row:
    """One finding of one check: its status, the target or notifier ids it concerns,
    what was found and (for a warning or a problem) what to do."""

    check: str
    status: Status
    ids: tuple[str, ...]
    found: Text
    todo: Text | None = None


@dataclass(frozen=True)
class Window:
    """The watch period checked: unix seconds, `end` exclusive."""

    name: str
    start: float
    end: float


SEVERITY = {Status.PROBLEM: 0, Status.WARNING: 1, Status.OK: 2}


@dataclass(frozen=True)
class Checklist:
    """Every row for one watch period, problems first, then warnings, then the rest
    (each group in the order of the checks). Rows that say the same of different ids
    are one row naming them all."""

    title: str
    window: Window
    now: float
    zone: tzinfo
    rows: tuple[Row, ...]

    @classmethod
    def of(cls, title: str, window: Window, now: float, zone: tzinfo, rows: list[Row]) -> Checklist:
        merged: dict[tuple[object, ...], Row] = {}
        for row in rows:
            key = (row.check, row.status, row.found.key, _items(row.found), row.todo and row.todo.key, _items(row.todo))
            same = merged.get(key)
            merged[key] = row if same is None else replace(same, ids=same.ids + row.ids)
        ordered = sorted(merged.values(), key=lambda r: SEVERITY[r.status])  # stable: keeps check order
        return cls(title, window, now, zone, tuple(ordered))

    def count(self, status: Status) -> int:
        return sum(1 for row in self.rows if row.status is status)

    @property
    def exit_code(self) -> int:
        """0 when nothing is a problem, 1 otherwise."""
        return 1 if self.count(Status.PROBLEM) else 0


def _items(text: Text | None) -> tuple[tuple[str, Value], ...]:
    return tuple(sorted(text.values.items())) if text is not None else ()
