"""ICMP against loopback only. Packet loss is tested in a network namespace the test
creates (where loopback is told to ignore echo requests) and, for partial loss, with a
fake socket; permissions with an unprivileged user inside such a namespace."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from icmplib import ICMPReply, ICMPRequest
from icmplib.exceptions import TimeoutExceeded

from monitor.config import Config, Target
from monitor.errors import ConfigError
from monitor.probes import PROBES, icmp
from monitor.probes.base import ProbeContext
from monitor.probes.icmp import IP_PROTOCOL, LOSS, RTT, RTT_MAX, IcmpSpec
from monitor.probes.tlsutil import TlsContextCache
from monitor.result import Reason, Result
from tests.probes.configfile import Load, loader


@pytest.fixture
def config_from(tmp_path: Path) -> Load:
    return loader(tmp_path)


ROOT = Path(__file__).resolve().parents[2]


def target(host: str, timeout: float = 2.0, **spec: Any) -> Target:
    spec.setdefault("echo_interval", 0.02)
    return Target(
        id="gw", name="gw", kind="icmp", url=f"icmp://{host}", spec=IcmpSpec(host=host, **spec), timeout=timeout
    )


async def probe(t: Target) -> Result:
    result = await PROBES["icmp"].probe(t, ProbeContext(tls=TlsContextCache()))
    if result.reason == Reason.PERMISSION_DENIED:
        pytest.skip(f"this machine allows this user no ICMP socket: {result.detail}")
    return result


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_it_reads_its_keys(config_from: Load) -> None:
    config: Config = config_from(
        '[targets.gw]\nurl = "icmp://router.test"\ncount = 5\necho_interval = "100ms"\nmax_loss = 0.2\nip_version = 6\n'
    )
    assert config.targets["gw"].spec == IcmpSpec("router.test", 5, 0.1, 0.2, 6)


def test_interval_is_only_the_schedule_and_echo_interval_the_pause(config_from: Load) -> None:
    config: Config = config_from(
        '[targets.a]\nurl = "icmp://a.test"\ninterval = "200ms"\n'
        '[targets.b]\nurl = "icmp://b.test"\ninterval = "1m"\necho_interval = "20ms"\n'
    )
    a, b = config.targets["a"], config.targets["b"]
    assert (a.interval, a.spec.echo_interval) == (0.2, 0.5)
    assert (b.interval, b.spec.echo_interval) == (60.0, 0.02)


async def test_loopback_answers_every_echo_request() -> None:
    result = await probe(target("127.0.0.1", count=3))
    assert result.ok, result.detail
    assert result.extra[LOSS] == 0.0 and result.extra[IP_PROTOCOL] == 4.0
    assert 0 < result.extra[RTT] <= result.extra[RTT_MAX] < 0.5
    assert result.duration == result.extra[RTT]
    assert result.detail == "3 of 3 echo replies from 127.0.0.1"


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
async def test_ipv6_loopback_answers() -> None:
    result = await probe(target("::1", count=2))
    assert result.ok, result.detail
    assert result.extra[IP_PROTOCOL] == 6.0


async def test_a_name_is_resolved_in_the_requested_ip_version() -> None:
    result = await probe(target("localhost", count=1, ip_version=4))
    assert result.ok and result.detail.endswith("from 127.0.0.1")


async def test_an_unknown_name_is_a_dns_error() -> None:
    result = await PROBES["icmp"].probe(target("no-such-host.invalid"), ProbeContext(tls=TlsContextCache()))
    assert not result.ok and result.reason == Reason.DNS_ERROR


class LossySocket:
    """Stands in for icmplib's socket: answers only the sequences in `answered`."""

    def __init__(self, answered: set[int]) -> None:
        self.answered = answered
        self.sent: list[int] = []
        self.sent_at: list[float] = []  # perf_counter() of each send

    def __enter__(self) -> LossySocket:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def send(self, request: ICMPRequest) -> None:
        request._time = time.time()
        self.sent.append(request.sequence)
        self.sent_at.append(time.perf_counter())

    async def receive(self, request: ICMPRequest, timeout: float) -> ICMPReply:
        if request.sequence not in self.answered:
            raise TimeoutExceeded(timeout)
        return ICMPReply(
            source=None,
            family=4,
            id=request.id,
            sequence=request.sequence,
            type=0,
            code=0,
            bytes_received=64,
            time=request.time + 0.004,
        )


@pytest.mark.parametrize(
    ("answered", "ok", "reason"),
    [
        ({0, 1, 2, 3}, True, Reason.OK),
        ({0, 2, 3}, True, Reason.OK),  # 25% lost, max_loss 50%
        ({0}, False, Reason.PACKET_LOSS),  # 75% lost
        (set(), False, Reason.TIMEOUT),
    ],
)
async def test_loss_above_max_loss_fails(
    monkeypatch: pytest.MonkeyPatch, answered: set[int], ok: bool, reason: str
) -> None:
    fake = LossySocket(answered)
    monkeypatch.setattr(icmp, "open_socket", lambda address: fake)
    result = await PROBES["icmp"].probe(target("127.0.0.1", count=4, max_loss=0.5), ProbeContext(tls=TlsContextCache()))
    assert (result.ok, result.reason) == (ok, reason)
    assert fake.sent == [0, 1, 2, 3]
    assert result.extra[LOSS] == 1 - len(answered) / 4
    if answered:
        assert result.extra[RTT] == pytest.approx(0.004, abs=1e-6)


async def test_echo_requests_are_spaced_by_echo_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = LossySocket({0, 1, 2})
    monkeypatch.setattr(icmp, "open_socket", lambda address: fake)
    slow = target("127.0.0.1", timeout=5.0, count=3, echo_interval=0.1)
    result = await PROBES["icmp"].probe(slow, ProbeContext(tls=TlsContextCache()))
    assert result.ok and fake.sent == [0, 1, 2]
    gaps = [later - earlier for earlier, later in itertools.pairwise(fake.sent_at)]
    assert all(0.09 < gap < 0.5 for gap in gaps), gaps


def in_namespace(setup: str, host: str, nobody: bool = False, timeout: float = 1.0) -> dict[str, Any]:
    """Probe `host` from a fresh network namespace (only loopback, nothing leaves it)."""
    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    if os.geteuid() != 0 or not unshare or not setpriv or not shutil.which("ip"):
        pytest.skip("needs root, unshare and setpriv (util-linux) and ip (iproute2) to create a network namespace")
    code = (
        "import asyncio, json, dataclasses\n"
        "from tests.probes.test_icmp import target, PROBES, ProbeContext, TlsContextCache\n"
        f"t = target({host!r}, timeout={timeout}, count=3)\n"
        "r = asyncio.run(PROBES['icmp'].probe(t, ProbeContext(tls=TlsContextCache())))\n"
        "print(json.dumps(dataclasses.asdict(r) | {'extra': dict(r.extra), 'phases': {}}))\n"
    )
    drop = "setpriv --reuid=65534 --regid=65534 --clear-groups " if nobody else ""
    script = f'ip link set lo up && {setup} && {drop}{sys.executable} -c "$CODE"'
    proc = subprocess.run(
        [unshare, "-n", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        env={**os.environ, "CODE": code, "PYTHONPATH": str(ROOT)},
    )
    if proc.returncode != 0 and "unshare" in proc.stderr:
        pytest.skip(f"cannot create a network namespace here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout.splitlines()[-1]))


def test_a_host_that_ignores_echo_requests_times_out_within_the_timeout() -> None:
    result = in_namespace("sysctl -qw net.ipv4.icmp_echo_ignore_all=1", "127.0.0.1", timeout=1.0)
    assert result["ok"] is False and result["reason"] == Reason.TIMEOUT
    assert result["extra"][LOSS] == 1.0
    assert result["detail"] == "0 of 3 echo replies from 127.0.0.1"
    assert result["duration"] < 2.0


def test_without_ping_group_or_cap_net_raw_it_says_which_setting_is_missing() -> None:
    result = in_namespace("sysctl -qw net.ipv4.ping_group_range='1 0'", "127.0.0.1", nobody=True)
    assert result["ok"] is False and result["reason"] == Reason.PERMISSION_DENIED
    assert "net.ipv4.ping_group_range allows groups 1-0" in result["detail"]
    assert "CAP_NET_RAW" in result["detail"]


def test_an_unprivileged_user_pings_where_ping_group_range_allows_it() -> None:
    result = in_namespace("sysctl -qw net.ipv4.ping_group_range='0 2147483647'", "127.0.0.1", nobody=True)
    assert result["ok"] is True, result["detail"]
    assert result["extra"][LOSS] == 0.0


def test_a_host_without_a_route_is_network_unreachable() -> None:
    # The namespace has only loopback: nothing can leave it, sendto() fails at once.
    result = in_namespace("true", "10.0.0.1")
    assert result["ok"] is False and result["reason"] == Reason.NETWORK_UNREACHABLE
    assert "unreachable" in result["detail"].lower()


def test_a_url_with_a_port_that_is_no_number_is_a_config_problem_not_a_crash(config_from: Load) -> None:
    with pytest.raises(ConfigError) as error:
        config_from('[targets.gw]\nurl = "icmp://router.test:abc"\n')
    assert "must be icmp://HOST (no port, no path)" in str(error.value)
