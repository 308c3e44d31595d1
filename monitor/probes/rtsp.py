"""The rtsp kind: `rtsp://host[:port]/path` checks a CCTV camera or video recorder.

It sends OPTIONS and, when the URL has a path, DESCRIBE (the stream's SDP description),
answering Basic or Digest authentication with `username` and `password` (or the URL's
user info). No media is set up or played: a camera that describes its stream is up.
Reasons: `auth_failed` (no or rejected credentials), `stream_not_found` (404),
`invalid_response` (not RTSP, or a DESCRIBE without SDP), `status_mismatch` (another
error status), `response_too_large`, `timeout`, `connection_refused`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote

from monitor.config.reader import Table
from monitor.probes.base import ProbeContext, ProbeKind, Stopwatch
from monitor.probes.network import Failure, classify, hang_up, url_port
from monitor.probes.rtspwire import MAX_HEAD, ProtocolError, Response, RtspConnection
from monitor.result import Reason, Result

if TYPE_CHECKING:
    from monitor.config import Target

STATUS_CODE = "probe_rtsp_status_code"


@dataclass(frozen=True)
class RtspSpec:
    """Where the stream is (`url` without user info) and how to log in."""

    host: str
    port: int
    url: str
    describe: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse(table: Table, url: SplitResult | None) -> RtspSpec:
    assert url is not None  # the scheme selected this kind
    port = url_port(url, 554)
    if port is None:
        table.problem("url", "has an invalid port")
        port = 554
    if not url.hostname:
        table.problem("url", "must be rtsp://HOST[:PORT]/PATH")
    host = url.hostname or ""
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    clean = f"rtsp://{netloc}{url.path or '/'}" + (f"?{url.query}" if url.query else "")
    username = table.text("username") or (unquote(url.username) if url.username else None)
    password = table.text("password") or (unquote(url.password) if url.password else None)
    if password is not None and username is None:
        table.problem("password", "needs a username")
    return RtspSpec(
        host=host, port=port, url=clean, describe=url.path.strip("/") != "", username=username, password=password
    )


async def probe(target: Target, ctx: ProbeContext) -> Result:
    spec: RtspSpec = target.spec
    clock = Stopwatch()
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(target.timeout):
            reader, writer = await asyncio.open_connection(spec.host, spec.port, limit=MAX_HEAD)
            conn = RtspConnection(reader, writer, spec.username, spec.password)
            response = await conn.request("OPTIONS", spec.url)
            if response.status == 200 and spec.describe:
                response = await conn.request("DESCRIBE", spec.url, {"Accept": "application/sdp"})
    except TimeoutError:
        return clock.failed(Failure(Reason.TIMEOUT, f"no RTSP answer within {target.timeout:g}s"))
    except ProtocolError as exc:
        reason = Reason.RESPONSE_TOO_LARGE if exc.too_large else Reason.INVALID_RESPONSE
        return clock.failed(Failure(reason, str(exc)))
    except (OSError, UnicodeError) as exc:  # UnicodeError: a host name idna cannot encode
        return clock.failed(classify(exc, f"{spec.host} port {spec.port}"))
    finally:
        if writer is not None:
            await hang_up(writer, clock.left(target.timeout))
    extra = {STATUS_CODE: float(response.status)}
    verdict = _judge(spec, conn, response)
    if verdict is not None:
        return clock.failed(verdict, status_code=response.status, extra=extra)
    return Result(
        ok=True,
        detail=f"RTSP {response.status} {response.reason}".strip(),
        started=clock.started,
        duration=clock.elapsed(),
        status_code=response.status,
        extra=extra,
    )


def _judge(spec: RtspSpec, conn: RtspConnection, response: Response) -> Failure | None:
    """Why the answer is a failure, or None if it is good."""
    status = f"RTSP {response.status} {response.reason}".strip()
    if response.status == 401:
        if spec.username is None:
            return Failure(Reason.AUTH_FAILED, f"{status}: the server wants a username and password")
        if conn.authenticated_rejected:
            return Failure(Reason.AUTH_FAILED, f"{status}: username or password rejected")
        return Failure(Reason.AUTH_FAILED, f"{status}: no supported authentication scheme offered")
    if response.status == 404:
        return Failure(Reason.STREAM_NOT_FOUND, f"{status}: no stream at this path")
    if not 200 <= response.status < 300:
        return Failure(Reason.STATUS_MISMATCH, status)
    if spec.describe and not response.body.lstrip().startswith(b"v=0"):
        return Failure(Reason.INVALID_RESPONSE, f"{status} without an SDP stream description")
    return None


KIND = ProbeKind(
    name="rtsp",
    schemes=("rtsp",),
    parse=parse,
    probe=probe,
    metrics=MappingProxyType(
        {
            STATUS_CODE: "Status code of the last RTSP response (0: none)",
        }
    ),
)
