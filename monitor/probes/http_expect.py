"""What an HTTP answer must look like, read from the target's table once and checked
against every answer.

Everything that can be prepared is prepared when the configuration is read (status
sets expanded, regexes compiled, JSON paths split), so a check costs a few lookups.
Checks run in the order a person would look: status, headers, body, JSON; the first one
that fails is the probe's reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from monitor.config.reader import Table
from monitor.probes.network import Failure
from monitor.result import Reason

_STATUS_CLASS = re.compile(r"^([1-5])xx$", re.IGNORECASE)
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)
_MISSING = object()


@dataclass(frozen=True, slots=True)
class JsonExpectation:
    """One `json` entry: the dotted path as written, its segments, the expected value."""

    path: str
    segments: tuple[str, ...]
    expected: Any


@dataclass(frozen=True, slots=True)
class Expectations:
    """The checks an HTTP answer must pass. `needs_body` says whether the body must be
    kept in memory (up to `max_body`) at all."""

    status: frozenset[int]
    status_text: str
    headers: tuple[tuple[str, re.Pattern[str]], ...] = ()
    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None
    json: tuple[JsonExpectation, ...] = ()

    @property
    def needs_body(self) -> bool:
        return bool(self.contains or self.not_contains or self.regex or self.json)


def read_expectations(t: Table) -> Expectations:
    status, status_text = _read_status(t)
    return _shared_expectations(
        Expectations(
            status=status,
            status_text=status_text,
            headers=tuple(_read_header_patterns(t)),
            contains=t.text_list("body_contains"),
            not_contains=t.text_list("body_not_contains"),
            regex=_compile(t, "body_regex", t.text("body_regex")),
            json=tuple(_read_json(t)),
        )
    )


def _shared_expectations(expect: Expectations) -> Expectations:
    """One instance per distinct set of checks (most targets have the default's). One
    with JSON checks is its own: their expected values compare loosely (`1 == True`)."""
    return expect if expect.json else _same_expectations(expect)


@lru_cache(maxsize=1024)
def _same_expectations(expect: Expectations) -> Expectations:
    return expect


def _read_status(t: Table) -> tuple[frozenset[int], str]:
    raw = t.raw("expect_status")
    if raw is None:  # the default, most targets': made once
        return _ANY_2XX, "2xx"
    items = ["2xx"] if raw is None else raw if isinstance(raw, list) else [raw]
    codes: set[int] = set()
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool) and 100 <= item <= 599:
            codes.add(item)
        elif isinstance(item, str) and item.isdigit() and 100 <= int(item) <= 599:
            codes.add(int(item))
        elif isinstance(item, str) and (match := _STATUS_CLASS.match(item)):
            first = int(match.group(1)) * 100
            codes.update(range(first, first + 100))
        else:
            t.problem("expect_status", f'{item!r} is neither a status code (100-599) nor a class like "2xx"')
    if not codes:
        return _shared(frozenset(range(200, 300))), "2xx"
    return _shared(frozenset(codes)), " or ".join(str(item).lower() for item in items)


@lru_cache(maxsize=256)
def _shared(codes: frozenset[int]) -> frozenset[int]:
    """One instance per distinct status set: "2xx" expands to 100 codes, 4 KB that 20,000
    targets would otherwise each hold a copy of."""
    return codes


_ANY_2XX = _shared(frozenset(range(200, 300)))


def _read_header_patterns(t: Table) -> list[tuple[str, re.Pattern[str]]]:
    if not t.has("expect_headers"):
        t.declare("expect_headers", "mapping")  # as `sub` does: what the forms learn
        return []
    sub = t.sub("expect_headers")
    out = []
    for name, pattern in t.text_mapping("expect_headers").items():
        compiled = _compile(sub, name, pattern)
        if compiled is not None:
            out.append((name.lower(), compiled))
    return out


def _compile(t: Table, key: str, pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        t.problem(key, f"is not a valid regular expression: {exc}")
        return None


def _read_json(t: Table) -> list[JsonExpectation]:
    out: list[JsonExpectation] = []
    if t.has("json"):
        _walk_json(t, "", t.mapping("json"), out)
    else:
        t.declare("json", "mapping")
    return out


def _walk_json(t: Table, prefix: str, table: Mapping[str, Any], out: list[JsonExpectation]) -> None:
    # A function of the module, not a closure: a closure that calls itself is a reference
    # cycle (function, cell), which would keep `t` and all it holds until a cyclic
    # collection, and for `monitor run` for ever (the load is frozen: `load_config`).
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            _walk_json(t, path, value, out)  # `json = { data.status = "ok" }` nests tables in TOML
        elif isinstance(value, str | int | float | bool | list | dict):
            out.append(JsonExpectation(path, tuple(path.split(".")), value))
        else:
            t.problems.add(f"{t.key('json')}.{path}", "must be a string, number, boolean, list or table")


def check(expect: Expectations, status: int, headers: Mapping[str, str], body: bytes) -> Failure | None:
    """The first expectation the answer fails, or None."""
    if status not in expect.status:
        return Failure(Reason.STATUS_MISMATCH, f"expected {expect.status_text}, got {status}")
    for name, pattern in expect.headers:
        value = headers.get(name)
        if value is None:
            return Failure(Reason.HEADER_MISMATCH, f"header {name} is missing")
        if not pattern.search(value):
            return Failure(
                Reason.HEADER_MISMATCH, f"header {name}: {_preview(value)} does not match /{pattern.pattern}/"
            )
    if expect.contains or expect.not_contains or expect.regex:
        failure = _check_text(expect, _decode(body, headers.get("content-type", "")))
        if failure:
            return failure
    return _check_json(expect.json, body) if expect.json else None


def _check_text(expect: Expectations, text: str) -> Failure | None:
    for needle in expect.contains:
        if needle not in text:
            return Failure(Reason.BODY_MISMATCH, f"body does not contain {needle!r}")
    for needle in expect.not_contains:
        if needle in text:
            return Failure(Reason.BODY_MISMATCH, f"body contains {needle!r}")
    if expect.regex and not expect.regex.search(text):
        return Failure(Reason.BODY_MISMATCH, f"body does not match /{expect.regex.pattern}/")
    return None


def _decode(body: bytes, content_type: str) -> str:
    match = _CHARSET.search(content_type)
    try:
        return body.decode(match.group(1) if match else "utf-8", errors="replace")
    except (LookupError, UnicodeError):  # a charset Python does not know, or one like "idna"
        return body.decode("utf-8", errors="replace")


def _check_json(expectations: tuple[JsonExpectation, ...], body: bytes) -> Failure | None:
    try:
        document = json.loads(body)
    except ValueError as exc:
        return Failure(Reason.JSON_MISMATCH, f"body is not JSON: {exc}")
    except RecursionError:  # "[[[[..." within max_body exhausts the parser's stack
        return Failure(Reason.JSON_MISMATCH, "body is not JSON: nested too deeply")
    for item in expectations:
        actual = _lookup(document, item.segments)
        if actual is _MISSING:
            return Failure(Reason.JSON_MISMATCH, f"json {item.path}: not found")
        if not _same(item.expected, actual):
            return Failure(
                Reason.JSON_MISMATCH,
                f"json {item.path}: expected {_preview(json.dumps(item.expected))}, got {_preview(json.dumps(actual))}",
            )
    return None


def _lookup(document: Any, segments: tuple[str, ...]) -> Any:
    current = document
    for segment in segments:
        if isinstance(current, dict):
            current = current.get(segment, _MISSING)
        elif isinstance(current, list) and _is_index(segment, len(current)):
            current = current[int(segment)]
        else:
            return _MISSING
        if current is _MISSING:
            return current
    return current


def _is_index(segment: str, length: int) -> bool:
    return segment.lstrip("-").isdigit() and -length <= int(segment) < length


def _same(expected: Any, actual: Any) -> bool:
    """Equality as a person reading JSON means it: 1 == 1.0, but true != 1 and "1" != 1."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(_same, expected, actual))
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(_same(v, actual[k]) for k, v in expected.items())
        )
    return type(expected) is type(actual) and bool(expected == actual)


def _preview(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
