"""The targets' JSON API, which the forms share (`monitor.web.admin.targetpages`):

- `GET /admin/api/targets/{id}` (admin, who edits them): the target's keys as the file
  has them (a secret as `***` unless it is a `${NAME}` reference) and the file's
  `version` (also the `ETag`);
- `PUT /admin/api/targets/{id}` (admin; JSON: the target's TOML keys, all of them):
  create or replace `[targets.ID]`, validated as `monitor validate` does; `400` with
  every problem (`problems`: key path, line, message), nothing written; `If-Match:
  VERSION` refuses the write with `409` and the other change's diff when the file
  changed since (without it, the write goes on whatever the file holds now);
- `DELETE /admin/api/targets/{id}` (admin): remove it (`If-Match` as above);
- `POST /admin/api/targets/{id}/pause` · `/resume` (operator): `paused = true` in the
  file (not probed, shown as paused), or the key removed;
- `POST /admin/api/targets/{id}/probe` (admin; JSON: keys as for PUT): the result the
  target would get, probed now, nothing saved.

Every write goes through `monitor.web.admin.changes.save` (backup, audit, reload).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from datetime import time as dtime
from typing import Any

import tomlkit
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.config import Target
from monitor.config.edit import Change, Conflict, Rejected, set_table, set_value, targets_table
from monitor.config.fields import target_fields
from monitor.config.loader import ID_PATTERN
from monitor.errors import Problem
from monitor.result import Result
from monitor.web.admin.changes import config_file, preview, runtime_of, save
from monitor.web.admin.payload import json_body
from monitor.web.masking import MASK, origin, scrub, target_secrets

_ENV_REF = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")


def file_table(document: tomlkit.TOMLDocument, tid: str) -> dict[str, Any] | None:
    """`[targets.ID]` as plain values, None when the file has no such table."""
    targets = document.get("targets")
    if targets is None or tid not in targets:
        return None
    table = targets[tid]
    plain = table.unwrap() if hasattr(table, "unwrap") else dict(table)
    return dict(plain)


def masked(values: Mapping[str, Any], secrets: set[str], urls: bool = False) -> dict[str, Any]:
    """`values` with each secret as `***` (a `${NAME}` reference shows), date-times as
    ISO 8601 text (as JSON and a page show them); with `urls`, every URL cut to its
    scheme and host as on every admin page (`monitor.web.masking.origin`): for the pages
    a viewer reads, where a URL's path may be its secret."""
    out = {}
    for k, v in values.items():
        if k in secrets:
            out[k] = v if isinstance(v, str) and _ENV_REF.match(v) else MASK
        elif urls and isinstance(v, str) and "://" in v:
            out[k] = origin(v)
        else:
            out[k] = _shown(v)
    return out


def _shown(value: Any) -> Any:
    if isinstance(value, datetime | date | dtime):
        return value.isoformat()
    return value


def secret_keys(values: Mapping[str, Any]) -> set[str]:
    """The secret keys of a target holding `values` (by its kind's declaration)."""
    kind = kind_of(values)
    return {f.key for f in target_fields(kind) if f.secret} if kind else set()


def kind_of(values: Mapping[str, Any]) -> str | None:
    from monitor.probes import PROBES, SCHEMES

    url, kind = values.get("url"), values.get("kind")
    if isinstance(url, str) and "://" in url:
        found = SCHEMES.get(url.split("://", 1)[0].lower())
        return found.name if found else None
    return kind if isinstance(kind, str) and kind in PROBES else None


def expected_version(request: Request) -> str | None:
    value = request.headers.get("if-match")
    return value.strip().strip('"').removeprefix("W/").strip('"') if value else None


def problems_json(problems: list[Problem]) -> list[dict[str, Any]]:
    return [{"key": p.path, "line": p.line, "message": p.message} for p in problems]


def refused(exc: Rejected | Conflict) -> JSONResponse:
    if isinstance(exc, Conflict):
        return JSONResponse({"error": str(exc), "diff": exc.diff}, 409)
    return JSONResponse({"error": "the configuration would not be valid", "problems": problems_json(exc.problems)}, 400)


async def get_target(request: Request) -> Response:
    tid = request.path_params["id"]
    text, version = config_file(request).read()
    values = file_table(tomlkit.parse(text), tid)
    if values is None:
        return JSONResponse({"error": "no such target in the file"}, 404)
    body = {"id": tid, "keys": masked(values, secret_keys(values)), "version": version}
    return JSONResponse(body, headers={"ETag": f'"{version}"', "Cache-Control": "no-store"})


def replace_target(tid: str, values: Mapping[str, Any]) -> Change:
    return lambda document: set_table(targets_table(document), tid, values)


async def put_target(request: Request) -> Response:
    tid = request.path_params["id"]
    if not ID_PATTERN.match(tid):
        return JSONResponse({"error": "a target id is 1-64 letters, digits, '-' or '_'"}, 400)
    body = await json_body(request)
    if isinstance(body, Response):
        return body
    body.pop("id", None)
    existed = tid in runtime_of(request).config.targets
    try:
        written = await save(
            request,
            replace_target(tid, body),
            expected_version(request),
            "config.targets.update" if existed else "config.targets.add",
            tid,
        )
    except (Rejected, Conflict) as exc:
        return refused(exc)
    return JSONResponse({"id": tid, "version": written.digest, "backup": written.backup.name}, 200 if existed else 201)


def remove_target(tid: str) -> Change:
    def change(document: tomlkit.TOMLDocument) -> None:
        del targets_table(document)[tid]

    return change


async def delete_target(request: Request) -> Response:
    tid = request.path_params["id"]
    text, _ = config_file(request).read()
    if file_table(tomlkit.parse(text), tid) is None:
        return JSONResponse({"error": "no such target in the file"}, 404)
    try:
        await save(request, remove_target(tid), expected_version(request), "config.targets.delete", tid)
    except (Rejected, Conflict) as exc:
        return refused(exc)
    return Response(status_code=204)


def set_paused(tid: str, paused: bool) -> Change:
    def change(document: tomlkit.TOMLDocument) -> None:
        table = targets_table(document)[tid]
        if paused:
            set_value(table, "paused", True)
        elif "paused" in table:
            del table["paused"]

    return change


async def pause(request: Request) -> Response:
    return await _pause(request, True)


async def resume(request: Request) -> Response:
    return await _pause(request, False)


async def _pause(request: Request, paused: bool) -> Response:
    tid = request.path_params["id"]
    target = runtime_of(request).config.targets.get(tid)
    if target is None:
        return JSONResponse({"error": "no such target"}, 404)
    if target.paused != paused:
        try:
            await save(
                request,
                set_paused(tid, paused),
                None,
                "config.targets.pause" if paused else "config.targets.resume",
                tid,
            )
        except (Rejected, Conflict) as exc:
            return refused(exc)
    return JSONResponse({"id": tid, "paused": paused})


async def probe(request: Request) -> Response:
    tid = request.path_params["id"]
    body = await json_body(request)
    if isinstance(body, Response):
        return body
    body.pop("id", None)
    try:
        result, target = await probe_values(request, tid, body)
    except Rejected as exc:
        return refused(exc)
    return JSONResponse(result_json(result, target))


async def probe_values(
    request: Request, tid: str, values: Mapping[str, Any], env: dict[str, str] | None = None
) -> tuple[Result, Target]:
    """Probe the target `values` would make, nothing saved (`Rejected` if invalid)."""
    config = await preview(request, replace_target(tid, values), env)
    target = config.targets[tid]
    return await runtime_of(request).probe_now(target), target


def result_json(result: Result, target: Target) -> dict[str, Any]:
    secrets = list(target_secrets(target.url, target.spec))
    return {
        "ok": result.ok,
        "reason": result.reason,
        "detail": scrub(result.detail, secrets),
        "duration": result.duration,
        "degraded": result.degraded,
    }
