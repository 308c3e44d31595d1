"""The environment file: where a secret typed into the admin UI goes.

A secret typed into a form is written to `targets.toml` as a `${NAME}` reference and its
value to this file as `NAME=value` (one a line, the format systemd's `EnvironmentFile=`
and `docker --env-file` read). Its path is `MONITOR_ENV_FILE`, else `monitor.env` beside
the configuration file: with the shipped systemd unit that is `/etc/monitor/monitor.env`,
the file the unit already reads. Every `monitor` command reads it before loading the
configuration (`load_into`), a variable already set in the environment winning, so a
reference the UI wrote resolves at the next start as well as at once.

The file is written with mode 0600 when created (the existing mode is kept otherwise),
by a rename, so a reader never sees half of it.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, MutableMapping
from pathlib import Path

ENV_FILE_ENV = "MONITOR_ENV_FILE"
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def env_file_for(config_path: Path, environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    named = environ.get(ENV_FILE_ENV)
    return Path(named) if named else config_path.parent / "monitor.env"


def read_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines (comments and blank lines skipped; quotes around a value
    removed); an absent file is empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None or line.lstrip().startswith("#"):
            continue
        value = match.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[match.group(1)] = value
    return values


def load_into(environ: MutableMapping[str, str], path: Path) -> None:
    """Set each variable of the file that `environ` does not have yet."""
    for name, value in read_env_file(path).items():
        environ.setdefault(name, value)


def write_values(path: Path, values: Mapping[str, str]) -> None:
    """Add or replace `values` in the file, keeping its other lines as they are."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        lines, mode = [], 0o600
    pending = dict(values)
    out = []
    for line in lines:
        match = _LINE.match(line)
        if match is not None and match.group(1) in pending:
            name = match.group(1)
            out.append(f"{name}={_quoted(pending.pop(name))}")
        else:
            out.append(line)
    out += [f"{name}={_quoted(value)}" for name, value in pending.items()]
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write("\n".join(out) + "\n")
    os.chmod(name, mode)
    os.replace(name, path)


def _quoted(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("a secret cannot hold a line break")
    return f'"{value}"' if any(c in value for c in " #'\"$\\") and '"' not in value else value
