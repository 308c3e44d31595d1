"""The HTTP probe over TLS with trustme certificates: verification outcomes, certificate
expiry reported even when verification fails, and the thresholds `assess` applies."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509

from monitor.assess import assess
from monitor.probes import http
from monitor.probes.base import ProbeContext
from monitor.result import Result
from tests.probes.servers import HttpServer, make_target, server_context


def expiry(cert: trustme.LeafCert) -> float:
    return x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes()).not_valid_after_utc.timestamp()


async def probe_tls(ctx: ProbeContext, cert: trustme.LeafCert, host: str = "127.0.0.1", **keys: Any) -> Result:
    async with HttpServer(tls=server_context(cert)) as server:
        server.reply("/", 200, b"aman")
        return await http.probe(make_target(http.KIND, server.url("/", host=host), **keys), ctx)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_it_trusts_a_private_ca_through_ca_file(
    ctx: ProbeContext, certs: dict[str, trustme.LeafCert], ca_file: str, host: str
) -> None:
    result = await probe_tls(ctx, certs["valid"], host=host, ca_file=ca_file, body_contains="aman")
    assert (result.ok, result.status_code) == (True, 200)
    assert result.cert_expiry == pytest.approx(expiry(certs["valid"]), abs=1)
    assert result.phases["tls"] > 0


@pytest.mark.parametrize(
    ("cert", "keys", "reason", "detail"),
    [
        ("expired", {"ca_file": True}, "cert_expired", "certificate has expired"),
        ("wrong_host", {"ca_file": True}, "tls_error", "hostname mismatch"),
        ("unknown_ca", {"ca_file": True}, "tls_error", "unknown CA"),
        ("valid", {}, "tls_error", "unknown CA"),  # a private CA the system does not trust
    ],
)
async def test_it_fails_verification_and_still_reports_the_expiry(
    ctx: ProbeContext,
    certs: dict[str, trustme.LeafCert],
    ca_file: str,
    cert: str,
    keys: dict[str, Any],
    reason: str,
    detail: str,
) -> None:
    keys = {k: ca_file if v is True else v for k, v in keys.items()}
    result = await probe_tls(ctx, certs[cert], host="localhost", **keys)
    assert (result.ok, result.reason) == (False, reason)
    assert result.detail.startswith(detail)
    assert result.cert_expiry == pytest.approx(expiry(certs[cert]), abs=1)
    assert result.status_code is None


async def test_it_skips_verification_when_told_and_reports_the_expiry(
    ctx: ProbeContext, certs: dict[str, trustme.LeafCert]
) -> None:
    result = await probe_tls(ctx, certs["unknown_ca"], host="localhost", verify_tls=False)
    assert result.ok
    assert result.cert_expiry == pytest.approx(expiry(certs["unknown_ca"]), abs=1)


async def test_assess_fails_an_expired_certificate_even_without_verification(
    ctx: ProbeContext, certs: dict[str, trustme.LeafCert]
) -> None:
    target = make_target(http.KIND, "https://127.0.0.1/", verify_tls=False)
    result = assess(target, await probe_tls(ctx, certs["expired"], verify_tls=False))
    assert (result.ok, result.reason) == (False, "cert_expired")


async def test_assess_turns_an_expiring_certificate_into_degraded(
    ctx: ProbeContext, certs: dict[str, trustme.LeafCert], ca_file: str
) -> None:
    target = dataclasses.replace(make_target(http.KIND, "https://127.0.0.1/"), cert_warn_days=(30, 14, 7))
    raw = await probe_tls(ctx, certs["expiring"], ca_file=ca_file)
    result = assess(target, raw)
    assert (result.ok, result.degraded, result.reason) == (True, True, "cert_expiring")
    assert result.detail == "certificate expires in 5 days"


async def test_assess_turns_a_slow_answer_into_degraded(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/", 200, delay=1.0)  # wide margins: CI machines are loaded
    target = dataclasses.replace(make_target(http.KIND, server.url()), degraded_after=0.5)
    result = assess(target, await http.probe(target, ctx))
    assert (result.ok, result.degraded, result.reason) == (True, True, "slow")
    server.reply("/", 200)
    assert assess(target, await http.probe(target, ctx)).degraded is False


async def test_a_ca_file_removed_after_validation_fails_the_probe_without_raising(
    ctx: ProbeContext, ca_file: str, tmp_path: Path
) -> None:
    copy = tmp_path / "ca.pem"
    copy.write_bytes(Path(ca_file).read_bytes())
    target = make_target(http.KIND, "https://127.0.0.1:1/", ca_file=str(copy))
    copy.unlink()
    result = await http.probe(target, ctx)
    assert (result.ok, result.reason) == (False, "error")
    assert result.detail.startswith("cannot probe:")


async def test_a_second_handshake_that_hangs_costs_the_expiry_not_the_reason(
    ctx: ProbeContext, certs: dict[str, trustme.LeafCert]
) -> None:
    connections = 0

    async def first_tls_then_silence(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            if connections == 1:  # the probe's handshake: an untrusted certificate
                await writer.start_tls(server_context(certs["valid"]))
            await reader.read()  # the second one, for the expiry, never gets an answer
        except OSError:
            pass
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(first_tls_then_silence, "127.0.0.1", 0)
    try:
        url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        begin = time.monotonic()
        result = await http.probe(make_target(http.KIND, url, timeout=1.0), ctx)
        assert (result.ok, result.reason, result.cert_expiry) == (False, "tls_error", None)
        assert result.detail.startswith("unknown CA")
        assert connections == 2 and time.monotonic() - begin < 1.0 + 1
    finally:
        server.close()
        await server.wait_closed()
