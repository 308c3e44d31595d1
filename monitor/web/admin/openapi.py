"""The admin JSON API's part of the OpenAPI document (`monitor.web.openapi`): the
targets' routes of `monitor.web.admin.targets` and the audit log, with the two ways in
(`bearer`: `MONITOR_ADMIN_TOKEN`, the admin role; `session`: the login cookie, whose
writes carry `X-CSRF-Token`). tests/web/test_adminui.py validates real answers
against these schemas."""

from __future__ import annotations

from typing import Any

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


def paths() -> dict[str, Any]:
    def op(summary: str, op_id: str, role: str, **rest: Any) -> dict[str, Any]:
        return {"summary": f"{summary} ({role} role)", "operationId": op_id, "security": _AUTH, **rest}

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
