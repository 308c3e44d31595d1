"""`stamped`: reads carry the kernel's arrival time however late the loop reads them, and
the transport does what `fasthttp` asks of one (large writes, TLS, errors), against
real servers in threads of their own, so that a blocked probe loop blocks only the
probe."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
import trustme

from monitor.probes import stamped
from monitor.probes.fasthttp import AT, FastTransport
from tests.probes.servers import server_context

LATE = 0.2  # how long the loop is kept from reading in the late-read tests


@pytest.fixture
async def poller() -> AsyncIterator[stamped.Poller]:
    poller = stamped.Poller(asyncio.get_running_loop())
    yield poller
    poller.close()


class Sent:
    """What a threaded server tells the test: when its answer's last byte was sent
    (perf_counter, taken after `sendall` returned: on loopback the kernel has delivered
    and stamped the packets by then, as long as the answer fits in TCP's first window)."""

    def __init__(self) -> None:
        self.at = 0.0
        self.event = threading.Event()

    def mark(self) -> None:
        self.at = time.perf_counter()
        self.event.set()


def serve(handle: Callable[[socket.socket], None], context: ssl.SSLContext | None = None) -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def run() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                # No Nagle: a small write is on the wire when `sendall` returns.
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if context is not None:
                    conn = context.wrap_socket(conn, server_side=True)
                handle(conn)
            except OSError:
                pass
            finally:
                conn.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept
        listener.close()
        thread.join(5)


def answer_after_request(sent: Sent, body: bytes = b"hello") -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        sent.mark()
        conn.recv(1)  # until the client closes

    return handle


def hold_the_loop_until(sent: Sent) -> None:
    """Called from a coroutine without awaiting, it keeps the loop from reading: until
    the server has sent, and LATE seconds more."""
    sent.event.wait(10)
    time.sleep(LATE)


async def test_a_late_read_carries_the_arrival_time(poller: stamped.Poller) -> None:
    sent = Sent()
    got: list[tuple[bytes, float, float]] = []
    done = asyncio.get_running_loop().create_future()

    class Reader(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            got.append((data, self.transport.arrived, time.perf_counter()))  # type: ignore[attr-defined]
            if not done.done():
                done.set_result(None)

    for port in serve(answer_after_request(sent)):
        transport = await stamped.open_connection(poller, Reader(), "127.0.0.1", port)
        transport.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        hold_the_loop_until(sent)  # no await: the loop cannot read meanwhile
        await asyncio.wait_for(done, 10)
        transport.close()
    data, arrived, read_at = got[0]
    assert data.startswith(b"HTTP/1.1 200 OK")
    # The stamp is the kernel's, taken before the server's sendall returned; the read
    # itself came at least LATE seconds after that.
    assert arrived <= sent.at < read_at - LATE + 0.001


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_a_probe_ends_when_the_last_byte_arrived_not_when_the_loop_read_it(
    scheme: str, certs: dict[str, trustme.LeafCert], ca: trustme.CA
) -> None:
    sent = Sent()
    context = server_context(certs["valid"]) if scheme == "https" else None
    marks: dict[str, float] = {}

    async def trace(event: str, info: object) -> None:
        if isinstance(info, dict) and AT in info:
            marks[event] = info[AT]
        if event == "http11.receive_response_headers.started":
            hold_the_loop_until(sent)  # the request is out; no read until this returns

    client = ssl.create_default_context()
    ca.configure_trust(client)
    for port in serve(answer_after_request(sent, b"x" * 2000), context):
        request = httpx.Request(
            "GET",
            f"{scheme}://127.0.0.1:{port}/",
            extensions={"trace": trace, "ssl_context": client, "sni_hostname": "localhost"},
        )
        begun = time.perf_counter()
        response = await FastTransport().handle_async_request(request)
        body = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
        await response.aclose()
    assert len(body) == 2000
    connected = marks["connection.connect_tcp.complete"]
    head = marks["http11.receive_response_headers.complete"]
    last = marks["http11.receive_response_body.complete"]
    assert begun <= connected <= head <= last <= sent.at


async def test_a_write_larger_than_the_socket_takes_is_sent_whole(poller: stamped.Poller) -> None:
    size = 16 * 1024 * 1024
    received = bytearray()
    sent = Sent()

    def handle(conn: socket.socket) -> None:
        while len(received) < size:
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            received.extend(chunk)
        conn.sendall(b"ok")
        sent.mark()

    got = bytearray()
    done = asyncio.get_running_loop().create_future()

    class Reader(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            got.extend(data)
            if not done.done():
                done.set_result(None)

    for port in serve(handle):
        transport = await stamped.open_connection(poller, Reader(), "127.0.0.1", port)
        transport.write(bytes(range(256)) * (size // 256))
        await asyncio.wait_for(done, 30)
        transport.close()
    assert (len(received), bytes(got)) == (size, b"ok")
    assert received[:512] == bytes(range(256)) * 2


async def test_end_of_stream_and_close_reach_the_protocol(poller: stamped.Poller) -> None:
    events: list[str] = []
    lost = asyncio.get_running_loop().create_future()

    class Reader(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            events.append(f"data {data.decode()}")

        def eof_received(self) -> bool:
            events.append("eof")
            return False

        def connection_lost(self, exc: Exception | None) -> None:
            events.append(f"lost {exc!r}")
            lost.set_result(None)

    for port in serve(lambda conn: conn.sendall(b"bye")):
        await stamped.open_connection(poller, Reader(), "127.0.0.1", port)
        await asyncio.wait_for(lost, 10)
    assert events == ["data bye", "eof", "lost None"]


async def test_a_refused_connection_raises_the_os_error(poller: stamped.Poller) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: refused
        with pytest.raises(ConnectionRefusedError):
            await stamped.open_connection(poller, asyncio.Protocol(), "127.0.0.1", port)


async def test_a_name_is_resolved_and_connected(poller: stamped.Poller) -> None:
    sent = Sent()
    for port in serve(lambda conn: (conn.sendall(b"hi"), sent.mark(), conn.recv(1))):  # type: ignore[func-returns-value]
        transport = await stamped.open_connection(poller, asyncio.Protocol(), "localhost", port)
        assert transport.get_extra_info("peername")[1] == port
        transport.abort()


async def test_a_server_that_closes_during_the_handshake_is_a_connection_reset(poller: stamped.Poller) -> None:
    for port in serve(lambda conn: None):  # accepts, closes at once
        transport = await stamped.open_connection(poller, asyncio.Protocol(), "127.0.0.1", port)
        with pytest.raises(ConnectionResetError, match="during the TLS handshake"):
            await transport.start_tls(ssl.create_default_context(), "localhost")


async def test_an_untrusted_certificate_fails_the_handshake_with_the_verification_error(
    certs: dict[str, trustme.LeafCert], poller: stamped.Poller
) -> None:
    for port in serve(lambda conn: conn.recv(1), server_context(certs["valid"])):
        transport = await stamped.open_connection(poller, asyncio.Protocol(), "127.0.0.1", port)
        with pytest.raises(ssl.SSLCertVerificationError):
            await transport.start_tls(ssl.create_default_context(), "localhost")
        transport.abort()


def test_a_missing_or_impossible_stamp_falls_back_to_the_reads_clock() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        client = socket.create_connection(sock.getsockname())
        try:
            loop = asyncio.new_event_loop()
            try:
                began = time.perf_counter()
                transport = stamped.StampedTransport(
                    stamped.Poller(loop), client, asyncio.Protocol(), client.getpeername()
                )
                transport._begun = began
                before = time.perf_counter()
                assert transport._stamp([]) >= before
                # a stamp from before the connection began: the wall clock stepped back
                old = stamped._TIMESPEC.pack(1, 0)
                assert transport._stamp([(socket.SOL_SOCKET, stamped.SO_TIMESTAMPNS, old)]) >= before
            finally:
                loop.close()
        finally:
            client.close()
