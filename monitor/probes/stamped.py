"""Connections whose reads carry the kernel's arrival time: how a probe's clock stays
the target's while the monitor is busy.

A probe's duration ends when the answer's last byte arrived. A read callback's own
clock says when the callback ran, which is later by every loop turn before it, by the
wait for the interpreter lock while the serving thread renders a page for a crowd, and
by the time the operating system let another process run first. On a busy machine
those add tens of milliseconds to a 100 ms answer. Linux stamps each packet as it
arrives (`SO_TIMESTAMPNS`), and `recvmsg` hands over the stamp of the last packet it
read, however late the read: `StampedTransport.arrived` is that stamp on the
`time.perf_counter()` scale. Where the stamp is missing (another kernel, an option
refused), it is the read's own clock, as before.

`open_connection(poller, protocol, host, port)` connects a non-blocking socket (every
address of a name in turn, as `loop.create_connection` does) and hands `protocol` a
`StampedTransport`: the subset of `asyncio.Transport` that `fasthttp` uses (`write`,
`close`, `abort`, `pause_reading`, `resume_reading`, `get_extra_info`: `sockname`,
`peername`, `socket`, `ssl_object`, `peercert`, `cipher`). A `Poller` is one epoll set
per event loop for all of them, which the loop watches as a single reader: a
connection costs three epoll calls, where the loop's own `add_reader` and
`add_writer` (uvloop's poll handles) cost about 9 us of CPU per connection.
`start_tls` runs TLS over memory BIOs on the same socket, so the stamps
hold for HTTPS too (an `ssl.SSLObject`, verified by the caller's context exactly as
`loop.start_tls` would). `connected_at` is when the SYN-ACK came back: the connect
call's start plus the kernel's first round-trip sample (`TCP_INFO`), again on the
`perf_counter` scale, or the callback's clock without one.

The protocol's callbacks are asyncio's: `connection_made`, `data_received`,
`eof_received` (False closes the transport), `connection_lost` (called soon after a
close, an abort or a failed read).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import select
import socket
import ssl
import struct
import time
from typing import Any

# Linux's SO_TIMESTAMPNS (its _OLD variant: a struct timespec of native longs); the
# socket module has no name for it.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@ll")
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size)
_TCP_INFO_RTT = struct.Struct("@I")  # tcpi_rtt, microseconds: after 8 bytes and 15 u32s
_RTT_OFFSET = 8 + 15 * 4
_TCP_INFO_SIZE = _RTT_OFFSET + _TCP_INFO_RTT.size
READ_SIZE = 256 * 1024  # bytes asked of one read


class Poller:
    """One epoll set for a loop's stamped connections, watched by the loop as one
    reader; `close()` when done with it (its transports first)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._epoll = select.epoll()
        self._transports: dict[int, StampedTransport] = {}
        loop.add_reader(self._epoll.fileno(), self._dispatch)

    def watch(self, fd: int, transport: StampedTransport, old: int, new: int) -> None:
        """Change what `fd` is watched for from `old` to `new` (0: not at all)."""
        if not new:
            self._transports.pop(fd, None)
            with contextlib.suppress(OSError, ValueError):
                self._epoll.unregister(fd)
        elif not old:
            self._transports[fd] = transport
            self._epoll.register(fd, new)
        else:
            self._epoll.modify(fd, new)

    def _dispatch(self) -> None:
        transports = self._transports
        for fd, events in self._epoll.poll(0):
            transport = transports.get(fd)
            if transport is not None:
                transport._on_events(events)

    def close(self) -> None:
        if not self._epoll.closed:
            with contextlib.suppress(RuntimeError, ValueError):  # the loop closed first
                self.loop.remove_reader(self._epoll.fileno())
            self._epoll.close()
        self._transports.clear()


class StampedTransport:
    """One connection's transport; see the module docstring."""

    def __init__(self, poller: Poller, sock: socket.socket, protocol: asyncio.Protocol, peername: Any) -> None:
        self._poller = poller
        self._loop = poller.loop
        self._sock = sock
        self._fd = sock.fileno()
        self._protocol = protocol
        self._peername = peername
        # realtime nanoseconds minus perf_counter nanoseconds: a stamp's place on the
        # perf_counter scale (a clock step during one exchange is caught by `_stamp`).
        self._offset = time.time_ns() - time.perf_counter_ns()
        self._begun = time.perf_counter()  # no stamp can be older
        self._connecting: asyncio.Future[None] | None = None
        self._watched = 0  # the epoll events the poller watches for
        self._reading = False  # reads wanted (from the connect on)
        self._paused = False
        self._closed = False
        self._pending = bytearray()  # written, not yet taken by the socket
        self._tls: ssl.SSLObject | None = None
        self._incoming = ssl.MemoryBIO()  # TLS's records in and out (0.2 us each to make)
        self._outgoing = ssl.MemoryBIO()
        self._handshake: asyncio.Future[None] | None = None
        self.arrived = 0.0  # the latest read's arrival (perf_counter seconds)
        self.connected_at = 0.0

    async def connect(self) -> None:
        """Connect the socket to the peer; raises the OS's error."""
        self._begun = time.perf_counter()
        error = self._sock.connect_ex(self._peername)
        if error == errno.EINPROGRESS:
            self._connecting = self._loop.create_future()
            self._watch()
            try:
                await self._connecting
            finally:
                self._connecting = None
            error = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            raise OSError(error, os.strerror(error))
        self.connected_at = _connected_at(self._sock, self._begun)
        self._reading = True
        self._watch()

    def _watch(self) -> None:
        """Tell the poller what this connection waits for now."""
        if self._closed:
            events = 0
        elif self._connecting is not None:
            events = select.EPOLLOUT
        else:
            events = (select.EPOLLIN if self._reading and not self._paused else 0) | (
                select.EPOLLOUT if self._pending else 0
            )
        if events != self._watched:
            self._poller.watch(self._fd, self, self._watched, events)
            self._watched = events

    def _on_events(self, events: int) -> None:
        connecting = self._connecting
        if connecting is not None:
            if not connecting.done():
                connecting.set_result(None)  # writable or failed: SO_ERROR tells which
            return
        if events & select.EPOLLOUT and self._pending:
            self._on_writable()
        if events & (select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP) and self._watched & select.EPOLLIN:
            self._on_readable()

    # what the protocol calls
    def write(self, data: bytes) -> None:
        if self._closed:
            return
        if self._tls is not None:
            self._tls.write(data)
            data = self._outgoing.read()
        self._send(data)

    def close(self) -> None:
        """Close after a complete exchange: TLS says close_notify, without waiting."""
        if self._closed:
            return
        if self._tls is not None and self._handshake is None:
            with contextlib.suppress(ssl.SSLError, OSError, ValueError):
                self._tls.unwrap()
            with contextlib.suppress(OSError):
                self._send(self._outgoing.read())
        self._shut(None)

    def abort(self) -> None:
        self._shut(None)

    def pause_reading(self) -> None:
        self._paused = True
        self._watch()

    def resume_reading(self) -> None:
        self._paused = False
        self._watch()

    def is_closing(self) -> bool:
        return self._closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return self._peername
        if name == "socket":
            return self._sock
        if self._closed:
            return default
        if name == "sockname":
            return self._sock.getsockname()
        tls = self._tls
        if tls is None:
            return default
        if name == "ssl_object":
            return tls
        if name == "peercert":
            return tls.getpeercert()
        if name == "cipher":
            return tls.cipher()
        return default

    async def start_tls(self, context: ssl.SSLContext, hostname: str) -> None:
        """The TLS handshake on this connection; raises what the handshake raised."""
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=hostname)
        self._handshake = self._loop.create_future()
        self._step_handshake()
        try:
            await self._handshake
        finally:
            self._handshake = None

    # reading
    def _on_readable(self) -> None:
        try:
            data, ancillary, _flags, _address = self._sock.recvmsg(READ_SIZE, _ANCILLARY)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._shut(exc)
            return
        self.arrived = self._stamp(ancillary)
        if self._tls is None:
            if data:
                self._protocol.data_received(data)
            else:
                self._eof()
            return
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()
        if self._handshake is not None:
            self._step_handshake()
        else:
            self._decrypt()

    def _stamp(self, ancillary: list[tuple[int, int, bytes]]) -> float:
        now = time.perf_counter()
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
                seconds, nanoseconds = _TIMESPEC.unpack_from(data)
                at = (seconds * 1_000_000_000 + nanoseconds - self._offset) / 1e9
                # A stamp from before this connection or from the future means the
                # wall clock stepped: the read's own clock is the better guess then.
                return at if self._begun <= at <= now else now
        return now

    def _eof(self) -> None:
        self._reading = False
        self._watch()
        if self._closed:
            return
        if not self._protocol.eof_received():
            self._shut(None)

    # TLS
    def _step_handshake(self) -> None:
        waiter = self._handshake
        assert self._tls is not None and waiter is not None
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            self._flush_tls()
            if self._incoming.eof and not waiter.done():
                waiter.set_exception(ConnectionResetError("connection closed during the TLS handshake"))
            return
        except (ssl.SSLError, OSError) as exc:
            error: BaseException = exc
            if isinstance(exc, ssl.SSLEOFError) or self._incoming.eof:
                error = ConnectionResetError("connection closed during the TLS handshake")
            if not waiter.done():
                waiter.set_exception(error)
            self._flush_tls()  # the alert that tells the server why, where there is one
            return
        self._flush_tls()
        if not waiter.done():
            waiter.set_result(None)
        if self._incoming.pending or self._incoming.eof:
            self._loop.call_soon(self._decrypt)  # data behind the last handshake record

    def _decrypt(self) -> None:
        tls = self._tls
        assert tls is not None
        chunks: list[bytes] = []
        ended = False
        error: Exception | None = None
        while True:
            try:
                chunk = tls.read(READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:  # the peer's close_notify
                ended = True
                break
            except (ssl.SSLError, OSError) as exc:
                if isinstance(exc, ssl.SSLEOFError) or self._incoming.eof:
                    ended = True  # a TCP close without close_notify: an end, as asyncio reads it
                else:
                    error = exc
                break
            if not chunk:
                ended = True
                break
            chunks.append(chunk)
        if self._outgoing.pending:
            with contextlib.suppress(OSError):
                self._flush_tls()
        if chunks and not self._closed:
            self._protocol.data_received(b"".join(chunks))
        if error is not None:
            self._shut(error)
        elif ended or self._incoming.eof:
            self._eof()

    def _flush_tls(self) -> None:
        data = self._outgoing.read()
        if data:
            self._send(data)

    # writing
    def _send(self, data: bytes) -> None:
        if not data or self._closed:
            return
        if self._pending:
            self._pending += data
            return
        try:
            sent = self._sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:
            self._shut(exc)
            return
        if sent < len(data):
            self._pending += data[sent:]
            self._watch()

    def _on_writable(self) -> None:
        try:
            sent = self._sock.send(self._pending)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._shut(exc)
            return
        del self._pending[:sent]
        if not self._pending:
            self._watch()

    # closing
    def _discard(self) -> None:
        """Close a connection never handed to the protocol."""
        self._closed = True
        self._watch()
        self._sock.close()

    def _shut(self, exc: Exception | None) -> None:
        if self._closed:
            return
        self._closed = True
        self._watch()
        waiter = self._handshake
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc if exc is not None else ConnectionResetError("connection closed"))
        self._sock.close()
        self._loop.call_soon(self._protocol.connection_lost, exc)


async def open_connection(poller: Poller, protocol: asyncio.Protocol, host: str, port: int) -> StampedTransport:
    """Connect to `host` (an address, or a name tried address by address) on `port`,
    hand `protocol` the connection and start reading; raises the OS's error."""
    addresses = _literal(host, port)
    if addresses is None:
        infos = await poller.loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [(family, address) for family, _, _, _, address in infos]
    errors: list[OSError] = []
    for family, address in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        transport = StampedTransport(poller, sock, protocol, address)
        try:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await transport.connect()
        except OSError as exc:
            transport._discard()
            errors.append(exc)
            continue
        except BaseException:
            transport._discard()
            raise
        protocol.connection_made(transport)  # type: ignore[arg-type]  # the subset it uses
        return transport
    if len(errors) == 1:
        raise errors[0]
    raise OSError(f"Multiple exceptions: {', '.join(str(e) for e in errors)}")


def _literal(host: str, port: int) -> list[tuple[int, Any]] | None:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return [(family, (host, port) if family == socket.AF_INET else (host, port, 0, 0))]
    return None


def _connected_at(sock: socket.socket, began: float) -> float:
    """When the SYN-ACK arrived: `began` plus the kernel's round-trip sample."""
    now = time.perf_counter()
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
    except (OSError, AttributeError):
        return now
    if len(info) < _TCP_INFO_SIZE:
        return now
    (rtt,) = _TCP_INFO_RTT.unpack_from(info, _RTT_OFFSET)
    at = began + rtt / 1e6
    return at if rtt and at <= now else now
