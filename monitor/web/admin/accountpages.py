"""The accounts for people (admin role only; the operations: `monitor.web.admin.accounts`):

- `GET /admin/config/admins`: every account, its name and role (never its hash);
- `GET|POST /admin/config/admins/new`: name, role, the password typed twice;
- `GET /admin/config/admins/NAME/edit`: two forms, its role (`POST` to the same path)
  and a new password typed twice (`POST /admin/config/admins/NAME/password`);
- `GET|POST /admin/config/admins/NAME/delete`: confirm, then delete.

A refusal or the validator's problem shows next to its input and nothing is written;
a password typed is never put back into a form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, quote

import tomlkit
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from monitor.config.edit import Conflict, Rejected
from monitor.config.fields import Field
from monitor.config.model import ROLES
from monitor.web.admin.accounts import SECTION, Refusal, Refused, accounts, delete_account, put_account
from monitor.web.admin.changes import config_file, runtime_of
from monitor.web.admin.forms import VERSION, Input, problems_by_field
from monitor.web.admin.layout import render
from monitor.web.admin.payload import MAX_BODY
from monitor.web.bodies import read_body, too_large
from monitor.web.templating import language
from monitor.web.texts import Texts

NOT_FOUND = Response("Not Found", 404, media_type="text/plain")
_NAME = Input(Field("name", "text"), label="accounts.name")
_ROLE = Input(Field("role", "text", "viewer"), choices=ROLES, label="accounts.role")
_PASSWORD = Input(Field("password", "text", secret=True), label="accounts.password")
_AGAIN = Input(Field("password_again", "text", secret=True), label="accounts.password_again")


def _read(request: Request) -> tuple[dict[str, str], str]:
    text, version = config_file(request).read()
    return accounts(tomlkit.parse(text)), version


def _base(request: Request) -> str:
    return f"/admin/config/{SECTION}?lang={language(request, runtime_of(request).config)}"


def _with(template: Input, text: str = "", problems: list[str] | None = None) -> Input:
    return Input(template.field, text, tuple(problems or ()), choices=template.choices, label=template.label)


async def _posted(request: Request) -> dict[str, str] | Response:
    raw = await read_body(request, MAX_BODY)
    if raw is None:
        return too_large(MAX_BODY)
    return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _problems(t: Texts, exc: Exception | None, name: str) -> tuple[dict[str, list[str]], list[str]]:
    """The refusals (in the page's language) or the validator's problems, by input."""
    if isinstance(exc, Refused):
        mine: dict[str, list[str]] = {}
        for r in exc.refusals:
            mine.setdefault(r.input, []).append(t(r.text, **r.values))
        return mine, mine.pop("", [])
    if isinstance(exc, Rejected):
        return problems_by_field(exc.problems, f"{SECTION}.{name}")
    return {}, []


def _conflict(exc: Exception | None) -> str | None:
    return (exc.diff or "-") if isinstance(exc, Conflict) else None


def _status(exc: Exception | None) -> int:
    return 200 if exc is None else 409 if isinstance(exc, Conflict) else 400


# --- the list ---------------------------------------------------------------------------


async def list_page(request: Request) -> Response:
    found, _ = _read(request)
    context = {"accounts": found, "done": request.query_params.get("done", "")}
    return render(request, "admin_accounts.html.j2", runtime_of(request).config, lambda t: context)


# --- a new account ----------------------------------------------------------------------


async def new_form(request: Request) -> Response:
    _, version = _read(request)
    return _new(request, {}, version)


def _new(request: Request, form: Mapping[str, str], version: str, exc: Exception | None = None) -> Response:
    lang = language(request, runtime_of(request).config)

    def build(t: Texts) -> Mapping[str, Any]:
        mine, general = _problems(t, exc, form.get("name", "").strip())
        fields = [
            _with(_NAME, form.get("name", ""), mine.get("name")),
            _with(_ROLE, form.get("role", "viewer"), mine.get("role")),
            _with(_PASSWORD, "", mine.get("password")),
            _with(_AGAIN, "", mine.get("password_again")),
        ]
        forms = [{"id": "new", "action": f"/admin/config/{SECTION}/new?lang={lang}", "inputs": fields}]
        return {"name": None, "forms": forms, "version": version, "general": general, "conflict": _conflict(exc)}

    config = runtime_of(request).config
    return render(request, "admin_account_form.html.j2", config, build, status_code=_status(exc))


async def save_new(request: Request) -> Response:
    form = await _posted(request)
    if isinstance(form, Response):
        return form
    name, version = form.get("name", "").strip(), form.get(VERSION, "")
    known, _ = _read(request)
    try:
        if name in known:
            raise Refused([Refusal("name", "accounts.name_taken")])
        await put_account(
            request, name, form.get("role"), form.get("password", ""), version, form.get("password_again")
        )
    except (Refused, Rejected, Conflict) as exc:
        return _new(request, form, version, exc)
    return RedirectResponse(_base(request) + f"&done={quote(name)}", 303)


# --- an account: its role, its password -------------------------------------------------


async def edit_page(request: Request) -> Response:
    name = request.path_params["key"]
    known, version = _read(request)
    if name not in known:
        return NOT_FOUND
    return _edit(request, name, known[name], version)


def _edit(
    request: Request, name: str, role: str, version: str, exc: Exception | None = None, which: str = ""
) -> Response:
    base = f"/admin/config/{SECTION}/{quote(name)}"
    lang = language(request, runtime_of(request).config)

    def build(t: Texts) -> Mapping[str, Any]:
        mine, general = _problems(t, exc, name)
        role_form = [_with(_ROLE, role, mine.get("role") if which == "role" else None)]
        password_form = [
            _with(_PASSWORD, "", mine.get("password") if which == "password" else None),
            _with(_AGAIN, "", mine.get("password_again") if which == "password" else None),
        ]
        forms = [
            {"id": "role", "action": f"{base}/edit?lang={lang}", "inputs": role_form},
            {"id": "password", "action": f"{base}/password?lang={lang}", "inputs": password_form},
        ]
        return {"name": name, "forms": forms, "version": version, "general": general, "conflict": _conflict(exc)}

    config = runtime_of(request).config
    return render(request, "admin_account_form.html.j2", config, build, status_code=_status(exc))


async def save_role(request: Request) -> Response:
    return await _change(request, "role")


async def save_password(request: Request) -> Response:
    return await _change(request, "password")


async def _change(request: Request, which: str) -> Response:
    name = request.path_params["key"]
    form = await _posted(request)
    if isinstance(form, Response):
        return form
    known, _ = _read(request)
    if name not in known:
        return NOT_FOUND
    version = form.get(VERSION, "")
    role = form.get("role") if which == "role" else None
    password = form.get("password", "") if which == "password" else None
    again = form.get("password_again", "") if which == "password" else None
    try:
        await put_account(request, name, role, password, version, again)
    except (Refused, Rejected, Conflict) as exc:
        return _edit(request, name, role or known[name], version, exc, which)
    return RedirectResponse(_base(request) + f"&done={quote(name)}", 303)


# --- deleting ---------------------------------------------------------------------------


async def delete_page(request: Request) -> Response:
    name = request.path_params["key"]
    known, version = _read(request)
    if name not in known:
        return NOT_FOUND
    return _delete(request, name, known[name], version)


def _delete(request: Request, name: str, role: str, version: str, exc: Exception | None = None) -> Response:
    def build(t: Texts) -> Mapping[str, Any]:
        mine, general = _problems(t, exc, name)
        refusals = [p for ps in mine.values() for p in ps] + general
        return {"name": name, "role": role, "version": version, "refusals": refusals, "conflict": _conflict(exc)}

    config = runtime_of(request).config
    return render(request, "admin_account_delete.html.j2", config, build, status_code=_status(exc))


async def delete(request: Request) -> Response:
    name = request.path_params["key"]
    form = await _posted(request)
    if isinstance(form, Response):
        return form
    known, _ = _read(request)
    if name not in known:
        return NOT_FOUND
    version = form.get(VERSION, "")
    try:
        await delete_account(request, name, version or None)
    except (Refused, Rejected, Conflict) as exc:
        return _delete(request, name, known[name], version, exc)
    return RedirectResponse(_base(request) + f"&done={quote(name)}", 303)
