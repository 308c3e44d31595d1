"""The accounts, `[admins.NAME]`: what adding, changing and deleting one does, and
their JSON API (the forms for people: `monitor.web.admin.accountpages`). Admin role
only, for reading too.

- `GET /admin/api/config/admins`: `items` (each `name` and `role`; never the hash) and
  the file's `version`;
- `PUT /admin/api/config/admins/NAME` (JSON: `role`, `password`): a new account needs a
  password (its role is `viewer` unless sent); for an existing one, `role` changes its
  role and `password` resets its password; `201` made, `200` changed;
- `DELETE /admin/api/config/admins/NAME`: `204`.

A password is hashed as `monitor passwd` hashes it (`monitor.config.accounts.
hash_password`: argon2id), in a worker thread, and is never written, logged, echoed or
audited: the audit log's diff shows the hash as `"…(changed)"` (`monitor.config.edit`).
A new password must be `MIN_PASSWORD` characters or longer.

Refused, with the file untouched (`Refused`, each refusal a text of the catalogue, for
the form in its language and for JSON in English as `400` with `problems` as the
validator's): deleting or demoting the last account with the admin role (the check runs
on the file as the write finds it, under the write's lock), and demoting or deleting the
account one is logged in to. Deleting an account or resetting its password ends its
sessions at once; whoever resets their own password stays logged in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import tomlkit
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tomlkit.items import Table

from monitor.config.accounts import hash_password
from monitor.config.edit import Change, Conflict, Rejected, Written, set_table, set_value
from monitor.config.loader import ID_PATTERN
from monitor.config.model import ROLES
from monitor.web.admin.auth import principal_of
from monitor.web.admin.changes import config_file, runtime_of, save
from monitor.web.admin.payload import json_body
from monitor.web.admin.sessions import COOKIE, sessions_of
from monitor.web.admin.targets import expected_version, refused
from monitor.web.templating import renderer

SECTION = "admins"
MIN_PASSWORD = 8
ADMIN = "admin"


@dataclass(frozen=True)
class Refusal:
    """Why a change of accounts is refused: the input it is about (`name`, `role`,
    `password`, `password_again`; "" for the account as a whole), a catalogue key and
    its placeholders."""

    input: str
    text: str
    values: Mapping[str, Any] = field(default_factory=dict)


class Refused(Exception):
    """A change of accounts refused before anything was written."""

    def __init__(self, refusals: list[Refusal]) -> None:
        super().__init__(", ".join(r.text for r in refusals))
        self.refusals = refusals


def accounts(document: tomlkit.TOMLDocument) -> dict[str, str]:
    """Each `[admins.NAME]` of the file with its role (as written; `viewer` when unset)."""
    found = document.get(SECTION)
    if found is None:
        return {}
    return {str(k): str(v.get("role", "viewer")) for k, v in found.items() if isinstance(v, Table)}


def password_refusals(password: Any, again: Any = None) -> list[Refusal]:
    """What is wrong with a new password (and its repetition, from a form)."""
    if not isinstance(password, str) or not password:
        return [Refusal("password", "accounts.password_required")]
    if len(password) < MIN_PASSWORD:
        return [Refusal("password", "accounts.password_short", {"n": MIN_PASSWORD})]
    if again is not None and again != password:
        return [Refusal("password_again", "accounts.password_differ")]
    return []


def _own(request: Request, name: str) -> bool:
    """Whether the request comes from a session of account `name` (never the token)."""
    principal = principal_of(request)
    return principal.csrf is not None and principal.who == name


def _guard(roles: Mapping[str, str], name: str, role: str | None, own: bool) -> None:
    """Refuse taking the admin role from `name` (`role` None: deleting it) when it is the
    last admin or the account the request comes from."""
    if roles.get(name) != ADMIN or role == ADMIN:
        return
    where = "" if role is None else "role"
    if own:
        raise Refused([Refusal(where, "accounts.own_delete" if role is None else "accounts.own_demote")])
    if sum(1 for r in roles.values() if r == ADMIN) <= 1:
        raise Refused([Refusal(where, "accounts.last_admin")])


def _admins_table(document: tomlkit.TOMLDocument) -> Table:
    if SECTION not in document:
        document.add(SECTION, tomlkit.table(is_super_table=True))
    found = document[SECTION]
    assert isinstance(found, Table)
    return found


def _put(name: str, role: str | None, password_hash: str | None, own: bool) -> Change:
    def change(document: tomlkit.TOMLDocument) -> None:
        if role is not None:
            _guard(accounts(document), name, role, own)
        admins = _admins_table(document)
        if name not in admins:
            set_table(admins, name, {"password_hash": password_hash or "", "role": role or "viewer"})
            return
        table = admins[name]
        assert isinstance(table, Table)
        if role is not None:
            set_value(table, "role", role)
        if password_hash is not None:
            set_value(table, "password_hash", password_hash)

    return change


def _remove(name: str, own: bool) -> Change:
    def change(document: tomlkit.TOMLDocument) -> None:
        _guard(accounts(document), name, None, own)
        admins = _admins_table(document)
        del admins[name]
        if not any(isinstance(v, Table) for v in admins.values()):
            del document[SECTION]

    return change


async def put_account(
    request: Request, name: str, role: Any, password: Any, expected: str | None, again: Any = None
) -> Written:
    """Add account `name` (a password needed) or change its role and/or password; raises
    `Refused`, or `Rejected` / `Conflict` as every write does."""
    known = accounts(tomlkit.parse(config_file(request).read()[0]))
    new = name not in known
    refusals = []
    if new and not ID_PATTERN.match(name):
        refusals.append(Refusal("name", "accounts.name_invalid"))
    if role is not None and role not in ROLES:
        refusals.append(Refusal("role", "accounts.role_invalid", {"roles": ", ".join(ROLES)}))
    if new or password is not None:
        refusals += password_refusals(password, again)
    if refusals:
        raise Refused(refusals)
    password_hash = await asyncio.to_thread(hash_password, password) if isinstance(password, str) else None
    own = _own(request, name)
    change = _put(name, role if isinstance(role, str) else None, password_hash, own)
    written = await save(request, change, expected, f"config.{SECTION}.{'add' if new else 'update'}", name)
    if password_hash is not None and not new:
        sessions = sessions_of(request.app.state)
        keep = request.cookies.get(COOKIE) if own else None
        sessions.end_account(name, keep=keep)
        if keep:
            sessions.rehash(keep, password_hash)
    return written


async def delete_account(request: Request, name: str, expected: str | None) -> Written:
    """Delete account `name` and end its sessions; raises as `put_account` does."""
    written = await save(request, _remove(name, _own(request, name)), expected, f"config.{SECTION}.delete", name)
    sessions_of(request.app.state).end_account(name)
    return written


# --- JSON -------------------------------------------------------------------------------


def _refused_json(request: Request, name: str, exc: Refused) -> JSONResponse:
    words = renderer(request).texts("en", runtime_of(request).config.settings.zone)
    problems = [
        {
            "key": f"{SECTION}.{name}" + (f".{r.input}" if r.input else ""),
            "line": None,
            "message": words(r.text, **r.values),
        }
        for r in exc.refusals
    ]
    return JSONResponse({"error": "the change of accounts is refused", "problems": problems}, 400)


async def api_list(request: Request) -> Response:
    text, version = config_file(request).read()
    items = [{"name": name, "role": role} for name, role in accounts(tomlkit.parse(text)).items()]
    return JSONResponse(
        {"items": items, "version": version}, headers={"ETag": f'"{version}"', "Cache-Control": "no-store"}
    )


async def api_put(request: Request) -> Response:
    name = request.path_params["key"]
    body = await json_body(request)
    if isinstance(body, Response):
        return body
    unknown = sorted(set(body) - {"role", "password"})
    if unknown:
        return JSONResponse({"error": f"unknown keys: {', '.join(unknown)} (send role, password)"}, 400)
    new = name not in accounts(tomlkit.parse(config_file(request).read()[0]))
    if not new and not body:
        return JSONResponse({"error": "send role, password or both"}, 400)
    try:
        written = await put_account(request, name, body.get("role"), body.get("password"), expected_version(request))
    except Refused as exc:
        return _refused_json(request, name, exc)
    except (Rejected, Conflict) as exc:
        return refused(exc)
    return JSONResponse({"id": name, "version": written.digest, "backup": written.backup.name}, 201 if new else 200)


async def api_delete(request: Request) -> Response:
    name = request.path_params["key"]
    if name not in accounts(tomlkit.parse(config_file(request).read()[0])):
        return JSONResponse({"error": "no such account in the file"}, 404)
    try:
        await delete_account(request, name, expected_version(request))
    except Refused as exc:
        return _refused_json(request, name, exc)
    except (Rejected, Conflict) as exc:
        return refused(exc)
    return Response(status_code=204)
