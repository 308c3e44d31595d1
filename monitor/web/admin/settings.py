"""The file's single tables, `[monitor]`, `[defaults]` and `[subscriptions]`, edited by
form and JSON (`TABLE` below is `monitor`, `defaults` or `subscriptions`):

- `GET /admin/config/TABLE` (admin): the table's form, made from the loader's own
  reading of it (`monitor.config.fields.settings_fields`, `defaults_fields`,
  `subscriptions_fields`); each key a reload cannot apply
  (`monitor.config.model.RESTART_SETTINGS`: the listeners, the store, the data folder,
  the location; `[subscriptions] enabled`) is marked so, and the keys whose value in the
  file is not the one the monitor started with are named above the form: they take
  effect at the next start;
- `POST /admin/config/TABLE` (admin): save; problems show next to their fields and
  nothing is written; a change made to the file since the form was opened is refused
  with that change shown; saved, back to the form with what needs a restart;
- JSON: `GET /admin/api/config/TABLE` (admin: `keys`, `version`, `restart`) and
  `PUT /admin/api/config/TABLE` (admin; JSON: every key of the table, as for a
  target's PUT; `If-Match` as there): `{"version", "backup", "restart"}`, `restart`
  the keys waiting for a restart.

The table holds exactly the keys sent (an empty input, or a key left out of the JSON,
is its default). A database URL's password is never shown (`***`, kept when sent
back), nor a secret (`[subscriptions] password`: `***` unless it is a `${NAME}`
reference, kept when sent back as `***`; one typed into the form is written as the
notifier forms write theirs, `monitor.web.admin.changes.secret_values`: by default
`${MONITOR_SUBSCRIPTIONS_PASSWORD}` with the value in the environment file). Every write
goes through `monitor.web.admin.changes.save`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import tomlkit
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from monitor.config.edit import Change, Conflict, Rejected, set_table
from monitor.config.fields import Field, defaults_fields, settings_fields, subscriptions_fields
from monitor.config.model import RESTART_SETTINGS, pending_restart
from monitor.web.admin.changes import config_file, runtime_of, save, secret_values
from monitor.web.admin.forms import VERSION, hide_password, inputs, problems_by_field, read_form, restore_password
from monitor.web.admin.layout import render
from monitor.web.admin.payload import MAX_BODY, json_body
from monitor.web.admin.targets import expected_version, masked, refused
from monitor.web.bodies import read_body, too_large
from monitor.web.masking import MASK
from monitor.web.templating import language

NOT_FOUND = Response("Not Found", 404, media_type="text/plain")


@dataclass(frozen=True)
class Single:
    """A table the file holds once: its name, its fields, the keys a reload cannot apply."""

    name: str
    fields: Callable[[], tuple[Field, ...]]
    restart: tuple[str, ...] = ()

    def secrets(self) -> set[str]:
        return {f.key for f in self.fields() if f.secret}


SINGLES: dict[str, Single] = {
    "monitor": Single("monitor", settings_fields, RESTART_SETTINGS),
    "defaults": Single("defaults", defaults_fields),
    # Subscriptions are started (or not) with the monitor: `enabled` waits for a restart.
    "subscriptions": Single("subscriptions", subscriptions_fields, ("enabled",)),
}


def _single(request: Request) -> Single:
    return SINGLES[request.url.path.rstrip("/").rsplit("/", 1)[1]]


def _values(request: Request) -> tuple[dict[str, Any], str]:
    """The table as the file has it (empty when it has none), and the file's version."""
    text, version = config_file(request).read()
    found = tomlkit.parse(text).get(_single(request).name)
    return (dict(found.unwrap()) if found is not None else {}), version


def put_table(name: str, values: Mapping[str, Any]) -> Change:
    """`[name]` holds exactly `values` (made at the file's end when it has none and
    `values` are not all defaults)."""

    def change(document: tomlkit.TOMLDocument) -> None:
        if values or name in document:
            set_table(document, name, values)

    return change


def _pending(request: Request) -> list[str]:
    runtime = runtime_of(request)
    return pending_restart(runtime.started_settings, runtime.config.settings)


# --- the form ---------------------------------------------------------------------------


async def form_page(request: Request) -> Response:
    values, version = _values(request)
    return _form(request, values, version, saved=request.query_params.get("saved") == "1")


def _form(
    request: Request,
    values: Mapping[str, Any],
    version: str,
    status: int = 200,
    problems: Mapping[str, list[str]] | None = None,
    **extra: Any,
) -> Response:
    single = _single(request)
    config = runtime_of(request).config
    context = {
        "table": single.name,
        "inputs": inputs(single.fields(), values, problems),
        "restart_keys": single.restart,
        "pending": [k for k in _pending(request) if k in single.restart],
        "version": version,
        "action": f"/admin/config/{single.name}?lang={language(request, config)}",
        "general": [],
        "conflict": None,
        "saved": False,
        **extra,
    }
    return render(request, "admin_settings.html.j2", config, lambda t: context, status_code=status)


async def save_form(request: Request) -> Response:
    single = _single(request)
    raw = await read_body(request, MAX_BODY)
    if raw is None:
        return too_large(MAX_BODY)
    form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}
    old, _ = _values(request)
    posted = read_form(single.fields(), form, old)
    again = {**posted.values, **{k: old.get(k) for k in single.secrets()}}  # a typed secret is never shown
    env = secret_values(posted, single.name, "")
    version = form.get(VERSION, "")
    action = f"config.{single.name}.update"
    try:
        await save(request, put_table(single.name, posted.values), version, action, single.name, env)
    except Rejected as exc:
        mine, rest = problems_by_field(exc.problems, single.name)
        return _form(request, again, version, 400, mine, general=rest)
    except Conflict as exc:
        return _form(request, again, version, 409, conflict=exc.diff or "-")
    lang = language(request, runtime_of(request).config)
    return RedirectResponse(f"/admin/config/{single.name}?saved=1&lang={lang}", 303)


# --- JSON -------------------------------------------------------------------------------


def _shown(values: Mapping[str, Any], secrets: set[str]) -> dict[str, Any]:
    shown = masked(values, secrets)
    if isinstance(shown.get("store"), str):
        shown["store"] = hide_password(shown["store"])
    return shown


async def api_get(request: Request) -> Response:
    values, version = _values(request)
    body = {"keys": _shown(values, _single(request).secrets()), "version": version, "restart": _pending(request)}
    return JSONResponse(body, headers={"ETag": f'"{version}"', "Cache-Control": "no-store"})


async def api_put(request: Request) -> Response:
    single = _single(request)
    body = await json_body(request)
    if isinstance(body, Response):
        return body
    old, _ = _values(request)
    if isinstance(body.get("store"), str):
        body["store"] = restore_password(body["store"], old.get("store"))
    for key in single.secrets() & {k for k, v in body.items() if v == MASK}:  # sent back as read: kept
        if key in old:
            body[key] = old[key]
        else:
            del body[key]
    action = f"config.{single.name}.update"
    try:
        written = await save(request, put_table(single.name, body), expected_version(request), action, single.name)
    except (Rejected, Conflict) as exc:
        return refused(exc)
    return JSONResponse({"version": written.digest, "backup": written.backup.name, "restart": _pending(request)})
