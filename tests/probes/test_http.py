"""The HTTP probe against real local servers: each check passing and failing, requests as
configured, redirects, phases, and the seam for a faster transport."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import gzip
import json
from typing import Any

import brotli
import httpx
import pytest
import zstandard

from monitor.assess import assess
from monitor.probes import http
from monitor.probes.base import ProbeContext
from monitor.probes.tlsutil import TlsContextCache
from monitor.result import Reason, Result
from tests.probes.servers import HttpServer, Request, make_target

JSON = {"Content-Type": "application/json"}
DOC = {"status": "ok", "db": {"up": True, "lag": 0.5}, "items": [{"name": "simpeg"}, {"name": "sipd"}], "count": 2}


async def probe(ctx: ProbeContext, url: str, **keys: Any) -> Result:
    return await http.probe(make_target(http.KIND, url, **keys), ctx)


@pytest.mark.parametrize(
    ("status", "keys", "ok", "detail"),
    [
        (200, {}, True, "HTTP 200"),
        (503, {}, False, "expected 2xx, got 503"),
        (304, {"expect_status": ["2xx", 304]}, True, "HTTP 304"),
        (404, {"expect_status": ["2xx", 304]}, False, "expected 2xx or 304, got 404"),
        (418, {"expect_status": 418}, True, "HTTP 418"),
        (500, {"expect_status": ["4xx", "5xx"]}, True, "HTTP 500"),
    ],
)
async def test_it_checks_the_status_against_the_expected_set(
    server: HttpServer, ctx: ProbeContext, status: int, keys: dict[str, Any], ok: bool, detail: str
) -> None:
    server.reply("/", status)
    result = await probe(ctx, server.url(), **keys)
    assert (result.ok, result.detail, result.status_code) == (ok, detail, status)
    assert result.reason == ("ok" if ok else "status_mismatch")


@pytest.mark.parametrize(
    ("keys", "failure"),
    [
        ({"body_contains": "Kotawaringin"}, None),
        ({"body_contains": ["Selamat", "Kotawaringin"]}, None),
        ({"body_contains": "Sampit"}, "body does not contain 'Sampit'"),
        ({"body_not_contains": "Error"}, None),
        ({"body_not_contains": "Kotawaringin"}, "body contains 'Kotawaringin'"),
        ({"body_regex": r"Kabupaten \w+ Timur"}, None),
        ({"body_regex": r"^Kabupaten"}, "body does not match /^Kabupaten/"),
    ],
)
async def test_it_checks_the_body(
    server: HttpServer, ctx: ProbeContext, keys: dict[str, Any], failure: str | None
) -> None:
    server.reply("/", 200, b"Selamat datang di Kabupaten Kotawaringin Timur")
    result = await probe(ctx, server.url(), **keys)
    assert result.ok is (failure is None)
    if failure:
        assert (result.reason, result.detail) == ("body_mismatch", failure)


async def test_it_reads_the_body_in_the_declared_charset(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/", 200, "Café Kecamatan".encode("latin-1"), {"Content-Type": "text/html; charset=ISO-8859-1"})
    assert (await probe(ctx, server.url(), body_contains="Café")).ok


async def test_it_decodes_a_gzip_body_before_checking_it(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/", 200, gzip.compress(b"Status: sehat " * 1000), {"Content-Encoding": "gzip"})
    assert (await probe(ctx, server.url(), body_contains="sehat")).ok
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate, br, zstd"


BODY = b'{"status": "ok", "text": "Layanan sehat"}' * 50
ENCODED = {
    "br": brotli.compress(BODY),
    "zstd": zstandard.ZstdCompressor().compress(BODY),
    "gzip, br": brotli.compress(gzip.compress(BODY)),  # applied left to right, undone right to left
    "zstd, gzip": gzip.compress(zstandard.ZstdCompressor().compress(BODY)),
}


@pytest.mark.parametrize("encoding", sorted(ENCODED))
async def test_it_decodes_brotli_and_zstd_bodies_before_checking_them(
    server: HttpServer, ctx: ProbeContext, encoding: str
) -> None:
    server.reply("/", 200, ENCODED[encoding], {"Content-Encoding": encoding})
    result = await probe(ctx, server.url(), body_contains="Layanan sehat", body_not_contains="\x00")
    assert result.ok, result.detail


@pytest.mark.parametrize("encoding", ["compress", "xz", "gzip, snappy"])
async def test_an_encoding_it_cannot_decode_is_unsupported_encoding_never_a_body_check(
    server: HttpServer, ctx: ProbeContext, encoding: str
) -> None:
    server.reply("/", 200, b"\x1f\x9d garbled bytes", {"Content-Encoding": encoding, **JSON})
    for keys in ({"body_contains": "sehat"}, {"json": {"status": "ok"}}):
        result = await probe(ctx, server.url(), **keys)
        assert (result.ok, result.reason) == (False, Reason.UNSUPPORTED_ENCODING)
        assert result.detail.startswith("cannot decode Content-Encoding")
    # With nothing to check in the body, its coding does not matter.
    assert (await probe(ctx, server.url())).ok


async def test_slower_than_down_after_is_down_and_slower_than_degraded_after_is_degraded(
    server: HttpServer, ctx: ProbeContext
) -> None:
    server.reply("/", 200, delay=0.6)  # wide margins: CI machines are loaded
    target = make_target(http.KIND, server.url(), timeout=5.0)
    slow = assess(dataclasses.replace(target, degraded_after=0.1, down_after=0.3), await http.probe(target, ctx))
    assert (slow.ok, slow.reason) == (False, Reason.TOO_SLOW)
    assert slow.detail.endswith("(slower than down_after, 300 ms)")
    degraded = assess(dataclasses.replace(target, degraded_after=0.1, down_after=4.0), await http.probe(target, ctx))
    assert (degraded.ok, degraded.degraded, degraded.reason) == (True, True, Reason.SLOW)


@pytest.mark.parametrize(
    ("expect", "failure"),
    [
        ({"status": "ok"}, None),
        ({"db": {"up": True}, "count": 2}, None),  # TOML's nested form
        ({"db.lag": 0.5, "items.1.name": "sipd", "items.-1.name": "sipd"}, None),
        ({"status": "down"}, 'json status: expected "down", got "ok"'),
        ({"db.up": 1}, "json db.up: expected 1, got true"),
        ({"count": "2"}, 'json count: expected "2", got 2'),
        ({"items.5.name": "x"}, "json items.5.name: not found"),
        ({"db.missing": "x"}, "json db.missing: not found"),
    ],
)
async def test_it_checks_json_values_by_dotted_path(
    server: HttpServer, ctx: ProbeContext, expect: dict[str, Any], failure: str | None
) -> None:
    server.reply("/", 200, json.dumps(DOC).encode(), JSON)
    result = await probe(ctx, server.url(), json=expect)
    assert (result.ok, result.detail if failure else None) == (failure is None, failure)
    if failure:
        assert result.reason == "json_mismatch"


async def test_it_fails_json_checks_on_a_body_that_is_not_json(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/", 200, b"<html>maintenance</html>")
    result = await probe(ctx, server.url(), json={"status": "ok"})
    assert result.reason == "json_mismatch"
    assert result.detail.startswith("body is not JSON")


async def test_it_fails_json_checks_on_json_nested_too_deeply(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/", 200, b"[" * 100_000, JSON)
    result = await probe(ctx, server.url(), json={"status": "ok"})
    assert (result.reason, result.detail) == ("json_mismatch", "body is not JSON: nested too deeply")


async def test_it_falls_back_to_utf_8_for_a_charset_without_lenient_decoding(
    server: HttpServer, ctx: ProbeContext
) -> None:
    server.reply("/", 200, b"Kecamatan Baamang", {"Content-Type": "text/plain; charset=idna"})
    assert (await probe(ctx, server.url(), body_contains="Baamang")).ok


@pytest.mark.parametrize(
    ("expect", "failure"),
    [
        ({"Content-Type": "^application/json"}, None),
        ({"content-type": "json", "X-Version": r"^2\."}, None),
        ({"Content-Type": "^text/html"}, "header content-type: application/json does not match /^text/html/"),
        ({"Strict-Transport-Security": "max-age"}, "header strict-transport-security is missing"),
    ],
)
async def test_it_checks_response_headers_against_regexes(
    server: HttpServer, ctx: ProbeContext, expect: dict[str, str], failure: str | None
) -> None:
    server.reply("/", 200, b"{}", {**JSON, "X-Version": "2.4.1"})
    result = await probe(ctx, server.url(), expect_headers=expect)
    assert (result.ok, result.detail if failure else None) == (failure is None, failure)
    if failure:
        assert result.reason == "header_mismatch"


async def test_it_sends_the_configured_method_headers_and_body(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/api/health", 200)
    body = '{"ping": true}'
    result = await probe(
        ctx,
        server.url("/api/health?full=1"),
        method="post",
        body=body,
        headers={"Content-Type": "application/json", "X-Probe": "monitor"},
    )
    assert result.ok
    request = server.requests[0]
    assert (request.method, request.path, request.body) == ("POST", "/api/health?full=1", body.encode())
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-probe"] == "monitor"
    assert request.headers["host"] == f"127.0.0.1:{server.port}"
    assert request.headers["content-length"] == str(len(body))


async def test_a_post_without_a_body_says_so_and_a_get_sends_no_length(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/ping", 200)
    assert (await probe(ctx, server.url("/ping"), method="post")).ok
    assert (await probe(ctx, server.url("/ping"))).ok
    post, get = server.requests
    assert (post.method, post.headers["content-length"], post.body) == ("POST", "0", b"")
    assert get.method == "GET" and "content-length" not in get.headers


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"username": "admin", "password": "rahasia"}, "Basic " + base64.b64encode(b"admin:rahasia").decode()),
        ({"bearer_token": "t0ken"}, "Bearer t0ken"),
    ],
)
async def test_it_authenticates(server: HttpServer, ctx: ProbeContext, keys: dict[str, str], expected: str) -> None:
    @server.route("/private")
    async def private(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        status = 200 if request.headers.get("authorization") == expected else 401
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())

    assert (await probe(ctx, server.url("/private"), **keys)).ok
    result = await probe(ctx, server.url("/private"))
    assert (result.reason, result.detail) == ("status_mismatch", "expected 2xx, got 401")


async def test_it_takes_basic_credentials_from_the_url(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/", 200)
    assert (await probe(ctx, f"http://admin:p%40ss@127.0.0.1:{server.port}/")).ok
    assert server.requests[0].headers["authorization"] == "Basic " + base64.b64encode(b"admin:p@ss").decode()


async def test_it_follows_redirects_and_reports_the_final_answer(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/", 301, headers={"Location": "/id/"})
    server.reply("/id/", 302, headers={"Location": f"http://127.0.0.1:{server.port}/id/beranda"})
    server.reply("/id/beranda", 200, b"Beranda")
    result = await probe(ctx, server.url(), body_contains="Beranda")
    assert (result.ok, result.status_code) == (True, 200)
    assert [r.path for r in server.requests] == ["/", "/id/", "/id/beranda"]


async def test_a_redirect_to_a_port_out_of_range_is_an_invalid_response(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/", 302, headers={"Location": "http://127.0.0.1:99999/"})
    result = await probe(ctx, server.url())
    assert (result.reason, result.detail) == ("invalid_response", "bad redirect location 'http://127.0.0.1:99999/'")


async def test_a_redirect_to_a_host_idna_rejects_fails_without_raising(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/", 302, headers={"Location": "http://xn--.invalid/"})
    result = await probe(ctx, server.url())
    assert (result.ok, result.reason) == (False, "dns_error")


async def test_it_stops_after_max_redirects(server: HttpServer, ctx: ProbeContext) -> None:
    for i in range(3):
        server.reply(f"/{i}", 302, headers={"Location": f"/{i + 1}"})
    server.reply("/3", 200)
    assert (await probe(ctx, server.url("/0"), max_redirects=3)).ok
    result = await probe(ctx, server.url("/0"), max_redirects=2)
    assert (result.reason, result.detail) == ("too_many_redirects", "more than 2 redirects")


async def test_it_does_not_follow_redirects_when_max_redirects_is_zero(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/", 302, headers={"Location": "/login"})
    result = await probe(ctx, server.url(), max_redirects=0)
    assert (result.ok, result.detail) == (False, "expected 2xx, got 302")
    assert (await probe(ctx, server.url(), max_redirects=0, expect_status=[302])).ok
    assert [r.path for r in server.requests] == ["/", "/"]


async def test_it_continues_with_get_after_a_303(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/form", 303, headers={"Location": "/done"})
    server.reply("/done", 200)
    assert (await probe(ctx, server.url("/form"), method="POST", body="a=1")).ok
    assert [(r.method, r.body) for r in server.requests] == [("POST", b"a=1"), ("GET", b"")]


async def test_it_keeps_credentials_from_other_origins(server: HttpServer, ctx: ProbeContext) -> None:
    async with HttpServer() as other:
        other.reply("/", 200)
        server.reply("/", 302, headers={"Location": other.url()})
        assert (await probe(ctx, server.url(), bearer_token="secret")).ok
    assert server.requests[0].headers["authorization"] == "Bearer secret"
    assert "authorization" not in other.requests[0].headers


async def test_it_opens_a_fresh_connection_for_every_probe(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/", 200)
    target = make_target(http.KIND, server.url())
    for _ in range(3):
        assert (await http.probe(target, ctx)).ok
    assert server.connections == 3
    assert all(r.headers["connection"] == "close" for r in server.requests)


async def test_it_times_every_phase(server: HttpServer, ctx: ProbeContext) -> None:
    server.reply("/", 200, b"x" * 100_000, delay=0.05)
    result = await probe(ctx, server.url())
    assert set(result.phases) == {"resolve", "connect", "tls", "processing", "transfer"}
    assert result.phases["connect"] > 0
    assert result.phases["processing"] >= 0.05
    assert result.phases["tls"] == 0.0
    assert sum(result.phases.values()) <= result.duration


async def test_its_samples_are_the_status_and_every_phase_timed_zero_when_not_reached(
    server: HttpServer, ctx: ProbeContext
) -> None:
    server.reply("/", 204)
    target = make_target(http.KIND, server.url())
    result = await http.probe(target, ctx)
    written = {(name, labels): value for name, labels, value in http.samples(target, result)}
    assert written[("probe_http_status_code", "")] == 204.0
    assert [labels for name, labels in written if name == "probe_http_duration_seconds"] == [
        f'phase="{phase}"' for phase in ("resolve", "connect", "tls", "processing", "transfer")
    ]
    assert written[("probe_http_duration_seconds", 'phase="connect"')] == result.phases["connect"] > 0
    timed_out = {labels: value for _, labels, value in http.samples(target, Result(False, Reason.TIMEOUT))}
    assert timed_out == dict.fromkeys(
        ["", *(f'phase="{p}"' for p in ("resolve", "connect", "tls", "processing", "transfer"))], 0.0
    )


async def test_it_sends_through_the_context_transport_when_one_is_given() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=DOC)

    ctx = ProbeContext(tls=TlsContextCache(), http_transport=httpx.MockTransport(handler))
    url = "https://localhost:8443/health"
    result = await probe(ctx, url, json={"status": "ok"}, verify_tls=False)
    assert (result.ok, result.status_code) == (True, 200)
    request = seen[0]
    assert request.headers["host"] == "localhost:8443"
    assert request.url.host in ("127.0.0.1", "::1")  # resolved here, connected by address
    assert request.extensions["sni_hostname"] == "localhost"
    assert request.extensions["ssl_context"] is ctx.tls.client(False, None)
