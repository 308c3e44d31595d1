"""`FastTransport` on its own, against real local servers: HTTP/1.1 framing (chunked,
until close, interim responses, bodiless answers), flow control, httpx's exceptions and
extensions, and the same trace events as httpx's default transport."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
import trustme

from monitor.probes.fasthttp import FastTransport
from monitor.probes.fasthttp_parse import BodyParser, parse_head
from tests.probes.conftest import https_server
from tests.probes.servers import HttpServer, Request

Reader, Writer = asyncio.StreamReader, asyncio.StreamWriter


async def fetch(url: str, method: str = "GET", **extensions: Any) -> tuple[httpx.Response, bytes]:
    transport = FastTransport()
    response = await transport.handle_async_request(httpx.Request(method, url, extensions=extensions))
    try:
        body = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
    finally:
        await response.aclose()
    return response, body


def raw(server: HttpServer, path: str, data: bytes, close: bool = False) -> None:
    @server.route(path)
    async def answer(request: Request, reader: Reader, writer: Writer) -> None:
        writer.write(data)
        await writer.drain()
        if close:
            writer.close()


async def test_it_reads_a_chunked_body_with_extensions_and_trailers(server: HttpServer) -> None:
    raw(
        server,
        "/",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=x\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n",
    )
    response, body = await fetch(server.url())
    assert (response.status_code, body) == (200, b"hello world")


async def test_it_reads_a_body_that_ends_when_the_server_closes(server: HttpServer) -> None:
    raw(server, "/", b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", close=True)
    response, body = await fetch(server.url())
    assert (response.http_version, body) == ("HTTP/1.0", b"until the end")


async def test_it_skips_an_interim_100_continue(server: HttpServer) -> None:
    raw(server, "/", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
    response, body = await fetch(server.url())
    assert (response.status_code, body) == (201, b"ok")


@pytest.mark.parametrize(("method", "status"), [("HEAD", 200), ("GET", 204), ("GET", 304)])
async def test_it_expects_no_body_where_http_has_none(server: HttpServer, method: str, status: int) -> None:
    raw(server, "/", f"HTTP/1.1 {status} X\r\nContent-Length: 1000\r\n\r\n".encode())
    response, body = await asyncio.wait_for(fetch(server.url(), method), 2)
    assert (response.status_code, body) == (status, b"")


async def test_it_streams_a_large_body_in_pieces(server: HttpServer) -> None:
    big = bytes(range(256)) * 40_000  # 10 MB: reading pauses while the reader is behind
    server.reply("/", 200, big)
    _, body = await fetch(server.url())
    assert body == big


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
    ],
)
async def test_it_rejects_malformed_responses_as_protocol_errors(server: HttpServer, answer: bytes) -> None:
    raw(server, "/", answer, close=True)
    with pytest.raises(httpx.RemoteProtocolError):
        await fetch(server.url())


async def test_it_reports_a_body_cut_short(server: HttpServer) -> None:
    raw(server, "/", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", close=True)
    with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
        await fetch(server.url())


async def test_it_raises_connect_error_caused_by_the_os_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: refused
        with pytest.raises(httpx.ConnectError) as caught:
            await fetch(f"http://127.0.0.1:{port}/")
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


async def test_it_honours_the_read_timeout_extension(server: HttpServer) -> None:
    server.reply("/", 200, b"late", delay=5)
    with pytest.raises(httpx.ReadTimeout):
        await asyncio.wait_for(fetch(server.url(), timeout={"connect": 1, "read": 0.2}), 3)


async def test_it_sends_the_request_as_given(server: HttpServer) -> None:
    server.reply("/submit", 200)
    request = httpx.Request("POST", server.url("/submit?a=1"), content=b"x=1", headers={"X-Probe": "yes"})
    response = await FastTransport().handle_async_request(request)
    await response.aclose()
    got = server.requests[0]
    assert (got.method, got.path, got.body, got.headers["x-probe"]) == ("POST", "/submit?a=1", b"x=1", "yes")


async def test_it_passes_other_schemes_to_the_fallback() -> None:
    fallback = httpx.MockTransport(lambda request: httpx.Response(299))
    response = await FastTransport(fallback).handle_async_request(httpx.Request("GET", "ws://example/"))
    assert response.status_code == 299


async def test_it_emits_the_trace_events_of_httpx_default_transport(server: HttpServer) -> None:
    server.reply("/", 200, b"same")

    async def events(transport: httpx.AsyncBaseTransport) -> list[str]:
        seen: list[str] = []

        async def trace(event: str, info: Mapping[str, Any]) -> None:
            seen.append(event)

        request = httpx.Request("GET", server.url(), headers={"Connection": "close"}, extensions={"trace": trace})
        response = await transport.handle_async_request(request)
        await response.aread()
        await response.aclose()
        await transport.aclose()
        return [e for e in seen if not e.startswith("connection.close")]

    assert await events(FastTransport()) == await events(httpx.AsyncHTTPTransport())


async def test_it_speaks_tls_with_the_given_context_and_exposes_the_peer(
    certs: dict[str, trustme.LeafCert], ca: trustme.CA
) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with https_server(certs["valid"]) as server:
        server.reply("/", 200, b"secure")
        transport = FastTransport()
        request = httpx.Request("GET", server.url(), extensions={"ssl_context": context, "sni_hostname": "localhost"})
        response = await transport.handle_async_request(request)
        sslobj = response.extensions["network_stream"].get_extra_info("ssl_object")
        assert sslobj.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")
        assert await response.aread() == b"secure"
        await response.aclose()


def test_the_head_parser_unfolds_obsolete_line_folding() -> None:
    head = parse_head(b"HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\nContent-Length: 0")
    assert head.headers == [(b"X-Long", b"a b"), (b"Content-Length", b"0")]


def test_the_chunked_parser_takes_input_in_any_pieces() -> None:
    wire = b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"
    parser = BodyParser(None, chunked=True)
    out = b"".join(parser.feed(wire[i : i + 1]) for i in range(len(wire)))
    assert (out, parser.done) == (b"Wikipedia", True)
