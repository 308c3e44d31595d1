"""HTTP/1.1 response parsing for `monitor.probes.fasthttp`: the head (status line and
headers) and the body's framing (Content-Length, chunked, or until the server closes),
as RFC 9112 defines them. Malformed input raises `httpx.RemoteProtocolError`, as h11
does under httpx's default transport, so the probe reports `invalid_response` alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

MAX_CHUNK_LINE = 4096  # a chunk-size line (with extensions) longer than this is invalid


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """Status line and headers of a response, headers as raw (name, value) bytes."""

    version: bytes
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]

    def values(self, name: bytes) -> list[bytes]:
        return [v for k, v in self.headers if k.lower() == name]


def parse_head(data: bytes) -> ResponseHead:
    """Parse the bytes before the blank line that ends a response's head."""
    lines = data.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise httpx.RemoteProtocolError(f"invalid status line {lines[0][:80]!r}")
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or b" " in name:
            if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding
                headers[-1] = (headers[-1][0], headers[-1][1] + b" " + line.strip())
                continue
            raise httpx.RemoteProtocolError(f"invalid header line {line[:80]!r}")
        headers.append((name, value.strip(b" \t")))
    return ResponseHead(version, int(code), reason, headers)


class BodyParser:
    """Turns the bytes after the head into the body's bytes, framing removed.
    `done` is set when the body is complete."""

    __slots__ = ("buffer", "chunk_left", "done", "remaining", "state", "until_close")

    def __init__(self, remaining: int | None, chunked: bool) -> None:
        self.remaining = remaining  # Content-Length still to come (identity framing)
        self.until_close = remaining is None and not chunked
        self.state = "size" if chunked else "identity"
        self.chunk_left = 0
        self.buffer = b""
        self.done = remaining == 0

    @classmethod
    def for_head(cls, head: ResponseHead, no_body: bool) -> BodyParser:
        if no_body:
            return cls(0, False)
        encodings = b",".join(head.values(b"transfer-encoding")).lower()
        if encodings:
            if encodings.rsplit(b",", 1)[-1].strip() == b"chunked":
                return cls(None, True)
            return cls(None, False)  # another final coding: the body runs until close
        lengths = {v.strip() for v in head.values(b"content-length")}
        if not lengths:
            return cls(None, False)
        if len(lengths) > 1 or not all(v.isdigit() for v in lengths):
            raise httpx.RemoteProtocolError("invalid Content-Length")
        return cls(int(lengths.pop()), False)

    def feed(self, data: bytes) -> bytes:
        if self.done:
            return b""
        if self.state == "identity":
            return self._identity(data)
        return self._chunked(data)

    def _identity(self, data: bytes) -> bytes:
        if self.remaining is None:
            return data
        if len(data) >= self.remaining:
            data = data[: self.remaining]  # bytes past the body are ignored, as h11 does
            self.done = True
        self.remaining -= len(data)
        return data

    def _chunked(self, data: bytes) -> bytes:
        buf = self.buffer + data if self.buffer else data
        out: list[bytes] = []
        pos = 0
        while not self.done:
            if self.state == "data":
                take = buf[pos : pos + self.chunk_left]
                out.append(take)
                pos += len(take)
                self.chunk_left -= len(take)
                if self.chunk_left:
                    break
                self.state = "crlf"
                continue
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                if len(buf) - pos > MAX_CHUNK_LINE:
                    raise httpx.RemoteProtocolError("chunk size line too long")
                break
            line = buf[pos:eol]
            pos = eol + 2
            self._line(line)
        self.buffer = buf[pos:]
        return b"".join(out)

    def _line(self, line: bytes) -> None:
        if self.state == "crlf":
            if line:
                raise httpx.RemoteProtocolError("missing CRLF after a chunk")
            self.state = "size"
        elif self.state == "size":
            size = line.split(b";", 1)[0].strip()
            try:
                self.chunk_left = int(size, 16)
            except ValueError:
                raise httpx.RemoteProtocolError(f"invalid chunk size {size[:20]!r}") from None
            self.state = "data" if self.chunk_left else "trailer"
        elif not line:  # the blank line after the trailer fields ends the body
            self.done = True
