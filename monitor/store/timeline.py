"""Time-based availability maths: a target's state timeline (from its incident events)
and the monitor's runs in, `Uptime`s and `Period`s out. Pure functions, no I/O; the store
feeds them and the report reuses them.

A moment counts as *unmonitored* when no run of the monitor covers it (the process was
stopped or had crashed) or the target's state was still UNKNOWN; as *maintenance* when
the target was in MAINTENANCE; otherwise as *observed*, and *down* when it was DOWN.

An *incident* is a DOWN period that maintenance does not end (see `Period`): `continues`
says which events carry one on (into a window from DOWN, out of it still DOWN), and
`incident` follows one from its first event to its end.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from monitor.result import Event, State
from monitor.store import Period, Uptime


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch `[start, end)` spent in one state while the monitor ran (`state` is
    UNKNOWN for time no run covers)."""

    start: float
    end: float
    state: State


def covered(runs: Iterable[tuple[float, float]], start: float, end: float) -> list[tuple[float, float]]:
    """The union of the runs' `[started, last_seen)` intervals, clipped to a window."""
    spans = sorted((max(a, start), min(b, end)) for a, b in runs if b > start and a < end)
    merged: list[tuple[float, float]] = []
    for a, b in spans:
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def states(before: Event | None, events: Sequence[Event], start: float, end: float) -> list[Segment]:
    """The state timeline over `[start, end)`: `before` is the last event before the
    window (None: the target was UNKNOWN), `events` those inside it, oldest first."""
    out: list[Segment] = []
    state, since = (before.new if before else State.UNKNOWN), start
    for event in events:
        at = min(max(event.at, start), end)
        if at > since:
            out.append(Segment(since, at, state))
        state, since = event.new, max(since, at)
    if end > since:
        out.append(Segment(since, end, state))
    return out


def segments(
    before: Event | None,
    events: Sequence[Event],
    runs: Sequence[tuple[float, float]],
    start: float,
    end: float,
) -> list[Segment]:
    """`states` with the time outside every run turned UNKNOWN (`runs` as `covered`
    returns them: sorted, disjoint)."""
    out: list[Segment] = []
    cursor = start
    for seg in states(before, events, start, end):
        for a, b in runs:
            if b <= seg.start or a >= seg.end:
                continue
            a, b = max(a, seg.start), min(b, seg.end)
            if a > cursor:
                out.append(Segment(cursor, a, State.UNKNOWN))
            out.append(Segment(a, b, seg.state))
            cursor = b
    if end > cursor:
        out.append(Segment(cursor, end, State.UNKNOWN))
    return out


_SLOT = {State.UP: 0, State.DEGRADED: 1, State.DOWN: 2, State.MAINTENANCE: 3, State.UNKNOWN: 4}


def uptimes(
    target: str,
    before: Event | None,
    events: Sequence[Event],
    runs: Sequence[tuple[float, float]],
    windows: Sequence[tuple[float, float]],
) -> list[Uptime]:
    """One `Uptime` per window; `windows` sorted and not overlapping (e.g. days).
    One sweep over the segments: the status page asks this for 90 days x every target."""
    if not windows:
        return []
    start, end = windows[0][0], windows[-1][1]
    segs = [(s.start, s.end, _SLOT[s.state]) for s in segments(before, events, covered(runs, start, end), start, end)]
    down_starts = sorted(e.at for e, prev in zip(events, [before, *events], strict=False) if opens(prev, e))
    out: list[Uptime] = []
    first, count = 0, len(segs)
    for a, b in windows:
        while first < count and segs[first][1] <= a:
            first += 1
        if b <= a:
            out.append(Uptime(target, a, a))
            continue
        incidents = bisect_left(down_starts, b) - bisect_left(down_starts, a) if down_starts else 0
        sums = [0.0, 0.0, 0.0, 0.0, 0.0]
        if first < count and segs[first][0] <= a and segs[first][1] >= b:
            sums[segs[first][2]] = b - a  # the usual day: one state throughout
        else:
            i = first
            while i < count and segs[i][0] < b:
                seg_start, seg_end, slot = segs[i]
                sums[slot] += min(seg_end, b) - max(seg_start, a)
                i += 1
            sums[4] += max((b - a) - sum(sums), 0.0)  # beyond the segments: unmonitored
        up, degraded, down, maintenance, unknown = sums
        out.append(Uptime(target, a, b, up + degraded + down, down, degraded, maintenance, unknown, incidents))
    return out


def continues(previous: Event | None, event: Event) -> bool:
    """Whether `event` carries an open incident on: a DOWN target going into maintenance,
    or coming out of a window it went into DOWN, still DOWN (`previous`: the event
    before it)."""
    if event.new == State.MAINTENANCE:
        return event.old == State.DOWN
    return (
        event.new == State.DOWN
        and event.old == State.MAINTENANCE
        and previous is not None
        and previous.new == State.MAINTENANCE
        and previous.old == State.DOWN
    )


def opens(previous: Event | None, event: Event) -> bool:
    """Whether `event` begins an incident."""
    return event.new == State.DOWN and not continues(previous, event)


def incident(first: Event, following: Iterable[Event]) -> Period:
    """The incident `first` opened (`opens` said so), ended by the first of the target's
    `following` events (oldest first; read lazily, up to that one) that does not carry it
    on; reason and detail are the opening event's."""
    windows: list[tuple[float, float | None]] = []
    previous, end = first, None
    for event in following:
        if not continues(previous, event):
            end = event.at
            break
        if event.new == State.MAINTENANCE:
            windows.append((event.at, None))
        elif windows:
            windows[-1] = (windows[-1][0], event.at)
        previous = event
    if end is not None and windows and windows[-1][1] is None:
        windows[-1] = (windows[-1][0], end)
    return Period(first.target, State.DOWN, first.at, end, first.reason, first.detail, tuple(windows))


def incidents(chain: Sequence[Event]) -> list[Period]:
    """Every incident opened in `chain` (one target's events, oldest first, starting
    where no incident is open), oldest first."""
    return [
        incident(event, chain[i + 1 :]) for i, event in enumerate(chain) if opens(chain[i - 1] if i else None, event)
    ]


def periods(before: Event | None, events: Sequence[Event]) -> list[Period]:
    """The periods the events delimit, oldest first; the last one is open (end None)."""
    chain = ([before] if before else []) + list(events)
    out = []
    for i, event in enumerate(chain):
        end = chain[i + 1].at if i + 1 < len(chain) else None
        out.append(Period(event.target, event.new, event.at, end, event.reason, event.detail))
    return out


def periods_in(
    before: Mapping[str, Event],
    events: Iterable[Event],
    start: float,
    end: float,
    states: Collection[State] | None = None,
) -> list[Period]:
    """Every target's state periods overlapping `[start, end)` (of `states` only, when
    given), oldest first: from each target's last event before `start` and its events
    from `start` on, as every backend reads them."""
    chain: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        chain[event.target].append(event)
    out = []
    for tid in set(before) | set(chain):
        for period in periods(before.get(tid), chain[tid]):
            overlaps = period.start < end and (period.end is None or period.end > start)
            if overlaps and (states is None or period.state in states):
                out.append(period)
    return sorted(out, key=lambda p: (p.start, p.target))
