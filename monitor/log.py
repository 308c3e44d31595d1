"""Logging as logfmt: `ts=... level=info logger=monitor.runtime msg="..." key=value`.

Readable by a person, parseable by Loki/Vector/grep. Pass fields with
`log.info("state changed", extra=kv(target="web", new="DOWN"))`.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

_FIELDS = "kv_fields"


def kv(**fields: Any) -> dict[str, Any]:
    """`extra=` for a log call: the fields are appended as key=value pairs."""
    return {_FIELDS: fields}


def _quote(value: Any) -> str:
    text = str(value)
    if text and not any(c in text for c in ' "=\n\r\t'):
        return text
    # A value can come from outside (a server's banner, a push message): a raw CR or LF
    # would forge a second log line.
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return '"' + escaped + '"'


class LogfmtFormatter(logging.Formatter):
    """One line per record, key=value pairs, values quoted when needed."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        parts = [
            f"ts={ts.replace('+00:00', 'Z')}",
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
            f"msg={_quote(record.getMessage())}",
        ]
        for key, value in getattr(record, _FIELDS, {}).items():
            parts.append(f"{key}={_quote(value)}")
        if record.exc_info:
            parts.append(f"error={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


def setup(level: str = "info") -> None:
    """Send every log record to stderr as logfmt."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "uvicorn.access", "watchfiles"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
