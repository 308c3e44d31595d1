"""Typed reading of TOML tables that collects every problem instead of stopping at one.

A `Table` wraps one table of the parsed file with its key path. Each accessor reads a key,
checks its type and range, records a `Problem` (file, key path, line) when it is wrong and
returns a harmless default so reading can go on. `Table.finish()` reports the keys nobody
read: a typo must never silently do nothing. Probe and notifier kinds read their own keys
through this, so every kind's options are validated the same way.

Reading a key is also declaring it: `Table.declared` keeps each key read with the
accessor that read it and its default (`"interval": ("duration", 30.0)`), so
`monitor.config.fields` learns a kind's keys, types and defaults from its own `parse`
(the admin UI's forms are made from them: a new kind gets its form without UI code).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

from monitor.errors import Problem

_RAW = ("raw", None)  # what `raw` declares a key as
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


@lru_cache(maxsize=1024)
def parse_duration(text: str) -> float:
    """`"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"14d"`, `"1h30m"` -> seconds. ValueError if not.
    Cached: a pure function of the text, and a file's targets share a few durations."""
    compact = text.strip().replace(" ", "")
    if not compact:
        raise ValueError("empty duration")
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(compact):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(compact):
        raise ValueError(f'{text!r} is not a duration (write e.g. "500ms", "30s", "5m", "2h", "14d")')
    return total


def format_duration(seconds: float) -> str:
    """The inverse of `parse_duration` for display: 90 -> "1m30s"."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    out, rest = [], round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(out) or "0s"


class LineIndex:
    """Maps dotted key paths to the line of the file that defines them.

    tomllib gives no positions, so this scans the text for table headers and `key =`
    lines. It is a best effort for messages: a path it cannot place falls back to its
    nearest placed parent. The scan runs at the first `find`: a valid file (every
    reload, every start) is never scanned, which at 100,000 targets saves seconds.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
    _PART = r"(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')"
    _KEY = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")

    def __init__(self, text: str) -> None:
        self.text = text
        self._lines: dict[str, int] | None = None

    @property
    def lines(self) -> dict[str, int]:
        if self._lines is None:
            self._lines = self._scan(self.text)
        return self._lines

    @classmethod
    def _scan(cls, text: str) -> dict[str, int]:
        lines: dict[str, int] = {}
        arrays: dict[str, int] = {}
        table = ""
        for number, line in enumerate(text.splitlines(), start=1):
            header = cls._HEADER.match(line)
            if header:
                name = ".".join(_split_key(header.group(2)))
                if header.group(1) == "[[":
                    arrays[name] = arrays.get(name, -1) + 1
                    name = f"{name}[{arrays[name]}]"
                table = name
                lines.setdefault(table, number)
                continue
            key = cls._KEY.match(line)
            if key:
                path = ".".join(_split_key(key.group(1)))
                lines.setdefault(f"{table}.{path}" if table else path, number)
        return lines

    def find(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return None


def _split_key(text: str) -> list[str]:
    return [part.strip().strip("\"'") for part in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", text)]


class Problems:
    """Collects the problems of one configuration file.

    A value that came from the environment (`${NAME}`, often a secret) is never quoted:
    every message is written with such values, wherever they appear, replaced by the
    file's own text for them (`'${NAME}' (from the environment)`), and the environment's
    pieces of a longer value by `${NAME}` (see `hide`)."""

    def __init__(self, file: str, index: LineIndex | None = None, base_dir: Path | None = None) -> None:
        self.file = file
        self.index = index
        self.base_dir = base_dir or Path(".")
        self.items: list[Problem] = []
        self._hidden: dict[str, str] = {}  # text never to show -> what to show instead
        self._pattern: re.Pattern[str] | None = None

    def hide(self, value: str, template: str, pieces: Iterable[tuple[str, str]]) -> None:
        """`value`, written `template` in the file, took `pieces` (name, value) from the
        environment. Quoted, it is always replaced; bare, and so are its pieces, when
        4 characters or longer (a shorter one would mask ordinary words)."""
        shown = f"'{template}' (from the environment)"
        if value:
            self._hidden[repr(value)] = self._hidden[f'"{value}"'] = shown
            if len(value) >= 4:
                self._hidden[value] = shown
        for name, piece in pieces:
            if len(piece) >= 4:
                self._hidden.setdefault(piece, f"${{{name}}}")
        by_length = sorted(self._hidden, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(text) for text in by_length))

    def add(self, path: str, message: str) -> None:
        line = self.index.find(path) if self.index else None
        if self._pattern is not None:
            message = self._pattern.sub(lambda m: self._hidden[m.group(0)], message)
        problem = Problem(self.file, path, message, line)
        if problem not in self.items:  # a bad default is read once per target
            self.items.append(problem)


class Table:
    """One TOML table under a key path; see the module docstring."""

    def __init__(self, data: Mapping[str, Any], path: str, problems: Problems) -> None:
        self.data = data
        self.path = path
        self.problems = problems
        self.used: set[str] = set()
        self.declared: dict[str, tuple[str, Any]] = {}
        self.asked: set[str] = set()  # keys looked for with `has`, perhaps never read

    def declare(self, name: str, kind: str, default: Any = None) -> None:
        """`name` is a key of this table, read as `kind` (an accessor's name)."""
        self.declared.setdefault(name, (kind, default))

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def problem(self, name: str, message: str) -> None:
        self.problems.add(self.key(name), message)

    def has(self, name: str) -> bool:
        self.asked.add(name)
        return name in self.data

    def raw(self, name: str) -> Any:
        self.declared.setdefault(name, _RAW)
        value = self.data.get(name)  # TOML has no null: None is a key not written
        if value is not None:
            self.used.add(name)  # `finish` looks at the keys written only
        return value

    def _typed(self, name: str, kinds: tuple[type, ...], what: str) -> Any:
        value = self.raw(name)
        if value is None:
            return None
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            self.problem(name, f"must be {what}, not {_describe(value)}")
            return None
        return value

    @overload
    def text(self, name: str, default: str) -> str: ...
    @overload
    def text(self, name: str, default: None = None) -> str | None: ...
    def text(self, name: str, default: str | None = None) -> str | None:
        # Written out (the most read accessor: ~15 keys a target, most of them absent).
        self.declared.setdefault(name, ("text", default))
        value = self.data.get(name)
        if value is None:
            return default
        self.used.add(name)
        if isinstance(value, str):
            return value
        self.problem(name, f"must be a string, not {_describe(value)}")
        return default

    def require_text(self, name: str) -> str:
        self.declare(name, "text", None)
        if name not in self.data:
            self.problem(name, "is required")
            return ""
        return self.text(name, "")

    @overload
    def integer(self, name: str, default: int, low: int | None = ..., high: int | None = ...) -> int: ...
    @overload
    def integer(self, name: str, default: None = None, low: int | None = ..., high: int | None = ...) -> int | None: ...
    def integer(
        self, name: str, default: int | None = None, low: int | None = None, high: int | None = None
    ) -> int | None:
        self.declare(name, "integer", default)
        if name not in self.data:
            return default
        value = self._typed(name, (int,), "an integer")
        if value is None:
            return default
        if (low is not None and value < low) or (high is not None and value > high):
            self.problem(name, f"must be between {low} and {high}" if high is not None else f"must be at least {low}")
            return default
        return int(value)

    def number(self, name: str, default: float, low: float | None = None, high: float | None = None) -> float:
        self.declare(name, "number", default)
        if name not in self.data:
            return default
        value = self._typed(name, (int, float), "a number")
        if value is None:
            return default
        if (low is not None and value < low) or (high is not None and value > high):
            self.problem(name, f"must be between {low} and {high}")
            return default
        return float(value)

    def boolean(self, name: str, default: bool) -> bool:
        self.declare(name, "boolean", default)
        if name not in self.data:
            return default
        value = self._typed(name, (bool,), "true or false")
        return default if value is None else bool(value)

    @overload
    def duration(self, name: str, default: float, low: float = ...) -> float: ...
    @overload
    def duration(self, name: str, default: None = None, low: float = ...) -> float | None: ...
    def duration(self, name: str, default: float | None = None, low: float = 0.0) -> float | None:
        self.declare(name, "duration", default)
        if name not in self.data:
            return default
        value = self.raw(name)
        if value is None:
            return default
        if not isinstance(value, str):
            self.problem(name, f'must be a duration string such as "30s", not {_describe(value)}')
            return default
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.problem(name, str(exc))
            return default
        if seconds < low:
            self.problem(name, f"must be at least {format_duration(low)}")
            return default
        return seconds

    def text_list(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        self.declare(name, "text_list", list(default))
        if name not in self.data:
            return default
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(name, f"must be a list of strings, not {_describe(value)}")
            return default
        return tuple(value)

    def int_list(self, name: str, default: tuple[int, ...] = ()) -> tuple[int, ...]:
        self.declare(name, "int_list", list(default))
        if name not in self.data:
            return default
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            self.problem(name, f"must be a list of integers, not {_describe(value)}")
            return default
        return tuple(value)

    def file_path(self, name: str) -> str | None:
        self.declare(name, "file", None)
        """A path to an existing file, relative to the configuration file's folder."""
        value = self.text(name)
        if value is None:
            return None
        path = Path(value) if Path(value).is_absolute() else self.problems.base_dir / value
        if not path.is_file():
            self.problem(name, f"file {str(path)!r} does not exist")
            return None
        return str(path)

    def mapping(self, name: str) -> dict[str, Any]:
        self.declare(name, "mapping", None)
        value = self._typed(name, (dict,), "a table")
        return dict(value) if value else {}

    def text_mapping(self, name: str) -> dict[str, str]:
        self.declare(name, "text_mapping", None)
        table = self.mapping(name)
        bad = [k for k, v in table.items() if not isinstance(v, str)]
        for key in bad:
            self.problems.add(f"{self.key(name)}.{key}", "must be a string")
        return {k: v for k, v in table.items() if isinstance(v, str)}

    def time(self, name: str, zone: tzinfo) -> datetime | None:
        self.declare(name, "time", None)
        """A TOML date-time; one without an offset is read in `zone`."""
        value = self.raw(name)
        if value is None:
            return None
        if not isinstance(value, datetime):
            self.problem(name, f"must be a date-time such as 2018-06-11T00:00:00+07:00, not {_describe(value)}")
            return None
        return value if value.tzinfo else value.replace(tzinfo=zone)

    def sub(self, name: str) -> Table:
        return Table(self.mapping(name), self.key(name), self.problems)

    def children(self) -> Iterator[tuple[str, Table]]:
        """Every sub-table of this table, as (key, Table); non-tables are problems."""
        for name in list(self.data):
            self.used.add(name)
            value = self.data[name]
            if isinstance(value, dict):
                yield name, Table(value, self.key(name), self.problems)
            else:
                self.problem(name, f"must be a table, not {_describe(value)}")

    def children_of(self, name: str) -> Iterator[tuple[str, Table]]:
        """The sub-tables of the table `name` (e.g. each `[targets.ID]`)."""
        yield from self.sub(name).children()

    def array(self, name: str) -> Iterator[Table]:
        """Each table of the array of tables `name` (`[[watch]]`)."""
        value = self.raw(name)
        if value is None:
            return
        if not isinstance(value, list):
            self.problem(name, f"must be an array of tables ([[{name}]]), not {_describe(value)}")
            return
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield Table(item, f"{self.key(name)}[{i}]", self.problems)
            else:
                self.problems.add(f"{self.key(name)}[{i}]", "must be a table")

    def finish(self) -> None:
        for name in self.data:
            if name not in self.used:
                self.problem(name, "unknown key")


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
