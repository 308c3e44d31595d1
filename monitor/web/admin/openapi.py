"""The admin JSON API's part of the OpenAPI document (`monitor.web.openapi`): the
targets' routes of `monitor.web.admin.targets`, the single tables `[monitor]`,
`[defaults]` and `[subscriptions]` (`monitor.web.admin.settings`), the notifiers, watch
periods, maintenance windows, duty rosters and shifts (`monitor.web.admin.sectionpages`,
a path of its own each), the accounts (`monitor.web.admin.accounts`) and the audit log,
with the two ways in
(`bearer`: `MONITOR_ADMIN_TOKEN`, the admin role; `session`: the login cookie, whose
writes carry `X-CSRF-Token`). tests/web/test_adminui.py validates real answers
against these schemas."""

from __future__ import annotations

from typing import Any

from monitor.config.model import RESTART_SETTINGS, ROLES

_KEYS = {
    "type": "object",
    "description": "the target's TOML keys, as in [targets.ID] (url, name, group, interval, ...)",
    "additionalProperties": True,
}
_PROBLEM = {
    "type": "object",
    "required": ["key", "line", "message"],
    "properties": {
        "key": {"type": "string", "description": "dotted key path, e.g. targets.web.interval"},
        "line": {"type": ["integer", "null"]},
        "message": {"type": "string"},
    },
    "additionalProperties": False,
}


_RESTART = {
    "type": "array",
    "items": {"type": "string", "enum": list(RESTART_SETTINGS)},
    "description": "the keys whose value in the file waits for the monitor's next start",
}
_ACCOUNT = {
    "type": "object",
    "properties": {
        "role": {"type": "string", "enum": list(ROLES), "description": "a new account's is viewer unless sent"},
        "password": {"type": "string", "minLength": 8, "description": "needed for a new account; resets it"},
    },
    "additionalProperties": False,
}


def _obj(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties, "additionalProperties": False}


SCHEMAS: dict[str, Any] = {
    "TargetKeys": _obj({"id": {"type": "string"}, "keys": _KEYS, "version": {"type": "string"}}),
    "Written": _obj(
        {
            "id": {"type": "string"},
            "version": {"type": "string", "description": "the file's SHA-256 now (send as If-Match)"},
            "backup": {"type": "string", "description": "the previous file, e.g. targets.toml.3"},
        }
    ),
    "Rejected": _obj({"error": {"type": "string"}, "problems": {"type": "array", "items": _PROBLEM}}),
    "Conflict": _obj({"error": {"type": "string"}, "diff": {"type": "string", "description": "the other change"}}),
    "SettingsKeys": _obj(
        {
            "keys": {"type": "object", "description": "the table's TOML keys (a database URL's password ***)"},
            "version": {"type": "string"},
            "restart": _RESTART,
        }
    ),
    "SettingsWritten": _obj(
        {
            "version": {"type": "string", "description": "the file's SHA-256 now (send as If-Match)"},
            "backup": {"type": "string", "description": "the previous file, e.g. targets.toml.3"},
            "restart": _RESTART,
        }
    ),
    "Accounts": _obj(
        {
            "items": {
                "type": "array",
                "items": _obj({"name": {"type": "string"}, "role": {"type": "string", "enum": list(ROLES)}}),
            },
            "version": {"type": "string"},
        }
    ),
    "SectionItems": _obj(
        {
            "items": {
                "type": "array",
                "items": _obj(
                    {
                        "key": {"type": "string", "description": "a notifier's or roster's name, or a position from 0"},
                        "keys": {"type": "object", "description": "the table's TOML keys (secrets ***)"},
                    }
                ),
            },
            "version": {"type": "string"},
        }
    ),
    "SectionWritten": _obj(
        {
            "id": {"type": "string", "description": "the name or position written (empty for a table added)"},
            "version": {"type": "string", "description": "the file's SHA-256 now (send as If-Match)"},
            "backup": {"type": "string", "description": "the previous file, e.g. targets.toml.3"},
            "warnings": {
                "type": "array",
                "items": {"type": "string"},
                "description": "what monitor validate warns about now, e.g. a gap in a duty roster",
            },
        }
    ),
    "Tested": _obj({"delivered": {"type": "boolean"}, "error": {"type": ["string", "null"]}}),
    "Paused": _obj({"id": {"type": "string"}, "paused": {"type": "boolean"}}),
    "Probed": _obj(
        {
            "ok": {"type": "boolean"},
            "reason": {"type": "string"},
            "detail": {"type": "string"},
            "duration": {"type": "number"},
            "degraded": {"type": "boolean"},
        }
    ),
    "Audit": _obj(
        {
            "audit": {
                "type": "array",
                "items": _obj(
                    {
                        "at": {"type": "string", "format": "date-time"},
                        "who": {"type": "string", "description": "an account, or token"},
                        "action": {"type": "string", "description": "target.add, target.update, ..."},
                        "subject": {"type": "string"},
                        "detail": {"type": "string", "description": "for a configuration change: its diff"},
                    }
                ),
            }
        }
    ),
}

SECURITY = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "MONITOR_ADMIN_TOKEN: the admin role"},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "monitor_session",
        "description": "from POST /admin/login; every write also sends X-CSRF-Token",
    },
}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "the version read: a file changed since is refused (409)",
}
_BODY = {"required": True, "content": {"application/json": {"schema": _KEYS}}}
_AUTH: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]
_REFUSED = {"400": _json("Rejected", "every problem; nothing written"), "403": _json("Error", "role or CSRF token")}


_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}


def op(summary: str, op_id: str, role: str, **rest: Any) -> dict[str, Any]:
    return {"summary": f"{summary} ({role} role)", "operationId": op_id, "security": _AUTH, **rest}


def _single(name: str) -> dict[str, Any]:
    """The routes of `[monitor]` or `[defaults]`."""
    title = name.capitalize()
    return {
        "get": op(
            f"[{name}] as the file has it, the file's version, and what waits for a restart",
            f"get{title}",
            "admin",
            responses={"200": _json("SettingsKeys", "the table")},
        ),
        "put": op(
            f"Replace [{name}] (every key of it): validated, written with the file's comments kept, backed up, "
            "audited, reloaded; restart names the keys a reload cannot apply",
            f"put{title}",
            "admin",
            parameters=[_IF_MATCH],
            requestBody={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            responses={
                "200": _json("SettingsWritten", "written"),
                **_REFUSED,
                "409": _json("Conflict", "the file changed since If-Match"),
            },
        ),
    }


# The sections of `monitor.web.admin.sections`: (name, what a table is, keyed by name?).
_SECTIONS = (
    ("notifiers", "notifier", "[notifiers.NAME]", True),
    ("watch", "watch period", "[[watch]]", False),
    ("maintenance", "maintenance window", "[[maintenance]]", False),
    ("rosters", "duty roster", "[rosters.NAME]", True),
    ("duty", "duty shift", "[[duty]]", False),
)
_INDEX = {"name": "index", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}


def _op_name(what: str) -> str:
    return "".join(word.capitalize() for word in what.split())


def _section(name: str, what: str, table: str, keyed: bool) -> dict[str, Any]:
    """The routes of one section: its list, and a table by name or by position (a
    table still named elsewhere, e.g. a notifier a target notifies, is not deleted: 400)."""
    noun = _op_name(what)
    written = {
        **_REFUSED,
        "409": _json("Conflict", "the file changed since If-Match"),
    }
    body = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    listed: dict[str, Any] = {
        "get": op(
            f"Every {table} table as the file has it (secrets ***), and the file's version",
            f"get{noun}s",
            "admin",
            responses={"200": _json("SectionItems", "the tables")},
        )
    }
    if not keyed:
        listed["post"] = op(
            f"Add a {what} (appended to the file's {table} tables; date-times as ISO 8601 strings)",
            f"add{noun}",
            "admin",
            parameters=[_IF_MATCH],
            requestBody=body,
            responses={"201": _json("SectionWritten", "added"), **written},
        )
    key = _NAME if keyed else _INDEX
    one = {
        "put": op(
            f"{'Create or replace' if keyed else 'Replace'} a {what} (every key of it): validated, written with the "
            "file's comments kept, backed up, audited, reloaded",
            f"put{noun}",
            "admin",
            parameters=[key, _IF_MATCH],
            requestBody=body,
            responses={
                "200": _json("SectionWritten", "replaced"),
                **({"201": _json("SectionWritten", "created")} if keyed else {}),
                **written,
                "404": _json("Error", f"no such {what}"),
            },
        ),
        "delete": op(
            f"Delete a {what} from the file",
            f"delete{noun}",
            "admin",
            parameters=[key, _IF_MATCH],
            responses={"204": {"description": "deleted"}, **written, "404": _json("Error", f"no such {what}")},
        ),
    }
    return {
        f"/admin/api/config/{name}": listed,
        f"/admin/api/config/{name}/{{{'name' if keyed else 'index'}}}": one,
    }


def paths() -> dict[str, Any]:

    return {
        "/admin/api/targets/{id}": {
            "get": op(
                "A target's keys as the file has them (secrets ***), and the file's version",
                "getTargetKeys",
                "admin",
                parameters=[_ID],
                responses={"200": _json("TargetKeys", "the keys"), "404": _json("Error", "no such target")},
            ),
            "put": op(
                "Create or replace a target: validated, written to targets.toml with its comments kept, backed up, "
                "audited, reloaded",
                "putTarget",
                "admin",
                parameters=[_ID, _IF_MATCH],
                requestBody=_BODY,
                responses={
                    "200": _json("Written", "replaced"),
                    "201": _json("Written", "created"),
                    **_REFUSED,
                    "409": _json("Conflict", "the file changed since If-Match"),
                },
            ),
            "delete": op(
                "Delete a target from targets.toml",
                "deleteTarget",
                "admin",
                parameters=[_ID, _IF_MATCH],
                responses={"204": {"description": "deleted"}, **_REFUSED, "404": _json("Error", "no such target")},
            ),
        },
        "/admin/api/targets/{id}/pause": {
            "post": op(
                "Pause a target (paused = true in the file: not probed)",
                "pauseTarget",
                "operator",
                parameters=[_ID],
                responses={"200": _json("Paused", "paused"), "404": _json("Error", "no such target")},
            )
        },
        "/admin/api/targets/{id}/resume": {
            "post": op(
                "Resume a paused target",
                "resumeTarget",
                "operator",
                parameters=[_ID],
                responses={"200": _json("Paused", "resumed"), "404": _json("Error", "no such target")},
            )
        },
        "/admin/api/targets/{id}/probe": {
            "post": op(
                "Probe the target these keys would make, now, without saving",
                "probeTarget",
                "admin",
                parameters=[_ID],
                requestBody=_BODY,
                responses={"200": _json("Probed", "the result"), **_REFUSED},
            )
        },
        **{f"/admin/api/config/{name}": _single(name) for name in ("monitor", "defaults", "subscriptions")},
        **{path: item for section in _SECTIONS for path, item in _section(*section).items()},
        "/admin/api/notifiers/{name}/test": {
            "post": op(
                "Send a test message through a saved notifier, now",
                "testNotifier",
                "operator",
                parameters=[_NAME],
                responses={"200": _json("Tested", "what happened"), "404": _json("Error", "no such notifier")},
            )
        },
        "/admin/api/config/admins": {
            "get": op(
                "Every account's name and role (never its password hash)",
                "getAccounts",
                "admin",
                responses={"200": _json("Accounts", "the accounts")},
            )
        },
        "/admin/api/config/admins/{name}": {
            "put": op(
                "Add an account (a password needed) or change its role and/or reset its password (its sessions "
                "end); the last admin cannot be demoted, nor one's own account",
                "putAccount",
                "admin",
                parameters=[_NAME, _IF_MATCH],
                requestBody={"required": True, "content": {"application/json": {"schema": _ACCOUNT}}},
                responses={
                    "200": _json("Written", "changed"),
                    "201": _json("Written", "added"),
                    **_REFUSED,
                    "409": _json("Conflict", "the file changed since If-Match"),
                },
            ),
            "delete": op(
                "Delete an account (its sessions end); never the last admin, nor one's own",
                "deleteAccount",
                "admin",
                parameters=[_NAME, _IF_MATCH],
                responses={"204": {"description": "deleted"}, **_REFUSED, "404": _json("Error", "no such account")},
            ),
        },
        "/admin/api/audit": {
            "get": op(
                "Who changed what, when, newest first",
                "getAudit",
                "admin",
                parameters=[{"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}}],
                responses={"200": _json("Audit", "the audit log")},
            )
        },
    }
