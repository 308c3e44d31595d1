"""Forms made from key declarations (`monitor.config.fields.Field`), for any table of
`targets.toml`: a target of any kind, a notifier of any type, and whatever later forms
need (incident updates, acknowledgements, mutes, announcements: `Input`s made by
`monitor.web.admin.actionpages`, a choice or a text of several lines where they ask).

Each input is named by its TOML key. `shown(field, value)` is the text an input holds
for a value read from the file, `read_form(fields, form, old)` turns what was posted
back into TOML values (the inverse), leaving a value it cannot convert as the text typed
so that the validator names the problem next to its field (`"abc"` for an integer:
"must be an integer, not the string 'abc'"). An empty input is an absent key (its
default). Lists are one item a line; tables are `key = value` lines in TOML; a
`check_list` (`[monitor] connectivity`) is one check a line, a URL or an inline table
(`{url = "https://example.com", timeout = "3s"}`).

Secrets (`Field.secret`, and a URL's password: a target's `url`, `[monitor] store`) are
never shown again: the input is
empty, and left empty it keeps the file's value (`${NAME}` or the text). A typed one is
written, by default, as a `${NAME}` reference with the value in the environment file
(`monitor.config.envfile`), or into the file itself when the form's `_secrets` is
`file`. `problems_by_field` files the validator's problems under the inputs they are
about (`targets.web.notify[0]` under `notify`); the others are the form's own.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import tomlkit

from monitor.config.fields import Field
from monitor.errors import Problem
from monitor.web.masking import MASK

VERSION = "_version"  # the file's digest when the form was made
SECRETS = "_secrets"  # "env" (default) or "file": where a typed secret goes
_ENV_REF = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
_LISTS = ("text_list", "int_list")
_URLS = ("url", "store")  # keys whose value may be a URL with a password
CHECKS = "check_list"
_TABLES = ("mapping", "text_mapping")


@dataclass(frozen=True)
class Input:
    """One input of a rendered form: the field, the text it holds, its problems, and
    whether a secret is set already."""

    field: Field
    text: str = ""
    problems: tuple[str, ...] = ()
    secret_set: bool = False
    choices: tuple[str, ...] = ()  # a choice of these (a select; "" for none yet)
    multiline: bool = False  # a text of several lines (a textarea)
    label: str = ""  # a text key naming the input for people, shown before its key

    @property
    def widget(self) -> str:
        if self.choices:
            return "choice"
        if self.multiline:
            return "textarea"
        if self.field.secret:
            return "password"
        if self.field.type == "boolean":
            return "boolean"
        if self.field.type in (*_LISTS, *_TABLES, CHECKS, "raw"):
            return "textarea"
        return "text"


@dataclass
class Posted:
    """What a posted form holds: the TOML values, and the secrets typed into it
    (key -> value) to write where `_secrets` says."""

    values: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    in_file: bool = False


def inputs(
    fields: Iterable[Field], values: Mapping[str, Any], problems: Mapping[str, list[str]] | None = None
) -> list[Input]:
    """The inputs for `values` (a table as read from the file, or as posted)."""
    problems = problems or {}
    out = []
    for f in fields:
        value = values.get(f.key)
        if f.secret:
            out.append(Input(f, "", tuple(problems.get(f.key, ())), secret_set=value not in (None, "")))
        elif f.key in _URLS and isinstance(value, str):
            out.append(Input(f, hide_password(value), tuple(problems.get(f.key, ()))))
        else:
            out.append(Input(f, shown(f, value), tuple(problems.get(f.key, ()))))
    return out


def shown(f: Field, value: Any) -> str:
    """The text of an input holding `value` (None: empty)."""
    if value is None:
        return ""
    if f.type == "boolean" and isinstance(value, bool):
        return "true" if value else "false"
    if f.type in _LISTS and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if f.type in _TABLES and isinstance(value, dict):
        return tomlkit.dumps(value).strip()
    if f.type == CHECKS and isinstance(value, list):
        return "\n".join(v if isinstance(v, str) else _inline(v) for v in value)
    if isinstance(value, str):
        return value
    return str(tomlkit.item(value).as_string())


def _inline(value: Any) -> str:
    """A value as TOML writes it inline (a table as `{url = "...", timeout = "3s"}`)."""
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        table.update(value)
        return str(table.as_string())
    return str(tomlkit.item(value).as_string())


def hide_password(url: str) -> str:
    """The URL with its password shown as `***`."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{MASK}@{host}"))


def read_form(fields: Iterable[Field], form: Mapping[str, str], old: Mapping[str, Any]) -> Posted:
    """The TOML values of a posted form (see the module docstring); `old` is the table
    as the file has it, for the secrets left empty."""
    posted = Posted(in_file=form.get(SECRETS, "env") == "file")
    for f in fields:
        text = form.get(f.key, "").replace("\r\n", "\n")
        if f.secret:
            if text:
                if _ENV_REF.match(text):
                    posted.values[f.key] = text
                else:
                    posted.secrets[f.key] = text
            elif f.key in old:
                posted.values[f.key] = old[f.key]
            continue
        if f.key in _URLS and text:
            text = restore_password(text, old.get(f.key))
        if text.strip() == "":
            continue
        posted.values[f.key] = convert(f, text)
    return posted


def restore_password(url: str, old: Any) -> str:
    """A URL posted with `***` for its password gets the file's password back."""
    try:
        parts = urlsplit(url)
        if parts.password != MASK or not isinstance(old, str):
            return url
        password = urlsplit(old).password or ""
    except ValueError:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{password}@{host}"))


def convert(f: Field, text: str) -> Any:
    """One input's text as the TOML value its field reads, or the text itself."""
    stripped = text.strip()
    if f.type == "boolean":
        return {"true": True, "false": False}.get(stripped, stripped)
    if f.type == "integer":
        return int(stripped) if re.fullmatch(r"[+-]?\d+", stripped) else stripped
    if f.type == "number":
        try:
            return int(stripped) if re.fullmatch(r"[+-]?\d+", stripped) else float(stripped)
        except ValueError:
            return stripped
    if f.type in _LISTS:
        items = [line.strip() for line in text.split("\n") if line.strip()]
        if f.type == "int_list":
            return [int(i) if re.fullmatch(r"[+-]?\d+", i) else i for i in items]
        return items
    if f.type in _TABLES:
        return _toml_lines(stripped)
    if f.type == CHECKS:  # a line opening with "{" is a table; any other one a URL
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        return [_toml_value(line) if line.startswith("{") else line for line in lines]
    if f.type in ("raw", "time"):
        return _toml_value(stripped)
    return text if f.type == "text" and "\n" in text else stripped


def _toml_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _toml_lines(text: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return text


def problems_by_field(problems: Iterable[Problem], prefix: str) -> tuple[dict[str, list[str]], list[str]]:
    """The problems under `prefix` (`targets.web`) by key, and every other one."""
    mine: dict[str, list[str]] = {}
    rest: list[str] = []
    for problem in problems:
        if problem.path.startswith(prefix + "."):
            key = re.split(r"[.\[]", problem.path[len(prefix) + 1 :], maxsplit=1)[0]
            mine.setdefault(key, []).append(problem.message)
        else:
            rest.append(str(problem))
    return mine, rest
