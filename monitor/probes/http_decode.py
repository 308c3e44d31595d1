"""Content-Encoding decoding of an HTTP body under a hard cap, as the HTTP probe reads it.

`BodyDecoder(encoding, limit)` decodes `gzip` (`x-gzip`), `deflate` (with or without
the zlib header, as servers send both), `br` (brotli) and `zstd`, and a list of them
applied in turn (`Content-Encoding: gzip, br` is undone right to left). Every step is
bounded: no coding ever produces more than `limit` bytes in all, however small its
input (zlib's `max_length`, brotli's `output_buffer_limit`, zstd's output written in
~128 KiB pieces to a counting sink), so a decompression bomb costs at most about
`limit` bytes, and zstd's window is capped at 8 MiB as RFC 9659 asks of HTTP clients.
A coding it does not know raises `UnsupportedEncoding` when the decoder is built.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import brotli
import zstandard

from monitor.probes.network import Failure, ProbeFailed
from monitor.result import Reason

ACCEPT_ENCODING = "gzip, deflate, br, zstd"
"""What the probe advertises: exactly what `BodyDecoder` decodes."""
ZSTD_MAX_WINDOW = 8 * 1024 * 1024


class UnsupportedEncoding(Exception):
    """A Content-Encoding this decoder cannot undo (`coding`: the first such)."""

    def __init__(self, coding: str) -> None:
        super().__init__(coding)
        self.coding = coding


class _Step(Protocol):
    cap: _Cap

    def feed(self, data: bytes) -> bytes: ...


class _Cap:
    """Counts what one step produced; past `limit` the body is too large."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.room = limit

    def count(self, data: bytes) -> bytes:
        self.room -= len(data)
        if self.room < 0:
            raise ProbeFailed(too_large(self.limit, "body"))
        return data


class _Zlib:
    """gzip and deflate; `deflate` may come without its zlib header (raw)."""

    def __init__(self, coding: str, cap: _Cap) -> None:
        self.cap = cap
        self.deflate = coding == "deflate"
        self.z = zlib.decompressobj(zlib.MAX_WBITS | 16) if not self.deflate else zlib.decompressobj()
        self.started = False

    def feed(self, data: bytes) -> bytes:
        parts: list[bytes] = []
        while data:
            try:
                out = self.z.decompress(data, self.cap.room + 1)
            except zlib.error as exc:
                if self.deflate and not self.started:
                    self.z, self.deflate = zlib.decompressobj(-zlib.MAX_WBITS), False
                    continue  # servers also send "deflate" without the zlib header
                raise ProbeFailed(Failure(Reason.INVALID_RESPONSE, f"cannot decode the body: {exc}")) from exc
            self.started = True
            parts.append(self.cap.count(out))
            data = self.z.unconsumed_tail
        return b"".join(parts)


class _Brotli:
    def __init__(self, cap: _Cap) -> None:
        self.cap = cap
        self.d = brotli.Decompressor()

    def feed(self, data: bytes) -> bytes:
        parts: list[bytes] = []
        try:
            # The limit stops the output buffer growing; what is left comes with empty input.
            parts.append(self.cap.count(self.d.process(data, output_buffer_limit=self.cap.room + 1)))
            while not self.d.can_accept_more_data():
                parts.append(self.cap.count(self.d.process(b"", output_buffer_limit=self.cap.room + 1)))
        except brotli.error as exc:
            raise ProbeFailed(Failure(Reason.INVALID_RESPONSE, f"cannot decode the brotli body: {exc}")) from exc
        return b"".join(parts)


class _Sink:
    """Where zstd writes its output, piece by piece; counting stops a bomb mid-write."""

    def __init__(self, cap: _Cap) -> None:
        self.cap = cap
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(self.cap.count(bytes(data)))
        return len(data)


class _Zstd:
    def __init__(self, cap: _Cap) -> None:
        self.cap = cap
        self.sink = _Sink(cap)
        dctx = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        # Any object with write() will do; the stubs ask for a whole IO[bytes].
        self.writer = dctx.stream_writer(self.sink, write_return_read=True, closefd=False)  # type: ignore[arg-type]

    def feed(self, data: bytes) -> bytes:
        try:
            self.writer.write(data)
        except zstandard.ZstdError as exc:
            raise ProbeFailed(Failure(Reason.INVALID_RESPONSE, f"cannot decode the zstd body: {exc}")) from exc
        out, self.sink.parts = b"".join(self.sink.parts), []
        return out


class _Identity:
    def __init__(self, cap: _Cap) -> None:
        self.cap = cap

    def feed(self, data: bytes) -> bytes:
        return self.cap.count(data)


def _step(coding: str, limit: int) -> _Step:
    cap = _Cap(limit)
    if coding in ("gzip", "x-gzip", "deflate"):
        return _Zlib("deflate" if coding == "deflate" else "gzip", cap)
    if coding == "br":
        return _Brotli(cap)
    if coding == "zstd":
        return _Zstd(cap)
    raise UnsupportedEncoding(coding)


class BodyDecoder:
    """Content-Encoding decoding that never produces more than `limit` bytes in all (nor
    more than that at any step of a list of codings); see the module docstring."""

    def __init__(self, encoding: str, limit: int) -> None:
        codings = [c.strip().lower() for c in encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        self.limit = limit
        steps: list[_Step] = [_step(coding, limit) for coding in reversed(codings)]
        self._steps = steps or [_Identity(_Cap(limit))]

    @property
    def room(self) -> int:
        """Bytes the decoded body may still grow by (negative: past the limit)."""
        return self._steps[-1].cap.room

    def feed(self, data: bytes) -> bytes:
        for step in self._steps:
            if not data:
                break
            data = step.feed(data)
        return data


def too_large(limit: int, what: str) -> Failure:
    return Failure(Reason.RESPONSE_TOO_LARGE, f"{what} exceeds max_body ({limit} bytes)")
