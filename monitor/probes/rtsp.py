"""The rtsp kind: `rtsp://host[:port]/path` checks a CCTV camera or video recorder.

It sends OPTIONS and, when the URL has a path, DESCRIBE (the stream's SDP description),
answering Basic or Digest authentication with `username` and `password` (or the URL's
user info). By default no media is set up: a camera that describes its stream is up.
With `play = true` it also SETUPs the first video track over the RTSP connection, PLAYs
it and needs `min_frames` video frames before the deadline (`monitor.probes.rtspplay`),
then TEARDOWNs within what is left of it; frames per second and bitrate are its gauges.
Reasons: `auth_failed` (no or rejected credentials), `stream_not_found` (404),
`no_video` (no video track, or too few frames in time), `invalid_response` (not RTSP, a
DESCRIBE without SDP, no interleaved transport), `status_mismatch` (another error
status), `response_too_large`, `timeout`, `connection_refused`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote

from monitor.config.reader import Table
from monitor.probes.base import ProbeContext, ProbeKind, Stopwatch
from monitor.probes.network import Failure, classify, hang_up, url_port
from monitor.probes.rtspplay import Player, video_track
from monitor.probes.rtspwire import MAX_HEAD, ProtocolError, Response, RtspConnection
from monitor.result import Reason, Result

if TYPE_CHECKING:
    from monitor.config import Target

STATUS_CODE = "probe_rtsp_status_code"
FRAMES_PER_SECOND = "probe_rtsp_frames_per_second"
BITRATE = "probe_rtsp_bitrate_bits_per_second"
TEARDOWN_RESERVE = 0.5  # seconds of the deadline kept for TEARDOWN (at most a tenth of it)


@dataclass(frozen=True)
class RtspSpec:
    """Where the stream is (`url` without user info) and how to log in."""

    host: str
    port: int
    url: str
    describe: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    play: bool = False
    min_frames: int = 3


def parse(table: Table, url: SplitResult | None) -> RtspSpec:
    assert url is not None  # the scheme selected this kind
    port = url_port(url, 554)
    if port is None:
        table.problem("url", "has an invalid port")
        port = 554
    if not url.hostname:
        table.problem("url", "must be rtsp://HOST[:PORT]/PATH")
    host = url.hostname or ""
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    clean = f"rtsp://{netloc}{url.path or '/'}" + (f"?{url.query}" if url.query else "")
    username = table.text("username") or (unquote(url.username) if url.username else None)
    password = table.text("password") or (unquote(url.password) if url.password else None)
    if password is not None and username is None:
        table.problem("password", "needs a username")
    describe = url.path.strip("/") != ""
    play = table.boolean("play", False)
    if play and not describe:
        table.problem("play", "needs the stream's path in the URL (rtsp://HOST[:PORT]/PATH)")
    if table.has("min_frames") and not play:
        table.problem("min_frames", "applies only with play = true")
    return RtspSpec(
        host=host,
        port=port,
        url=clean,
        describe=describe,
        username=username,
        password=password,
        play=play,
        min_frames=table.integer("min_frames", 3, low=1, high=1000),
    )


async def probe(target: Target, ctx: ProbeContext) -> Result:
    spec: RtspSpec = target.spec
    clock = Stopwatch()
    writer: asyncio.StreamWriter | None = None
    player: Player | None = None
    watched = 0.0
    try:
        async with asyncio.timeout(target.timeout):
            reader, writer = await asyncio.open_connection(spec.host, spec.port, limit=MAX_HEAD)
            conn = RtspConnection(reader, writer, spec.username, spec.password)
            response = await conn.request("OPTIONS", spec.url)
            if response.status == 200 and spec.describe:
                response = await conn.request("DESCRIBE", spec.url, {"Accept": "application/sdp"})
            if spec.play and _judge(spec, conn, response) is None:
                track = video_track(response, spec.url)
                if track is None:
                    return _failed(
                        clock, response, Failure(Reason.NO_VIDEO, "the stream description has no video track")
                    )
                player = Player(conn, track)
                response = await player.setup()
                if response.status == 200:
                    response = await player.play()
                if response.status == 200:
                    reserve = min(TEARDOWN_RESERVE, target.timeout / 10)
                    watched = await player.watch(spec.min_frames, clock.left(target.timeout) - reserve)
    except TimeoutError:
        return clock.failed(Failure(Reason.TIMEOUT, f"no RTSP answer within {target.timeout:g}s"))
    except ProtocolError as exc:
        reason = Reason.RESPONSE_TOO_LARGE if exc.too_large else Reason.INVALID_RESPONSE
        return clock.failed(Failure(reason, str(exc)))
    except (OSError, UnicodeError) as exc:  # UnicodeError: a host name idna cannot encode
        return clock.failed(classify(exc, f"{spec.host} port {spec.port}"))
    finally:
        if writer is not None:
            await _goodbye(writer, player, clock.left(target.timeout))
    verdict = _judge(spec, conn, response, described=player is None)
    if verdict is not None:
        return _failed(clock, response, verdict)
    status = f"RTSP {response.status} {response.reason}".strip()
    if player is None:
        return clock.outcome(None, status, status_code=response.status, extra={STATUS_CODE: float(response.status)})
    return _played(clock, spec, response, player, watched)


def _played(clock: Stopwatch, spec: RtspSpec, response: Response, player: Player, watched: float) -> Result:
    """The outcome of watching: enough frames, or `no_video` saying what did arrive."""
    tally = player.tally
    extra = {STATUS_CODE: float(response.status), FRAMES_PER_SECOND: tally.fps, BITRATE: tally.bitrate}
    ended = "before the server closed the connection" if player.closed else f"within {watched:.1f}s"
    failure = None
    if tally.packets == 0:
        failure = Failure(Reason.NO_VIDEO, f"PLAY answered but no video arrived {ended}")
    elif tally.frames < spec.min_frames:
        failure = Failure(
            Reason.NO_VIDEO,
            f"{tally.packets} RTP packets but {tally.frames} of {spec.min_frames} video frames {ended}",
        )
    detail = (
        f"RTSP {response.status} {response.reason}: {tally.frames} frames in {watched:.1f}s "
        f"({tally.fps:.1f} fps, {tally.bitrate / 1000:.0f} kbit/s)"
    )
    return clock.outcome(failure, detail, status_code=response.status, extra=extra)


def _failed(clock: Stopwatch, response: Response, failure: Failure) -> Result:
    return clock.failed(failure, status_code=response.status, extra={STATUS_CODE: float(response.status)})


async def _goodbye(writer: asyncio.StreamWriter, player: Player | None, left: float) -> None:
    """TEARDOWN a session we set up, then close; both within what is left of the deadline."""
    if player is not None and left > 0:
        try:
            async with asyncio.timeout(left):
                await player.teardown()
        except (OSError, TimeoutError):
            pass  # the verdict is in; a peer that will not hear goodbye changes nothing
    await hang_up(writer, left)


def _judge(spec: RtspSpec, conn: RtspConnection, response: Response, described: bool = True) -> Failure | None:
    """Why the answer is a failure, or None if it is good; `described`: it is the
    answer to DESCRIBE (when the URL has a path), which must hold SDP."""
    status = f"RTSP {response.status} {response.reason}".strip()
    if response.status == 401:
        if spec.username is None:
            return Failure(Reason.AUTH_FAILED, f"{status}: the server wants a username and password")
        if conn.authenticated_rejected:
            return Failure(Reason.AUTH_FAILED, f"{status}: username or password rejected")
        return Failure(Reason.AUTH_FAILED, f"{status}: no supported authentication scheme offered")
    if response.status == 404:
        return Failure(Reason.STREAM_NOT_FOUND, f"{status}: no stream at this path")
    if not 200 <= response.status < 300:
        return Failure(Reason.STATUS_MISMATCH, status)
    if spec.describe and described and not response.body.lstrip().startswith(b"v=0"):
        return Failure(Reason.INVALID_RESPONSE, f"{status} without an SDP stream description")
    return None


KIND = ProbeKind(
    name="rtsp",
    schemes=("rtsp",),
    parse=parse,
    probe=probe,
    metrics=MappingProxyType(
        {
            STATUS_CODE: "Status code of the last RTSP response (0: none)",
            FRAMES_PER_SECOND: "Video frames per second the last probe with play = true measured",
            BITRATE: "Video bitrate in bits per second the last probe with play = true measured",
        }
    ),
    streams=lambda target: bool(target.spec.play),
    secrets=("password",),
)
