"""A fast HTTP/1.1 transport for httpx, on asyncio protocols: one fresh connection per
request, as a prober needs, and nothing else.

httpx stays the client API: `FastTransport` is an `httpx.AsyncBaseTransport`, so the
HTTP probe hands it the same `httpx.Request` and reads the same `httpx.Response` as from
httpx's default transport. It exists because the default transport (httpcore's pool on
anyio streams) costs more CPU than everything else a probe does together; a protocol
callback per read and no pool halve a probe's cost. It keeps what the probe relies on:

- the extensions `trace` (httpcore's event names, so phase timings are the same; the
  events that mark something arriving carry `AT`, its arrival on the
  `time.perf_counter()` scale as `stamped` took it from the kernel: the connection made,
  the response head's last packet, the body's last byte. A consumer that read its own
  clock instead would be late by every loop turn before the trace, and under load those
  are many),
  `timeout` (connect/read/write, as httpx sets them), `sni_hostname` and `ssl_context`
  (the cached context of the target's TLS settings; a default verifying one otherwise);
- `network_stream` on the response, whose `get_extra_info("ssl_object")` gives the peer
  certificate, and httpx's exception classes (`ConnectError` with the OS or TLS error as
  its cause, `ConnectTimeout`, `ReadTimeout`, `ReadError`, `RemoteProtocolError`);
- the body as raw bytes (chunked framing removed, content coding left to the reader),
  read with flow control so a huge body costs bounded memory until the reader stops.

What it does not do goes to `fallback` (httpx's default transport unless given): URLs
that are not http/https. HTTP/2 and proxies are client-level choices this transport
never makes; a client that wants them mounts httpx's transport instead.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, cast

import httpx

from monitor.probes import stamped, tlsutil
from monitor.probes.fasthttp_parse import BodyParser, ResponseHead, parse_head

Trace = Callable[[str, Mapping[str, Any]], Awaitable[None]]
MAX_HEAD = 64 * 1024  # bytes of status line and headers before we call it invalid
HIGH_WATER = 256 * 1024  # unread body bytes at which reading from the socket pauses
_NO_BODY_STATUS = frozenset((204, 304))
AT = "at"  # the key of a trace event's arrival time (perf_counter seconds)


class FastTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over a fresh connection per request; see the module docstring."""

    def __init__(self, fallback: httpx.AsyncBaseTransport | None = None) -> None:
        self._fallback = fallback
        # The epoll set of each loop this transport connects on (the probe loop's, the
        # serving loop's for `/probe`), gone with its loop.
        self._pollers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, stamped.Poller] = (
            weakref.WeakKeyDictionary()
        )

    def _poller(self) -> stamped.Poller:
        loop = asyncio.get_running_loop()
        poller = self._pollers.get(loop)
        if poller is None:
            poller = self._pollers[loop] = stamped.Poller(loop)
        return poller

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            if self._fallback is None:
                self._fallback = httpx.AsyncHTTPTransport()
            return await self._fallback.handle_async_request(request)
        ext = request.extensions
        trace: Trace | None = ext.get("trace")
        timeouts: Mapping[str, float | None] = ext.get("timeout") or {}
        conn = await _connect(self._poller(), request, trace, timeouts.get("connect"))
        try:
            head = await conn.exchange(request, trace, timeouts)
        except BaseException:
            conn.abort()
            raise
        return httpx.Response(
            head.status,
            headers=head.headers,
            stream=_ResponseStream(conn, request, trace),
            extensions={
                "http_version": head.version,
                "reason_phrase": head.reason,
                "network_stream": _NetworkStream(conn),
            },
        )

    async def aclose(self) -> None:
        poller = self._pollers.pop(asyncio.get_running_loop(), None)
        if poller is not None:
            poller.close()
        if self._fallback is not None:
            await self._fallback.aclose()


async def _connect(
    poller: stamped.Poller, request: httpx.Request, trace: Trace | None, timeout: float | None
) -> _Connection:
    url = request.url
    host = url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    conn = _Connection(poller)
    if trace is not None:
        await trace(
            "connection.connect_tcp.started",
            {"host": host, "port": port, "local_address": None, "timeout": timeout, "socket_options": None},
        )
    try:
        if timeout is None:  # the probe bounds the whole exchange; no timer of our own then
            await _open(conn, request, trace, host, port)
        else:
            async with asyncio.timeout(timeout):
                await _open(conn, request, trace, host, port)
    except TimeoutError as exc:
        conn.abort()
        raise httpx.ConnectTimeout(f"no connection within {timeout:g}s", request=request) from exc
    except OSError as exc:  # ssl.SSLError (handshake, verification) is an OSError too
        conn.abort()
        error = httpx.ConnectError(str(exc) or type(exc).__name__, request=request)
        if trace is not None:
            await trace("connection.connect_tcp.failed", {"exception": error})
        raise error from exc
    except BaseException:
        conn.abort()
        raise
    return conn


async def _open(conn: _Connection, request: httpx.Request, trace: Trace | None, host: str, port: int) -> None:
    await stamped.open_connection(conn.poller, conn, host, port)
    if trace is not None:
        await trace("connection.connect_tcp.complete", {"return_value": conn, AT: conn.made_at})
    if request.url.scheme == "https":
        await _start_tls(conn, request, trace)


async def _start_tls(conn: _Connection, request: httpx.Request, trace: Trace | None) -> None:
    ext = request.extensions
    context: ssl.SSLContext = ext.get("ssl_context") or tlsutil.client_context(True, None)
    hostname = ext.get("sni_hostname") or request.url.host
    if trace is not None:
        await trace(
            "connection.start_tls.started", {"ssl_context": context, "server_hostname": hostname, "timeout": None}
        )
    await conn.start_tls(context, hostname)
    if trace is not None:
        await trace("connection.start_tls.complete", {"return_value": conn})


class _Connection(asyncio.Protocol):
    """One connection's protocol: writes one request, parses one response."""

    def __init__(self, poller: stamped.Poller) -> None:
        self.poller = poller
        self.loop = poller.loop
        self.transport: stamped.StampedTransport | None = None
        self.buffer = bytearray()
        self.head: ResponseHead | None = None
        self.body: BodyParser | None = None
        self.chunks: list[bytes] = []
        self.queued = 0
        self.eof = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.paused = False
        self.head_only = False  # HEAD request: a response never has a body
        # When it arrived (perf_counter scale, the kernel's stamps): the trace's `AT`.
        self.made_at = self.head_at = self.done_at = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(stamped.StampedTransport, transport)
        self.made_at = self.transport.connected_at

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.done_at = self.transport.arrived  # the latest arrival: the last byte's, once done
        if self.body is not None:
            self._body_data(data)
            return
        self.buffer += data
        try:
            self._try_head()
        except httpx.RemoteProtocolError as exc:
            self._fail(exc)

    def eof_received(self) -> bool:
        self.eof = True
        if self.body is not None and not self.body.done:
            if self.body.until_close:
                self.body.done = True
                if self.transport is not None:
                    self.done_at = self.transport.arrived  # the FIN's arrival
            else:
                self._fail(httpx.RemoteProtocolError("peer closed connection without sending complete message body"))
        elif self.head is None:
            self._fail(httpx.RemoteProtocolError("Server disconnected without sending a response."))
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self._fail(httpx.ReadError(str(exc) or type(exc).__name__), cause=exc)
        elif not self.eof:
            self.eof_received()
        self._wake()

    # response parsing
    def _try_head(self) -> None:
        while self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    raise httpx.RemoteProtocolError("response headers too long")
                return
            head = parse_head(bytes(self.buffer[:end]))
            del self.buffer[: end + 4]
            if 100 <= head.status < 200 and head.status != 101:
                continue  # an interim response (100 Continue): the real one follows
            self.head = head
            self.head_at = self.done_at
            no_body = self.head_only or head.status in _NO_BODY_STATUS or head.status == 101
            self.body = BodyParser.for_head(head, no_body)
            rest = bytes(self.buffer)
            self.buffer.clear()
            if rest or self.body.done:
                self._body_data(rest)
            self._wake()

    def _body_data(self, data: bytes) -> None:
        assert self.body is not None
        try:
            out = self.body.feed(data)
        except httpx.RemoteProtocolError as exc:
            self._fail(exc)
            return
        if out:
            self.chunks.append(out)
            self.queued += len(out)
            if self.queued > HIGH_WATER and not self.paused and self.transport is not None:
                self.paused = True
                self.transport.pause_reading()
        if out or self.body.done:
            self._wake()

    def _fail(self, error: BaseException, cause: BaseException | None = None) -> None:
        if self.error is None:
            if cause is not None:
                error.__cause__ = cause
            self.error = error
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def _wait(self, timeout: float | None) -> None:
        if self.error is not None:
            raise self.error
        self.waiter = self.loop.create_future()
        if timeout is None:
            await self.waiter
        else:
            try:
                async with asyncio.timeout(timeout):
                    await self.waiter
            except TimeoutError as exc:
                raise httpx.ReadTimeout(f"nothing read for {timeout:g}s") from exc
        self.waiter = None
        if self.error is not None:
            raise self.error

    # what the transport calls
    async def start_tls(self, context: ssl.SSLContext, hostname: str) -> None:
        assert self.transport is not None
        await self.transport.start_tls(context, hostname)

    async def exchange(
        self, request: httpx.Request, trace: Trace | None, timeouts: Mapping[str, float | None]
    ) -> ResponseHead:
        """Send `request`, return the response's head once it has arrived."""
        assert self.transport is not None
        self.head_only = request.method == "HEAD"
        data = await _serialize(request)
        info = {"request": request}
        if trace is not None:
            await trace("http11.send_request_headers.started", info)
        self.transport.write(data)
        if trace is not None:
            await trace("http11.send_request_headers.complete", {"return_value": None})
            await trace("http11.send_request_body.started", info)
            await trace("http11.send_request_body.complete", {"return_value": None})
            await trace("http11.receive_response_headers.started", info)
        while self.head is None:
            await self._wait(timeouts.get("read"))
        if trace is not None:
            head = self.head
            await trace(
                "http11.receive_response_headers.complete",
                {"return_value": (head.version, head.status, head.reason, head.headers), AT: self.head_at},
            )
        return self.head

    async def chunks_of_body(self, timeout: float | None) -> AsyncIterator[bytes]:
        assert self.body is not None
        while True:
            if self.chunks:
                chunks, self.chunks, self.queued = self.chunks, [], 0
                if self.paused and self.transport is not None:
                    self.paused = False
                    self.transport.resume_reading()
                for chunk in chunks:
                    yield chunk
            elif self.body.done:
                return
            else:
                await self._wait(timeout)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default) if self.transport is not None else default

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def _serialize(request: httpx.Request) -> bytes:
    stream = request.stream
    # A plain isinstance: `aread` asserts `isinstance(stream, typing.AsyncIterable)`, slow.
    body = b"".join(stream) if isinstance(stream, httpx.ByteStream) else await request.aread()
    chunked = any(k.lower() == b"transfer-encoding" and b"chunked" in v.lower() for k, v in request.headers.raw)
    parts = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    if chunked and body:
        parts += (b"%x\r\n" % len(body), body, b"\r\n0\r\n\r\n")
    elif chunked:
        parts.append(b"0\r\n\r\n")
    else:
        parts.append(body)
    return b"".join(parts)


class _ResponseStream(httpx.AsyncByteStream):
    """The response body as raw bytes; closing it closes the connection."""

    def __init__(self, conn: _Connection, request: httpx.Request, trace: Trace | None) -> None:
        self._conn = conn
        self._request = request
        self._trace = trace
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        trace, info = self._trace, {"request": self._request}
        if trace is not None:
            await trace("http11.receive_response_body.started", info)
        timeout = (self._request.extensions.get("timeout") or {}).get("read")
        async for chunk in self._conn.chunks_of_body(timeout):
            yield chunk
        if trace is not None:
            await trace("http11.receive_response_body.complete", {"return_value": None, AT: self._conn.done_at})

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        conn = self._conn
        if self._trace is not None:
            await self._trace("http11.response_closed.started", {})
        if conn.transport is not None:
            # A complete exchange closes politely; an abandoned one (a body too large,
            # a timeout) is cut off, so no byte more is read or waited for.
            if conn.body is not None and conn.body.done and conn.error is None:
                conn.transport.close()
            else:
                conn.transport.abort()
        if self._trace is not None:
            await self._trace("http11.response_closed.complete", {"return_value": None})


class _NetworkStream:
    """What httpcore's `network_stream` response extension offers that probes use."""

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn

    def get_extra_info(self, info: str) -> Any:
        if info in ("client_addr", "server_addr"):
            name = "sockname" if info == "client_addr" else "peername"
            return self._conn.get_extra_info(name)
        return self._conn.get_extra_info(info)
