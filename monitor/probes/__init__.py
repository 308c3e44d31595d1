"""Probe kinds, one module each, in one registry keyed by the name users write.

Adding a kind: write its module with a `KIND = ProbeKind(...)`, add it to `_KINDS`.
"""

from __future__ import annotations

from monitor.probes import dns, http, icmp, push, rtsp, tcp, tls
from monitor.probes.base import Gauge, ProbeContext, ProbeKind

_KINDS: tuple[ProbeKind, ...] = (
    http.KIND,
    tcp.KIND,
    icmp.KIND,
    dns.KIND,
    tls.KIND,
    rtsp.KIND,
    push.KIND,
)

PROBES: dict[str, ProbeKind] = {kind.name: kind for kind in _KINDS}
"""Probe kinds by name (`kind = "..."` in targets.toml)."""

SCHEMES: dict[str, ProbeKind] = {scheme: kind for kind in _KINDS for scheme in kind.schemes}
"""Probe kinds by URL scheme (`url = "tcp://..."` selects tcp)."""

__all__ = ["PROBES", "SCHEMES", "Gauge", "ProbeContext", "ProbeKind"]
