"""Debian's Net-SNMP agent (`snmpd`) on a loopback UDP port, with its own configuration in
a temporary folder: the v2c community `public`, the SNMPv3 authPriv user `monitor`
(SHA-256 + AES) and UPS-MIB objects set by `override`, as a UPS's network card has them.
No MIB is loaded (Debian ships none with it): everything is asked for by number."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.integration import need
from tests.waiting import NotInTime, wait_for

COMMUNITY = "public"
V3_USER, AUTH_PASSWORD, PRIV_PASSWORD = "monitor", "auth-s3cret", "priv-s3cret"
# UPS-MIB (RFC 1628) values of a UPS on line power with a charged battery.
UPS_VALUES = {
    "1.3.6.1.2.1.33.1.4.1.0": ("integer", "3"),  # upsOutputSource: normal(3)
    "1.3.6.1.2.1.33.1.2.1.0": ("integer", "2"),  # upsBatteryStatus: batteryNormal(2)
    "1.3.6.1.2.1.33.1.2.4.0": ("integer", "87"),  # upsEstimatedChargeRemaining: 87 %
    "1.3.6.1.2.1.33.1.2.3.0": ("integer", "25"),  # upsEstimatedMinutesRemaining
}
CONFIG = f"""
rocommunity {COMMUNITY} 127.0.0.1
createUser {V3_USER} SHA-256 "{AUTH_PASSWORD}" AES "{PRIV_PASSWORD}"
rouser {V3_USER} priv
sysLocation Ruang server lantai 2
""" + "".join(f"override .{oid} {kind} {value}\n" for oid, (kind, value) in UPS_VALUES.items())


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def snmpd(folder: Path) -> Iterator[int]:
    """A running snmpd; yields its UDP port on 127.0.0.1."""
    binary = need("/usr/sbin/snmpd", "snmpd")
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "snmpd.conf"
    config.write_text(CONFIG, encoding="utf-8")
    log = folder / "snmpd.log"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "MIBS": "",  # load no MIB: no noise about the ones Debian does not ship
        "MIBDIRS": str(folder / "no-mibs"),
        "SNMP_PERSISTENT_DIR": str(folder / "persistent"),
        "SNMPCONFPATH": str(folder),
    }
    port = free_udp_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "-f", "-Lo", "-C", "-c", str(config), f"udp:127.0.0.1:{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:

        def started() -> bool:
            assert proc.poll() is None, f"snmpd exited: {log.read_text(errors='replace')}"
            return b"NET-SNMP version" in log.read_bytes()

        try:
            wait_for(started, 15, what="snmpd announcing its version", every=0.02)
        except NotInTime as exc:
            raise NotInTime(f"{exc}: {log.read_text(errors='replace')}") from None
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
