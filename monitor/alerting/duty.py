"""Duty rosters at a moment: who is on duty, who is next, and an incident's way up.

`notify = ["duty:NAME"]` names a roster (`monitor.config.duty`). An alert routed there
goes to whoever is on duty at the incident's start (`on_duty`); nobody on duty: to the
roster's `fallback`, never nowhere. While nobody acknowledges, every `escalate_after`
the next step of `ladder` hears it too: the people on duty next (the next shift), then
the fallback. The ladder is worked out from the incident's start alone, so after a
restart the same steps come due at the same times with the same alert ids (the outbox
drops those already queued): escalations are as durable as reminders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.config import Config, Roster, Shift
from monitor.config.duty import DUTY_PREFIX
from monitor.config.model import WEEK_MINUTES

HORIZON_DAYS = 14  # how far ahead "next on duty" looks


@dataclass(frozen=True)
class Board:
    """A roster now: who is on duty, and who comes next from when (None: nobody within
    `HORIZON_DAYS`)."""

    roster: str
    now: tuple[str, ...]
    next: tuple[str, ...]
    next_at: float | None
    fallback: str


def roster_of(name: str) -> str | None:
    """`piket` for the route `duty:piket`; None for a notifier's name."""
    return name.removeprefix(DUTY_PREFIX) if name.startswith(DUTY_PREFIX) else None


def _local(config: Config, at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC).astimezone(config.settings.zone)


def _shifts(config: Config, roster: str) -> list[Shift]:
    return [s for s in config.duty if s.roster == roster and s.who in config.notifiers]


def on_duty(config: Config, roster: str, at: float) -> tuple[str, ...]:
    """The notifiers on duty in `roster` at `at`, in the file's order (none: nobody)."""
    moment = _local(config, at)
    return tuple(dict.fromkeys(s.who for s in _shifts(config, roster) if s.covers(moment)))


def next_on_duty(config: Config, roster: str, at: float) -> tuple[tuple[str, ...], float | None]:
    """The next people on duty other than those on duty at `at`, and when they start."""
    current = set(on_duty(config, roster, at))
    for moment in _changes(config, roster, at):
        people = on_duty(config, roster, moment)
        if people and set(people) - current:
            return tuple(p for p in people if p not in current), moment
    return (), None


def _changes(config: Config, roster: str, at: float) -> list[float]:
    """Every moment after `at` (within the horizon) a shift of `roster` starts."""
    moments: set[float] = set()
    local = _local(config, at).replace(second=0, microsecond=0)
    minute = local.weekday() * 1440 + local.hour * 60 + local.minute
    for shift in _shifts(config, roster):
        if shift.start is not None:
            moments.add(shift.start.timestamp())
        for begin, _ in shift.weekly:
            ahead = (begin - minute) % WEEK_MINUTES or WEEK_MINUTES
            for week in range(HORIZON_DAYS // 7 + 1):
                moments.add((local + timedelta(minutes=ahead + week * WEEK_MINUTES)).timestamp())
    return sorted(m for m in moments if at < m <= at + HORIZON_DAYS * 86400.0)


def ladder(config: Config, roster: str, since: float) -> list[tuple[str, ...]]:
    """An incident's steps from its start: those on duty then (or the fallback), the next
    on duty, the fallback; each step only with those not told before."""
    spec: Roster | None = config.rosters.get(roster)
    if spec is None:
        return []
    first = on_duty(config, roster, since)
    steps: list[tuple[str, ...]] = [first or (spec.fallback,)]
    told = set(steps[0])
    following, _ = next_on_duty(config, roster, since)
    fresh = tuple(p for p in following if p not in told)
    if fresh:
        steps.append(fresh)
        told.update(fresh)
    if spec.fallback not in told:
        steps.append((spec.fallback,))
    return steps


def boards(config: Config, at: float) -> list[Board]:
    """Every roster now (for `/status` and the admin view)."""
    out = []
    for name, roster in config.rosters.items():
        following, when = next_on_duty(config, name, at)
        out.append(Board(name, on_duty(config, name, at), following, when, roster.fallback))
    return out
