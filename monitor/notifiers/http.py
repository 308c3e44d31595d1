"""The one HTTP POST every web notifier uses, with errors classified for the outbox.

4xx other than 408 and 429 is permanent (the request itself is wrong: bad token, unknown
chat, deleted webhook); 408, 429, 5xx, timeouts and connection errors are transient.
A 429 honours the peer's wait: the `Retry-After` header (seconds or an HTTP date), or
`retry_after` / `parameters.retry_after` in a JSON body (Discord, Telegram). Messages
never include the URL: webhook URLs and bot tokens are secrets.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

import httpx

from monitor.config.reader import Table
from monitor.errors import PermanentNotifyError, TransientNotifyError

_TRANSIENT_4XX = (408, 429)


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> httpx.Response:
    """POST and return the 2xx response, or raise Permanent/TransientNotifyError."""
    try:
        response = await client.post(
            url, json=json, content=content, headers=headers, timeout=timeout, follow_redirects=False
        )
    except httpx.TimeoutException as exc:
        raise TransientNotifyError(
            f"timed out after {timeout:g}s", text="alert.notify_error.timeout", params={"seconds": f"{timeout:g}"}
        ) from exc
    except httpx.TransportError as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise TransientNotifyError(
            f"cannot connect: {error}", text="alert.notify_error.connect", params={"error": error}
        ) from exc
    check(response)
    return response


def require_url(t: Table, problem: str) -> str:
    """The required `url` key of a web notifier; `problem` is reported unless it is an
    http:// or https:// URL."""
    url = t.require_text("url")
    if url and not url.startswith(("https://", "http://")):
        t.problem("url", problem)
    return url


def check(response: httpx.Response) -> None:
    """Raise the classified error for a non-2xx response."""
    status = response.status_code
    if 200 <= status < 300:
        return
    message = f"HTTP {status}: {_excerpt(response)}"
    if status in _TRANSIENT_4XX or status >= 500:
        raise TransientNotifyError(message, retry_after=retry_after(response))
    raise PermanentNotifyError(message)


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the peer asked us to wait, from the header or a JSON body; None if unsaid."""
    header = response.headers.get("Retry-After")
    if header:
        header = header.strip()
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(header)
            except (TypeError, ValueError):
                parsed = None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - (time.time() if now is None else now))
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        for value in (body.get("retry_after"), (body.get("parameters") or {}).get("retry_after")):
            if isinstance(value, int | float) and not isinstance(value, bool):
                return max(0.0, float(value))
    return None


def _excerpt(response: httpx.Response, limit: int = 200) -> str:
    text = " ".join(response.text.split())
    return text[:limit] + ("…" if len(text) > limit else "") or response.reason_phrase
