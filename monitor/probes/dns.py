"""The dns kind: `dns://resolver[:port]/name?type=A` asks one server one question.

The query goes over UDP and is retried over TCP when the answer is truncated (or over
TCP only with `tcp = true`). The probe passes when the rcode is the expected one
(`rcode`, default NOERROR), the answer section is not empty (for NOERROR), and every
`expect`ed value is among the answers. `phases["resolve"]` is the lookup time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import socket
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, parse_qsl

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.reversename
import dns.rrset

from monitor.config.reader import Table
from monitor.probes.base import ProbeContext, ProbeKind, Stopwatch
from monitor.probes.network import Failure, ProbeFailed, classify, is_ip, resolve, url_port
from monitor.result import Reason, Result

if TYPE_CHECKING:
    from monitor.config import Target

TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "SRV", "PTR")
RCODE_MISMATCH = "rcode_mismatch"
NO_ANSWER = "no_answer"
ANSWER_RRS = "probe_dns_answer_rrs"
AUTHORITY_RRS = "probe_dns_authority_rrs"
ADDITIONAL_RRS = "probe_dns_additional_rrs"


@dataclass(frozen=True)
class DnsSpec:
    """One question (`name`, `rdtype`) for one server (`server`, `port`)."""

    server: str
    port: int
    name: str
    rdtype: str
    rcode: str = "NOERROR"
    expect: tuple[str, ...] = ()
    tcp: bool = False


def parse(table: Table, url: SplitResult | None) -> DnsSpec:
    assert url is not None  # the scheme selected this kind
    server, name = url.hostname or "", url.path.lstrip("/")
    port = url_port(url, 53)
    if port is None:
        table.problem("url", "has an invalid port")
        port = 53
    if not server or not name:
        table.problem("url", "must be dns://RESOLVER[:PORT]/NAME?type=A")
    else:
        try:
            dns.name.from_text(name)
        except dns.exception.DNSException as exc:  # else every probe fails as a "malformed answer"
            table.problem("url", f"{name!r} is not a valid DNS name: {exc}")
    query = dict(parse_qsl(url.query))
    rdtype = query.pop("type", "A").upper()
    if rdtype not in TYPES:
        table.problem("url", f"type {rdtype!r} is not supported (one of {', '.join(TYPES)})")
    for key in query:
        table.problem("url", f"unknown query parameter {key!r} (only type=...)")
    if rdtype == "PTR" and is_ip(name):
        name = dns.reversename.from_address(name).to_text()
    rcode = table.text("rcode", "NOERROR").upper()
    try:
        dns.rcode.from_text(rcode)
    except dns.rcode.UnknownRcode:
        table.problem("rcode", f"unknown rcode {rcode!r} (e.g. NOERROR, NXDOMAIN, SERVFAIL)")
    return DnsSpec(
        server=server,
        port=port,
        name=name,
        rdtype=rdtype,
        rcode=rcode,
        expect=table.text_list("expect"),
        tcp=table.boolean("tcp", False),
    )


async def probe(target: Target, ctx: ProbeContext) -> Result:
    spec: DnsSpec = target.spec
    clock = Stopwatch()
    try:
        async with asyncio.timeout(target.timeout):
            where = (await resolve(spec.server, spec.port, kind=socket.SOCK_DGRAM))[0]
            t_query = time.perf_counter()
            response = await _ask(spec, where, target.timeout)
    except (TimeoutError, dns.exception.Timeout):
        return clock.failed(Failure(Reason.TIMEOUT, f"no answer from {spec.server} within {target.timeout:g}s"))
    except ProbeFailed as exc:
        return clock.failed(exc.failure)
    except (dns.exception.DNSException, EOFError, ValueError) as exc:
        return clock.failed(Failure(Reason.INVALID_RESPONSE, f"malformed DNS answer: {exc}"))
    except OSError as exc:
        return clock.failed(classify(exc, f"{spec.server} port {spec.port}"))
    lookup = time.perf_counter() - t_query
    return _judge(
        spec,
        response,
        Result(
            ok=True,
            started=clock.started,
            duration=clock.elapsed(),
            phases={"resolve": lookup},
            extra={
                ANSWER_RRS: _count(response.answer),
                AUTHORITY_RRS: _count(response.authority),
                ADDITIONAL_RRS: _count(response.additional),
            },
        ),
    )


async def _ask(spec: DnsSpec, where: str, timeout: float) -> dns.message.Message:
    query = dns.message.make_query(spec.name, spec.rdtype)
    if spec.tcp:
        return await dns.asyncquery.tcp(query, where, timeout=timeout, port=spec.port)
    response, _ = await dns.asyncquery.udp_with_fallback(query, where, timeout=timeout, port=spec.port)
    return response


def _count(section: list[dns.rrset.RRset]) -> float:
    return float(sum(len(rrset) for rrset in section))


def _judge(spec: DnsSpec, response: dns.message.Message, result: Result) -> Result:
    rcode = dns.rcode.to_text(response.rcode())
    if rcode != spec.rcode:
        return dataclasses.replace(
            result, ok=False, reason=RCODE_MISMATCH, detail=f"rcode {rcode}, expected {spec.rcode}"
        )
    answers = {_normal(rd.to_text(), rrset.rdtype) for rrset in response.answer for rd in rrset}
    if spec.rcode == "NOERROR" and not answers:
        return dataclasses.replace(
            result, ok=False, reason=NO_ANSWER, detail=f"no {spec.rdtype} record for {spec.name}"
        )
    rdtype = dns.rdatatype.from_text(spec.rdtype)
    missing = [e for e in spec.expect if _normal(e, rdtype) not in answers]
    if missing:
        return dataclasses.replace(
            result,
            ok=False,
            reason=Reason.EXPECT_MISMATCH,
            detail=f"missing {', '.join(missing)} (answers: {', '.join(sorted(answers)) or '-'})",
        )
    return result


def _normal(text: str, rdtype: int) -> str:
    """Comparable form: case, trailing dots and TXT quoting do not matter, nor the
    spelling of an IP address."""
    if rdtype == dns.rdatatype.TXT:
        text = "".join(part.strip('"') for part in text.split('" "'))
        return text.strip('"')
    if rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) and is_ip(text.strip()):
        return str(ipaddress.ip_address(text.strip()))
    return " ".join(word.rstrip(".") for word in text.lower().split())


KIND = ProbeKind(
    name="dns",
    schemes=("dns",),
    parse=parse,
    probe=probe,
    metrics=MappingProxyType(
        {
            ANSWER_RRS: "Resource records in the answer section of the last DNS answer",
            AUTHORITY_RRS: "Resource records in the authority section of the last DNS answer",
            ADDITIONAL_RRS: "Resource records in the additional section of the last DNS answer",
        }
    ),
)
