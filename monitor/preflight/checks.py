"""The readiness checks: one function per check, each `Facts -> list[Row]`.

Every check judges what `Facts` holds and does no I/O, so the command, the admin view
and the alert at a watch's start agree. A check that finds nothing to say returns no
row; findings that read alike (every certificate fine) share one row listing their ids.
`CHECKS` runs them in order; a feature that lands later (the duty roster, the cluster)
adds its function there. What a check needs of a probe kind the kind declares on its
`ProbeKind` (`expiry`, `battery`, `streams`): no check tests a kind by its name.

The rules, with their numbers (docs/preflight.md):

- certificates and registered domains (each kind's `Expiry`): expiring before the
  period's end plus `EXPIRY_MARGIN_DAYS` is a problem; within the target's largest
  warning day (`cert_warn_days`, a domain's `warn_days`; else `EXPIRY_WARN_DAYS`) of
  the end, a warning;
- targets DOWN now: a problem; DEGRADED, flapping (`FLAP_CHANGES` changes within
  `FLAP_WINDOW`), or under `AVAILABILITY_FLOOR` % over the last 7 days (judged with at
  least `MIN_OBSERVED` of them monitored): a warning;
- UPS targets (`battery`): on battery, below a floor (`min_charge`, `min_runtime`), a
  battery to replace, or a failed last probe is a problem; no floor set, or another
  condition needing attention (overload, bypass, alarm), a warning;
- cameras (`streams`): a last result that failed is a problem;
- storage: free space under the projected growth (`projected_bytes`) is a problem,
  under twice that a warning;
- the store's health (inside the running monitor): failing is a problem, results
  dropped since the start a warning;
- open files: the rule `monitor run` applies at start (`monitor.web.guard`): a limit
  leaving fewer than its minimum of web connections beside the probes' reserve is a
  problem, under the advised `open_files_needed` a warning.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import replace

from monitor.alerting.deadman import PING_SECONDS, url_key
from monitor.alerting.policy import FLAP_CHANGES, FLAP_WINDOW
from monitor.config import Config, Target
from monitor.config.reader import format_duration
from monitor.connectivity import Uplink
from monitor.notifiers import NOTIFIERS
from monitor.preflight.facts import RECENT, WEEK, Facts
from monitor.preflight.model import Moment, Percent, Phrase, ReasonCode, Row, Size, Status, Text, Value, text
from monitor.probes import PROBES, Expiry
from monitor.probes.base import Battery
from monitor.result import Event, Reason, Result, State
from monitor.scheduler import IN_FLIGHT
from monitor.store import DELIVERED, FAILED, PENDING, Entry, StoreHealth

DAY = 86400.0
EXPIRY_MARGIN_DAYS = 7
EXPIRY_WARN_DAYS = 30
AVAILABILITY_FLOOR = 99.0
MIN_OBSERVED = 86400.0  # less monitored time than this in the week is too little to judge
DEADMAN_STALE = 5 * PING_SECONDS
CLOCK_OFFSET_WARN = 1.0  # seconds
# A UPS condition that needs someone but still powers the load (the probe's DEGRADED reasons).
UPS_ATTENTION = (Reason.UPS_OVERLOAD, Reason.UPS_BYPASS, Reason.UPS_ALARM)
# The store's own short reasons (`StoreHealth.reason`) in words, as the storage alert says them.
STORAGE_WORDS = {
    "disk full": "alert.storage.disk_full",
    "I/O error": "alert.storage.io_error",
    "database corrupt": "alert.storage.corrupt",
    "database locked": "alert.storage.locked",
    "database read-only": "alert.storage.read_only",
    "read-only": "alert.storage.read_only",
}

# What the store grows by, measured with `python -m bench.dbgrowth --days 30` through the
# real SQLite store (BENCHMARKS.md): a raw result takes 27 bytes and a target's hourly
# rollups and events 1,460 bytes a day; plus room for the write-ahead log.
RAW_RESULT_BYTES = 27
HISTORY_BYTES_PER_TARGET_DAY = 1460
STORE_RESERVE = 256 * 1024 * 1024

OK, WARNING, PROBLEM = Status.OK, Status.WARNING, Status.PROBLEM
Check = Callable[[Facts], list[Row]]


def expires(target: Target) -> Expiry | None:
    """The target's kind's `Expiry` when the target has such a date (`Expiry.applies`)."""
    kind = PROBES.get(target.kind)
    return kind.expiry if kind is not None and kind.expiry.applies(target) else None


def battery(target: Target) -> Battery | None:
    kind = PROBES.get(target.kind)
    return kind.battery if kind is not None else None


def streams(target: Target) -> bool:
    kind = PROBES.get(target.kind)
    return kind is not None and kind.streams(target)


def history(f: Facts) -> list[Row]:
    h = f.history
    if h.error is not None:
        found = text("preflight.history.unreadable", where=h.where, error=h.error)
        return [Row("history", PROBLEM, (), found, text("preflight.history.unreadable_todo"))]
    if not h.available:
        found = text("preflight.history.none", where=h.where)
        return [Row("history", WARNING, (), found, text("preflight.history.none_todo"))]
    rows = [Row("history", OK, (), text("preflight.history.ok", where=h.where))]
    if h.running is False and not f.inside:
        found = text("preflight.history.stopped", minutes=round(RECENT / 60))
        rows.append(Row("history", WARNING, (), found, text("preflight.history.stopped_todo")))
    return rows


# Each check's texts for the same judgement, by what expires.
CERT_TEXTS = {
    "ok": "preflight.cert.ok",
    "expired": "preflight.cert.expired",
    "during": "preflight.cert.during",
    "margin": "preflight.cert.margin",
    "soon": "preflight.cert.soon",
    "renew": "preflight.cert.renew",
    "unknown": "preflight.cert.unknown",
    "unknown_todo": "preflight.cert.unknown_todo",
}
DOMAIN_TEXTS = {
    "ok": "preflight.domain.ok",
    "expired": "preflight.domain.expired",
    "during": "preflight.domain.during",
    "margin": "preflight.domain.margin",
    "soon": "preflight.domain.soon",
    "renew": "preflight.domain.renew",
    "unknown": "preflight.domain.unknown",
    "unknown_todo": "preflight.domain.unknown_todo",
}


def certificates(f: Facts) -> list[Row]:
    return _expiries(f, "certificates", "certificate", CERT_TEXTS)


def domains(f: Facts) -> list[Row]:
    return _expiries(f, "domains", "domain", DOMAIN_TEXTS)


def _expiries(f: Facts, check: str, subject: str, words: dict[str, str]) -> list[Row]:
    """The rows of the targets whose kind's `Expiry` is `subject`, in the texts `words`:
    the days left on the period's last day against the margin and the warning days."""
    rows: list[Row] = []
    fine: list[tuple[str, int]] = []
    unknown: list[str] = []
    end, start = f.window.end, f.window.start
    for target in f.config.targets.values():
        expiry = expires(target)
        if expiry is None or expiry.subject != subject:
            continue
        at = f.expiry(target)
        if at is None:
            unknown.append(target.id)
            continue
        days = math.floor((at - end) / DAY)  # left on the period's last day
        warn = max(expiry.warn_days(target), default=EXPIRY_WARN_DAYS)
        values: dict[str, Value] = {"expiry": Moment(at), "days": days}
        renew = text(words["renew"], start=Moment(start))
        if at <= f.now:
            rows.append(Row(check, PROBLEM, (target.id,), text(words["expired"], **values), renew))
        elif at <= end:
            found = text(words["during"], **values, before=math.ceil((end - at) / DAY))
            rows.append(Row(check, PROBLEM, (target.id,), found, renew))
        elif days < EXPIRY_MARGIN_DAYS:
            rows.append(Row(check, PROBLEM, (target.id,), text(words["margin"], **values), renew))
        elif days < warn:
            rows.append(Row(check, WARNING, (target.id,), text(words["soon"], **values), renew))
        else:
            fine.append((target.id, days))
    if unknown:
        found = text(words["unknown"], count=len(unknown))
        rows.append(Row(check, WARNING, tuple(unknown), found, text(words["unknown_todo"])))
    if fine:
        least = min(days for _, days in fine)
        rows.append(Row(check, OK, _ids(fine), text(words["ok"], count=len(fine), days=least)))
    return rows


def states(f: Facts) -> list[Row]:
    if not f.history.available:
        return []
    rows: list[Row] = []
    up: list[str] = []
    maintenance: list[str] = []
    unknown: list[str] = []
    held: list[str] = []
    troubled: dict[tuple[State, str], list[Event]] = {}  # (DOWN | DEGRADED, reason) -> events
    for target in f.config.targets.values():
        event = f.history.last_events.get(target.id)
        changes = f.history.changes.get(target.id, 0)
        if changes >= FLAP_CHANGES:
            found = text("preflight.state.flapping", changes=changes, minutes=round(FLAP_WINDOW / 60))
            rows.append(Row("states", WARNING, (target.id,), found, text("preflight.state.flapping_todo")))
        if event is not None and event.new is State.UNKNOWN and event.reason == Reason.MONITOR_OFFLINE:
            held.append(target.id)  # not judged while the monitor itself was cut off
        elif event is None or event.new is State.UNKNOWN:
            unknown.append(target.id)
        elif event.new in (State.DOWN, State.DEGRADED):
            troubled.setdefault((event.new, event.reason), []).append(event)
        elif event.new is State.MAINTENANCE:
            maintenance.append(target.id)
        else:
            up.append(target.id)
    rows += [_troubled(state, reason, events) for (state, reason), events in troubled.items()]
    if held:
        found = text("preflight.state.held", count=len(held))
        rows.append(Row("states", WARNING, tuple(held), found, text("preflight.state.held_todo")))
    if unknown:
        found = text("preflight.state.no_history", count=len(unknown))
        rows.append(Row("states", WARNING, tuple(unknown), found, text("preflight.state.no_history_todo")))
    if maintenance:
        rows.append(Row("states", OK, tuple(maintenance), text("preflight.state.maintenance", count=len(maintenance))))
    if up:
        rows.append(Row("states", OK, tuple(up), text("preflight.state.up", count=len(up))))
    return rows


def _troubled(state: State, reason: str, events: list[Event]) -> Row:
    """One row for the targets DOWN (or DEGRADED) for the same reason: since when (the
    earliest, when several)."""
    ids = tuple(e.target for e in events)
    since = Moment(min(e.at for e in events))
    many = len(events) > 1
    if state is State.DOWN:
        key = "preflight.state.down_many" if many else "preflight.state.down"
        found = Text(key, {"since": since, "reason": ReasonCode(reason), "count": len(events)})
        return Row("states", PROBLEM, ids, found, text("preflight.state.down_todo"))
    key = "preflight.state.degraded_many" if many else "preflight.state.degraded"
    found = Text(key, {"since": since, "reason": ReasonCode(reason), "count": len(events)})
    return Row("states", WARNING, ids, found, text("preflight.state.degraded_todo"))


def availability(f: Facts) -> list[Row]:
    if not f.history.available:
        return []
    rows: list[Row] = []
    fine: list[str] = []
    short: list[str] = []
    days = round(WEEK / DAY)
    for target in f.config.targets.values():
        uptime = f.history.week.get(target.id)
        percent = uptime.percent if uptime is not None else None
        if uptime is None or percent is None:
            continue
        if uptime.observed + uptime.maintenance < MIN_OBSERVED:
            short.append(target.id)
        elif percent < AVAILABILITY_FLOOR:
            found = text("preflight.availability.low", percent=Percent(percent), days=days)
            todo = text("preflight.availability.low_todo", floor=Percent(AVAILABILITY_FLOOR))
            rows.append(Row("availability", WARNING, (target.id,), found, todo))
        else:
            fine.append(target.id)
    if short:
        found = text("preflight.availability.short", count=len(short), hours=round(MIN_OBSERVED / 3600), days=days)
        rows.append(Row("availability", WARNING, tuple(short), found, text("preflight.availability.short_todo")))
    if fine:
        found = text("preflight.availability.ok", count=len(fine), floor=Percent(AVAILABILITY_FLOOR), days=days)
        rows.append(Row("availability", OK, tuple(fine), found))
    return rows


def power(f: Facts) -> list[Row]:
    """Every UPS (a kind with a `battery`) from its last stored result: on mains, above
    its floors, nothing to replace."""
    if not f.history.available:
        return []
    rows: list[Row] = []
    unknown: list[str] = []
    unfloored: list[str] = []
    for target in f.config.targets.values():
        gauges = battery(target)
        if gauges is None:
            continue
        result = f.history.last_results.get(target.id)
        if result is None:
            unknown.append(target.id)
            continue
        floor = gauges.floor(target)
        rows.append(_power_row(target.id, result, gauges, floor))
        if floor == (None, None):
            unfloored.append(target.id)
    if unknown:
        found = text("preflight.power.unknown", count=len(unknown))
        rows.append(Row("power", WARNING, tuple(unknown), found, text("preflight.power.unknown_todo")))
    if unfloored:
        found = text("preflight.power.no_floor", count=len(unfloored))
        rows.append(Row("power", WARNING, tuple(unfloored), found, text("preflight.power.no_floor_todo")))
    return rows


def _power_row(target_id: str, result: Result, gauges: Battery, floor: tuple[float | None, float | None]) -> Row:
    """One UPS's row; the worst of what its last result says comes first."""
    charge, runtime = result.extra.get(gauges.charge), result.extra.get(gauges.runtime)
    values: dict[str, Value] = {
        "at": Moment(result.started),
        "charge": round(charge * 100) if charge is not None else "?",
        "minutes": round(runtime / 60) if runtime is not None else "?",
    }
    ids, check = (target_id,), "power"
    min_charge, min_runtime = floor
    if not result.ok and result.reason != Reason.LOW_BATTERY:
        found = text("preflight.power.failed", **values, reason=ReasonCode(result.reason))
        return Row(check, PROBLEM, ids, found, text("preflight.power.failed_todo"))
    if result.extra.get(gauges.on_battery) == 1.0 or result.reason == Reason.ON_BATTERY:
        return Row(
            check, PROBLEM, ids, text("preflight.power.on_battery", **values), text("preflight.power.mains_todo")
        )
    low_charge = min_charge is not None and charge is not None and charge * 100 < min_charge
    low_runtime = min_runtime is not None and runtime is not None and runtime < min_runtime
    if result.reason == Reason.LOW_BATTERY or low_charge or low_runtime:
        floors = {
            "min_charge": f"{min_charge:g}" if min_charge is not None else "—",
            "min_runtime": format_duration(min_runtime) if min_runtime is not None else "—",
        }
        found = text("preflight.power.low", **values, **floors)
        return Row(check, PROBLEM, ids, found, text("preflight.power.low_todo"))
    if result.reason == Reason.REPLACE_BATTERY:
        found = text("preflight.power.replace", **values)
        return Row(check, PROBLEM, ids, found, text("preflight.power.replace_todo"))
    if result.reason in UPS_ATTENTION:
        found = text("preflight.power.attention", **values, reason=ReasonCode(result.reason))
        return Row(check, WARNING, ids, found, text("preflight.power.attention_todo"))
    return Row(check, OK, ids, text("preflight.power.ok", **values))


def cameras(f: Facts) -> list[Row]:
    """Every target whose probe proves video streams (`streams`): its last result passed."""
    if not f.history.available:
        return []
    rows: list[Row] = []
    streaming: list[str] = []
    unknown: list[str] = []
    for target in f.config.targets.values():
        if not streams(target):
            continue
        result = f.history.last_results.get(target.id)
        if result is None:
            unknown.append(target.id)
        elif result.ok:
            streaming.append(target.id)
        else:
            found = text("preflight.camera.not_streaming", at=Moment(result.started), reason=ReasonCode(result.reason))
            rows.append(Row("cameras", PROBLEM, (target.id,), found, text("preflight.camera.not_streaming_todo")))
    if unknown:
        found = text("preflight.camera.unknown", count=len(unknown))
        rows.append(Row("cameras", WARNING, tuple(unknown), found, text("preflight.camera.unknown_todo")))
    if streaming:
        rows.append(Row("cameras", OK, tuple(streaming), text("preflight.camera.ok", count=len(streaming))))
    return rows


def alerted(config: Config, target: Target) -> bool:
    """Whether someone hears of the target going down."""
    return any(n in config.notifiers and "down" in config.notifiers[n].events for n in target.notify)


def notify(f: Facts) -> list[Row]:
    config = f.config
    if not config.notifiers:
        return [Row("notify", PROBLEM, (), text("preflight.notify.none"), text("preflight.notify.none_todo"))]
    silent = [t.id for t in config.targets.values() if not alerted(config, t)]
    heard = len(config.targets) - len(silent)
    rows = []
    if silent:
        found = text("preflight.notify.nobody", count=len(silent))
        rows.append(Row("notify", WARNING, tuple(silent), found, text("preflight.notify.nobody_todo")))
    if heard:
        ids = tuple(t.id for t in config.targets.values() if t.id not in silent)
        rows.append(Row("notify", OK, ids, text("preflight.notify.ok", count=heard)))
    return rows


def notifiers(f: Facts) -> list[Row]:
    rows: list[Row] = []
    fine: list[str] = []
    scrub = scrubber(f.config)
    for name in f.config.notifiers:
        past = _delivery(f, name, scrub)
        if f.sent is not None and name in f.sent:
            error = f.sent[name]
            rows.append(_tested(name, error, scrub))
            if past is not None and past.found.key == "preflight.notifier.unused":
                past = None  # the test message just used it
            elif past is not None and past.status is PROBLEM and error is None:
                past = replace(past, status=WARNING, todo=text("preflight.notifier.tested_todo"))
        if past is None:
            continue
        if past.status is OK:
            fine.append(name)
        else:
            rows.append(past)
    if fine:
        rows.append(Row("notifiers", OK, tuple(fine), text("preflight.notifier.ok", count=len(fine))))
    return rows


def _tested(name: str, error: str | None, scrub: Callable[[str | None], str]) -> Row:
    """`--send-test`'s outcome for one notifier."""
    if error is None:
        return Row("notifiers", OK, (name,), text("preflight.notifier.test_delivered"))
    found = text("preflight.notifier.test_failed", error=scrub(error))
    return Row("notifiers", PROBLEM, (name,), found, text("preflight.notifier.fix_todo"))


def _delivery(f: Facts, name: str, scrub: Callable[[str | None], str]) -> Row | None:
    """What the outbox tells of one notifier's deliveries."""
    entries = f.history.outbox
    if entries is None and f.inside:
        return None  # a process without alerting: nothing to tell
    mine = [e for e in entries or () if e.notifier == name]  # newest first
    final = next((e for e in mine if e.status in (DELIVERED, FAILED)), None)
    retrying = next((e for e in mine if e.status == PENDING and e.attempts > 0), None)
    failed = [e for e in mine if e.status == FAILED]
    fix = text("preflight.notifier.fix_todo")
    latest = retrying or (final if final is not None and final.status == FAILED else None)
    if latest is not None:
        found = text("preflight.notifier.failing", at=Moment(_when(latest)), error=scrub(latest.error))
        return Row("notifiers", PROBLEM, (name,), found, fix)
    if failed:
        found = text(
            "preflight.notifier.lost", count=len(failed), at=Moment(_when(failed[0])), error=scrub(failed[0].error)
        )
        return Row("notifiers", WARNING, (name,), found, fix)
    if final is None:
        return Row(
            "notifiers", WARNING, (name,), text("preflight.notifier.unused"), text("preflight.notifier.unused_todo")
        )
    return Row("notifiers", OK, (name,), text("preflight.notifier.ok", count=1))


def _when(entry: Entry) -> float:
    return entry.done_at if entry.done_at is not None else entry.created


def scrubber(config: Config) -> Callable[[str | None], str]:
    """An error text without the notifiers' secrets or the heartbeat URL (its path is the
    secret): rows are printed and pinned on walls."""
    # Imported here: `monitor.web`'s package imports the runtime, which imports this.
    from monitor.web.masking import scrub, secret_values

    found: set[str] = set()
    for nc in config.notifiers.values():
        kind = NOTIFIERS.get(nc.type)
        found.update(secret_values(nc.spec, kind.secrets if kind else ()))
    url = config.settings.heartbeat_url
    if url:
        found.update((url, url.split("?")[0].rstrip("/").rpartition("/")[2]))
    return lambda error: scrub(error, found)


def deadman(f: Facts) -> list[Row]:
    url = f.config.settings.heartbeat_url
    if not url:
        return [Row("deadman", WARNING, (), text("preflight.deadman.off"), text("preflight.deadman.off_todo"))]
    state = f.deadman
    if state is None or state.url_key != url_key(url) or state.last_ping is None:
        return [Row("deadman", WARNING, (), text("preflight.deadman.never"), text("preflight.deadman.never_todo"))]
    if state.last_ok is False:
        error = scrubber(f.config)(state.last_error)
        found = text("preflight.deadman.failing", at=Moment(state.last_ping), error=error)
        return [Row("deadman", PROBLEM, (), found, text("preflight.deadman.failing_todo"))]
    success = state.last_success or 0.0
    if f.now - success > DEADMAN_STALE:
        found = text("preflight.deadman.stale", at=Moment(success))
        return [Row("deadman", PROBLEM, (), found, text("preflight.deadman.stale_todo"))]
    return [Row("deadman", OK, (), text("preflight.deadman.ok", at=Moment(success)))]


def projected_bytes(config: Config, now: float, end: float) -> int:
    """What the store may need until `end`: every target's raw window (at most
    `raw_retention` of results at its interval), its rollups and events for each day
    until `end`, and `STORE_RESERVE`. An upper bound: a store already holding the raw
    window needs less."""
    days = max(end - now, 0.0) / DAY
    retention = config.settings.raw_retention
    raw = sum(retention / max(t.interval, 1e-3) for t in config.targets.values()) * RAW_RESULT_BYTES
    rest = len(config.targets) * days * HISTORY_BYTES_PER_TARGET_DAY
    return int(raw + rest) + STORE_RESERVE


def storage(f: Facts) -> list[Row]:
    if f.folder is None:
        found = text("preflight.storage.server", where=f.history.where)
        return [Row("storage", WARNING, (), found, text("preflight.storage.server_todo"))]
    needed = projected_bytes(f.config, f.now, f.window.end)
    if f.free is None:
        found = text("preflight.storage.unknown", folder=str(f.folder))
        return [Row("storage", WARNING, (), found, text("preflight.storage.free_todo", needed=Size(needed)))]
    values: dict[str, Value] = {
        "folder": str(f.folder),
        "free": Size(f.free),
        "needed": Size(needed),
        "end": Moment(f.window.end),
    }
    todo = text("preflight.storage.free_todo", needed=Size(2 * needed))
    if f.free < needed:
        return [Row("storage", PROBLEM, (), text("preflight.storage.full", **values), todo)]
    if f.free < 2 * needed:
        return [Row("storage", WARNING, (), text("preflight.storage.tight", **values), todo)]
    return [Row("storage", OK, (), text("preflight.storage.ok", **values))]


def integrity(f: Facts) -> list[Row]:
    found = f.history.integrity
    if not f.history.available or (found is None and f.history.error is not None):
        return []
    if found is None:
        return []
    if found.problem is not None and found.reads_pages:
        values = text("preflight.integrity.failed", damage=found.problem)
        return [Row("integrity", PROBLEM, (), values, text("preflight.integrity.failed_todo"))]
    if found.problem is not None:
        values = text("preflight.integrity.unusable", problem=found.problem)
        return [Row("integrity", PROBLEM, (), values, text("preflight.integrity.unusable_todo"))]
    if not found.finished:
        return [Row("integrity", WARNING, (), text("preflight.integrity.unfinished"), text("preflight.again_todo"))]
    return [
        Row("integrity", OK, (), text("preflight.integrity.ok" if found.reads_pages else "preflight.integrity.server"))
    ]


def storage_health(f: Facts) -> list[Row]:
    """Whether the running store takes writes now (`StoreHealth`); only the monitor
    itself knows, so only the admin view and the alert at a watch's start show it."""
    health = f.storage
    if health is None:
        return []
    if not health.ok:
        values: dict[str, Value] = {
            "since": Moment(health.since) if health.since is not None else "—",
            "problem": _storage_words(health),
            "waiting": health.waiting,
        }
        found = text("preflight.store_health.failing", **values)
        return [Row("storage_health", PROBLEM, (), found, text("preflight.store_health.failing_todo"))]
    if health.dropped:
        found = text("preflight.store_health.dropped", dropped=health.dropped)
        return [Row("storage_health", WARNING, (), found, text("preflight.store_health.dropped_todo"))]
    return [Row("storage_health", OK, (), text("preflight.store_health.ok"))]


def _storage_words(health: StoreHealth) -> Value:
    key = STORAGE_WORDS.get(health.reason)
    return Phrase(key) if key is not None else health.reason or "—"


def instances(f: Facts) -> list[Row]:
    return [Row("instances", WARNING, (), text("preflight.instances.single"), text("preflight.instances.single_todo"))]


def connectivity(f: Facts) -> list[Row]:
    """`[monitor] connectivity` configured, and inside the running monitor whether it is
    cut off now (`monitor.connectivity`)."""
    checks = tuple(c.id for c in f.config.settings.connectivity)
    if not checks:
        found, todo = text("preflight.connectivity.none"), text("preflight.connectivity.none_todo")
        return [Row("connectivity", WARNING, (), found, todo)]
    uplink = f.uplink
    if uplink is not None and uplink.state is Uplink.OFFLINE:
        since: Value = Moment(uplink.since) if uplink.since is not None else "—"
        found = text("preflight.connectivity.offline", since=since, count=len(checks))
        return [Row("connectivity", PROBLEM, checks, found, text("preflight.connectivity.offline_todo"))]
    if uplink is not None and uplink.state is Uplink.UNKNOWN:
        found = text("preflight.connectivity.undecided", count=len(checks))
        return [Row("connectivity", WARNING, checks, found, text("preflight.again_todo"))]
    key = "preflight.connectivity.online" if uplink is not None else "preflight.connectivity.ok"
    return [Row("connectivity", OK, checks, text(key, count=len(checks)))]


def open_files(f: Facts) -> list[Row]:
    # `monitor.web`'s package imports the runtime, which imports this: import here.
    from monitor.web.guard import connection_budget, open_files_needed

    in_flight = min(len(f.config.targets), IN_FLIGHT)  # as `monitor run` counts them
    needed = open_files_needed(in_flight)
    if f.unit is not None:
        key = "preflight.files.unit_default" if f.unit.default else "preflight.files.unit"
        limit, values = f.unit.limit, {"unit": str(f.unit.path)}
    else:
        key = "preflight.files.monitor" if f.inside else "preflight.files.shell"
        limit, values = f.open_files, {}
    shown = str(limit) if limit is not None else "infinity"
    found = Text(key, {**values, "limit": shown, "needed": needed, "targets": len(f.config.targets)})
    raise_it = text("preflight.files.raise_todo", needed=needed)
    if limit is not None and connection_budget(limit, in_flight)[1] is not None:
        return [Row("open_files", PROBLEM, (), found, raise_it)]
    if limit is not None and limit < needed:
        return [Row("open_files", WARNING, (), found, raise_it)]
    return [Row("open_files", OK, (), found)]


def clock(f: Facts) -> list[Row]:
    sync = f.clock
    if sync is None:
        return [Row("clock", WARNING, (), text("preflight.clock.unknown"), text("preflight.clock.sync_todo"))]
    if not sync.synchronised:
        found = text("preflight.clock.unsynced", error=round(sync.max_error, 1))
        return [Row("clock", WARNING, (), found, text("preflight.clock.sync_todo"))]
    offset = round(sync.offset * 1000, 1)
    if abs(sync.offset) > CLOCK_OFFSET_WARN:
        return [
            Row("clock", WARNING, (), text("preflight.clock.offset", offset=offset), text("preflight.clock.sync_todo"))
        ]
    return [Row("clock", OK, (), text("preflight.clock.ok", offset=offset))]


def maintenance(f: Facts) -> list[Row]:
    start, end = f.window.start, f.window.end
    windows: list[tuple[float, float, tuple[str, ...], tuple[str, ...], str]] = []
    for w in f.config.maintenance:
        windows.append((w.start.timestamp(), w.end.timestamp(), w.targets, w.groups, w.reason))
    for p in f.history.planned:
        windows.append((p.start, p.end, p.targets, p.groups, p.reason))
    inside = sorted(w for w in windows if w[0] < end and w[1] > start)
    if not inside:
        return [Row("maintenance", OK, (), text("preflight.maintenance.none"))]
    return [
        Row(
            "maintenance",
            OK,
            targets,
            text(
                "preflight.maintenance.window",
                start=Moment(a),
                end=Moment(b),
                groups=", ".join(groups) or "—",
                reason=reason or "—",
            ),
        )
        for a, b, targets, groups, reason in inside
    ]


def _ids(pairs: Iterable[tuple[str, int]]) -> tuple[str, ...]:
    return tuple(tid for tid, _ in pairs)


CHECKS: tuple[Check, ...] = (
    history,
    certificates,
    domains,
    states,
    availability,
    power,
    cameras,
    notify,
    notifiers,
    deadman,
    storage,
    integrity,
    storage_health,
    instances,
    connectivity,
    open_files,
    clock,
    maintenance,
)
"""Every check, in the order the checklist reads (within each status)."""


def run_checks(f: Facts, checks: Iterable[Check] = CHECKS) -> list[Row]:
    return [row for check in checks for row in check(f)]
