from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitor.config import Target
from monitor.errors import ConfigError
from monitor.probes import PROBES
from monitor.probes.base import ProbeContext
from monitor.probes.dns import ANSWER_RRS, NO_ANSWER, RCODE_MISMATCH
from monitor.probes.tlsutil import TlsContextCache
from monitor.result import Reason, Result
from tests.probes.configfile import Load, loader
from tests.probes.dnsserver import SERVFAIL, SILENT, DnsServer


@pytest.fixture
def config_from(tmp_path: Path) -> Load:
    return loader(tmp_path)


ZONE = {
    ("example.test.", "A"): ["192.0.2.10", "192.0.2.11"],
    ("example.test.", "AAAA"): ["2001:db8::10"],
    ("example.test.", "MX"): ["10 mail.example.test."],
    ("example.test.", "TXT"): ['"v=spf1 -all"'],
    ("example.test.", "NS"): ["ns1.example.test."],
    ("example.test.", "SOA"): ["ns1.example.test. hostmaster.example.test. 1 7200 900 1209600 60"],
    ("_sip._tcp.example.test.", "SRV"): ["10 60 5060 sip.example.test."],
    ("www.example.test.", "CNAME"): ["example.test."],
    ("10.2.0.192.in-addr.arpa.", "PTR"): ["example.test."],
    ("big.example.test.", "A"): [f"198.51.100.{i}" for i in range(1, 120)],
}


@pytest.fixture
async def server() -> AsyncIterator[DnsServer]:
    server = await DnsServer(ZONE, truncate=frozenset({"big.example.test."})).start()
    yield server
    await server.stop()


def dns_target(config_from: Load, server: DnsServer, path: str, extra: str = "", timeout: str = "2s") -> Target:
    config = config_from(f'[targets.ns]\nurl = "dns://127.0.0.1:{server.port}/{path}"\ntimeout = "{timeout}"\n{extra}')
    return config.targets["ns"]


async def probe(target: Target) -> Result:
    return await PROBES["dns"].probe(target, ProbeContext(tls=TlsContextCache()))


@pytest.mark.parametrize(
    ("path", "expect"),
    [
        ("example.test", "192.0.2.11"),
        ("example.test?type=AAAA", "2001:db8:0::10"),
        ("example.test?type=MX", "10 mail.example.test"),
        ("example.test?type=TXT", "v=spf1 -all"),
        ("example.test?type=NS", "ns1.example.test."),
        ("example.test?type=SOA", "ns1.example.test hostmaster.example.test 1 7200 900 1209600 60"),
        ("_sip._tcp.example.test?type=SRV", "10 60 5060 sip.example.test"),
        ("www.example.test?type=CNAME", "example.test"),
        ("192.0.2.10?type=PTR", "example.test."),
    ],
)
async def test_it_passes_when_every_expected_answer_is_present(
    config_from: Load, server: DnsServer, path: str, expect: str
) -> None:
    result = await probe(dns_target(config_from, server, path, f'expect = ["{expect}"]\n'))
    assert result.ok, result.detail
    assert result.extra[ANSWER_RRS] >= 1
    assert 0 < result.phases["resolve"] <= result.duration


async def test_it_fails_on_a_wrong_answer(config_from: Load, server: DnsServer) -> None:
    target = dns_target(config_from, server, "example.test", 'expect = ["192.0.2.10", "192.0.2.99"]\n')
    result = await probe(target)
    assert not result.ok and result.reason == Reason.EXPECT_MISMATCH
    assert "192.0.2.99" in result.detail and "192.0.2.10, 192.0.2.11" in result.detail


async def test_nxdomain_fails_unless_it_is_the_expected_rcode(config_from: Load, server: DnsServer) -> None:
    result = await probe(dns_target(config_from, server, "missing.test"))
    assert not result.ok and result.reason == RCODE_MISMATCH
    assert result.detail == "rcode NXDOMAIN, expected NOERROR"
    expected = await probe(dns_target(config_from, server, "missing.test", 'rcode = "NXDOMAIN"\n'))
    assert expected.ok


async def test_servfail_fails(config_from: Load, server: DnsServer) -> None:
    result = await probe(dns_target(config_from, server, SERVFAIL.rstrip(".")))
    assert not result.ok and result.reason == RCODE_MISMATCH and "SERVFAIL" in result.detail


async def test_an_empty_answer_fails(config_from: Load, server: DnsServer) -> None:
    result = await probe(dns_target(config_from, server, "example.test?type=SRV"))
    assert not result.ok and result.reason == NO_ANSWER


async def test_a_server_that_never_answers_times_out_within_the_timeout(config_from: Load, server: DnsServer) -> None:
    begin = time.monotonic()
    result = await probe(dns_target(config_from, server, SILENT.rstrip("."), timeout="500ms"))
    assert not result.ok and result.reason == Reason.TIMEOUT
    assert time.monotonic() - begin < 1.5


async def test_a_truncated_udp_answer_is_retried_over_tcp(config_from: Load, server: DnsServer) -> None:
    result = await probe(dns_target(config_from, server, "big.example.test", 'expect = ["198.51.100.119"]\n'))
    assert result.ok, result.detail
    assert result.extra[ANSWER_RRS] == 119
    assert server.transports == [("big.example.test.", "udp"), ("big.example.test.", "tcp")]


async def test_tcp_can_be_forced(config_from: Load, server: DnsServer) -> None:
    result = await probe(dns_target(config_from, server, "example.test", "tcp = true\n"))
    assert result.ok
    assert server.transports == [("example.test.", "tcp")]


async def test_a_closed_tcp_port_is_connection_refused(config_from: Load, server: DnsServer) -> None:
    target = dns_target(config_from, server, "example.test", "tcp = true\n")
    await server.stop()
    result = await probe(target)
    assert not result.ok and result.reason == Reason.CONNECTION_REFUSED


def test_it_rejects_unknown_types_rcodes_and_parameters(config_from: Load) -> None:
    with pytest.raises(ConfigError) as error:
        config_from('[targets.ns]\nurl = "dns://127.0.0.1/x.test?type=HINFO&class=IN"\nrcode = "NOPE"\n')
    text = str(error.value)
    assert "type 'HINFO' is not supported" in text
    assert "unknown query parameter 'class'" in text
    assert "unknown rcode 'NOPE'" in text


def test_it_rejects_a_name_that_is_no_dns_name(config_from: Load) -> None:
    with pytest.raises(ConfigError) as error:
        config_from('[targets.ns]\nurl = "dns://127.0.0.1/x..test"\n')
    assert "'x..test' is not a valid DNS name" in str(error.value)
