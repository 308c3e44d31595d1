"""The farm's own small servers, run as their own process (`python -m bench.farmserver`)
so their CPU never counts against the monitor's:

- an HTTP/1.1 server that answers every request exactly 100 ms after the request's
  headers arrived (the target whose measured latency the bench checks), and
- a TCP server that greets with `220 bench ready` like an SMTP server (the tcp target).

It prints one JSON line `{"slow": PORT, "tcp": PORT}` once both listen, then serves until
its stdin closes or it receives SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from typing import cast

DELAY = 0.100
_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
_BANNER = b"220 bench ready\r\n"


class SlowHttp(asyncio.Protocol):
    """Answers the first request on a connection `DELAY` seconds after its headers end."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.answered = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.answered and b"\r\n\r\n" in self.buffer:
            self.answered = True
            asyncio.get_running_loop().call_later(DELAY, self._answer)

    def _answer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_RESPONSE)
            self.transport.close()


class Banner(asyncio.Protocol):
    """Greets, then closes when the client does (or after a second)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).write(_BANNER)
        asyncio.get_running_loop().call_later(1.0, transport.close)


async def serve() -> None:
    loop = asyncio.get_running_loop()
    slow = await loop.create_server(SlowHttp, "127.0.0.1", 0, backlog=4096)
    tcp = await loop.create_server(Banner, "127.0.0.1", 0, backlog=4096)
    ports = {"slow": slow.sockets[0].getsockname()[1], "tcp": tcp.sockets[0].getsockname()[1]}
    print(json.dumps(ports), flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await _wait_stdin_or(stop)
    slow.close()
    tcp.close()


class _Closer(asyncio.Protocol):
    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop.set()


async def _wait_stdin_or(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    with contextlib.suppress(OSError, ValueError):
        await loop.connect_read_pipe(lambda: _Closer(stop), sys.stdin)
    await stop.wait()


def main() -> None:
    try:
        import uvloop  # a faster loop keeps the farm's own overhead small when it exists
    except ImportError:
        asyncio.run(serve())
    else:
        uvloop.run(serve())


if __name__ == "__main__":
    main()
