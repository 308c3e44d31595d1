"""One path for every configuration change, whether from a form or the JSON API.

`save(request, change, ...)` writes the secrets typed with the change to the environment
file first (taken back if the change is refused: a reference is never written without
its value), then the change through `monitor.config.edit.ConfigFile` (tomlkit, the
`monitor validate` validator, a numbered backup, a conflict refused), in a worker
thread; then it sets the secrets in this process's environment, records the change in
the audit log with its diff, and reloads the monitor as SIGHUP would (`Monitor.reload`).
A `Rejected` or `Conflict` leaves everything as it was and reaches the caller, which
shows it (the form next to its fields, the API as 400 or 409).

`secret_values` decides how each typed secret is written: `${MONITOR_<TABLE>_<ID>_<KEY>}`
with the value in the environment file (the default), or the value itself (`$` doubled,
as the loader reads `$$`) when the form chose `file`.
"""

from __future__ import annotations

import asyncio
import os
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from starlette.requests import Request

from monitor.config import Config, Settings, Target
from monitor.config.edit import Change, ConfigFile, Unwritable, Written
from monitor.config.envfile import env_file_for, write_values
from monitor.errors import Problem
from monitor.result import Result
from monitor.web import viewmodels
from monitor.web.admin.audit import audit
from monitor.web.admin.forms import Posted


class Editable(viewmodels.Runtime, Protocol):
    """What the admin side's writes need of the runtime (`monitor.runtime.Monitor`)."""

    started_settings: Settings  # what a reload cannot change (`monitor.config.model.pending_restart`)

    def reload(self, path: Path | None = None) -> bool: ...

    async def probe_now(self, target: Target) -> Result: ...


def runtime_of(request: Request) -> Editable:
    runtime: Editable = request.app.state.monitor
    return runtime


def config_file(request: Request) -> ConfigFile:
    """The app's `ConfigFile` for the running configuration's path."""
    path = runtime_of(request).config.path
    found = getattr(request.app.state, "config_file", None)
    if not isinstance(found, ConfigFile) or found.path != path:
        found = ConfigFile(path)
        request.app.state.config_file = found
    return found


def secret_values(posted: Posted, table: str, name: str) -> dict[str, str]:
    """Put `posted`'s typed secrets into its values; return the environment variables
    they need (name -> value), empty when they go into the file."""
    env: dict[str, str] = {}
    for key, value in posted.secrets.items():
        if posted.in_file:
            posted.values[key] = _in_file(value)
            continue
        base = re.sub(r"[^A-Za-z0-9]+", "_", f"MONITOR_{table}_{name}_{key}").upper()
        try:
            entries = tomllib.loads(value)  # a table of secrets (headers): one variable each
        except tomllib.TOMLDecodeError:
            entries = None
        if entries and all(isinstance(v, str) for v in entries.values()):
            table_value: dict[str, Any] = {}
            for header, text in entries.items():
                var = re.sub(r"[^A-Za-z0-9]+", "_", f"{base}_{header}").upper()
                env[var] = text
                table_value[header] = f"${{{var}}}"
            posted.values[key] = table_value
        else:
            env[base] = value
            posted.values[key] = f"${{{base}}}"
    return env


def _in_file(value: str) -> Any:
    try:
        parsed = tomllib.loads(value)
    except tomllib.TOMLDecodeError:
        return value.replace("$", "$$")
    return {k: v.replace("$", "$$") if isinstance(v, str) else v for k, v in parsed.items()} if parsed else value


async def save(
    request: Request,
    change: Change,
    expected: str | None,
    action: str,
    subject: str,
    env: dict[str, str] | None = None,
) -> Written:
    """Write `change` (see the module docstring); raises `Rejected` or `Conflict`."""
    runtime = runtime_of(request)
    file = config_file(request)
    environ = {**os.environ, **(env or {})}
    undo = await asyncio.to_thread(_write_env, env_file_for(runtime.config.path), env) if env else None
    try:
        written = await asyncio.to_thread(file.write, change, expected, environ)
    except BaseException:
        if undo is not None:
            await asyncio.to_thread(undo)
        raise
    if env:
        os.environ.update(env)
    await audit(request, action, subject, written.diff)
    runtime.reload()
    return written


def _write_env(path: Path, env: dict[str, str]) -> Callable[[], None]:
    """Write `env` to the environment file before the configuration that names it (a
    reference is never written without its value); return how to take it back."""
    try:
        before = path.read_bytes() if path.exists() else None
        write_values(path, env)
    except OSError as exc:
        message = f"cannot write {path}: {exc.strerror or exc} (the monitor's user needs to write it)"
        raise Unwritable([Problem(str(path), "", message)]) from exc

    def undo() -> None:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(before)

    return undo


async def preview(request: Request, change: Change, env: dict[str, str] | None = None) -> Config:
    """The configuration `change` would make (`Rejected` if invalid), nothing written."""
    return await asyncio.to_thread(config_file(request).preview, change, {**os.environ, **(env or {})})
