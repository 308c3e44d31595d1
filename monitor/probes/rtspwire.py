"""RTSP/1.0 on the wire (RFC 2326) as far as a health check needs it: one request at a
time, bounded responses, and Basic or Digest authentication (`monitor.probes.httpauth`,
shared with the HTTP probe).

`RtspConnection.request` answers a 401 once with the credentials and keeps the accepted
challenge for the following requests, as cameras and recorders expect.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from monitor.probes.httpauth import Challenge, pick_challenge

MAX_HEAD = 16 * 1024
MAX_BODY = 64 * 1024
USER_AGENT = "monitor-rtsp-probe"
_STATUS_LINE = re.compile(r"^RTSP/1\.\d (\d{3})(?: (.*))?$")


class ProtocolError(Exception):
    """The peer did not answer in RTSP (`too_large`: it answered too much)."""

    def __init__(self, message: str, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


@dataclass(frozen=True)
class Response:
    """One RTSP response; header names are lower case, each with all its values."""

    status: int
    reason: str
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str:
        values = self.headers.get(name, [])
        return values[0] if values else ""


async def read_response(reader: asyncio.StreamReader) -> Response:
    """Read one response; ProtocolError if it is not RTSP or exceeds the bounds (the
    reader's line limit and `MAX_HEAD` for the head, `MAX_BODY` for the body)."""
    first = await _line(reader, "the connection closed without an answer")
    match = _STATUS_LINE.match(first)
    if match is None:
        raise ProtocolError(f"not an RTSP answer: {first[:40]!r}")
    headers: dict[str, list[str]] = {}
    size = len(first)
    while line := await _line(reader, "the connection closed inside the response headers"):
        size += len(line)
        if size > MAX_HEAD:
            raise ProtocolError("response headers too large", too_large=True)
        name, sep, value = line.partition(":")
        if sep:
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    length = _content_length(headers)
    if length > MAX_BODY:
        raise ProtocolError(f"response body of {length} bytes", too_large=True)
    try:
        body = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError("the connection closed inside the response body") from exc
    return Response(int(match.group(1)), match.group(2) or "", headers, body)


async def _line(reader: asyncio.StreamReader, closed: str) -> str:
    try:
        raw = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise ProtocolError(f"not an RTSP answer: {exc.partial[:40]!r}") from exc
        raise ProtocolError(closed) from exc
    except asyncio.LimitOverrunError as exc:
        raise ProtocolError("response line too long", too_large=True) from exc
    return raw.decode("latin-1").rstrip("\r\n")


def _content_length(headers: dict[str, list[str]]) -> int:
    text = (headers.get("content-length") or ["0"])[0]
    if not (text.isascii() and text.isdigit()):  # "²" is a digit to str.isdigit, not to int()
        raise ProtocolError(f"invalid Content-Length {text[:20]!r}")
    return int(text)


class RtspConnection:
    """One TCP connection to an RTSP server, with optional credentials."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.reader, self.writer = reader, writer
        self.username, self.password = username, password
        self.cseq = 0
        self.challenge: Challenge | None = None
        self.nc = 0  # requests answered with `challenge` (Digest's nonce count)
        self.authenticated_rejected = False

    async def request(self, method: str, url: str, headers: dict[str, str] | None = None) -> Response:
        """Send `method` for `url`; on a 401, answer the challenge once. Afterwards
        `authenticated_rejected` tells a rejected password from no password."""
        self.authenticated_rejected = False
        sent_auth = self.challenge is not None
        response = await self._send(method, url, headers or {})
        if response.status != 401 or self.username is None:
            return response
        challenge = pick_challenge(response.headers.get("www-authenticate", []))
        if challenge is None or (sent_auth and not challenge.stale and challenge == self.challenge):
            self.authenticated_rejected = sent_auth
            return response
        self.challenge, self.nc = challenge, 0
        response = await self._send(method, url, headers or {})
        self.authenticated_rejected = response.status == 401
        return response

    async def send(self, method: str, url: str, headers: dict[str, str] | None = None) -> None:
        """Send `method` with the accepted credentials and do not wait for the answer
        (TEARDOWN while video is still arriving)."""
        await self._write(method, url, headers or {})

    async def _send(self, method: str, url: str, headers: dict[str, str]) -> Response:
        await self._write(method, url, headers)
        return await read_response(self.reader)

    async def _write(self, method: str, url: str, headers: dict[str, str]) -> None:
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}", f"User-Agent: {USER_AGENT}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if self.challenge is not None and self.username is not None:
            self.nc += 1
            lines.append(
                "Authorization: " + self.challenge.answer(method, url, self.username, self.password or "", self.nc)
            )
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        await self.writer.drain()
