"""The TCP probe (`tcp://host:port`): connect, optionally speak TLS, send a line and
expect an answer — the way to watch a mail, database or any line-protocol server.

`expect` is a regular expression searched in the first bytes the server sends: reading
stops at the first match, at `READ_LIMIT` bytes, at the end of the stream or at the
deadline (`target.timeout`, covering everything). With `tls = true` the certificate's
expiry is reported, even when its verification fails.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import SplitResult

from monitor.config.reader import Table, format_duration
from monitor.probes import tlsutil
from monitor.probes.base import ProbeContext, ProbeKind, Stopwatch, certificate_expiry
from monitor.probes.network import (
    Failure,
    ProbeFailed,
    classify,
    resolve,
    untrusted_expiry,
    url_port,
    verification_error,
)
from monitor.result import Reason, Result

if TYPE_CHECKING:
    from monitor.config import Target

READ_LIMIT = 64 * 1024
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TcpSpec:
    """A TCP target, prepared once: where to connect and what to say and expect."""

    host: str
    port: int
    send: bytes | None = None
    expect: re.Pattern[bytes] | None = None
    tls: bool = False
    verify_tls: bool = True
    ca_file: str | None = None


def parse(t: Table, url: SplitResult | None) -> TcpSpec:
    """Read the tcp kind's keys of a `[targets.*]` table (see the README)."""
    host, port = _read_address(t, url)
    send = t.text("send")
    pattern = t.text("expect")
    expect = None
    if pattern is not None:
        try:
            expect = re.compile(pattern.encode("utf-8"))
        except re.error as exc:
            t.problem("expect", f"is not a valid regular expression: {exc}")
    tls = t.boolean("tls", False)
    verify = t.boolean("verify_tls", True)
    ca_file = t.file_path("ca_file")
    for key in ("verify_tls", "ca_file"):
        if t.has(key) and not tls:
            t.problem(key, "has no effect without tls = true")
    return TcpSpec(host, port, send.encode("utf-8") if send is not None else None, expect, tls, verify, ca_file)


def _read_address(t: Table, url: SplitResult | None) -> tuple[str, int]:
    host, port = (url.hostname, url_port(url)) if url else (None, None)
    if not host or not port:
        t.problem("url", 'must be tcp://HOST:PORT, e.g. "tcp://mail.example.go.id:25"')
        return "", 0
    if url and (url.path not in ("", "/") or url.query):
        t.problem("url", "a tcp:// URL has no path or query")
    return host, port


class _Session:
    """One probe's connection; the caller bounds `run()` and always calls `close()`."""

    def __init__(self, spec: TcpSpec, ctx: ProbeContext) -> None:
        self.spec = spec
        self.phases: dict[str, float] = {}
        self.cert_expiry: float | None = None
        self.unverified: tuple[str, int, str] | None = None  # as in `Exchange.unverified`
        self.stage = "resolving the name"
        self.writer: asyncio.StreamWriter | None = None
        # Fetched before the clock starts: a context's first use loads the trust store.
        self.context = ctx.tls.client(spec.verify_tls, spec.ca_file) if spec.tls else None

    async def run(self) -> None:
        spec = self.spec
        begun = time.perf_counter()
        try:
            addresses = await resolve(spec.host, spec.port)
        finally:
            self.phases["resolve"] = time.perf_counter() - begun
        reader = await self._connect(addresses)
        if spec.tls:
            await self._start_tls()
        if spec.send is not None:
            self.stage = "sending"
            assert self.writer is not None
            self.writer.write(spec.send)
            await self._io(self.writer.drain())
        if spec.expect is not None:
            await self._expect(reader, spec.expect)

    async def _connect(self, addresses: list[str]) -> asyncio.StreamReader:
        self.stage = "connecting"
        begun = time.perf_counter()
        for i, address in enumerate(addresses):
            try:
                reader, self.writer = await asyncio.open_connection(address, self.spec.port)
            except OSError as exc:
                failure = classify(exc)
                if failure.reason == Reason.CONNECTION_REFUSED and i + 1 < len(addresses):
                    continue
                raise ProbeFailed(failure) from exc
            self.phases["connect"] = time.perf_counter() - begun
            return reader
        raise AssertionError("resolve() returns at least one address")

    async def _start_tls(self) -> None:
        self.stage = "in the TLS handshake"
        assert self.writer is not None
        spec, begun = self.spec, time.perf_counter()
        assert self.context is not None
        try:
            await self.writer.start_tls(self.context, server_hostname=spec.host)
        except (OSError, ssl.SSLError) as exc:
            if verification_error(exc) is not None:
                self.unverified = (self.writer.get_extra_info("peername")[0], spec.port, spec.host)
            raise ProbeFailed(classify(exc)) from exc
        self.phases["tls"] = time.perf_counter() - begun
        self.cert_expiry = tlsutil.stream_expiry(self.writer)

    async def _expect(self, reader: asyncio.StreamReader, pattern: re.Pattern[bytes]) -> None:
        self.stage = "waiting for the expected answer"
        seen = b""
        while len(seen) < READ_LIMIT:
            chunk = await self._io(reader.read(READ_LIMIT - len(seen)))
            if not chunk:
                break
            seen += chunk
            if pattern.search(seen):
                return
        ending = "the connection closed" if len(seen) < READ_LIMIT else f"{READ_LIMIT} bytes read"
        raise ProbeFailed(
            Failure(
                Reason.EXPECT_MISMATCH,
                f"expected /{pattern.pattern.decode('utf-8', 'replace')}/, got {_preview(seen)} before {ending}",
            )
        )

    async def _io(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except OSError as exc:
            raise ProbeFailed(classify(exc)) from exc

    def close(self) -> None:
        if self.writer is not None:
            # Abort, not close: a TLS goodbye could stall past the deadline, and the
            # probe has nothing left to say.
            self.writer.transport.abort()


def _preview(data: bytes, limit: int = 60) -> str:
    text = repr(data[:limit])
    return text + ("…" if len(data) > limit else "")


async def probe(target: Target, ctx: ProbeContext) -> Result:
    """Probe a TCP target once; never raises for a failing target."""
    try:
        session = _Session(target.spec, ctx)
    except (OSError, ValueError) as exc:  # e.g. a ca_file made unreadable since validation
        return Result(False, Reason.ERROR, f"cannot probe: {exc}", started=time.time())
    clock = Stopwatch()
    failure: Failure | None = None
    try:
        async with asyncio.timeout(target.timeout):
            await session.run()
    except ProbeFailed as exc:
        failure = exc.failure
    except TimeoutError:
        failure = Failure(Reason.TIMEOUT, f"no answer within {format_duration(target.timeout)} ({session.stage})")
    finally:
        session.close()
    if session.unverified is not None:  # outside the deadline's scope: see http.probe
        session.cert_expiry = await untrusted_expiry(*session.unverified, clock.left(target.timeout))
    return clock.outcome(failure, "connected", cert_expiry=session.cert_expiry, phases=session.phases)


def _certificate(target: Target) -> bool:
    return bool(getattr(target.spec, "tls", False))


KIND = ProbeKind(name="tcp", schemes=("tcp",), parse=parse, probe=probe, expiry=certificate_expiry(_certificate))
