"""Hostile and broken servers: every one must end as a failed result within the target's
timeout plus a second, with bounded memory."""

from __future__ import annotations

import asyncio
import gzip
import random
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable

import brotli
import pytest
import zstandard

from monitor.probes import http
from monitor.probes.base import ProbeContext
from monitor.probes.http_decode import BodyDecoder
from monitor.probes.network import ProbeFailed
from tests.probes.servers import HttpServer, Request, make_target, reset

TIMEOUT = 1.0
Reader, Writer = asyncio.StreamReader, asyncio.StreamWriter
Route = Callable[[Request, Reader, Writer], Awaitable[None]]


async def never_answers(request: Request, reader: Reader, writer: Writer) -> None:
    await asyncio.sleep(3600)


async def trickles_headers(request: Request, reader: Reader, writer: Writer) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\n")
    while True:
        writer.write(b"X")
        await writer.drain()
        await asyncio.sleep(0.05)


async def endless_body(request: Request, reader: Reader, writer: Writer) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
    chunk = b"z" * 65536
    while True:
        writer.write(chunk)
        await writer.drain()


async def slow_endless_body(request: Request, reader: Reader, writer: Writer) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    while True:
        writer.write(b"1\r\nz\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)


BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB of zeros in ~64 KB


async def gzip_bomb(request: Request, reader: Reader, writer: Writer) -> None:
    writer.write(f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(BOMB)}\r\n\r\n".encode())
    writer.write(BOMB)
    await writer.drain()


BR_BOMB = brotli.compress(b"\0" * (64 * 1024 * 1024), quality=11)  # 64 MiB in ~100 bytes
ZSTD_BOMB = zstandard.ZstdCompressor(level=19).compress(b"\0" * (64 * 1024 * 1024))  # in ~2 KB


def bomb(encoding: str, payload: bytes) -> Route:
    async def serve(request: Request, reader: Reader, writer: Writer) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Encoding: {encoding}\r\nContent-Length: {len(payload)}\r\n\r\n"
        writer.write(head.encode() + payload)
        await writer.drain()

    return serve


br_bomb, zstd_bomb = bomb("br", BR_BOMB), bomb("zstd", ZSTD_BOMB)


async def huge_headers(request: Request, reader: Reader, writer: Writer) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\n")
    for i in range(2 * 1024):
        writer.write(f"X-Filler-{i}: {'a' * 1000}\r\n".encode())
        await writer.drain()
    writer.write(b"\r\n")


async def garbage(request: Request, reader: Reader, writer: Writer) -> None:
    writer.write(random.Random(7).randbytes(4096))
    await writer.drain()


async def endless_garbage(request: Request, reader: Reader, writer: Writer) -> None:
    noise = random.Random(7).randbytes(65536)
    while True:
        writer.write(noise)
        await writer.drain()


async def other_protocol(request: Request, reader: Reader, writer: Writer) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
    await writer.drain()
    await asyncio.sleep(3600)


async def resets(request: Request, reader: Reader, writer: Writer) -> None:
    reset(writer)


async def resets_mid_body(request: Request, reader: Reader, writer: Writer) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"a" * 1000)
    await writer.drain()
    await asyncio.sleep(0.05)
    reset(writer)


async def hangs_up(request: Request, reader: Reader, writer: Writer) -> None:
    writer.close()


async def redirect_loop(request: Request, reader: Reader, writer: Writer) -> None:
    writer.write(b"HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize(
    ("route", "reason", "detail"),
    [
        (never_answers, "timeout", "no complete answer within 1s (waiting for the response headers)"),
        (trickles_headers, "timeout", "no complete answer within 1s (waiting for the response headers)"),
        (slow_endless_body, "timeout", "no complete answer within 1s (reading the body)"),
        (endless_body, "response_too_large", "body exceeds max_body (4194304 bytes)"),
        (gzip_bomb, "response_too_large", "body exceeds max_body (4194304 bytes)"),
        (br_bomb, "response_too_large", "body exceeds max_body (4194304 bytes)"),
        (zstd_bomb, "response_too_large", "body exceeds max_body (4194304 bytes)"),
        (huge_headers, "invalid_response", "invalid HTTP response"),
        (garbage, "invalid_response", "invalid HTTP response"),
        (endless_garbage, "invalid_response", "invalid HTTP response"),
        (other_protocol, "timeout", "no complete answer within 1s (waiting for the response headers)"),
        (resets, "connection_reset", "connection reset by the peer"),
        (resets_mid_body, "connection_reset", "connection reset by the peer"),
        (hangs_up, "invalid_response", "invalid HTTP response: Server disconnected without sending a response."),
        (redirect_loop, "too_many_redirects", "more than 10 redirects"),
    ],
)
async def test_a_hostile_server_fails_the_probe_within_the_deadline(
    server: HttpServer, ctx: ProbeContext, route: Route, reason: str, detail: str
) -> None:
    server.route("/")(route)
    begun = time.monotonic()
    result = await http.probe(make_target(http.KIND, server.url(), timeout=TIMEOUT), ctx)
    assert time.monotonic() - begun < TIMEOUT + 1
    assert (result.ok, result.reason) == (False, reason)
    assert result.detail.startswith(detail)


@pytest.mark.parametrize("route", [gzip_bomb, br_bomb, zstd_bomb], ids=["gzip", "br", "zstd"])
async def test_a_decompression_bomb_costs_bounded_memory(server: HttpServer, ctx: ProbeContext, route: Route) -> None:
    server.route("/")(route)
    target = make_target(http.KIND, server.url(), timeout=TIMEOUT, max_body="1MiB", body_contains="never")
    tracemalloc.start()
    try:
        result = await http.probe(target, ctx)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.reason == "response_too_large"
    assert peak < 8 * 1024 * 1024


async def test_a_large_declared_length_fails_before_reading(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/", 200, b"x" * 2000)
    result = await http.probe(make_target(http.KIND, server.url(), max_body=1000), ctx)
    assert result.reason == "response_too_large"
    assert result.detail == "Content-Length is 2000 exceeds max_body (1000 bytes)"
    assert result.status_code == 200


@pytest.mark.parametrize(("encoding", "payload", "overshoot"), [("gzip", BOMB, 1), ("br", BR_BOMB, 256 * 1024)])
def test_the_body_decoder_never_exceeds_its_limit(encoding: str, payload: bytes, overshoot: int) -> None:
    decoder = BodyDecoder(encoding, 10_000)
    with pytest.raises(ProbeFailed) as failed:
        decoder.feed(payload[:65536])
    assert failed.value.failure.reason == "response_too_large"
    assert decoder.room >= -overshoot  # brotli's output buffer stops growing at the limit, not on it


def test_the_zstd_decoder_stops_a_bomb_within_one_piece_of_its_limit() -> None:
    decoder = BodyDecoder("zstd", 10_000)
    with pytest.raises(ProbeFailed) as failed:
        decoder.feed(ZSTD_BOMB)
    assert failed.value.failure.reason == "response_too_large"
    assert decoder.room >= -256 * 1024  # zstd writes out ~128 KiB at a time


def test_a_step_of_a_list_of_codings_is_bounded_too() -> None:
    with pytest.raises(ProbeFailed) as failed:
        BodyDecoder("br, gzip", 10_000).feed(BOMB[:65536])  # gzip undone first: its output is the bomb
    assert failed.value.failure.reason == "response_too_large"


def test_a_corrupt_brotli_or_zstd_body_is_an_invalid_response() -> None:
    for encoding in ("br", "zstd"):
        with pytest.raises(ProbeFailed) as failed:
            BodyDecoder(encoding, 10_000).feed(b"definitely not compressed" * 10)
        assert failed.value.failure.reason == "invalid_response"


def test_the_body_decoder_reads_raw_deflate_too() -> None:
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    data = raw.compress(b"hello deflate") + raw.flush()
    assert BodyDecoder("deflate", 100).feed(data) == b"hello deflate"
    assert BodyDecoder("deflate", 100).feed(zlib.compress(b"hello zlib")) == b"hello zlib"
