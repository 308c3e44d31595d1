"""A hand-computed history, written through a configuration's store (`open_store`, so
on any backend), shared by the store, report and web tests.

Day 2018-06-11 in Asia/Jakarta (UTC+7), starting at T0 (local midnight). Two runs of the
monitor: run 1 from 00:00 to 10:00, stopped, run 2 from 12:00 to 24:00.

web (group "Layanan publik"):   UP at 00:00, DOWN 02:00-03:00 (timeout), MAINTENANCE
    05:00-06:00, DOWN 09:00 (connection_refused) through the restart until 13:00, then UP.
    observed = 24h - 1h maintenance - 2h unmonitored = 21h; down = 1h + 1h + 1h = 3h
    -> availability 18/21 = 85.714%; 2 incidents (1h and 4h long), MTTR 2.5h.
    Probes every 5 min while running: 264; failed 36 (3 down hours x 12); 12 in
    maintenance; 216 passed: each hour's first at 1.0 s (18), the rest at 0.1 s (198).
mail (group "Server jaringan"): UP at 00:00, DEGRADED 20:00-21:00, DOWN from 22:00
    (dns_error), still down at 24:00.
    observed = 22h; down = 2h -> availability 20/22 = 90.909%; 1 incident (open).
    Probes: 264; failed 24 (22:00-24:00); 12 degraded at 3.5 s; the rest 0.2 s.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.config import Settings
from monitor.result import Event, Result, State
from monitor.store.registry import open_store

ZONE = ZoneInfo("Asia/Jakarta")
T0 = datetime(2018, 6, 11, tzinfo=ZONE).timestamp()
H = 3600.0
END = T0 + 24 * H

WEB_EVENTS = [
    (0, State.UNKNOWN, State.UP, "ok", ""),
    (2, State.UP, State.DOWN, "timeout", "no answer within 10s"),
    (3, State.DOWN, State.UP, "ok", ""),
    (5, State.UP, State.MAINTENANCE, "maintenance", ""),
    (6, State.MAINTENANCE, State.UP, "ok", ""),
    (9, State.UP, State.DOWN, "connection_refused", "port 443 closed"),
    (13, State.DOWN, State.UP, "ok", ""),
]
MAIL_EVENTS = [
    (0, State.UNKNOWN, State.UP, "ok", ""),
    (20, State.UP, State.DEGRADED, "slow", ""),
    (21, State.DEGRADED, State.UP, "ok", ""),
    (22, State.UP, State.DOWN, "dns_error", "NXDOMAIN"),
]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def web_result(at: float) -> tuple[Result, bool]:
    hour = int((at - T0) // H)
    if hour in (2, 9, 12):
        return Result(False, "timeout", "", 10.0, at), False
    if hour == 5:
        return Result(True, "ok", "", 0.1, at), True
    first = (at - T0) % H == 0
    return Result(True, "ok", "", 1.0 if first else 0.1, at), False


def mail_result(at: float) -> tuple[Result, bool]:
    hour = int((at - T0) // H)
    if hour >= 22:
        return Result(False, "dns_error", "NXDOMAIN", 0.05, at), False
    if hour == 20:
        return Result(True, "ok", "", 3.5, at, degraded=True), False
    return Result(True, "ok", "", 0.2, at), False


def _events(
    target: str,
    rows: list[tuple[int, State, State, str, str]],
    lo: int,
    hi: int,
) -> list[Event]:
    return [Event(target, T0 + h * H, old, new, reason, detail) for h, old, new, reason, detail in rows if lo <= h < hi]


async def _run(settings: Settings, clock: Clock, start_h: int, end_h: int) -> None:
    clock.now = T0 + start_h * H
    store = open_store(settings, clock=clock)
    await store.open()
    events = _events("web", WEB_EVENTS, start_h, end_h) + _events("mail", MAIL_EVENTS, start_h, end_h)
    for event in sorted(events, key=lambda e: e.at):
        store.add_event(event)
    at = T0 + start_h * H
    while at < T0 + end_h * H:
        for target, make in (("web", web_result), ("mail", mail_result)):
            result, maintenance = make(at)
            store.add_result(target, result, maintenance)
        at += 300
    await store.flush()
    clock.now = T0 + end_h * H
    await store.close()


async def build(settings: Settings, clock: Clock | None = None) -> Clock:
    """Write the history (two runs of the monitor) into the empty store of `settings`;
    return the clock (a new one unless given), left at the end of the day."""
    clock = clock or Clock(T0)
    await _run(settings, clock, 0, 10)
    await _run(settings, clock, 12, 24)
    clock.now = END
    return clock
