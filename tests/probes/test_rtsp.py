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
from dataclasses import dataclass
from pathlib import Path
from urllib.request import parse_http_list, parse_keqv_list

import pytest

from monitor.config import Target
from monitor.errors import ConfigError
from monitor.probes import PROBES
from monitor.probes.base import ProbeContext
from monitor.probes.rtsp import BITRATE, FRAMES_PER_SECOND, STATUS_CODE, RtspSpec
from monitor.probes.tlsutil import TlsContextCache
from monitor.result import Reason, Result
from tests.integration import REQUIRED, need
from tests.probes.configfile import Load, loader
from tests.waiting import until


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


@dataclass(frozen=True)
class Last:
    """An answer after which the fake server closes the connection."""

    data: bytes


Handler = Callable[[str, dict[str, str]], Awaitable[bytes | Last | None]]


@pytest.fixture
async def fake() -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    """Start a fake RTSP server answering each request with `handler(method, headers)`
    (None: say nothing more; `Last`: say this and hang up). The headers hold the request
    line's URL as ":url". Returns its port."""
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> int:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while head := await reader.readuntil(b"\r\n\r\n"):
                    lines = head.decode().split("\r\n")
                    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:]) if k}
                    headers[":url"] = lines[0].split()[1]
                    answer = await handler(lines[0].split()[0], headers)
                    if answer is None:
                        await reader.read()
                        return
                    if isinstance(answer, Last):
                        writer.write(answer.data)
                        await writer.drain()
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


# --- play = true: the stream must deliver video ------------------------------------------


@pytest.mark.integration
async def test_a_camera_with_digest_auth_proves_video_when_played(config_from: Load, digest_port: int) -> None:
    url = f"rtsp://127.0.0.1:{digest_port}/camera"
    result = await probe(rtsp_target(config_from, url, creds() + "play = true\n"))
    assert result.ok, result.detail
    assert result.detail.startswith("RTSP 200 OK: 3 frames in ")
    # The test pattern runs at 10 frames per second of RTP time; a loaded machine may
    # drop frames, never add them.
    assert 0 < result.extra[FRAMES_PER_SECOND] <= 10.5
    assert result.extra[BITRATE] > 0


@pytest.mark.integration
async def test_a_camera_with_basic_auth_proves_video_when_played(config_from: Load, basic_port: int) -> None:
    url = f"rtsp://{USER}:{PASSWORD}@127.0.0.1:{basic_port}/camera"
    result = await probe(rtsp_target(config_from, url, "play = true\nmin_frames = 5\n"))
    assert result.ok, result.detail
    assert result.detail.startswith("RTSP 200 OK: 5 frames in ")


@pytest.mark.integration
async def test_a_stream_without_a_video_track_is_no_video(config_from: Load, digest_port: int) -> None:
    url = f"rtsp://127.0.0.1:{digest_port}/audio"
    result = await probe(rtsp_target(config_from, url, creds() + "play = true\n"))
    assert (result.ok, result.reason) == (False, Reason.NO_VIDEO)
    assert result.detail == "the stream description has no video track"


@pytest.mark.integration
async def test_a_wrong_password_when_played_is_auth_failed(config_from: Load, digest_port: int) -> None:
    url = f"rtsp://127.0.0.1:{digest_port}/camera"
    result = await probe(rtsp_target(config_from, url, creds("wrong") + "play = true\n"))
    assert (result.ok, result.reason) == (False, Reason.AUTH_FAILED)


VIDEO_SDP = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=NVR channel 1\r\nt=0 0\r\na=control:*\r\n"
    b"m=audio 0 RTP/AVP 0\r\na=control:trackID=0\r\n"
    b"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=1\r\n"
)


def rtp(channel: int, seq: int, timestamp: int, marker: bool, payload: bytes = b"v" * 100) -> bytes:
    """One RTP packet (version 2, payload type 96) framed for the RTSP connection."""
    packet = bytes([0x80, (0x80 if marker else 0) | 96]) + seq.to_bytes(2, "big")
    packet += timestamp.to_bytes(4, "big") + (0x1234).to_bytes(4, "big") + payload
    return b"$" + bytes([channel]) + len(packet).to_bytes(2, "big") + packet


def recorder(stream: Callable[[], bytes], seen: list[tuple[str, dict[str, str]]], channels: str = "0-1") -> Handler:
    """A fake NVR channel: OPTIONS, DESCRIBE (video on trackID=1), SETUP, PLAY answered;
    after PLAY's answer it sends `stream()`."""

    async def handler(method: str, headers: dict[str, str]) -> bytes | None:
        seen.append((method, headers))
        cseq = headers["cseq"]
        if method == "OPTIONS":
            return answer("200 OK", cseq, "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN")
        if method == "DESCRIBE":
            base = f"Content-Base: {headers[':url']}/"
            return answer("200 OK", cseq, base, "Content-Type: application/sdp", body=VIDEO_SDP)
        if method == "SETUP":
            transport = f"Transport: RTP/AVP/TCP;unicast;interleaved={channels}"
            return answer("200 OK", cseq, "Session: 5FE2A11C;timeout=60", transport)
        if method == "PLAY":
            return answer("200 OK", cseq, "Session: 5FE2A11C", "RTP-Info: url=trackID=1;seq=1") + stream()
        return None  # TEARDOWN: heard; nothing more to say

    return handler


@pytest.fixture
def nvr(fake):  # type: ignore[no-untyped-def]
    """Start a `recorder` on a fake server; returns its channel's URL."""

    async def start(stream: Callable[[], bytes], seen: list[tuple[str, dict[str, str]]], channels: str = "0-1") -> str:
        return f"rtsp://127.0.0.1:{await fake(recorder(stream, seen, channels))}/ch1"

    return start


async def test_frames_per_second_and_bitrate_come_from_the_rtp_clock(config_from: Load, nvr) -> None:  # type: ignore[no-untyped-def]
    def stream() -> bytes:
        out = rtp(1, 0, 0, True, b"rtcp")  # the RTCP channel: not video
        out += b"GET_PARAMETER rtsp://x RTSP/1.0\r\nCSeq: 9\r\n\r\n"  # a server's keep-alive, skipped
        for frame in range(4):  # 25 fps at 90 kHz, two packets of 100 bytes a frame
            out += rtp(2, 2 * frame, 3600 * frame, False) + rtp(2, 2 * frame + 1, 3600 * frame, True)
        return out

    seen: list[tuple[str, dict[str, str]]] = []
    url = await nvr(stream, seen, channels="2-3")
    result = await probe(rtsp_target(config_from, url, "play = true\nmin_frames = 4\n"))
    assert result.ok, result.detail
    assert result.extra[FRAMES_PER_SECOND] == pytest.approx(25.0)
    assert result.extra[BITRATE] == pytest.approx(3 * 200 * 8 / 0.12)  # the frames after the first
    assert result.detail.startswith("RTSP 200 OK: 4 frames in ") and "(25.0 fps, 40 kbit/s)" in result.detail
    await until(
        lambda: [m for m, _ in seen] == ["OPTIONS", "DESCRIBE", "SETUP", "PLAY", "TEARDOWN"], what="the TEARDOWN seen"
    )
    assert seen[2][1]["transport"] == "RTP/AVP/TCP;unicast;interleaved=0-1"
    assert [h[":url"] for _, h in seen[2:]] == [f"{url}/trackID=1", url + "/", url + "/"]  # Content-Base, a=control:*
    assert [h.get("session") for _, h in seen[3:]] == ["5FE2A11C", "5FE2A11C"]


async def test_a_channel_that_plays_but_sends_no_rtp_is_no_video_within_the_timeout(config_from: Load, nvr) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, dict[str, str]]] = []
    url = await nvr(lambda: b"", seen)
    begin = time.monotonic()
    result = await probe(rtsp_target(config_from, url, "play = true\n", timeout="1s"))
    assert time.monotonic() - begin < 2.0
    assert (result.ok, result.reason) == (False, Reason.NO_VIDEO)
    assert result.detail.startswith("PLAY answered but no video arrived within ")
    assert (result.extra[FRAMES_PER_SECOND], result.extra[BITRATE]) == (0.0, 0.0)
    await until(lambda: [m for m, _ in seen][-1:] == ["TEARDOWN"], what="the TEARDOWN seen")  # politely, in time


@pytest.mark.parametrize(
    ("stream", "detail"),
    [
        (
            lambda: b"".join(rtp(0, seq, 3600 * seq, False) for seq in range(20)),
            "20 RTP packets but 0 of 3 video frames",
        ),
        (lambda: b"".join(rtp(0, seq, 3600 * seq, True) for seq in range(2)), "2 RTP packets but 2 of 3 video frames"),
    ],
    ids=["no-marker-bits", "too-few-frames"],
)
async def test_rtp_without_enough_frames_is_no_video(config_from: Load, nvr, stream, detail: str) -> None:  # type: ignore[no-untyped-def]
    result = await probe(rtsp_target(config_from, await nvr(stream, []), "play = true\n", timeout="1s"))
    assert (result.ok, result.reason) == (False, Reason.NO_VIDEO)
    assert result.detail.startswith(detail + " within ")


async def test_a_server_closing_mid_stream_is_no_video_saying_so(config_from: Load, fake) -> None:  # type: ignore[no-untyped-def]
    async def handler(method: str, headers: dict[str, str]) -> bytes | Last | None:
        if method == "DESCRIBE":
            return answer("200 OK", headers["cseq"], body=VIDEO_SDP)
        if method == "SETUP":
            return answer("200 OK", headers["cseq"], "Session: 1", "Transport: RTP/AVP/TCP;interleaved=0-1")
        if method == "PLAY":
            return Last(answer("200 OK", headers["cseq"]) + rtp(0, 1, 0, False) + rtp(0, 2, 0, True))
        return answer("200 OK", headers["cseq"])

    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{await fake(handler)}/ch1", "play = true\n"))
    assert (result.ok, result.reason) == (False, Reason.NO_VIDEO)
    assert result.detail == "2 RTP packets but 1 of 3 video frames before the server closed the connection"


async def test_a_setup_without_interleaved_transport_is_an_invalid_response(config_from: Load, fake) -> None:  # type: ignore[no-untyped-def]
    async def handler(method: str, headers: dict[str, str]) -> bytes | None:
        if method == "DESCRIBE":
            return answer("200 OK", headers["cseq"], body=VIDEO_SDP)
        if method == "SETUP":
            return answer("200 OK", headers["cseq"], "Session: 1", "Transport: RTP/AVP;unicast;client_port=5000-5001")
        return answer("200 OK", headers["cseq"])

    result = await probe(rtsp_target(config_from, f"rtsp://127.0.0.1:{await fake(handler)}/ch1", "play = true\n"))
    assert (result.ok, result.reason) == (False, Reason.INVALID_RESPONSE)
    assert result.detail.startswith("SETUP answered without RTP over the RTSP connection")


async def test_digest_answers_go_with_every_request_of_a_play(config_from: Load, fake) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, str]] = []
    challenge = 'WWW-Authenticate: Digest realm="NVR", nonce="n0nce", qop="auth"'

    async def handler(method: str, headers: dict[str, str]) -> bytes | None:
        auth = headers.get("authorization", "")
        seen.append((method, auth))
        if not auth.startswith("Digest "):
            return answer("401 Unauthorized", headers["cseq"], challenge)
        if method == "OPTIONS":
            return answer("200 OK", headers["cseq"])
        if method == "DESCRIBE":
            return answer("200 OK", headers["cseq"], body=VIDEO_SDP)
        if method == "SETUP":
            return answer("200 OK", headers["cseq"], "Session: 77", "Transport: RTP/AVP/TCP;interleaved=0-1")
        if method == "PLAY":
            return answer("200 OK", headers["cseq"]) + b"".join(rtp(0, s, 3000 * s, True) for s in range(3))
        return None

    result = await probe(
        rtsp_target(config_from, f"rtsp://127.0.0.1:{await fake(handler)}/ch1", creds() + "play = true\n")
    )
    assert result.ok, result.detail
    await until(lambda: seen[-1][0] == "TEARDOWN", what="the TEARDOWN seen")
    assert [m for m, a in seen if a] == ["OPTIONS", "DESCRIBE", "SETUP", "PLAY", "TEARDOWN"]
    counts = [parse_keqv_list(parse_http_list(a[7:]))["nc"] for _, a in seen if a]
    assert counts == [f"{n:08x}" for n in range(1, 6)]


def test_play_needs_a_path_and_min_frames_needs_play(config_from: Load) -> None:
    with pytest.raises(ConfigError) as failed:
        config_from(
            '[targets.a]\nurl = "rtsp://cam.test"\nplay = true\n'
            '[targets.b]\nurl = "rtsp://cam.test/x"\nmin_frames = 5\n'
        )
    assert [f"{p.path}: {p.message}" for p in failed.value.problems] == [
        "targets.a.play: needs the stream's path in the URL (rtsp://HOST[:PORT]/PATH)",
        "targets.b.min_frames: applies only with play = true",
    ]
