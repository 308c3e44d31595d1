from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import trustme

from monitor.assess import assess
from monitor.config import Target
from monitor.probes import PROBES
from monitor.probes.base import ProbeContext
from monitor.probes.tls import TLS_VERSION
from monitor.probes.tlsutil import TlsContextCache
from monitor.result import Reason, Result
from tests.probes.configfile import Load, loader


@pytest.fixture
def config_from(tmp_path: Path) -> Load:
    return loader(tmp_path)


Serve = Callable[..., Awaitable[int]]
DAY = 86400.0


@pytest.fixture
def ca(tmp_path: Path) -> trustme.CA:
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    return authority


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start a TLS server on 127.0.0.1 with a certificate; return its port."""
    servers: list[asyncio.Server] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read()
        except (OSError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def start(cert: trustme.LeafCert, max_version: ssl.TLSVersion | None = None) -> int:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        if max_version is not None:
            context.maximum_version = max_version
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def leaf(ca: trustme.CA, days_before: float = 10, days_after: float = 90) -> trustme.LeafCert:
    now = dt.datetime.now(dt.UTC)
    return ca.issue_cert(
        "127.0.0.1",
        "localhost",
        not_before=now - dt.timedelta(days=days_before),
        not_after=now + dt.timedelta(days=days_after),
    )


def tls_target(config_from: Load, port: int, extra: str = 'ca_file = "ca.pem"\n') -> Target:
    config = config_from(f'[targets.tls]\nurl = "tls://127.0.0.1:{port}"\ntimeout = "2s"\n{extra}')
    return config.targets["tls"]


async def probe(target: Target) -> Result:
    return await PROBES["tls"].probe(target, ProbeContext(tls=TlsContextCache()))


async def test_a_trusted_certificate_passes_with_its_expiry_and_version(
    config_from: Load, serve: Serve, ca: trustme.CA
) -> None:
    result = await probe(tls_target(config_from, await serve(leaf(ca, days_after=90))))
    assert result.ok, result.detail
    assert result.cert_expiry is not None
    assert abs(result.cert_expiry - (time.time() + 90 * DAY)) < 60
    assert result.extra[TLS_VERSION] == 1.3
    assert set(result.phases) == {"connect", "tls"}


async def test_an_expired_certificate_fails_and_still_reports_its_expiry(
    config_from: Load, serve: Serve, ca: trustme.CA
) -> None:
    result = await probe(tls_target(config_from, await serve(leaf(ca, days_before=30, days_after=-2))))
    assert not result.ok and result.reason == Reason.CERT_EXPIRED
    assert result.cert_expiry is not None
    assert abs(result.cert_expiry - (time.time() - 2 * DAY)) < 60


async def test_an_expired_certificate_is_down_even_without_verification(
    config_from: Load, serve: Serve, ca: trustme.CA
) -> None:
    port = await serve(leaf(ca, days_before=30, days_after=-2))
    target = tls_target(config_from, port, "verify_tls = false\n")
    raw = await probe(target)
    assert raw.ok and raw.cert_expiry is not None
    judged = assess(target, raw)
    assert not judged.ok and judged.reason == Reason.CERT_EXPIRED


async def test_a_certificate_inside_the_warning_window_is_degraded(
    config_from: Load, serve: Serve, ca: trustme.CA
) -> None:
    port = await serve(leaf(ca, days_after=5))
    target = tls_target(config_from, port, 'ca_file = "ca.pem"\ncert_warn_days = [14, 7]\n')
    judged = assess(target, await probe(target))
    assert judged.ok and judged.degraded and judged.reason == Reason.CERT_EXPIRING
    assert "expires in 5 days" in judged.detail


async def test_a_certificate_not_yet_valid_fails(config_from: Load, serve: Serve, ca: trustme.CA) -> None:
    result = await probe(tls_target(config_from, await serve(leaf(ca, days_before=-1, days_after=30))))
    assert not result.ok and result.reason == Reason.TLS_ERROR
    assert "not yet valid" in result.detail
    assert result.cert_expiry is not None


async def test_a_wrong_host_name_fails(config_from: Load, serve: Serve, ca: trustme.CA) -> None:
    port = await serve(leaf(ca))
    result = await probe(tls_target(config_from, port, 'ca_file = "ca.pem"\nserver_name = "wrong.test"\n'))
    assert not result.ok and result.reason == Reason.TLS_ERROR
    assert "mismatch" in result.detail
    assert result.cert_expiry is not None
    right = await probe(tls_target(config_from, port, 'ca_file = "ca.pem"\nserver_name = "localhost"\n'))
    assert right.ok, right.detail


async def test_an_unknown_ca_fails_and_still_reports_the_expiry(
    config_from: Load, serve: Serve, ca: trustme.CA
) -> None:
    result = await probe(tls_target(config_from, await serve(leaf(ca, days_after=40)), ""))
    assert not result.ok and result.reason == Reason.TLS_ERROR
    assert "unable to get local issuer certificate" in result.detail
    assert result.cert_expiry is not None
    assert abs(result.cert_expiry - (time.time() + 40 * DAY)) < 60


async def test_a_version_below_min_version_fails(config_from: Load, serve: Serve, ca: trustme.CA) -> None:
    port = await serve(leaf(ca), max_version=ssl.TLSVersion.TLSv1_2)
    result = await probe(tls_target(config_from, port, 'ca_file = "ca.pem"\nmin_version = "1.3"\n'))
    assert not result.ok and result.reason == Reason.TLS_ERROR
    assert "negotiated TLS 1.2, below min_version 1.3" in result.detail
    ok = await probe(tls_target(config_from, port, 'ca_file = "ca.pem"\nmin_version = "1.2"\n'))
    assert ok.ok and ok.extra[TLS_VERSION] == 1.2


async def test_a_closed_port_is_connection_refused(config_from: Load) -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    free = int(listener.sockets[0].getsockname()[1])
    listener.close()
    await listener.wait_closed()
    target = tls_target(config_from, free, "")
    result = await probe(target)
    assert not result.ok and result.reason == Reason.CONNECTION_REFUSED


async def test_a_server_that_never_handshakes_times_out(config_from: Load) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    try:
        config = config_from(
            f'[targets.tls]\nurl = "tls://127.0.0.1:{server.sockets[0].getsockname()[1]}"\ntimeout = "500ms"\n'
        )
        begin = time.monotonic()
        result = await probe(config.targets["tls"])
        assert not result.ok and result.reason == Reason.TIMEOUT
        assert time.monotonic() - begin < 1.5
    finally:
        server.close()
        await server.wait_closed()


async def test_a_plain_text_server_is_a_tls_error(config_from: Load) -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mail.example.test ESMTP ready\r\n" * 20)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(plain, "127.0.0.1", 0)
    try:
        config = config_from(f'[targets.tls]\nurl = "tls://127.0.0.1:{server.sockets[0].getsockname()[1]}"\n')
        result = await probe(config.targets["tls"])
        assert not result.ok and result.reason == Reason.TLS_ERROR, result
    finally:
        server.close()
        await server.wait_closed()


async def test_a_server_that_never_answers_close_notify_does_not_hold_the_probe_past_its_timeout(
    config_from: Load, ca: trustme.CA
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf(ca).configure_cert(context)
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:  # handshakes, then neither reads nor closes until the test ends
        conn, _ = listener.accept()
        with context.wrap_socket(conn, server_side=True):
            done.wait(10)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        port = listener.getsockname()[1]
        config = config_from(f'[targets.tls]\nurl = "tls://127.0.0.1:{port}"\ntimeout = "300ms"\nca_file = "ca.pem"\n')
        begin = time.monotonic()
        result = await probe(config.targets["tls"])
        elapsed = time.monotonic() - begin
        assert result.ok, result.detail
        assert elapsed < 0.3 + 0.18  # the deadline; before, the close alone waited 0.5 s more
    finally:
        done.set()
        thread.join()
        listener.close()


async def test_a_host_name_with_a_label_over_63_characters_is_a_dns_error(config_from: Load) -> None:
    target = config_from(f'[targets.tls]\nurl = "tls://{"a" * 64}.test:443"\n').targets["tls"]
    result = await probe(target)
    assert (result.ok, result.reason) == (False, Reason.DNS_ERROR)
