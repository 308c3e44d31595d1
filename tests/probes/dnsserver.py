"""A small real DNS server for the tests: UDP and TCP on one loopback port, answering
from a zone dict, with names that misbehave on purpose."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Mapping
from typing import cast

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

SERVFAIL = "servfail.test."
SILENT = "silent.test."


class DnsServer:
    """Answers `zone[(name, type)]` (a list of rdata texts); unknown names get NXDOMAIN,
    `SERVFAIL` gets SERVFAIL, `SILENT` gets nothing, names in `truncate` are truncated
    over UDP (full over TCP). `transports` records "udp"/"tcp" per question."""

    def __init__(self, zone: Mapping[tuple[str, str], list[str]], truncate: frozenset[str] = frozenset()):
        self.zone = zone
        self.truncate = truncate
        self.transports: list[tuple[str, str]] = []
        self.port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    async def start(self) -> DnsServer:
        loop = asyncio.get_running_loop()
        for _ in range(20):  # the TCP port must equal the UDP one; retry if taken
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=("127.0.0.1", 0), family=socket.AF_INET
            )
            port = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, "127.0.0.1", port)
            except OSError:
                transport.close()
                continue
            self._udp, self.port = transport, port
            return self
        raise RuntimeError("no free port for UDP and TCP")

    async def stop(self) -> None:
        if self._udp:
            self._udp.close()
        if self._tcp:
            self._tcp.close()
            await self._tcp.wait_closed()

    def answer(self, wire: bytes, transport: str) -> bytes | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name, rdtype = question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype)
        self.transports.append((name, transport))
        if name == SILENT:
            return None
        response = dns.message.make_response(query)
        if name == SERVFAIL:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif not any(key[0] == name for key in self.zone):
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif transport == "udp" and name in self.truncate:
            response.flags |= dns.flags.TC
        else:
            for (owner, kind), texts in self.zone.items():
                if owner == name and (kind == rdtype or kind == "CNAME"):
                    response.answer.append(dns.rrset.from_text_list(owner, 60, "IN", kind, texts))
        return response.to_wire()

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (size,) = struct.unpack("!H", await reader.readexactly(2))
                reply = self.answer(await reader.readexactly(size), "tcp")
                if reply is None:
                    await reader.read()  # say nothing until the client gives up
                    return
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.server.answer(data, "udp")
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
