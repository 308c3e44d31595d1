"""`auth = "digest"` against a local HTTP server that checks RFC 7616 Digest answers
(MD5 and SHA-256, qop=auth) as an NVR's or camera's HTTP API does: the challenge is
answered once, within the deadline; a wrong password is `auth_failed`."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.request import parse_http_list, parse_keqv_list

import pytest

from monitor.config import Target
from monitor.probes import http
from monitor.probes.base import ProbeContext
from monitor.result import Reason
from tests.probes.servers import HttpServer, Request, make_target, response

USER, PASSWORD, REALM = "operator", "Rahasia-NVR", "NVR-setda"
HASHES = {"MD5": "md5", "SHA-256": "sha256"}


def digest_api(server: HttpServer, path: str, algorithms: Iterable[str]) -> list[dict[str, str]]:
    """Serve `path` behind Digest with these algorithms offered in this order; returns
    the answers the server accepted."""
    algorithms = list(algorithms)
    nonce, opaque = secrets.token_hex(16), secrets.token_hex(8)
    accepted: list[dict[str, str]] = []

    def valid(request: Request) -> dict[str, str] | None:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Digest "):
            return None
        p = parse_keqv_list(parse_http_list(auth[len("Digest ") :]))
        algorithm = p.get("algorithm", "MD5")
        if algorithm not in algorithms or p.get("nonce") != nonce or p.get("opaque") != opaque:
            return None

        def h(text: str) -> str:
            return hashlib.new(HASHES[algorithm], text.encode()).hexdigest()

        ha1, ha2 = h(f"{USER}:{REALM}:{PASSWORD}"), h(f"{request.method}:{request.path}")
        expected = h(f"{ha1}:{nonce}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
        good = p["username"] == USER and p["uri"] == request.path and p["qop"] == "auth"
        return p if good and p["response"] == expected else None

    @server.route(path)
    async def api(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answer = valid(request)
        if answer is not None:
            accepted.append(answer)
            writer.write(response(200, b'{"channels": 16, "recording": true}'))
            return
        challenges = [
            f'WWW-Authenticate: Digest realm="{REALM}", qop="auth", algorithm={a}, nonce="{nonce}", opaque="{opaque}"'
            for a in algorithms
        ]
        head = "\r\n".join(["HTTP/1.1 401 Unauthorized", "Content-Length: 0", *challenges])
        writer.write((head + "\r\n\r\n").encode())

    return accepted


def digest_target(url: str, password: str = PASSWORD, **keys: Any) -> Target:
    return make_target(http.KIND, url, auth="digest", username=USER, password=password, **keys)


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_digest_auth_answers_the_challenge(server: HttpServer, ctx: ProbeContext, algorithm: str) -> None:
    accepted = digest_api(server, "/ISAPI/System/status", [algorithm])
    target = digest_target(server.url("/ISAPI/System/status"), json={"recording": True})
    result = await http.probe(target, ctx)
    assert result.ok, result.detail
    assert result.status_code == 200
    assert [a["algorithm"] for a in accepted] == [algorithm]
    first, second = server.requests
    assert "authorization" not in first.headers  # the password never goes unasked
    assert second.headers["authorization"].startswith("Digest ")


async def test_digest_auth_takes_the_servers_preferred_algorithm(server: HttpServer, ctx: ProbeContext) -> None:
    accepted = digest_api(server, "/api", ["SHA-256", "MD5"])
    result = await http.probe(digest_target(server.url("/api")), ctx)
    assert result.ok, result.detail
    assert [a["algorithm"] for a in accepted] == ["SHA-256"]


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_a_wrong_digest_password_is_auth_failed(server: HttpServer, ctx: ProbeContext, algorithm: str) -> None:
    digest_api(server, "/api", [algorithm])
    result = await http.probe(digest_target(server.url("/api"), password="salah"), ctx)
    assert (result.ok, result.reason, result.status_code) == (False, Reason.AUTH_FAILED, 401)
    assert result.detail == "HTTP 401: username or password rejected"
    assert len(server.requests) == 2  # one answer, no retry loop


async def test_a_server_without_a_digest_challenge_is_auth_failed_and_hears_no_password(
    server: HttpServer, ctx: ProbeContext
) -> None:
    server.reply("/api", 401, headers={"WWW-Authenticate": 'Basic realm="api"'})
    result = await http.probe(digest_target(server.url("/api")), ctx)
    assert (result.ok, result.reason) == (False, Reason.AUTH_FAILED)
    assert result.detail == "HTTP 401 without a Digest challenge we can answer (offered: Basic)"
    assert [r.headers.get("authorization") for r in server.requests] == [None]


async def test_digest_auth_is_not_answered_for_another_origin(ctx: ProbeContext) -> None:
    async with HttpServer() as origin, HttpServer() as other:
        origin.reply("/", 302, headers={"Location": other.url("/api")})
        digest_api(other, "/api", ["MD5"])
        result = await http.probe(digest_target(origin.url("/")), ctx)
    assert (result.ok, result.reason, result.status_code) == (False, Reason.STATUS_MISMATCH, 401)
    assert all("authorization" not in r.headers for r in other.requests)
