"""Local servers the probe tests talk to, on 127.0.0.1 and ephemeral ports.

`LineServer` runs any `(reader, writer)` coroutine per connection (a TCP banner, a
garbage spewer); `HttpServer` is a small HTTP/1.1 server on top of it whose every answer
the test writes byte by byte, so hostile servers (trickling, endless, resetting) are a
few lines each. Both cancel their connection tasks on exit, so nothing outlives a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import trustme

from monitor.config import Target
from monitor.config.reader import Problems, Table
from monitor.probes.base import ProbeKind

Connection = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class LineServer:
    """A TCP (or TLS) server running `handler` for each connection."""

    def __init__(self, handler: Connection, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.port = 0
        self.connections = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> LineServer:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # the probe hung up first: that is its right
        except asyncio.CancelledError:
            pass  # the server is stopping; ending quietly keeps asyncio from logging it
        finally:
            writer.transport.abort()
            self._tasks.discard(task)  # type: ignore[arg-type]


@dataclass
class Request:
    """A request the HttpServer received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    line = await reader.readline()
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (raw := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, path, headers, body)


def response(status: int = 200, body: bytes = b"", headers: Mapping[str, str] | None = None) -> bytes:
    """A complete HTTP/1.1 response; Content-Length is added unless given."""
    lines = [f"HTTP/1.1 {status} Whatever"]
    all_headers = {"Content-Length": str(len(body)), "Connection": "close", **(headers or {})}
    lines += [f"{k}: {v}" for k, v in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


Route = Callable[[Request, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class HttpServer:
    """An HTTP/1.1 server; `reply()` and `route()` say what each path answers."""

    tls: ssl.SSLContext | None = None
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    _line: LineServer | None = None

    def reply(
        self,
        path: str,
        status: int = 200,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        async def answer(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(delay)
            writer.write(response(status, body, headers))
            await writer.drain()

        self.routes[path] = answer

    def route(self, path: str) -> Callable[[Route], Route]:
        def register(fn: Route) -> Route:
            self.routes[path] = fn
            return fn

        return register

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    @property
    def port(self) -> int:
        assert self._line is not None
        return self._line.port

    @property
    def connections(self) -> int:
        return self._line.connections if self._line else 0

    async def __aenter__(self) -> HttpServer:
        self._line = await LineServer(self._serve, self.tls).__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._line is not None
        await self._line.__aexit__(*exc)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        if request is None:
            return
        self.requests.append(request)
        route = self.routes.get(request.path.split("?")[0])
        if route is None:
            writer.write(response(404, b"not found"))
            await writer.drain()
            return
        await route(request, reader, writer)


def reset(writer: asyncio.StreamWriter) -> None:
    """Close the connection with a TCP RST (SO_LINGER 0), as a crashing server does."""
    sock: socket.socket = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


def make_target(kind: ProbeKind, url: str, timeout: float = 2.0, **keys: Any) -> Target:
    """A target of `kind` read through the kind's own `parse`, as the loader would."""
    problems = Problems("test.toml")
    table = Table({"url": url, **keys}, "targets.t", problems)
    spec = kind.parse(table, urlsplit(url))
    assert not problems.items, [str(p) for p in problems.items]
    return Target(id="t", name="t", kind=kind.name, url=url, spec=spec, timeout=timeout, interval=max(30.0, timeout))
