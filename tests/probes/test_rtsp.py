"""The CCTV probe against GStreamer's real RTSP server (Debian's python3-gi and
gir1.2-gst-rtsp-server-1.0, run by /usr/bin/python3) and small fake servers for the
answers a real server will not give on demand."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.request import parse_http_list, parse_keqv_list

import pytest

from monitor.config import Target
from monitor.probes import PROBES
from monitor.probes.base import ProbeContext
from monitor.probes.rtsp import STATUS_CODE, RtspSpec
from monitor.probes.tlsutil import TlsContextCache
from monitor.result import Reason, Result
from tests.integration import REQUIRED, need
from tests.probes.configfile import Load, loader


@pytest.fixture
def config_from(tmp_path: Path) -> Load:
    return loader(tmp_path)


SERVER = Path(__file__).with_name("rtsp_server.py")
USER, PASSWORD = "viewer", "s3cret"


def gstreamer_server(mode: str) -> Iterator[int]:
    python = need("/usr/bin/python3", "python3-gi")
    check = subprocess.run(
        [python, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"], capture_output=True, text=True
    )
    if check.returncode != 0:
        message = (
            "GStreamer RTSP server bindings missing: apt-get install python3-gi "
            "gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good"
        )
        if REQUIRED:
            pytest.fail(message + " (MONITOR_REQUIRE_INTEGRATION=1)")
        pytest.skip(message)
    with tempfile.TemporaryFile("w+") as errors:  # a pipe could fill up and block it
        proc = subprocess.Popen(
            [python, str(SERVER), mode, USER, PASSWORD], stdout=subprocess.PIPE, stderr=errors, text=True
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            errors.seek(0)
            assert line.strip().isdigit(), errors.read()
            yield int(line)
        finally:
            proc.terminate()
            proc.communicate(timeout=10)


@pytest.fixture(scope="module")
def digest_port() -> Iterator[int]:
    yield from gstreamer_server("digest")


@pytest.fixture(scope="module")
def basic_port() -> Iterator[int]:
    yield from gstreamer_server("basic")


def rtsp_target(config_from: Load, url: str, extra: str = "", timeout: str = "5s") -> Target:
    config = config_from(f'[targets.cam]\nurl = "{url}"\ntimeout = "{timeout}"\n{extra}')
    return config.targets["cam"]


def creds(password: str = PASSWORD) -> str:
    return f'username = "{USER}"\npassword = "{password}"\n'


async def probe(target: Target) -> Result:
    return await PROBES["rtsp"].probe(target, ProbeContext(tls=TlsContextCache()))


def test_it_reads_the_url_and_credentials(config_from: Load) -> None:
    spec = rtsp_target(config_from, "rtsp://admin:p%40ss@cam.test/Streaming/Channels/101").spec
    assert spec == RtspSpec(
        "cam.test", 554, "rtsp://cam.test:554/Streaming/Channels/101", describe=True, username="admin", password="p@ss"
    )
    assert "p@ss" not in repr(spec)


@pytest.mark.integration
async def test_a_camera_with_digest_auth_describes_its_stream(config_from: Load, digest_port: int) -> None:
    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{digest_port}/camera", creds()))
    assert result.ok, result.detail
    assert result.status_code == 200 and result.extra[STATUS_CODE] == 200.0


@pytest.mark.integration
async def test_a_camera_with_basic_auth_describes_its_stream(config_from: Load, basic_port: int) -> None:
    url = f"rtsp://{USER}:{PASSWORD}@127.0.0.1:{basic_port}/camera"
    result = await probe(rtsp_target(config_from, url))
    assert result.ok, result.detail


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["digest", "basic"])
async def test_a_wrong_password_is_auth_failed(config_from: Load, mode: str, request: pytest.FixtureRequest) -> None:
    port = request.getfixturevalue(f"{mode}_port")
    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{port}/camera", creds("wrong")))
    assert not result.ok and result.reason == Reason.AUTH_FAILED
    assert "rejected" in result.detail and result.status_code == 401


@pytest.mark.integration
async def test_no_credentials_is_auth_failed(config_from: Load, digest_port: int) -> None:
    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{digest_port}/camera"))
    assert not result.ok and result.reason == Reason.AUTH_FAILED
    assert "wants a username and password" in result.detail


@pytest.mark.integration
async def test_an_unknown_path_is_stream_not_found(config_from: Load, digest_port: int) -> None:
    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{digest_port}/nope", creds()))
    assert not result.ok and result.reason == Reason.STREAM_NOT_FOUND and result.status_code == 404


@pytest.mark.integration
async def test_without_a_path_options_is_enough(config_from: Load, digest_port: int) -> None:
    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{digest_port}"))
    assert result.ok, result.detail


Handler = Callable[[str, dict[str, str]], Awaitable[bytes | None]]


@pytest.fixture
async def fake() -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    """Start a fake RTSP server answering each request with `handler(method, headers)`
    (None: say nothing more). Returns its port."""
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> int:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while head := await reader.readuntil(b"\r\n\r\n"):
                    lines = head.decode().split("\r\n")
                    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:]) if k}
                    answer = await handler(lines[0].split()[0], headers)
                    if answer is None:
                        await reader.read()
                        return
                    writer.write(answer)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def answer(status: str, cseq: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"RTSP/1.0 {status}", f"CSeq: {cseq}", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nm=video 0 RTP/AVP 96\r\n"


async def test_digest_with_qop_auth_is_answered_per_rfc_2617(config_from: Load, fake) -> None:  # type: ignore[no-untyped-def]
    seen: list[dict[str, str]] = []

    async def handler(method: str, headers: dict[str, str]) -> bytes:
        challenge = 'Digest realm="NVR", nonce="abc123", qop="auth,auth-int", opaque="xyz"'
        auth = headers.get("authorization", "")
        if not auth.startswith("Digest "):
            return answer("401 Unauthorized", headers["cseq"], f"WWW-Authenticate: {challenge}")
        p = parse_keqv_list(parse_http_list(auth[7:]))
        seen.append(p)
        md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
        ha1, ha2 = md5(f"{USER}:NVR:{PASSWORD}"), md5(f"{method}:{p['uri']}")
        good = md5(f"{ha1}:abc123:{p['nc']}:{p['cnonce']}:auth:{ha2}")
        if p["response"] != good or p["opaque"] != "xyz" or p["qop"] != "auth":
            return answer("401 Unauthorized", headers["cseq"], f"WWW-Authenticate: {challenge}")
        if method == "OPTIONS":
            return answer("200 OK", headers["cseq"], "Public: OPTIONS, DESCRIBE")
        return answer("200 OK", headers["cseq"], "Content-Type: application/sdp", body=SDP)

    port = await fake(handler)
    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{port}/ch1", creds()))
    assert result.ok, result.detail
    assert [p["nc"] for p in seen] == ["00000001", "00000002"]  # OPTIONS, then DESCRIBE
    assert seen[1]["uri"] == f"rtsp://127.0.0.1:{port}/ch1"


async def test_a_non_rtsp_answer_is_invalid_response(config_from: Load, fake) -> None:  # type: ignore[no-untyped-def]
    async def handler(method: str, headers: dict[str, str]) -> bytes:
        return b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"

    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{await fake(handler)}/x"))
    assert not result.ok and result.reason == Reason.INVALID_RESPONSE
    assert "HTTP/1.1 400" in result.detail


async def test_a_describe_without_sdp_is_invalid_response(config_from: Load, fake) -> None:  # type: ignore[no-untyped-def]
    async def handler(method: str, headers: dict[str, str]) -> bytes:
        return answer("200 OK", headers["cseq"], body=b"<html>login</html>" if method == "DESCRIBE" else b"")

    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{await fake(handler)}/x"))
    assert not result.ok and result.reason == Reason.INVALID_RESPONSE


async def test_another_error_status_is_a_status_mismatch(config_from: Load, fake) -> None:  # type: ignore[no-untyped-def]
    async def handler(method: str, headers: dict[str, str]) -> bytes:
        return answer("503 Service Unavailable", headers["cseq"])

    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{await fake(handler)}/x"))
    assert not result.ok and result.reason == Reason.STATUS_MISMATCH
    assert result.detail == "RTSP 503 Service Unavailable" and result.status_code == 503


async def test_reads_are_bounded(config_from: Load, fake) -> None:  # type: ignore[no-untyped-def]
    async def handler(method: str, headers: dict[str, str]) -> bytes:
        return b"RTSP/1.0 200 OK\r\n" + b"X-Filler: " + b"a" * 100_000 + b"\r\n\r\n"

    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{await fake(handler)}/x"))
    assert not result.ok and result.reason == Reason.RESPONSE_TOO_LARGE


async def test_a_silent_server_times_out_within_the_timeout(config_from: Load, fake) -> None:  # type: ignore[no-untyped-def]
    async def handler(method: str, headers: dict[str, str]) -> None:
        return None

    port = await fake(handler)
    begin = time.monotonic()
    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{port}/x", timeout="500ms"))
    assert not result.ok and result.reason == Reason.TIMEOUT
    assert time.monotonic() - begin < 1.5


async def test_a_closed_port_is_connection_refused(config_from: Load) -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{port}/x"))
    assert not result.ok and result.reason == Reason.CONNECTION_REFUSED


async def test_a_malformed_digest_challenge_is_auth_failed_not_an_error(config_from: Load, fake) -> None:  # type: ignore[no-untyped-def]
    async def handler(method: str, headers: dict[str, str]) -> bytes:
        return answer("401 Unauthorized", headers["cseq"], 'WWW-Authenticate: Digest realm="NVR", nonce="n", stale')

    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{await fake(handler)}/x", creds()))
    assert not result.ok and result.reason == Reason.AUTH_FAILED
    assert "no supported authentication scheme" in result.detail


async def test_a_content_length_of_unicode_digits_is_invalid_response(config_from: Load, fake) -> None:  # type: ignore[no-untyped-def]
    async def handler(method: str, headers: dict[str, str]) -> bytes:
        return b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: \xb2\r\n\r\n"

    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{await fake(handler)}/x"))
    assert not result.ok and result.reason == Reason.INVALID_RESPONSE
    assert "Content-Length" in result.detail


async def test_a_host_name_with_a_label_over_63_characters_is_a_dns_error(config_from: Load) -> None:
    result = await probe(rtsp_target(config_from, f"rtsp://{'a' * 64}.test/x"))
    assert (result.ok, result.reason) == (False, Reason.DNS_ERROR)
