"""The availability report (`monitor report`): figures per target, per group and overall
for a window, from the stored history.

Availability is the store's time-based figure (`monitor.store.Uptime`): time DOWN over
the window minus maintenance and minus the time the monitor was not running. Per target:
total downtime (monitored time in DOWN), incidents (overlapping the window; maintenance
does not end one, see `monitor.store.Period`), the longest outage and the mean time to
recovery (MTTR: the mean of the outages that recovered inside the window), p50/p95
latency of the successful probes (hourly rollups), and the incident list. Maintenance is
listed apart and never counted as downtime.

**Every duration counts the same time.** An outage's figure is its downtime: the
monitored time DOWN between its start and end, inside the window — its maintenance and
the time the monitor was not running are not downtime, here as in the availability. So
a target's outages add up to its total downtime, and the longest outage and the MTTR
are never more than it. A group's (and everything's) downtime is the sum of its targets'
(service time: two services down together for an hour are two hours), the same sum its
availability is time-weighted by; its longest outage is its targets' longest.
`render_report` (in `monitor.report.render`) turns a `Report` into HTML, Markdown or CSV.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

from monitor.config import Config, Target, Watch
from monitor.errors import StoreError
from monitor.report.render import render_report
from monitor.result import State
from monitor.store import Period, PlannedMaintenance, Rollup, Store, Uptime
from monitor.store.registry import has_history, open_store, where
from monitor.store.rollup import merge_rollups

__all__ = ["Report", "build_report", "render_report", "run_report"]


@dataclass(frozen=True)
class Outage:
    """One incident as the report lists it: its real start/end (`end` None: still DOWN
    at the report's end), its length inside the window (`length`, start to end) and how
    that length divides: `downtime` (monitored and DOWN: the figure the report adds up),
    `maintenance` and `unmonitored`."""

    target: str
    name: str
    start: float
    end: float | None
    length: float
    reason: str
    detail: str
    downtime: float = 0.0
    maintenance: float = 0.0
    unmonitored: float = 0.0


@dataclass(frozen=True)
class MaintenanceSpan:
    """Time a target spent in maintenance inside the window, with the configured
    window's reason when one covers it."""

    target: str
    name: str
    start: float
    end: float
    reason: str


@dataclass(frozen=True)
class Figures:
    """The report's numbers for one target, one group or everything (`name`)."""

    name: str
    group: str
    uptime: Uptime
    incidents: tuple[Outage, ...]
    latency: Rollup

    @property
    def availability(self) -> float | None:
        return self.uptime.percent

    @property
    def longest(self) -> float | None:
        """The longest outage's downtime."""
        return max((o.downtime for o in self.incidents), default=None)

    @property
    def mttr(self) -> float | None:
        """The mean downtime of the outages that recovered inside the window."""
        recovered = [o.downtime for o in self.incidents if o.end is not None]
        return sum(recovered) / len(recovered) if recovered else None

    @property
    def p50(self) -> float | None:
        return self.latency.quantile(0.5)

    @property
    def p95(self) -> float | None:
        return self.latency.quantile(0.95)


@dataclass(frozen=True)
class Report:
    """Everything a rendered report shows. Times are unix seconds; `zone` shows them."""

    title: str
    start: float
    end: float
    zone: tzinfo
    generated: float
    watch: str | None
    targets: tuple[Figures, ...]
    groups: tuple[Figures, ...]
    overall: Figures
    maintenance: tuple[MaintenanceSpan, ...]


async def build_report(
    config: Config, store: Store, start: float, end: float, watch: str | None = None, now: float | None = None
) -> Report:
    """The report for `[start, end)` over every configured target (time after `now`
    is not reported on: the window ends at `now` at the latest)."""
    now = time.time() if now is None else now
    end = max(min(end, now), start)
    targets = list(config.targets.values())
    ids = [t.id for t in targets]
    uptimes = await store.uptime(ids, start, end)
    stats = await store.probe_stats(ids, start, end)
    outages = [
        await _outage(store, p, config.targets[p.target], start, end)
        for p in reversed(await store.incidents(ids, start, end))
    ]
    per_target = tuple(
        Figures(t.name, t.group, uptimes[t.id], tuple(o for o in outages if o.target == t.id), stats[t.id])
        for t in targets
    )
    groups = tuple(
        _combine(name, name, [f for f in per_target if f.group == name], start, end)
        for name in dict.fromkeys(t.group for t in targets)
    )
    planned = await store.planned_maintenance(start)
    maintenance = tuple(
        MaintenanceSpan(
            p.target,
            config.targets[p.target].name,
            max(p.start, start),
            min(p.end or end, end),
            _maintenance_reason(config, planned, p),
        )
        for p in await store.periods(ids, start, end, {State.MAINTENANCE})
    )
    return Report(
        title=config.settings.title,
        start=start,
        end=end,
        zone=config.settings.zone,
        generated=now,
        watch=watch,
        targets=per_target,
        groups=groups,
        overall=_combine("", "", list(per_target), start, end),
        maintenance=maintenance,
    )


async def _outage(store: Store, period: Period, target: Target, start: float, end: float) -> Outage:
    """The incident with its time inside the window divided as the availability divides
    it (the same store figure, over the incident's part of the window)."""
    begin, until = max(period.start, start), min(period.end if period.end is not None else end, end)
    inside = (await store.uptime([period.target], begin, until))[period.target] if until > begin else None
    return Outage(
        period.target,
        target.name,
        period.start,
        period.end,
        max(until - begin, 0.0),
        period.reason,
        period.detail,
        downtime=inside.down if inside else 0.0,
        maintenance=inside.maintenance if inside else 0.0,
        unmonitored=inside.unmonitored if inside else 0.0,
    )


def _combine(name: str, group: str, parts: Sequence[Figures], start: float, end: float) -> Figures:
    """A group's figures: times and counts summed (service time: so availability is
    time-weighted and downtime is its targets' together), latency histograms merged."""
    uptime = Uptime(
        target=name,
        start=start,
        end=end,
        observed=sum(f.uptime.observed for f in parts),
        down=sum(f.uptime.down for f in parts),
        degraded=sum(f.uptime.degraded for f in parts),
        maintenance=sum(f.uptime.maintenance for f in parts),
        unmonitored=sum(f.uptime.unmonitored for f in parts),
        incidents=sum(f.uptime.incidents for f in parts),
    )
    incidents = tuple(sorted((o for f in parts for o in f.incidents), key=lambda o: o.start))
    return Figures(name, group, uptime, incidents, merge_rollups([f.latency for f in parts], name, start, end))


def _maintenance_reason(config: Config, planned: Sequence[PlannedMaintenance], period: Period) -> str:
    """The reason of the window the period falls in, if any: one configured in
    targets.toml, else one planned at runtime (`POST /admin/api/maintenance`)."""
    target = config.targets.get(period.target)
    if target is None:
        return ""
    window = config.maintenance_for(target, datetime.fromtimestamp(period.start, config.settings.zone))
    if window is not None:
        return window.reason
    return next((w.reason for w in planned if w.start <= period.start < w.end and w.covers(target)), "")


# -- the command -------------------------------------------------------------------


def parse_time(text: str, zone: tzinfo, end: bool = False) -> float:
    """ISO 8601 date or date-time; without an offset, in the configured zone. A bare
    date as the end means the end of that day (so `--to 2018-06-21` includes the 21st)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=zone)
            return (moment + timedelta(days=1) if end else moment).timestamp()
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an ISO 8601 date or date-time") from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()


def _window(config: Config, args: argparse.Namespace) -> tuple[float, float, str | None]:
    zone = config.settings.zone
    if args.watch:
        watches: dict[str, Watch] = {w.name: w for w in config.watches}
        found = watches.get(args.watch)
        if found is None:
            known = ", ".join(repr(n) for n in watches) or "none configured"
            raise ValueError(f"no [[watch]] named {args.watch!r} (known: {known})")
        return found.start.timestamp(), found.end.timestamp(), found.name
    if not args.from_ or not args.to:
        raise ValueError("give --watch NAME, or both --from and --to")
    start, end = parse_time(args.from_, zone), parse_time(args.to, zone, end=True)
    if end <= start:
        raise ValueError("--to must be after --from")
    return start, end, None


async def run_report(config: Config, args: argparse.Namespace) -> int:
    """`monitor report`: args `watch`, `from_`, `to`, `format`, `output`. 0 on success,
    2 for a bad window or when there is no history to report on."""
    try:
        start, end, watch = _window(config, args)
    except ValueError as exc:
        print(f"monitor report: {exc}", file=sys.stderr)
        return 2
    try:
        if not has_history(config.settings):
            found = where(config.settings)
            print(f"monitor report: no history at {found} (has `monitor run` run here?)", file=sys.stderr)
            return 2
        store = open_store(config.settings, observe=False)
        await store.open()
        try:
            report = await build_report(config, store, start, end, watch)
        finally:
            await store.close()
    except StoreError as exc:
        print(f"monitor report: {exc}", file=sys.stderr)
        return 2
    text = render_report(report, args.format, config.settings.language)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
