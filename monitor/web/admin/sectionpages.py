"""Pages and JSON API for the sections of `monitor.web.admin.sections`: notifiers,
watch periods, maintenance windows, duty rosters and shifts (`SECTION` below is
`notifiers`, `watch`, `maintenance`, `rosters` or `duty`; `KEY` a notifier's or a
roster's name, or a period's or shift's position in the file, from 0).

- `GET /admin/config/SECTION` (viewer): every table of the section, as the file has
  it (secrets `***`, URLs cut to their scheme and host); for notifiers a "send test"
  button each (operator); for rosters and shifts the roster gaps `monitor validate`
  warns about;
- `GET|POST /admin/config/SECTION/new` (`?type=` for a notifier) and
  `GET|POST /admin/config/SECTION/KEY/edit` (admin): the form made from the section's
  fields; `_action=save` writes, `_action=test` (notifiers) sends a test message through
  the notifier the form describes, before it is saved, and shows what happened; a save
  that leaves the configuration with warnings (a roster gap: written all the same)
  comes back to the form (`?saved=1`) showing them;
- `GET|POST /admin/config/SECTION/KEY/delete` (admin): confirm, then delete;
- `POST /admin/config/notifiers/KEY/test` (operator): a test message through the saved
  notifier, shown on the list;
- JSON: `GET /admin/api/config/SECTION` (admin: `items`, `version`),
  `PUT /admin/api/config/SECTION/KEY` (admin; a notifier by name, a period by position),
  `POST /admin/api/config/SECTION` (admin; a new period), `DELETE
  /admin/api/config/SECTION/KEY` (admin), `POST /admin/api/notifiers/KEY/test`
  (operator: `{"delivered", "error"}`). `If-Match` and the answers as for targets; a
  write's answer has the configuration's `warnings` too.

Problems show next to their fields, a conflict with the other change, as for targets;
every write goes through `monitor.web.admin.changes.save`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, quote

import tomlkit
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from monitor.alerting.notifytest import send_tests
from monitor.config import Config
from monitor.config.edit import Conflict, Rejected
from monitor.config.fields import Field
from monitor.config.loader import ID_PATTERN
from monitor.web.admin.changes import config_file, preview, runtime_of, save, secret_values
from monitor.web.admin.forms import VERSION, convert, inputs, problems_by_field, read_form
from monitor.web.admin.layout import render
from monitor.web.admin.payload import MAX_BODY, json_body
from monitor.web.admin.sections import DUTY_SECTIONS, SECTIONS, Section, item, items, put, remove
from monitor.web.admin.targets import expected_version, masked, refused
from monitor.web.bodies import read_body, too_large
from monitor.web.templating import language

NOT_FOUND = Response("Not Found", 404, media_type="text/plain")


def _section(request: Request) -> Section | None:
    return SECTIONS.get(request.path_params["section"])


def _document(request: Request) -> tuple[tomlkit.TOMLDocument, str]:
    text, version = config_file(request).read()
    return tomlkit.parse(text), version


def _secrets(fields: tuple[Field, ...] | None) -> set[str]:
    return {f.key for f in fields or () if f.secret}


def _shown(section: Section, values: Mapping[str, Any], urls: bool = True) -> dict[str, Any]:
    return masked(values, _secrets(section.fields_for(values)), urls)


# --- pages ------------------------------------------------------------------------------


async def list_page(request: Request, tested: dict[str, Any] | None = None) -> Response:
    section = _section(request)
    if section is None:
        return NOT_FOUND
    document, _ = _document(request)
    config = runtime_of(request).config
    rows = [(key, _shown(section, values)) for key, values in items(document, section)]
    warnings = _warnings(config) if section.name in DUTY_SECTIONS else []
    context = {"section": section.name, "keyed": section.keyed, "rows": rows, "tested": tested, "warnings": warnings}
    return render(request, "admin_section.html.j2", config, lambda t: context)


async def new_form(request: Request) -> Response:
    section = _section(request)
    if section is None:
        return NOT_FOUND
    config = runtime_of(request).config
    chosen = request.query_params.get(section.variant or "", "")
    fields = section.fields_for({}, chosen)
    if fields is None:
        variants = section.variants()
        return render(
            request, "admin_variants.html.j2", config, lambda t: {"section": section.name, "variants": variants}
        )
    _, version = _document(request)
    values = {section.variant: chosen} if section.variant else {}
    return _form(request, config, section, None, fields, values, version)


async def edit_form(request: Request) -> Response:
    section = _section(request)
    if section is None:
        return NOT_FOUND
    key = request.path_params["key"]
    document, version = _document(request)
    values = item(document, section, key)
    fields = section.fields_for(values or {})
    if values is None or fields is None:
        return NOT_FOUND
    config = runtime_of(request).config
    if request.query_params.get("saved") == "1":
        return _form(request, config, section, key, fields, values, version, saved=True, warnings=_warnings(config))
    return _form(request, config, section, key, fields, values, version)


def _form(
    request: Request,
    config: Config,
    section: Section,
    key: str | None,
    fields: tuple[Field, ...],
    values: Mapping[str, Any],
    version: str,
    status: int = 200,
    **extra: Any,
) -> Response:
    lang = language(request, config)
    base = f"/admin/config/{section.name}"
    variant = values.get(section.variant) if section.variant else None
    action = f"{base}/{quote(key)}/edit?lang={lang}" if key is not None else f"{base}/new?lang={lang}"
    if key is None and variant:
        action += f"&{section.variant}={quote(str(variant))}"
    context = {
        "section": section.name,
        "keyed": section.keyed,
        "key": key,
        "inputs": inputs(fields, values, extra.pop("problems", None)),
        "version": version,
        "action": action,
        "back": f"{base}?lang={lang}",
        "general": [],
        "id_problems": [],
        "conflict": None,
        "tested": None,
        "new_id": "",
        "saved": False,
        "warnings": (),
        **extra,
    }
    return render(request, "admin_section_form.html.j2", config, lambda t: context, status_code=status)


async def save_form(request: Request) -> Response:
    section = _section(request)
    if section is None:
        return NOT_FOUND
    key: str | None = request.path_params.get("key")
    form = await _posted(request)
    if isinstance(form, Response):
        return form
    config = runtime_of(request).config
    document, _ = _document(request)
    old = item(document, section, key) if key is not None else {}
    if old is None:
        return NOT_FOUND
    chosen = request.query_params.get(section.variant or "", "") if key is None else ""
    fields = section.fields_for(old, chosen)
    if fields is None:
        return Response("Bad Request: unknown type", 400, media_type="text/plain")
    posted = read_form(fields, form, old)
    if section.variant is not None:  # the type the form was made for, whatever was posted
        rest = {k: v for k, v in posted.values.items() if k != section.variant}
        posted.values = {section.variant: chosen or old.get(section.variant), **rest}
    new_id = key if key is not None else form.get("id", "").strip() if section.keyed else None
    again = {**posted.values, **{k: old.get(k) for k in _secrets(fields)}}
    version = form.get(VERSION, "")

    def redo(status: int = 200, **extra: Any) -> Response:
        return _form(request, config, section, key, fields, again, version, status, new_id=new_id or "", **extra)

    if (
        section.keyed
        and key is None
        and (not ID_PATTERN.match(new_id or "") or new_id in dict(items(document, section)))
    ):
        return redo(400, id_problems=["form.section.id_invalid"])
    env = secret_values(posted, section.name.rstrip("s"), new_id or section.name)
    where = key if key is not None else str(len(items(document, section)))  # a new period goes last
    change = put(section, new_id, posted.values)
    if form.get("_action") == "test" and section.name == "notifiers" and new_id:
        try:
            trial = await preview(request, change, env)
        except Rejected as exc:
            return _rejected(redo, exc, section, new_id)
        error = (await send_tests(trial, [new_id]))[new_id]
        return redo(tested={"name": new_id, "error": error})
    action = f"config.{section.name}.{'update' if key is not None else 'add'}"
    try:
        await save(request, change, version, action, new_id or f"{section.name}[new]", env)
    except Rejected as exc:
        return _rejected(redo, exc, section, new_id if section.keyed else where)
    except Conflict as exc:
        return redo(409, conflict=exc.diff or "-")
    lang = language(request, config)
    if runtime_of(request).config.warnings:  # written; the form says what to look at
        saved = quote(new_id if section.keyed and new_id else where)
        return RedirectResponse(f"/admin/config/{section.name}/{saved}/edit?saved=1&lang={lang}", 303)
    return RedirectResponse(f"/admin/config/{section.name}?lang={lang}", 303)


def _warnings(config: Config) -> list[str]:
    """The configuration's warnings as `monitor validate` prints them, the file named by
    its name (`targets.toml:40: rosters.piket: nobody is on duty ...`): the server's
    folders are nobody's business on a page."""
    where = str(config.path)
    return [config.path.name + w[len(where) :] if w.startswith(where + ":") else w for w in config.warnings]


def _rejected(redo: Any, exc: Rejected, section: Section, key: str | None) -> Response:
    prefix = f"{section.name}.{key}" if section.keyed else f"{section.name}[{key}]"
    mine, rest = problems_by_field(exc.problems, prefix)
    response: Response = redo(400, problems=mine, general=rest)
    return response


async def delete_page(request: Request) -> Response:
    section = _section(request)
    if section is None:
        return NOT_FOUND
    key = request.path_params["key"]
    document, version = _document(request)
    values = item(document, section, key)
    if values is None:
        return NOT_FOUND
    context = {"section": section.name, "key": key, "values": _shown(section, values), "version": version}
    return render(request, "admin_section_delete.html.j2", runtime_of(request).config, lambda t: context)


async def delete(request: Request) -> Response:
    section = _section(request)
    if section is None:
        return NOT_FOUND
    key = request.path_params["key"]
    form = await _posted(request)
    if isinstance(form, Response):
        return form
    document, _ = _document(request)
    values = item(document, section, key)
    if values is None:
        return NOT_FOUND
    config = runtime_of(request).config
    try:
        await save(request, remove(section, key), form.get(VERSION) or None, f"config.{section.name}.delete", key)
    except (Rejected, Conflict) as exc:
        why = exc.diff if isinstance(exc, Conflict) else "; ".join(str(p) for p in exc.problems)
        context = {
            "section": section.name,
            "key": key,
            "values": _shown(section, values),
            "version": "",
            "refused": why or "-",
        }
        return render(request, "admin_section_delete.html.j2", config, lambda t: context, status_code=409)
    return RedirectResponse(f"/admin/config/{section.name}?lang={language(request, config)}", 303)


async def test_saved(request: Request) -> Response:
    name = request.path_params["key"]
    config = runtime_of(request).config
    if name not in config.notifiers:
        return NOT_FOUND
    error = (await send_tests(config, [name]))[name]
    request.path_params["section"] = "notifiers"
    return await list_page(request, tested={"name": name, "error": error})


async def _posted(request: Request) -> dict[str, str] | Response:
    raw = await read_body(request, MAX_BODY)
    if raw is None:
        return too_large(MAX_BODY)
    return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}


# --- JSON -------------------------------------------------------------------------------


async def api_list(request: Request) -> Response:
    section = _section(request)
    if section is None:
        return JSONResponse({"error": "no such section"}, 404)
    document, version = _document(request)
    found = [{"key": key, "keys": _shown(section, values, urls=False)} for key, values in items(document, section)]
    return JSONResponse(
        {"items": found, "version": version}, headers={"ETag": f'"{version}"', "Cache-Control": "no-store"}
    )


async def api_put(request: Request) -> Response:
    section = _section(request)
    if section is None:
        return JSONResponse({"error": "no such section"}, 404)
    key: str | None = request.path_params.get("key")
    body = await json_body(request)
    if isinstance(body, Response):
        return body
    document, _ = _document(request)
    exists = key is not None and item(document, section, key) is not None
    if key is not None and not section.keyed and not exists:
        return JSONResponse({"error": f"no {section.name}[{key}] in the file"}, 404)
    if key is None and section.keyed:
        return JSONResponse({"error": "name the table: PUT /admin/api/config/SECTION/NAME"}, 405)
    if key is not None and section.keyed and not ID_PATTERN.match(key):
        return JSONResponse({"error": "a name is 1-64 letters, digits, '-' or '_'"}, 400)
    action = f"config.{section.name}.{'update' if exists else 'add'}"
    fields = section.fields_for(body) or ()
    for f in fields:  # JSON has no date-time: an ISO 8601 string for one is read as TOML's
        if f.type == "time" and isinstance(body.get(f.key), str):
            body[f.key] = convert(f, body[f.key])
    try:
        written = await save(request, put(section, key, body), expected_version(request), action, key or section.name)
    except (Rejected, Conflict) as exc:
        return refused(exc)
    warnings = _warnings(runtime_of(request).config)
    return JSONResponse(
        {"id": key or "", "version": written.digest, "backup": written.backup.name, "warnings": warnings},
        200 if exists else 201,
    )


async def api_delete(request: Request) -> Response:
    section = _section(request)
    if section is None:
        return JSONResponse({"error": "no such section"}, 404)
    key = request.path_params["key"]
    document, _ = _document(request)
    if item(document, section, key) is None:
        return JSONResponse({"error": "no such table in the file"}, 404)
    try:
        await save(request, remove(section, key), expected_version(request), f"config.{section.name}.delete", key)
    except (Rejected, Conflict) as exc:
        return refused(exc)
    return Response(status_code=204)


async def api_test(request: Request) -> Response:
    name = request.path_params["key"]
    config = runtime_of(request).config
    if name not in config.notifiers:
        return JSONResponse({"error": "no such notifier"}, 404)
    error = (await send_tests(config, [name]))[name]
    return JSONResponse({"delivered": error is None, "error": error})
