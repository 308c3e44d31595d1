"""Load driver for the blackbox exporter, run as its own process (`python -m bench.driver`)
so its CPU never counts against the exporter's.

It requests `/probe?module=M&target=T` for each target in turn at a fixed rate over
kept-alive connections, as a Prometheus with that many scrape jobs would, and prints JSON
lines: `{"phase": "warm", ...}` when the warm-up ends and `{"phase": "done", ...}` at the
end, each with the counts of probes completed so far, so that the parent reads the
exporter's CPU time over exactly the measured window. A minimal HTTP/1.1 client on
asyncio protocols keeps the driver itself cheap (httpx's pool could not keep up at
several hundred requests a second on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import cast
from urllib.parse import quote

_TERMINATOR = b"\r\n0\r\n\r\n"


class _Client(asyncio.Protocol):
    """One kept-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[bytes] | None = None
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection lost"))
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None or self.waiter.done():
            return
        head = bytes(self.buffer[:end]).lower()
        if b"transfer-encoding: chunked" in head:
            if self.buffer.endswith(_TERMINATOR):
                self._finish(len(self.buffer))
        else:
            length = int(head.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            if len(self.buffer) >= end + 4 + length:
                self._finish(end + 4 + length)

    def _finish(self, size: int) -> None:
        body = bytes(self.buffer[:size])
        del self.buffer[:size]
        assert self.waiter is not None
        self.waiter.set_result(body)

    async def get(self, request: bytes) -> bytes:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


def _payload(response: bytes) -> bytes:
    """The body of a complete response, chunked framing removed."""
    head, _, body = response.partition(b"\r\n\r\n")
    if b"chunked" not in head.lower():
        return body
    out, pos = bytearray(), 0
    while True:
        eol = body.index(b"\r\n", pos)
        size = int(body[pos:eol].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += body[eol + 2 : eol + 2 + size]
        pos = eol + 4 + size


class Counts:
    def __init__(self) -> None:
        self.success = self.failure = self.errors = 0

    def line(self, phase: str, sent: int) -> str:
        return json.dumps(
            {"phase": phase, "sent": sent, "success": self.success, "failure": self.failure, "errors": self.errors}
        )


async def _worker(port: int, jobs: asyncio.Queue[bytes], counts: Counts) -> None:
    loop = asyncio.get_running_loop()
    client: _Client | None = None
    while True:
        request = await jobs.get()
        try:
            if client is None or client.lost.done():
                _, client = await loop.create_connection(_Client, "127.0.0.1", port)
            body = await client.get(request)
            if b"\nprobe_success 1" in _payload(body):
                counts.success += 1
            else:
                counts.failure += 1
        except (OSError, ConnectionError, ValueError, IndexError):
            counts.errors += 1
            client = None


async def drive(
    port: int, module: str, targets: list[str], rate: float, warmup: float, duration: float, connections: int
) -> None:
    requests = [
        (
            f"GET /probe?module={module}&target={quote(t, safe='')} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nUser-Agent: bench\r\n\r\n"
        ).encode()
        for t in targets
    ]
    counts = Counts()
    jobs: asyncio.Queue[bytes] = asyncio.Queue()
    workers = [asyncio.create_task(_worker(port, jobs, counts)) for _ in range(connections)]
    start = time.monotonic()
    warm_at, end_at = start + warmup, start + warmup + duration
    sent, warm_told = 0, False
    while (now := time.monotonic()) < end_at:
        if not warm_told and now >= warm_at:
            print(counts.line("warm", sent), flush=True)
            warm_told = True
        while start + sent / rate <= now:
            jobs.put_nowait(requests[sent % len(requests)])
            sent += 1
        await asyncio.sleep(0.002)
    print(counts.line("done", sent), flush=True)
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="the exporter's port on 127.0.0.1")
    parser.add_argument("--module", default="http_2xx")
    parser.add_argument("--rate", type=float, required=True, help="probes per second")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("targets", nargs="+")
    args = parser.parse_args()
    coro = drive(args.port, args.module, args.targets, args.rate, args.warmup, args.duration, args.connections)
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


if __name__ == "__main__":
    main()
