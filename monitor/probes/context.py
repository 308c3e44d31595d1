"""The resources probes share, built in one place for `monitor run` and `monitor check`
alike, so that neither reaches into a probe module for them.

- `probe_context(heartbeats)`: cached TLS contexts (building one costs milliseconds), the
  fast HTTP/1.1 transport (with httpx's default one the whole process managed ~500 HTTP
  probes per CPU-second, with this one ~2,000: BENCHMARKS.md), the book of heartbeats
  that passive kinds judge and the book of domains' last RDAP answers (looked up at most
  every 6 h);
- `heartbeat_book()`: an empty such book, which the runtime fills as heartbeats arrive
  and restores from the store.
"""

from __future__ import annotations

from monitor.probes.base import Heartbeats, ProbeContext
from monitor.probes.domain import DomainBook
from monitor.probes.fasthttp import FastTransport
from monitor.probes.push import HeartbeatBook
from monitor.probes.tlsutil import TlsContextCache


def heartbeat_book() -> Heartbeats:
    """An empty book of the last heartbeat each passive target received."""
    return HeartbeatBook()


def probe_context(heartbeats: Heartbeats | None = None) -> ProbeContext:
    """What every probe is given; without `heartbeats`, passive kinds report that no
    heartbeats are kept here."""
    return ProbeContext(
        tls=TlsContextCache(), heartbeats=heartbeats, http_transport=FastTransport(), domains=DomainBook()
    )
