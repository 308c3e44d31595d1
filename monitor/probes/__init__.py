"""Probe kinds, one module each, in one registry keyed by the name users write, and the
context they share (`probe_context`, `heartbeat_book`: `monitor.probes.context`).

Adding a kind: write its module with a `KIND = ProbeKind(...)` declaring what the rest
of the monitor needs of it, add it to `_KINDS`.
"""

from __future__ import annotations

from monitor.probes import dns, domain, http, icmp, push, rtsp, snmp, tcp, tls, ups
from monitor.probes.base import CERTIFICATE, Expiry, Heartbeats, ProbeContext, ProbeKind, Sample
from monitor.probes.context import heartbeat_book, probe_context

_KINDS: tuple[ProbeKind, ...] = (
    http.KIND,
    tcp.KIND,
    icmp.KIND,
    dns.KIND,
    tls.KIND,
    rtsp.KIND,
    push.KIND,
    # devices (second wave): domains that expire
    domain.KIND,
    # devices: switches, video recorders, UPS
    snmp.KIND,
    ups.KIND,
)

PROBES: dict[str, ProbeKind] = {kind.name: kind for kind in _KINDS}
"""Probe kinds by name (`kind = "..."` in targets.toml)."""

SCHEMES: dict[str, ProbeKind] = {scheme: kind for kind in _KINDS for scheme in kind.schemes}
"""Probe kinds by URL scheme (`url = "tcp://..."` selects tcp)."""


def expiry_of(kind: str) -> Expiry:
    """What a kind's targets must not let expire (a certificate unless it says otherwise)."""
    found = PROBES.get(kind)
    return found.expiry if found is not None else CERTIFICATE


__all__ = [
    "PROBES",
    "SCHEMES",
    "Expiry",
    "Heartbeats",
    "ProbeContext",
    "ProbeKind",
    "Sample",
    "expiry_of",
    "heartbeat_book",
    "probe_context",
]
