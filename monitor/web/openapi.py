"""The OpenAPI 3.1 document of the public JSON API (`GET /api/openapi.json`).

Written by hand next to `monitor.web.api`; tests/web/test_api.py validates real answers
against these schemas, so the two cannot drift apart silently.
"""

from __future__ import annotations

from typing import Any

from monitor import __version__
from monitor.connectivity import Uplink
from monitor.result import State
from monitor.store import ANNOUNCEMENT_LEVELS, INCIDENT_STATUSES

_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_RATIO = {
    "type": ["number", "null"],
    "minimum": 0,
    "maximum": 1,
    "description": "availability 0..1, maintenance excluded; null without data",
}
_REASON = {
    "type": "string",
    "description": "machine reason: timeout, connection_refused, "
    "dns_error, tls_error, cert_expired, status_mismatch, body_mismatch, ...",
}


def _object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
        **extra,
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Any] = {
    "TargetRef": _object({"id": {"type": "string"}, "name": {"type": "string"}, "group": {"type": "string"}}),
    "State": {"type": "string", "enum": [s.value for s in State]},
    "Target": _object(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "group": {"type": "string"},
            "state": _ref("State"),
            "since": _TIME_OR_NULL,
            "last_checked": _TIME_OR_NULL,
            "reason": {"type": ["string", "null"], "description": "why DOWN or DEGRADED"},
            "latency": {"type": ["number", "null"], "description": "last probe, seconds"},
            "uptime": _object({"24h": _RATIO, "7d": _RATIO, "30d": _RATIO}),
        }
    ),
    "Note": _object({"at": _TIME, "text": {"type": "string"}}),
    "Text": _object(
        {"id": {"type": "string", "minLength": 1}, "en": {"type": ["string", "null"]}},
        description="A text for citizens in Indonesian, and English when given (else null: show the Indonesian)",
    ),
    "IncidentStatus": {"type": "string", "enum": list(INCIDENT_STATUSES)},
    "Update": _object(
        {"at": _TIME, "status": _ref("IncidentStatus"), "text": _ref("Text")},
        description="A step of an incident's timeline, posted by an operator",
    ),
    "Incident": _object(
        {
            "id": {
                "type": "string",
                "description": "stable: a declared incident's number, or TARGET.MS (the target's id and the "
                "start in unix milliseconds) for an automatic one; POST /admin/api/incidents/{id}/updates takes it",
            },
            "declared": {"type": "boolean", "description": "declared by an operator (not a DOWN period)"},
            "title": {"oneOf": [_ref("Text"), {"type": "null"}], "description": "the public title, if given"},
            "status": {
                "oneOf": [_ref("IncidentStatus"), {"type": "null"}],
                "description": "the latest update's status; null before the first update",
            },
            "target": _ref("TargetRef"),
            "targets": {"type": "array", "items": _ref("TargetRef"), "description": "every public target it is about"},
            "reason": {**_REASON, "type": ["string", "null"], "description": "why DOWN; null for a declared one"},
            "start": _TIME,
            "end": _TIME_OR_NULL,
            "ongoing": {"type": "boolean"},
            "duration": {"type": "number", "minimum": 0, "description": "seconds, start to end (or now)"},
            "maintenance": {
                "type": "array",
                "items": _object({"start": _TIME, "end": _TIME_OR_NULL}),
                "description": "maintenance windows inside the incident (end null: in maintenance now); "
                "their time is not downtime",
            },
            "maintenance_seconds": {"type": "number", "minimum": 0, "description": "seconds of it in maintenance"},
            "notes": {"type": "array", "items": _ref("Note")},
            "updates": {"type": "array", "items": _ref("Update"), "description": "newest first"},
            "handled": {"type": "boolean", "description": "open, and someone acknowledged it (never who)"},
        },
        description="A period DOWN (maintenance does not end it), or an incident declared by an operator "
        "(ended by an update resolving it)",
    ),
    "Maintenance": _object(
        {
            "targets": {"type": "array", "items": _ref("TargetRef")},
            "start": _TIME,
            "end": _TIME,
            "reason": {"type": "string"},
        }
    ),
    "Watch": _object(
        {
            "name": {"type": "string"},
            "start": _TIME,
            "end": _TIME,
            "day": {"type": "integer", "minimum": 1},
            "days": {"type": "integer", "minimum": 1},
        }
    ),
    "Connectivity": _object(
        {
            "state": {
                "type": "string",
                "enum": [u.value for u in Uplink],
                "description": "the monitor's own uplink ([monitor] connectivity): off (no checks), "
                "unknown (not decided yet), online, or offline: every check fails, so the monitor, "
                "not the services, is cut off; targets it cannot reach meanwhile are UNKNOWN with "
                "the reason monitor_offline",
            },
            "since": {**_TIME_OR_NULL, "description": "when this state began (offline: since every check failed)"},
        }
    ),
    "Status": _object(
        {
            "title": {"type": "string"},
            "generated_at": _TIME,
            "connectivity": _ref("Connectivity"),
            "overall": {
                "type": "string",
                "enum": [
                    "operational",
                    "degraded",
                    "partial_outage",
                    "major_outage",
                    "maintenance",
                    "checking",
                    "unknown",
                ],
            },
            "watch": {"oneOf": [_ref("Watch"), {"type": "null"}]},
            "targets": {"type": "array", "items": _ref("Target")},
            "incidents": {"type": "array", "items": _ref("Incident"), "description": "open ones"},
            "maintenance": {
                "type": "array",
                "items": _ref("Maintenance"),
                "description": "current and upcoming",
            },
            "announcements": {
                "type": "array",
                "items": _ref("Announcement"),
                "description": "the banners shown now",
            },
        }
    ),
    "Announcement": _object(
        {
            "id": {"type": "integer"},
            "level": {"type": "string", "enum": list(ANNOUNCEMENT_LEVELS)},
            "text": _ref("Text"),
            "start": _TIME,
            "end": {**_TIME_OR_NULL, "description": "null: until it is removed"},
        },
        description="A banner operators put on the public pages",
    ),
    "Result": _object(
        {
            "at": _TIME,
            "ok": {"type": "boolean"},
            "degraded": {"type": "boolean"},
            "maintenance": {"type": "boolean"},
            "reason": _REASON,
            "duration": {"type": "number", "minimum": 0, "description": "seconds"},
        }
    ),
    "Results": _object(
        {
            "target": _ref("TargetRef"),
            "since": _TIME,
            "until": _TIME,
            "truncated": {"type": "boolean", "description": "more than 10,000 results"},
            "results": {"type": "array", "items": _ref("Result")},
        }
    ),
    "Incidents": _object(
        {
            "since": _TIME,
            "until": _TIME,
            "incidents": {"type": "array", "items": _ref("Incident")},
        }
    ),
    "Error": _object({"error": {"type": "string"}}),
}


def _time_param(name: str, default: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": f"ISO 8601 with offset, or unix seconds; default {default}",
    }


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


_ERROR_400 = _json("Error", "bad since/until")
_ERROR_404 = _json("Error", "no such public target")


def document() -> dict[str, Any]:
    """The OpenAPI document (a fresh dict each call)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "monitor status API",
            "version": __version__,
            "description": "Public targets only: ids, names, groups, states, times.",
        },
        "paths": {
            "/api/v1/status": {
                "get": {
                    "summary": "Public targets: state, uptime, open incidents, maintenance, banners",
                    "operationId": "getStatus",
                    "responses": {"200": _json("Status", "the status")},
                }
            },
            "/api/v1/targets/{id}/results": {
                "get": {
                    "summary": "A public target's raw probe results (kept for raw_retention)",
                    "operationId": "getResults",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        _time_param("since", "until minus 24 hours"),
                        _time_param("until", "now"),
                    ],
                    "responses": {
                        "200": _json("Results", "results, oldest first"),
                        "400": _ERROR_400,
                        "404": _ERROR_404,
                    },
                }
            },
            "/api/v1/incidents": {
                "get": {
                    "summary": "Incidents of public targets (DOWN periods and declared ones) with their "
                    "updates, newest first",
                    "operationId": "getIncidents",
                    "parameters": [
                        _time_param("since", "until minus 30 days"),
                        _time_param("until", "now"),
                        {
                            "name": "target",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                            "description": "one target's id",
                        },
                    ],
                    "responses": {
                        "200": _json("Incidents", "incidents"),
                        "400": _ERROR_400,
                        "404": _ERROR_404,
                    },
                }
            },
        },
        "components": {"schemas": SCHEMAS},
    }
