"""Proving that an RTSP stream delivers video (`play = true` on an rtsp target): after
DESCRIBE, SETUP the first video track with RTP interleaved over the RTSP connection
(RFC 2326 §10.12: `$`, a channel byte, a 16-bit length, the packet), PLAY, and count
what arrives on the video channel until enough frames came or the time is up.

A frame is counted at each RTP packet with the marker bit (RFC 6184 and the other video
payload formats set it on a frame's last packet). Frames per second and the bitrate are
measured on the RTP timestamps of the frames seen (the media's own clock, from the SDP's
`a=rtpmap`), so a server's initial burst of buffered frames does not inflate them; when
the timestamps do not advance, on arrival times. Each packet is read, counted and
dropped: memory stays bounded whatever the stream.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

from monitor.probes.rtspwire import MAX_BODY, ProtocolError, Response, RtspConnection

TRANSPORT = "RTP/AVP/TCP;unicast;interleaved=0-1"
_INTERLEAVED = re.compile(r"interleaved=(\d+)", re.IGNORECASE)
_RTPMAP = re.compile(r"^a=rtpmap:(\d+) [^/]+/(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Track:
    """The stream's first video track: where to SETUP it, where to PLAY the
    presentation, its RTP payload type and clock rate."""

    setup_url: str
    play_url: str
    payload: int | None = None
    clock_rate: int = 90000


def video_track(description: Response, request_url: str) -> Track | None:
    """The first `m=video` section of a DESCRIBE answer's SDP, or None without one."""
    base = description.header("content-base") or description.header("content-location") or request_url
    session_control: str | None = None
    media: list[list[str]] = []
    for line in description.body.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith("m="):
            media.append([line])
        elif media:
            media[-1].append(line)
        elif line.startswith("a=control:"):
            session_control = line.removeprefix("a=control:").strip()
    for section in media:
        if not section[0].lower().startswith("m=video "):
            continue
        formats = section[0].split()[3:]
        payload = int(formats[0]) if formats and formats[0].isdigit() else None
        control, clock_rate = None, 90000
        for line in section[1:]:
            if line.startswith("a=control:"):
                control = line.removeprefix("a=control:").strip()
            elif (match := _RTPMAP.match(line)) and payload is not None and int(match.group(1)) == payload:
                clock_rate = int(match.group(2)) or 90000
        return Track(_resolve(base, control), _resolve(base, session_control), payload, clock_rate)
    return None


def _resolve(base: str, control: str | None) -> str:
    """A control attribute against the base URL (RFC 2326 C.1.1): absolute as is, `*`
    or none the base itself, otherwise appended to the base as cameras expect (not
    RFC 3986 joining, which would drop the base's last segment)."""
    if not control or control == "*":
        return base
    if control.lower().startswith("rtsp://") or control.lower().startswith("rtsps://"):
        return control
    return base + control if base.endswith("/") else f"{base}/{control}"


@dataclass
class Tally:
    """What arrived on the video channel; see the module docstring for the measures."""

    clock_rate: int = 90000
    packets: int = 0
    frames: int = 0
    payload_bytes: int = 0  # of the frames after the first, for the bitrate
    _first_ts: int | None = None
    _low: int = 0  # RTP time of the frames seen, relative to the first (B-frames go back)
    _high: int = 0
    _first_at: float = 0.0
    _last_at: float = 0.0
    _frame_bytes: int = field(default=0, repr=False)

    def add(self, packet: bytes, at: float) -> None:
        """Count one RTP packet of the video channel (anything else is not RTP: skipped)."""
        if len(packet) < 12 or packet[0] >> 6 != 2:
            return
        self.packets += 1
        self._frame_bytes += len(packet) - 12 - 4 * (packet[0] & 0x0F)
        if not packet[1] & 0x80:
            return
        timestamp = int.from_bytes(packet[4:8], "big")
        self.frames += 1
        if self._first_ts is None:
            self._first_ts, self._first_at = timestamp, at
        else:
            relative = ((timestamp - self._first_ts + 2**31) % 2**32) - 2**31
            self._low, self._high = min(self._low, relative), max(self._high, relative)
            self.payload_bytes += self._frame_bytes
        self._last_at = at
        self._frame_bytes = 0

    @property
    def span(self) -> float:
        """Seconds of video between the first and the last frame seen."""
        media = (self._high - self._low) / self.clock_rate
        return media if media > 0 else self._last_at - self._first_at

    @property
    def fps(self) -> float:
        return (self.frames - 1) / self.span if self.frames > 1 and self.span > 0 else 0.0

    @property
    def bitrate(self) -> float:
        """Bits per second of RTP payload over the frames after the first."""
        return self.payload_bytes * 8 / self.span if self.frames > 1 and self.span > 0 else 0.0


class Player:
    """SETUP, PLAY, watch and TEARDOWN one track over `conn`."""

    def __init__(self, conn: RtspConnection, track: Track) -> None:
        self.conn, self.track = conn, track
        self.session: str | None = None
        self.channel = 0
        self.tally = Tally(clock_rate=track.clock_rate)
        self.closed = False  # the server hung up while we watched

    async def setup(self) -> Response:
        response = await self.conn.request("SETUP", self.track.setup_url, {"Transport": TRANSPORT})
        if response.status == 200:
            self.session = response.header("session").split(";")[0].strip() or None
            transport = response.header("transport")
            match = _INTERLEAVED.search(transport)
            if "/tcp" not in transport.lower() or match is None:
                raise ProtocolError(
                    f"SETUP answered without RTP over the RTSP connection (Transport: {transport[:80]})"
                )
            self.channel = int(match.group(1))
        return response

    async def play(self) -> Response:
        return await self.conn.request("PLAY", self.track.play_url, {**self._session(), "Range": "npt=0.000-"})

    async def watch(self, min_frames: int, seconds: float) -> float:
        """Count video until `min_frames` frames arrived, the connection closed or
        `seconds` passed; returns the seconds it watched."""
        begun = time.perf_counter()
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                while self.tally.frames < min_frames:
                    item = await next_packet(self.conn.reader)
                    if item is not None and item[0] == self.channel:
                        self.tally.add(item[1], time.perf_counter())
        except TimeoutError:
            pass
        except asyncio.IncompleteReadError:
            self.closed = True
        return time.perf_counter() - begun

    async def teardown(self) -> None:
        """Say goodbye without waiting for the answer (more video may come before it)."""
        if self.session is not None and not self.closed:
            await self.conn.send("TEARDOWN", self.track.play_url, self._session())

    def _session(self) -> dict[str, str]:
        return {"Session": self.session} if self.session else {}


async def next_packet(reader: asyncio.StreamReader) -> tuple[int, bytes] | None:
    """The next interleaved packet (channel, data), or None for an RTSP message the
    server slipped in between (a request of its own, a late answer), which is skipped.
    Raises `asyncio.IncompleteReadError` when the server closes, `ProtocolError` for
    anything else."""
    first = await reader.readexactly(1)
    if first == b"$":
        head = await reader.readexactly(3)
        return head[0], await reader.readexactly(int.from_bytes(head[1:3], "big"))
    if not first.isalpha():
        raise ProtocolError(f"not interleaved RTP: byte {first!r} where a packet should start")
    length = 0
    try:
        while line := (await reader.readuntil(b"\n")).strip():
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                length = int(value.strip())
    except asyncio.LimitOverrunError as exc:
        raise ProtocolError("not interleaved RTP: a line without end") from exc
    if length > MAX_BODY:
        raise ProtocolError(f"an RTSP message of {length} bytes inside the stream", too_large=True)
    await reader.readexactly(length)
    return None
