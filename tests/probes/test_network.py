"""The one mapping from network and TLS errors to reasons, as every socket probe uses it."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from pathlib import Path

import pytest

from monitor.probes import PROBES
from monitor.probes.base import ProbeContext, Stopwatch
from monitor.probes.network import Failure, ProbeFailed, classify, resolve
from monitor.result import Reason
from tests.probes.configfile import loader

# A URL per socket probe kind, for a port nobody listens on ({port}) or a host no one
# can resolve ({host}).
URLS = {
    "http": "http://{host}:{port}/",
    "tcp": "tcp://{host}:{port}",
    "tls": "tls://{host}:{port}",
    "rtsp": "rtsp://{host}:{port}/stream",
    "dns": "dns://{host}:{port}/example.test",
}


async def free_port() -> int:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = int(listener.sockets[0].getsockname()[1])
    listener.close()
    await listener.wait_closed()
    return port


async def run(tmp_path: Path, ctx: ProbeContext, kind: str, host: str, port: int, extra: str = "") -> Failure:
    url = URLS[kind].format(host=host, port=port)
    config = loader(tmp_path)(f'[targets.t]\nurl = "{url}"\ntimeout = "2s"\n{extra}')
    result = await PROBES[kind].probe(config.targets["t"], ctx)
    assert not result.ok
    return Failure(result.reason, result.detail)


@pytest.mark.parametrize("kind", sorted(URLS))
async def test_every_socket_probe_words_a_refused_connection_the_same(
    tmp_path: Path, ctx: ProbeContext, kind: str
) -> None:
    port = await free_port()
    failure = await run(tmp_path, ctx, kind, "127.0.0.1", port, "tcp = true\n" if kind == "dns" else "")
    assert failure.reason == Reason.CONNECTION_REFUSED
    assert failure.detail.endswith("connection refused"), failure.detail


@pytest.mark.parametrize("kind", [*sorted(URLS), "icmp"])
async def test_every_socket_probe_calls_an_unresolvable_name_a_dns_error(
    tmp_path: Path, ctx: ProbeContext, kind: str
) -> None:
    if kind == "icmp":
        config = loader(tmp_path)('[targets.t]\nurl = "icmp://no-such-host.invalid"\ntimeout = "2s"\n')
        result = await PROBES[kind].probe(config.targets["t"], ctx)
        failure = Failure(result.reason, result.detail)
    else:
        failure = await run(tmp_path, ctx, kind, "no-such-host.invalid", 9)
    assert failure.reason == Reason.DNS_ERROR
    assert "cannot resolve" in failure.detail and "no-such-host.invalid" in failure.detail


def test_the_peer_named_by_a_probe_starts_the_detail() -> None:
    assert classify(ConnectionRefusedError(), "cam.example port 554") == Failure(
        Reason.CONNECTION_REFUSED, "cam.example port 554: connection refused"
    )
    assert classify(ConnectionRefusedError()) == Failure(Reason.CONNECTION_REFUSED, "connection refused")


def test_a_wrapped_error_is_classified_by_its_cause() -> None:
    try:
        try:
            raise ssl.SSLError(1, "WRONG_VERSION_NUMBER")
        except ssl.SSLError as inner:
            raise RuntimeError("client library error") from inner
    except RuntimeError as outer:
        assert classify(outer).reason == Reason.TLS_ERROR


async def test_an_ip_of_the_other_version_is_resolved_not_taken_as_is() -> None:
    assert await resolve("127.0.0.1", None, socket.AF_INET) == ["127.0.0.1"]
    with pytest.raises(ProbeFailed) as caught:
        await resolve("127.0.0.1", None, socket.AF_INET6)
    assert caught.value.failure.reason == Reason.DNS_ERROR


def test_a_stopwatch_times_a_failed_result_from_its_start() -> None:
    before = time.time()
    clock = Stopwatch()
    result = clock.failed(Failure(Reason.TIMEOUT, "slow"), status_code=504)
    assert (result.ok, result.reason, result.detail, result.status_code) == (False, Reason.TIMEOUT, "slow", 504)
    assert before <= result.started <= time.time()
    assert 0 <= result.duration <= clock.elapsed()
