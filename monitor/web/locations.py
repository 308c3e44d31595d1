"""Each location's view for the target page and the admin view (`monitor.cluster`):
what this instance judged itself and what the other locations last published. Empty on
a single instance with the default location."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.cluster.member import Member
from monitor.result import State


@dataclass(frozen=True, slots=True)
class LocationRow:
    """One location's state of one target: its latency (None when it failed) and the
    start of its last result."""

    location: str
    state: State
    latency: float | None
    at: float
    reason: str


@dataclass(frozen=True, slots=True)
class LocationSummary:
    """One location sharing the store: reporting or stale, and its newest result."""

    location: str
    reporting: bool
    seen: float | None
    mine: bool


def _member(runtime: object) -> Member | None:
    member = getattr(runtime, "member", None)
    return member if isinstance(member, Member) and member.cluster.active else None


def target_locations(runtime: object, target_id: str) -> list[LocationRow]:
    member = _member(runtime)
    if member is None:
        return []
    states = member.cluster.others(target_id)
    own = member.own_state(target_id)
    if own is not None:
        states.append(own)
    return [
        LocationRow(s.location, s.state, s.latency, s.at, s.reason) for s in sorted(states, key=lambda s: s.location)
    ]


def summaries(runtime: object, now: float) -> list[LocationSummary]:
    member = _member(runtime)
    if member is None:
        return []
    seen = member.cluster.seen
    return [
        LocationSummary(name, up, seen[name].seen if name in seen else None, name == member.location)
        for name, up in member.cluster.up(now).items()
    ]
