"""Duty rosters: `[[duty]]` shifts and `[rosters.NAME]`, read and checked.

    [rosters.piket-lebaran]
    fallback = "kantor"          # a notifier: nobody on duty, or nobody acknowledged
    escalate_after = "15m"       # each one on the way has this long to acknowledge

    [[duty]]
    roster = "piket-lebaran"
    who = "budi"                 # a notifier
    start = 2027-03-29T08:00:00  # in [monitor] timezone unless it has an offset
    end = 2027-03-30T08:00:00

    [[duty]]
    roster = "piket-lebaran"
    who = "sari"
    weekly = ["mon-fri 08:00-16:00", "sat 22:00-06:00"]  # an end before the start: the next day

A roster named by a `[[duty]]` entry or a `duty:NAME` route must have its table (its
fallback is where an alert goes when it finds nobody on duty). A gap in a roster is not
wrong but worth knowing: `gaps` finds them (within the span of the dated shifts, or in
a week when there are only weekly ones) as warnings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.config.model import WEEK_MINUTES, NotifierConfig, Roster, Shift
from monitor.config.reader import Problems, Table

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(\w+)(?:-(\w+))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
MAX_GAPS = 5  # warnings per roster
DUTY_PREFIX = "duty:"
SCAN_DAYS = 62  # with weekly shifts, gaps are looked for minute by minute this far at most


def read_rosters(root: Table) -> dict[str, Roster]:
    return {name: read_roster(name, t) for name, t in root.children_of("rosters")}


def read_roster(name: str, t: Table) -> Roster:
    """One `[rosters.NAME]` table."""
    roster = Roster(
        name=name,
        fallback=t.require_text("fallback"),
        escalate_after=t.duration("escalate_after", 900.0, low=60.0),
    )
    t.finish()
    return roster


def read_shifts(
    root: Table, zone: ZoneInfo, rosters: Mapping[str, Roster], notifiers: Mapping[str, NotifierConfig]
) -> tuple[Shift, ...]:
    """Every `[[duty]]` entry (see `read_shift`)."""
    shifts = (read_shift(t, zone, rosters, notifiers) for t in root.array("duty"))
    return tuple(s for s in shifts if s is not None)


def read_shift(
    t: Table, zone: ZoneInfo, rosters: Mapping[str, Roster], notifiers: Mapping[str, NotifierConfig]
) -> Shift | None:
    """One `[[duty]]` table; its `who` must be a notifier, its roster have its table."""
    roster, who = t.require_text("roster"), t.require_text("who")
    if who and who not in notifiers:
        t.problem("who", f"no notifier named {who!r}")
    if roster and roster not in rosters:
        t.problem("roster", f"no [rosters.{roster}] table (it names the fallback)")
    return _read_shift(t, zone, roster, who)


def _read_shift(t: Table, zone: ZoneInfo, roster: str, who: str) -> Shift | None:
    start, end = t.time("start", zone), t.time("end", zone)
    patterns = t.text_list("weekly")
    t.finish()
    weekly = tuple(span for i, text in enumerate(patterns) for span in _weekly(t, i, text))
    if patterns and (start is not None or end is not None):
        t.problems.add(t.path, "has both weekly and start/end: write one or the other")
        return None
    if not patterns:
        if start is None or end is None:
            t.problems.add(t.path, 'needs start and end, or weekly = ["mon 08:00-16:00", ...]')
            return None
        if end <= start:
            t.problem("end", "must be after start")
            return None
    return Shift(roster, who, start, end, weekly)


def _weekly(t: Table, index: int, text: str) -> list[tuple[int, int]]:
    """`mon 08:00-16:00`, `mon-fri 08:00-16:00`, `daily 22:00-06:00`: minutes of the week."""
    match = _SPAN.match(text.lower())
    key = f"{t.key('weekly')}[{index}]"
    if match is None:
        t.problems.add(key, f'must be like "mon 08:00-16:00" or "mon-fri 22:00-06:00", not {text!r}')
        return []
    first, last, h1, m1, h2, m2 = match.groups()
    if first == "daily" and last is None:
        days = list(range(7))
    elif first in DAYS and (last is None or last in DAYS):
        a, b = DAYS.index(first), DAYS.index(last or first)
        days = list(range(a, b + 1)) if a <= b else [*range(a, 7), *range(0, b + 1)]
    else:
        t.problems.add(key, f"unknown day in {text!r} (write {', '.join(DAYS)} or daily)")
        return []
    begin, finish = int(h1) * 60 + int(m1), int(h2) * 60 + int(m2)
    if int(h1) > 23 or int(m1) > 59 or finish > 1440 or int(m2) > 59:
        t.problems.add(key, f"not a time of day in {text!r} (00:00 to 24:00)")
        return []
    if finish == begin:
        t.problems.add(key, f"starts and ends at the same time in {text!r}")
        return []
    if finish < begin:
        finish += 1440  # into the next day
    return [(day * 1440 + begin, day * 1440 + finish) for day in days]


def check_rosters(problems: Problems, rosters: Mapping[str, Roster], notifiers: Mapping[str, NotifierConfig]) -> None:
    """Every roster's fallback a notifier."""
    for name, roster in rosters.items():
        if roster.fallback and roster.fallback not in notifiers:
            problems.add(f"rosters.{name}.fallback", f"no notifier named {roster.fallback!r}")


def gaps(rosters: Mapping[str, Roster], shifts: tuple[Shift, ...], zone: ZoneInfo) -> list[tuple[str, str]]:
    """Each gap in each roster as (roster, message), by the minute: within the span of
    its dated shifts, or within a week when it has weekly shifts only."""
    found: list[tuple[str, str]] = []
    for name, roster in rosters.items():
        mine = [s for s in shifts if s.roster == name]
        if not mine:
            found.append((name, f"nobody is ever on duty: alerts go to the fallback {roster.fallback!r}"))
            continue
        dated = [s for s in mine if s.start is not None and s.end is not None]
        if dated:
            begin = min(s.start for s in dated if s.start is not None).astimezone(zone)
            end = max(s.end for s in dated if s.end is not None).astimezone(zone)
        else:
            begin = datetime(2001, 1, 1, tzinfo=zone)  # a Monday
            end = begin + timedelta(minutes=WEEK_MINUTES)
        for start, stop in _holes(mine, begin, end)[:MAX_GAPS]:
            found.append((name, _gap_text(start, stop, bool(dated), roster, zone)))
    return found


def _holes(shifts: list[Shift], begin: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    if all(s.start is not None and s.end is not None for s in shifts):
        return _dated_holes(shifts)
    end = min(end, begin + timedelta(days=SCAN_DAYS))
    holes: list[tuple[datetime, datetime]] = []
    hole: datetime | None = None
    at = begin.replace(second=0, microsecond=0)
    while at < end:
        covered = any(s.covers(at) for s in shifts)
        if not covered and hole is None:
            hole = at
        elif covered and hole is not None:
            holes.append((hole, at))
            hole = None
        at += timedelta(minutes=1)
    if hole is not None:
        holes.append((hole, end))
    return holes


def _dated_holes(shifts: list[Shift]) -> list[tuple[datetime, datetime]]:
    spans = sorted((s.start, s.end) for s in shifts if s.start is not None and s.end is not None)
    holes, reach = [], spans[0][1]
    for start, end in spans[1:]:
        if start > reach:
            holes.append((reach, start))
        reach = max(reach, end)
    return holes


def _gap_text(start: datetime, stop: datetime, dated: bool, roster: Roster, zone: ZoneInfo) -> str:
    shown = "%Y-%m-%d %H:%M" if dated else "%a %H:%M"
    return (
        f"nobody is on duty from {start.astimezone(zone).strftime(shown)} to {stop.astimezone(zone).strftime(shown)}: "
        f"alerts then go to the fallback {roster.fallback!r}"
    )
