"""The per-target families of `/metrics`, written by one template per family.

At 20,000 targets these are 40 lines a target, 800,000 lines a scrape: one `Writer.add`
per line (a format, a float repr, an append) cost 0.54 CPU-s. Here each family's lines of
one target are one `%`-format of a template made once (the histogram's 13 lines are one
format), and a target's label set `target="id"` is made once per scrape. The lines of
`CHUNK` targets are joined into one string per family before the next chunk, so a scrape
holds a few large strings rather than a million small ones (large strings go back to the
system when the scrape is done; small ones stay in Python's arenas). The scrape
writes in a thread beside the event loop: measured against writing on the loop in
slices of 100 targets with a yield between (`BENCHMARKS.md`), the thread kept a loopback
exchange's p99 at 0.3-0.7 ms where the slices made it 11-17 ms.

A constant label set of an instance's own probes (`location="x"` once a location is set,
`Metrics.labels`) is one more prefix: pass `labels='location="x",'` and the label set of
every per-probe series (the blackbox names, `monitor_probes_total`,
`monitor_probe_duration_seconds`) starts with it; the combined state's families
(`monitor_target_up`, `_state`, `_info`, `_maintenance`, `_uptime_ratio`) never carry it.

Nothing is cached between scrapes: a per-target text kept from one probe to the next
would cost ~1.9 KB per target (the text itself), against a budget of 5 KB per target,
and rendering it anew costs less than a microsecond a line.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from itertools import accumulate
from typing import TYPE_CHECKING

from monitor.metrics.exposition import SHARED_GAUGES, Writer, label, number
from monitor.probes import PROBES
from monitor.result import State

if TYPE_CHECKING:
    from monitor.config import Target
    from monitor.state import Status

SUCCESS, DURATION_GAUGE = "probe_success", "probe_duration_seconds"
LOOKUP, EXPIRY = "probe_dns_lookup_time_seconds", "probe_ssl_earliest_cert_expiry"

CHUNK = 2000  # targets whose lines are joined into one string per family

UP = "monitor_target_up"
STATE = "monitor_target_state"
INFO = "monitor_target_info"
MAINTENANCE = "monitor_target_maintenance"
UPTIME = "monitor_target_uptime_ratio"
PROBES_TOTAL = "monitor_probes_total"
DURATION = "monitor_probe_duration_seconds"

FAMILIES: tuple[tuple[str, str, str], ...] = (
    (UP, "gauge", "State after thresholds: 1 UP/DEGRADED, 0 DOWN."),
    (STATE, "gauge", "1 for the current state, 0 for the others."),
    (INFO, "gauge", "Target metadata; always 1."),
    (MAINTENANCE, "gauge", "1 inside a maintenance window."),
    (UPTIME, "gauge", "Availability from the stored history, maintenance excluded."),
    (PROBES_TOTAL, "counter", "Probes run, by result."),
    (DURATION, "histogram", "Probe durations in seconds."),
)


_PROBES = f'{PROBES_TOTAL}{{%sresult="success",%s}} %d.0\n{PROBES_TOTAL}{{%sresult="failure",%s}} %d.0\n'


def _state_templates() -> dict[State, str]:
    """Per shown state, the five `monitor_target_state` lines with `%s` for the labels."""
    return {
        shown: "".join(f'{STATE}{{state="{s.value}",%s}} {"1.0" if s is shown else "0.0"}\n' for s in State)
        for shown in State
    }


_STATES = _state_templates()
_STATE_ARITY = len(State)


def histogram_template(family: str, bounds: Iterable[float], labelled: bool = True) -> str:
    """A histogram's lines with `%d`/`%r` for its values and, when `labelled`, `%s` for
    the labels before each: (labels, cumulative count) per bucket and `+Inf`, (labels,
    count), (labels, sum). Labels come after `le`, as prometheus-client writes them."""
    hole, sep = ("%s", ",") if labelled else ("", "")
    les = [number(b) for b in bounds] + ["+Inf"]
    lines = [f'{family}_bucket{{le="{le}"{sep}{hole}}} %d.0\n' for le in les]
    if labelled:
        return "".join(lines) + f"{family}_count{{%s}} %d.0\n{family}_sum{{%s}} %r\n"
    return "".join(lines) + f"{family}_count %d.0\n{family}_sum %r\n"


_TEMPLATES: dict[tuple[str, tuple[float, ...], bool], str] = {}


class Buckets:
    """A histogram kept as plain counts (cheaper than a labelled prometheus Histogram),
    written by a template."""

    __slots__ = ("bounds", "counts", "sum", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += 1
        self.sum += value

    def text(self, family: str, labels: str) -> str:
        """The `_bucket`, `_count` and `_sum` lines, each labelled `labels` (may be
        empty; its label names must sort after `le`)."""
        key = (family, self.bounds, bool(labels))
        template = _TEMPLATES.get(key)
        if template is None:
            template = _TEMPLATES[key] = histogram_template(family, self.bounds, bool(labels))
        values = [*accumulate(self.counts), self.total, self.sum]
        if not labels:
            return template % tuple(values)
        args: list[object] = [labels] * (2 * len(values))
        args[1::2] = values
        return template % tuple(args)


def write_targets(
    writer: Writer,
    targets: Mapping[str, Target],
    statuses: Mapping[str, Status],
    durations: Mapping[str, Buckets],
    uptime: Callable[[str, str], str],
    labels: str = "",
    own: Mapping[str, Status] | None = None,
) -> None:
    """The families of `FAMILIES` for every configured target with a status (the shown,
    combined state), in the configuration's order. `uptime(target, labels)`: its uptime
    lines; `labels`: a constant label set put before the target's on the per-probe
    families (`name="v",`, or empty); `own`: this instance's own statuses, whose probe
    counts those families show (default: `statuses`)."""
    own = statuses if own is None else own
    names = [f[0] for f in FAMILIES]
    for name, kind, doc in FAMILIES:
        writer.family(name, kind, doc)
    pending: dict[str, list[str]] = {name: [] for name in names}
    up, state, info, maint = pending[UP], pending[STATE], pending[INFO], pending[MAINTENANCE]
    ratios, probes, hist = pending[UPTIME], pending[PROBES_TOTAL], pending[DURATION]
    unknown = State.UNKNOWN
    done = 0
    for tid, target in targets.items():
        st = statuses.get(tid)
        if st is None:
            continue
        t = f'target="{label(tid)}"'
        info.append(
            f'{INFO}{{group="{label(target.group)}",kind="{label(target.kind)}",'
            f'name="{label(target.name)}",target="{label(tid)}"}} 1.0\n'
        )
        if st.state is not unknown and st.underlying is not unknown:
            up.append(f"{UP}{{{t}}} {'1.0' if st.underlying.is_up else '0.0'}\n")
        state.append(_STATES[st.state] % ((t,) * _STATE_ARITY))
        maint.append(f"{MAINTENANCE}{{{t}}} {'1.0' if st.maintenance else '0.0'}\n")
        counts = own.get(tid, st).counts
        probes.append(_PROBES % (labels, t, counts[True], labels, t, counts[False]))
        buckets = durations.get(tid)
        if buckets is not None:
            hist.append(buckets.text(DURATION, labels + t))
        lines = uptime(tid, t)
        if lines:
            ratios.append(lines)
        done += 1
        if done % CHUNK == 0:
            _seal(writer, pending)
    _seal(writer, pending)


def write_blackbox(
    writer: Writer, targets: Mapping[str, Target], statuses: Mapping[str, Status], labels: str = ""
) -> None:
    """The blackbox exporter's names from each target's last result, into the families
    `declare_blackbox` declared, sealed per `CHUNK` targets like `write_targets`.
    `exposition.blackbox_samples` written out in place (the general path, which
    `/probe` uses; tests/metrics/test_fastpath.py holds the two equal)."""
    pending: dict[str, list[str]] = {}
    success, duration = pending[SUCCESS], pending[DURATION_GAUGE] = [], []
    lookup, expiry = pending[LOOKUP], pending[EXPIRY] = [], []
    done = 0
    kinds = PROBES
    shared = SHARED_GAUGES
    for tid, status in statuses.items():
        result, target = status.last, targets.get(tid)
        if result is None or target is None:
            continue
        t = f'{labels}target="{label(tid)}"'
        success.append(f"{SUCCESS}{{{t}}} {'1.0' if result.ok else '0.0'}\n")
        duration.append(f"{DURATION_GAUGE}{{{t}}} {_number(result.duration)}\n")
        kind = kinds.get(target.kind)
        if kind is not None and kind.samples is not None:
            for name, extra, value in kind.samples(target, result):  # `_line`, written out: the usual case
                lines = pending.get(name)
                if lines is None:
                    lines = pending[name] = []
                v = repr(float(value)) if value - value == 0 else number(value)
                lines.append(f"{name}{{{extra},{t}}} {v}\n" if extra else f"{name}{{{t}}} {v}\n")
        resolve = result.phases.get("resolve")
        if resolve is not None:
            lookup.append(f"{LOOKUP}{{{t}}} {_number(resolve)}\n")
        if result.cert_expiry is not None:
            expiry.append(f"{EXPIRY}{{{t}}} {_number(result.cert_expiry)}\n")
        if kind is not None and result.extra:
            own = kind.metrics
            for key, value in result.extra.items():
                name, labelled, extra = key.partition("{")
                if name in own and name not in shared:
                    _line(pending, name, extra[:-1] if labelled else "", t, value)
        done += 1
        if done % CHUNK == 0:
            _seal(writer, pending)
    _seal(writer, pending)


def _line(pending: dict[str, list[str]], name: str, extra: str, labels: str, value: float) -> None:
    lines = pending.get(name)
    if lines is None:
        lines = pending[name] = []
    lines.append(
        f"{name}{{{extra},{labels}}} {_number(value)}\n" if extra else f"{name}{{{labels}}} {_number(value)}\n"
    )


def _number(value: float) -> str:
    """`exposition.number`, its usual case first."""
    return repr(float(value)) if value - value == 0 else number(value)


def _seal(writer: Writer, pending: Mapping[str, list[str]]) -> None:
    for name, lines in pending.items():
        if lines:
            writer.extend(name, "".join(lines))
            lines.clear()
