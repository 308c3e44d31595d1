"""The TCP probe against real local servers: connect, send/expect, TLS with certificate
expiry, hostile peers within the deadline, and its configuration keys."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509

from monitor.config.loader import load_config
from monitor.errors import ConfigError
from monitor.probes import tcp
from monitor.probes.base import ProbeContext
from monitor.result import Result
from tests.probes.servers import Connection, LineServer, make_target, reset, server_context

Reader, Writer = asyncio.StreamReader, asyncio.StreamWriter
TIMEOUT = 1.0


async def smtp(reader: Reader, writer: Writer) -> None:
    writer.write(b"220 mail.example.go.id ESMTP Postfix\r\n")
    await writer.drain()
    if await reader.readline() == b"QUIT\r\n":
        writer.write(b"221 2.0.0 Bye\r\n")
        await writer.drain()


async def redis(reader: Reader, writer: Writer) -> None:
    if await reader.readline() == b"PING\r\n":
        writer.write(b"+PONG\r\n")
        await writer.drain()
    await asyncio.sleep(3600)


async def silent(reader: Reader, writer: Writer) -> None:
    await asyncio.sleep(3600)


async def chatty(reader: Reader, writer: Writer) -> None:
    while True:
        writer.write(b"noise " * 1000)
        await writer.drain()


async def hangs_up(reader: Reader, writer: Writer) -> None:
    writer.write(b"554 go away\r\n")
    await writer.drain()


async def speaks_plain(reader: Reader, writer: Writer) -> None:
    writer.write(b"220 plain text, no TLS here\r\n")
    await writer.drain()
    await asyncio.sleep(3600)


async def resets(reader: Reader, writer: Writer) -> None:
    await reader.readline()
    reset(writer)


async def probe(
    ctx: ProbeContext, handler: Connection, cert: trustme.LeafCert | None = None, host: str = "127.0.0.1", **keys: Any
) -> Result:
    async with LineServer(handler, server_context(cert) if cert else None) as server:
        target = make_target(tcp.KIND, f"tcp://{host}:{server.port}", timeout=TIMEOUT, **keys)
        begun = time.monotonic()
        result = await tcp.probe(target, ctx)
    assert time.monotonic() - begun < TIMEOUT + 1
    return result


def expiry(cert: trustme.LeafCert) -> float:
    return x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes()).not_valid_after_utc.timestamp()


async def test_it_passes_when_the_port_accepts(ctx: ProbeContext) -> None:
    result = await probe(ctx, silent)
    assert (result.ok, result.detail) == (True, "connected")
    assert set(result.phases) == {"resolve", "connect"}


@pytest.mark.parametrize(
    ("handler", "keys"),
    [
        (smtp, {"expect": "^220 "}),
        # `expect` searches everything received, the banner included: (?m) finds a later line
        (smtp, {"send": "QUIT\r\n", "expect": "(?m)^221 "}),
        (redis, {"send": "PING\r\n", "expect": "^\\+PONG"}),
    ],
)
async def test_it_sends_and_expects(ctx: ProbeContext, handler: Connection, keys: dict[str, str]) -> None:
    assert (await probe(ctx, handler, **keys)).ok


@pytest.mark.parametrize(
    ("handler", "keys", "reason", "detail"),
    [
        (
            hangs_up,
            {"expect": "^220 "},
            "expect_mismatch",
            "expected /^220 /, got b'554 go away\\r\\n' before the connection closed",
        ),
        (chatty, {"expect": "^220 "}, "expect_mismatch", "expected /^220 /, got b'noise noise"),
        (silent, {"expect": "^220 "}, "timeout", "no answer within 1s (waiting for the expected answer)"),
        (resets, {"send": "HELLO\n", "expect": "x"}, "connection_reset", "connection reset by the peer"),
    ],
)
async def test_it_fails_a_peer_that_does_not_answer_as_expected(
    ctx: ProbeContext, handler: Connection, keys: dict[str, str], reason: str, detail: str
) -> None:
    result = await probe(ctx, handler, **keys)
    assert (result.ok, result.reason) == (False, reason)
    assert result.detail.startswith(detail), result.detail


async def test_it_reads_no_more_than_its_limit_looking_for_a_match(ctx: ProbeContext) -> None:
    result = await probe(ctx, chatty, expect="never")
    assert result.detail.endswith(f"before {tcp.READ_LIMIT} bytes read")


async def test_it_reports_refused_connections_and_unknown_names(ctx: ProbeContext) -> None:
    refused = await tcp.probe(make_target(tcp.KIND, "tcp://127.0.0.1:1"), ctx)
    assert (refused.reason, refused.detail) == ("connection_refused", "connection refused")
    unknown = await tcp.probe(make_target(tcp.KIND, "tcp://nowhere.invalid:25"), ctx)
    assert unknown.reason == "dns_error"


async def test_it_speaks_tls_and_reports_the_expiry(
    ctx: ProbeContext, certs: dict[str, trustme.LeafCert], ca_file: str
) -> None:
    result = await probe(ctx, smtp, certs["valid"], "localhost", tls=True, ca_file=ca_file, expect="^220 ")
    assert result.ok
    assert result.cert_expiry == pytest.approx(expiry(certs["valid"]), abs=1)
    assert set(result.phases) == {"resolve", "connect", "tls"}


@pytest.mark.parametrize(
    ("cert", "reason", "detail"),
    [
        ("expired", "cert_expired", "certificate has expired"),
        ("wrong_host", "tls_error", "hostname mismatch"),
        ("unknown_ca", "tls_error", "unknown CA"),
    ],
)
async def test_it_reports_the_expiry_when_verification_fails(
    ctx: ProbeContext, certs: dict[str, trustme.LeafCert], ca_file: str, cert: str, reason: str, detail: str
) -> None:
    result = await probe(ctx, smtp, certs[cert], "localhost", tls=True, ca_file=ca_file)
    assert (result.ok, result.reason) == (False, reason)
    assert result.detail.startswith(detail), result.detail
    assert result.cert_expiry == pytest.approx(expiry(certs[cert]), abs=1)


async def test_a_second_handshake_that_hangs_costs_the_expiry_not_the_reason(
    ctx: ProbeContext, certs: dict[str, trustme.LeafCert]
) -> None:
    handshakes = 0

    async def first_tls_then_silence(reader: Reader, writer: Writer) -> None:
        nonlocal handshakes
        handshakes += 1
        if handshakes == 1:  # the probe's handshake: an untrusted certificate
            await writer.start_tls(server_context(certs["unknown_ca"]))
        await reader.read()  # the second one, for the expiry, never gets an answer

    result = await probe(ctx, first_tls_then_silence, tls=True)
    assert (result.ok, result.reason, result.cert_expiry) == (False, "tls_error", None)
    assert result.detail.startswith("unknown CA") and handshakes == 2


async def test_it_skips_verification_when_told(ctx: ProbeContext, certs: dict[str, trustme.LeafCert]) -> None:
    result = await probe(ctx, smtp, certs["unknown_ca"], tls=True, verify_tls=False, expect="^220 ")
    assert result.ok
    assert result.cert_expiry == pytest.approx(expiry(certs["unknown_ca"]), abs=1)


async def test_tls_against_a_plain_server_fails_within_the_deadline(ctx: ProbeContext) -> None:
    result = await probe(ctx, silent, tls=True)
    assert result.reason == "timeout"
    result = await probe(ctx, speaks_plain, tls=True)
    assert (result.reason, result.detail) == ("tls_error", "TLS handshake failed: WRONG_VERSION_NUMBER")


def load(tmp_path: Path, url: str, keys: str) -> Any:
    path = tmp_path / "targets.toml"
    path.write_text(f'[targets.mail]\nurl = "{url}"\n{keys}\n', encoding="utf-8")
    return load_config(path).targets["mail"].spec


def test_it_reads_its_keys_with_toml_escapes(tmp_path: Path, ca_file: str) -> None:
    spec = load(
        tmp_path,
        "tcp://mail.example.go.id:465",
        f"""
send = "EHLO monitor\\r\\n"
expect = "^250[ -]"
tls = true
verify_tls = true
ca_file = "{ca_file}"
""",
    )
    assert (spec.host, spec.port, spec.send, spec.tls, spec.ca_file) == (
        "mail.example.go.id",
        465,
        b"EHLO monitor\r\n",
        True,
        ca_file,
    )
    assert spec.expect.pattern == b"^250[ -]"


@pytest.mark.parametrize(
    ("url", "keys", "expected"),
    [
        ("tcp://mail.example.go.id:25", 'expect = "(["', "targets.mail.expect: is not a valid regular expression"),
        ("tcp://mail.example.go.id", "", "targets.mail.url: must be tcp://HOST:PORT"),
        ("tcp://mail.example.go.id:25", 'sned = "x"', "targets.mail.sned: unknown key"),
        ("tcp://mail.example.go.id:25", "verify_tls = false", "targets.mail.verify_tls: has no effect without tls"),
        ("tcp://mail.example.go.id:25/x", "", "targets.mail.url: a tcp:// URL has no path"),
    ],
)
def test_it_reports_bad_keys(tmp_path: Path, url: str, keys: str, expected: str) -> None:
    with pytest.raises(ConfigError) as failed:
        load(tmp_path, url, keys)
    found = [f"{p.path}: {p.message}" for p in failed.value.problems]
    assert any(p.startswith(expected) for p in found), found
