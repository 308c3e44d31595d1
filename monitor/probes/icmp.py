"""The icmp kind: `icmp://host` sends `count` echo requests and judges the replies.

Sockets: an unprivileged ICMP datagram socket first (Linux allows it to the groups in
the sysctl `net.ipv4.ping_group_range`, which covers IPv6 too), else a raw socket (root
or `CAP_NET_RAW`); with neither, the probe fails with `permission_denied` saying so.
The probe passes when at least one reply came back and the loss ratio is at most
`max_loss`. Pauses between packets (`echo_interval`; `interval` is the probe schedule,
as for every kind) take at most half of the timeout.
`Result.duration` is the mean round-trip time, so `degraded_after` speaks
about the network, not about the pauses between packets.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult

from icmplib import ICMPRequest, ICMPv4Socket, ICMPv6Socket
from icmplib.exceptions import (
    DestinationUnreachable,
    ICMPLibError,
    SocketPermissionError,
    TimeoutExceeded,
)
from icmplib.sockets import AsyncSocket
from icmplib.utils import unique_identifier

from monitor.config.reader import Table
from monitor.probes.base import ProbeContext, ProbeKind, Stopwatch
from monitor.probes.network import Failure, ProbeFailed, resolve, url_port
from monitor.result import Reason, Result

if TYPE_CHECKING:
    from monitor.config import Target

LOSS = "probe_icmp_packet_loss_ratio"
RTT = "probe_icmp_rtt_seconds"
RTT_MAX = "probe_icmp_rtt_max_seconds"
IP_PROTOCOL = "probe_ip_protocol"
_FAMILIES = {None: socket.AF_UNSPEC, 4: socket.AF_INET, 6: socket.AF_INET6}


@dataclass(frozen=True)
class IcmpSpec:
    """`count` echo requests `echo_interval` apart; fail above `max_loss` (a ratio)."""

    host: str
    count: int = 3
    echo_interval: float = 0.5
    max_loss: float = 0.5
    ip_version: int | None = None  # None: whatever the name resolves to first


def parse(table: Table, url: SplitResult | None) -> IcmpSpec:
    assert url is not None  # the scheme selected this kind
    if not url.hostname or url_port(url) != 0 or url.path.strip("/"):
        table.problem("url", "must be icmp://HOST (no port, no path)")
    ip_version = table.integer("ip_version")
    if ip_version not in (None, 4, 6):
        table.problem("ip_version", "must be 4 or 6 (leave it out for either)")
        ip_version = None
    return IcmpSpec(
        host=url.hostname or "",
        count=table.integer("count", 3, low=1, high=100),
        echo_interval=table.duration("echo_interval", 0.5, low=0.01),
        max_loss=table.number("max_loss", 0.5, low=0.0, high=1.0),
        ip_version=ip_version,
    )


def open_socket(address: str) -> Any:
    """An async ICMP socket for `address` (a context manager with `send(request)` and
    `await receive(request, timeout)`): unprivileged if the kernel allows, else raw."""
    kind = ICMPv6Socket if ":" in address else ICMPv4Socket
    try:
        return AsyncSocket(kind(privileged=False))
    except SocketPermissionError:
        return AsyncSocket(kind(privileged=True))  # raises SocketPermissionError if not allowed


async def probe(target: Target, ctx: ProbeContext) -> Result:
    spec: IcmpSpec = target.spec
    clock = Stopwatch()
    try:
        async with asyncio.timeout(target.timeout):
            address = (await resolve(spec.host, None, _FAMILIES[spec.ip_version], socket.SOCK_RAW))[0]
    except TimeoutError:
        return clock.failed(Failure(Reason.TIMEOUT, f"resolving {spec.host} took over {target.timeout:g}s"))
    except ProbeFailed as exc:
        return clock.failed(exc.failure)
    try:
        sock = open_socket(address)
    except SocketPermissionError:
        return clock.failed(Failure(Reason.PERMISSION_DENIED, _permission_detail()))
    except ICMPLibError as exc:
        return clock.failed(Failure(Reason.ERROR, f"cannot open an ICMP socket: {exc}"))
    with sock:
        rtts, error = await _echo(sock, address, spec, clock.begun + target.timeout)
    return _judge(spec, address, rtts, error, clock.started, clock.elapsed())


async def _echo(sock: Any, address: str, spec: IcmpSpec, deadline: float) -> tuple[list[float], str]:
    """Round-trip times of the replies, and the last error seen."""
    ident, rtts, error = unique_identifier(), [], ""
    budget = deadline - time.perf_counter()
    # Pauses take at most half the timeout; each packet waits an equal share of the rest.
    pause = min(spec.echo_interval, budget / (2 * spec.count))
    share = (budget - pause * (spec.count - 1)) / spec.count
    for sequence in range(spec.count):
        if sequence:
            await asyncio.sleep(pause)
        wait = min(share, deadline - time.perf_counter())
        if wait <= 0:
            break
        request = ICMPRequest(destination=address, id=ident, sequence=sequence)
        try:
            sock.send(request)
            reply = await sock.receive(request, wait)
            reply.raise_for_status()
            rtts.append(reply.time - request.time)
        except DestinationUnreachable as exc:
            error = f"unreachable: {exc.message}"
        except TimeoutExceeded:
            pass
        except ICMPLibError as exc:
            error = str(exc)
    return rtts, error


def _judge(spec: IcmpSpec, address: str, rtts: list[float], error: str, started: float, elapsed: float) -> Result:
    loss = 1.0 - len(rtts) / spec.count
    extra = {LOSS: loss, IP_PROTOCOL: 6.0 if ":" in address else 4.0}
    if rtts:
        extra |= {RTT: sum(rtts) / len(rtts), RTT_MAX: max(rtts)}
    counts = f"{len(rtts)} of {spec.count} echo replies from {address}"
    if not rtts:
        reason = Reason.NETWORK_UNREACHABLE if "unreachable" in error.lower() else Reason.TIMEOUT
        return Result(
            ok=False,
            reason=reason,
            detail=f"{counts}{'; ' + error if error else ''}",
            started=started,
            duration=elapsed,
            extra=extra,
        )
    if loss > spec.max_loss:
        return Result(
            ok=False,
            reason=Reason.PACKET_LOSS,
            started=started,
            extra=extra,
            duration=extra[RTT],
            detail=f"{counts} ({loss:.0%} lost, max_loss {spec.max_loss:.0%})",
        )
    return Result(ok=True, detail=counts, started=started, duration=extra[RTT], extra=extra)


def _permission_detail() -> str:
    try:
        with open("/proc/sys/net/ipv4/ping_group_range", encoding="ascii") as f:
            low, high = f.read().split()
        allowed = f"allows groups {low}-{high}"
    except (OSError, ValueError):
        allowed = "is not readable"
    return (
        f"cannot open an ICMP socket: the sysctl net.ipv4.ping_group_range {allowed}, "
        f"which excludes this process's group {os.getegid()}, and raw sockets need root "
        'or CAP_NET_RAW (fix: sysctl -w net.ipv4.ping_group_range="0 2147483647", '
        "or setcap cap_net_raw+ep on the Python binary, or AmbientCapabilities="
        "CAP_NET_RAW in the systemd unit)"
    )


KIND = ProbeKind(
    name="icmp",
    schemes=("icmp",),
    parse=parse,
    probe=probe,
    metrics=MappingProxyType(
        {
            LOSS: "Share of the last probe's echo requests without a reply (0-1)",
            RTT: "Mean round-trip time of the last probe's echo replies",
            RTT_MAX: "Longest round-trip time of the last probe's echo replies",
            IP_PROTOCOL: "IP version the last ICMP probe used (4 or 6)",
        }
    ),
)
