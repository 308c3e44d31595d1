"""The resources probes share, built in one place for `monitor run` and `monitor check`
alike, so that neither reaches into a probe module for them.

- `probe_context(heartbeats)`: cached TLS contexts (building one costs milliseconds), the
  fast HTTP/1.1 transport (with httpx's default one the whole process managed ~500 HTTP
  probes per CPU-second, with this one ~2,000: BENCHMARKS.md), the book of heartbeats
  that passive kinds judge and the book of domains' last RDAP answers (looked up at most
  every 6 h);
- `heartbeat_book()`: an empty such book, which the runtime fills as heartbeats arrive
  and restores from the store;
- the kept SNMP engines (making one costs ~50 ms of CPU) and the onsets of targets'
  conditions (when a UPS went on battery), in `OnsetBook`.
"""

from __future__ import annotations

from monitor.probes.base import Heartbeats, ProbeContext
from monitor.probes.domain import DomainBook
from monitor.probes.fasthttp import FastTransport
from monitor.probes.push import HeartbeatBook
from monitor.probes.snmpwire import Engines
from monitor.probes.tlsutil import TlsContextCache


class OnsetBook:
    """`monitor.probes.base.Onsets` in memory: (target, condition) -> first seen."""

    def __init__(self) -> None:
        self._first: dict[tuple[str, str], float] = {}

    def onset(self, target_id: str, condition: str, active: bool, now: float) -> float | None:
        key = (target_id, condition)
        if not active:
            self._first.pop(key, None)
            return None
        return self._first.setdefault(key, now)


def heartbeat_book() -> Heartbeats:
    """An empty book of the last heartbeat each passive target received."""
    return HeartbeatBook()


def probe_context(heartbeats: Heartbeats | None = None) -> ProbeContext:
    """What every probe is given; without `heartbeats`, passive kinds report that no
    heartbeats are kept here."""
    return ProbeContext(
        tls=TlsContextCache(),
        heartbeats=heartbeats,
        http_transport=FastTransport(),
        domains=DomainBook(),
        snmp=Engines(),
        onsets=OnsetBook(),
    )
