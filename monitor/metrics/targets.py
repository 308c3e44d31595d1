"""The per-target families of `/metrics`, written by one template per family.

At 20,000 targets these are 40 lines a target, 800,000 lines a scrape: one `Writer.add`
per line (a format, a float repr, an append) cost 0.54 CPU-s. Here each family's lines of
one target are one `%`-format of a template made once (the histogram's 13 lines are one
format), and a target's label set `target="id"` is made once per scrape. Each family is
one pass over the targets, written when the writer's `pieces()` reaches it
(`Writer.fill`), `CHUNK` targets' lines joined into one string at a time: a scrape holds
a chunk of its text, not the whole (~2 KB a target, 42 MB at 20,000 held until sent
before). A kind of a fixed `shape` (http) has its values read once per target and one
template per gauge. The scrape writes in a thread beside the event loop: measured against writing on the loop in
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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, TypeVar

from monitor.metrics.exposition import SHARED_GAUGES, Writer, label, number
from monitor.probes import PROBES
from monitor.result import Result, State

if TYPE_CHECKING:
    from monitor.config import Target
    from monitor.probes import ProbeKind
    from monitor.state import Status

    _Row = tuple[str, str, Target, Status]  # (`target="id"`, id, target, status)
    _BlackboxRow = tuple[str, Result, Target, ProbeKind | None]  # (labels, last result, target, kind)

SUCCESS, DURATION_GAUGE = "probe_success", "probe_duration_seconds"
LOOKUP, EXPIRY = "probe_dns_lookup_time_seconds", "probe_ssl_earliest_cert_expiry"

CHUNK = 2000  # targets whose lines are joined into one string per family
HOLE = "\x00"  # where a template's label set goes, filled by `str.replace`
_T = TypeVar("_T")

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
            # The labels' holes as `HOLE`, filled by one `replace` after the values'
            # format: 20 % less than interleaving 26 arguments (target ids and label
            # sets never hold a NUL).
            template = _TEMPLATES[key] = histogram_template(family, self.bounds, bool(labels)).replace("%s", HOLE)
        text = template % (*accumulate(self.counts), self.total, self.sum)
        return text.replace(HOLE, labels) if labels else text


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
    combined state), in the configuration's order, written when the writer's `pieces()`
    reaches them. `uptime(target, labels)`: its uptime lines; `labels`: a constant label
    set put before the target's on the per-probe families (`name="v",`, or empty);
    `own`: this instance's own statuses, whose probe counts those families show
    (default: `statuses`)."""
    for name, kind, doc in FAMILIES:
        writer.family(name, kind, doc)
    counted = statuses if own is None else own
    writer.fill([f[0] for f in FAMILIES], lambda: _target_lines(targets, statuses, durations, uptime, labels, counted))


def _target_lines(
    targets: Mapping[str, Target],
    statuses: Mapping[str, Status],
    durations: Mapping[str, Buckets],
    uptime: Callable[[str, str], str],
    labels: str,
    own: Mapping[str, Status],
) -> Iterator[tuple[str, str]]:
    """One pass over the targets per family, `CHUNK` targets' lines joined at a time:
    only a chunk of the text is held (a pass costs ~1 ms at 20,000 targets)."""
    rows = [
        (f'target="{label(tid)}"', tid, target, st)
        for tid, target in targets.items()
        if (st := statuses.get(tid)) is not None
    ]
    unknown = State.UNKNOWN
    for part in _parts(rows):
        yield (
            UP,
            "".join(
                [
                    f"{UP}{{{t}}} {'1.0' if st.underlying.is_up else '0.0'}\n"
                    for t, _, _, st in part
                    if st.state is not unknown and st.underlying is not unknown
                ]
            ),
        )
    for part in _parts(rows):
        yield STATE, "".join([_STATES[st.state] % ((t,) * _STATE_ARITY) for t, _, _, st in part])
    for part in _parts(rows):
        yield (
            INFO,
            "".join(
                [
                    f'{INFO}{{group="{label(target.group)}",kind="{label(target.kind)}",'
                    f'name="{label(target.name)}",{t}}} 1.0\n'
                    for t, _, target, _ in part
                ]
            ),
        )
    for part in _parts(rows):
        yield (
            MAINTENANCE,
            "".join([f"{MAINTENANCE}{{{t}}} {'1.0' if st.maintenance else '0.0'}\n" for t, _, _, st in part]),
        )
    for part in _parts(rows):
        yield UPTIME, "".join([uptime(tid, t) for t, tid, _, _ in part])
    for part in _parts(rows):
        yield (
            PROBES_TOTAL,
            "".join(
                [
                    _PROBES % (labels, t, counts[True], labels, t, counts[False])
                    for t, tid, _, st in part
                    for counts in (own.get(tid, st).counts,)
                ]
            ),
        )
    for part in _parts(rows):
        yield (
            DURATION,
            "".join([b.text(DURATION, labels + t) for t, tid, _, _ in part if (b := durations.get(tid)) is not None]),
        )


def _parts(rows: list[_T]) -> Iterator[list[_T]]:
    """`rows` `CHUNK` at a time."""
    for i in range(0, len(rows), CHUNK):
        yield rows[i : i + CHUNK]


def write_blackbox(
    writer: Writer, targets: Mapping[str, Target], statuses: Mapping[str, Status], labels: str = ""
) -> None:
    """The blackbox exporter's names from each target's last result, into the families
    `declare_blackbox` declared (every family the writer holds from the first of them
    on, in their order), written when the writer reaches them, `CHUNK` targets at a time
    like `write_targets`. `exposition.blackbox_samples` written out in place (the
    general path, which `/probe` uses; tests/metrics/test_fastpath.py holds the two
    equal)."""
    names = writer.names(SUCCESS)
    writer.fill(names, lambda: _blackbox_lines(names, targets, statuses, labels))


def _blackbox_lines(
    names: Sequence[str], targets: Mapping[str, Target], statuses: Mapping[str, Status], labels: str
) -> Iterator[tuple[str, str]]:
    """One pass per shared gauge; one for the kinds' `samples` (the first of their
    families passed on as it comes, the others held until the pass ends) and one for
    the results' `extra`, held likewise."""
    kinds = PROBES
    rows = [
        (f'{labels}target="{label(tid)}"', result, target, kinds.get(target.kind))
        for tid, status in statuses.items()
        if (result := status.last) is not None and (target := targets.get(tid)) is not None
    ]
    for part in _parts(rows):
        yield SUCCESS, "".join([f"{SUCCESS}{{{t}}} {'1.0' if r.ok else '0.0'}\n" for t, r, _, _ in part])
    for part in _parts(rows):
        yield DURATION_GAUGE, "".join([f"{DURATION_GAUGE}{{{t}}} {_number(r.duration)}\n" for t, r, _, _ in part])
    for kind in PROBES.values():  # each kind's gauges, in the order they were declared
        if kind.samples is None:
            continue
        mine = [row for row in rows if row[3] is kind]
        templates = _shape_templates(kind.shape) if kind.values is not None else None
        if templates is not None and kind.values is not None:
            yield from _shaped(kind.values, templates, mine)
        elif mine:
            yield from _held(names, _first(names, mine, lambda k: k.gauges), _kind_samples(mine))
    for part in _parts(rows):
        yield (
            EXPIRY,
            "".join(
                [f"{EXPIRY}{{{t}}} {_number(r.cert_expiry)}\n" for t, r, _, _ in part if r.cert_expiry is not None]
            ),
        )
    for part in _parts(rows):
        yield (
            LOOKUP,
            "".join(
                [f"{LOOKUP}{{{t}}} {_number(v)}\n" for t, r, _, _ in part if (v := r.phases.get("resolve")) is not None]
            ),
        )
    yield from _held(names, _first(names, rows, lambda kind: kind.metrics), _extra_samples(rows))


# Per gauge of a kind's `shape`: its lines' templates (`%r` for finite values, `%s` for
# `number`'s text of any), the slice of the shape's values it writes.
_Shaped = tuple[str, str, str, int, int]


def _shape_templates(shape: tuple[tuple[str, str], ...]) -> list[_Shaped] | None:
    """The templates of a kind's `shape`, `HOLE` for the label set; None when a gauge's
    samples are not contiguous in it (then the general path writes them)."""
    out: list[_Shaped] = []
    for i, (name, _) in enumerate(shape):
        if out and out[-1][0] == name:
            continue
        if any(entry[0] == name for entry in out):
            return None
        end = next((j for j in range(i, len(shape)) if shape[j][0] != name), len(shape))
        heads = [f"{name}{{{extra},".replace("%", "%%") if extra else f"{name}{{" for _, extra in shape[i:end]]
        finite, any_value = ("".join(f"{head}{HOLE}}} {hole}\n" for head in heads) for hole in ("%r", "%s"))
        out.append((name, finite, any_value, i, end))
    return out


def _shaped(
    values: Callable[[Target, Result], tuple[float, ...]], templates: list[_Shaped], rows: list[_BlackboxRow]
) -> Iterator[tuple[str, str]]:
    """A fixed-shape kind's samples (`ProbeKind.shape`): its values read once per
    target, then one pass per gauge, one `%`-format and one `replace` per target and
    gauge."""
    table = []
    for t, result, target, _ in rows:
        vals = values(target, result)
        total = sum(vals)
        table.append((t, vals, total - total == 0))  # False: an infinity or NaN among them
    for name, finite, any_value, start, end in templates:
        for part in _parts(table):
            yield (
                name,
                "".join(
                    [
                        (
                            finite % vals[start:end] if ok else any_value % tuple(number(v) for v in vals[start:end])
                        ).replace(HOLE, t)
                        for t, vals, ok in part
                    ]
                ),
            )


def _kind_samples(rows: list[_BlackboxRow]) -> Iterator[dict[str, list[str]]]:
    """Each chunk's lines of the kinds' own gauges, by family."""
    for part in _parts(rows):
        pending: dict[str, list[str]] = {}
        for t, result, target, kind in part:
            if kind is None or kind.samples is None:
                continue
            for name, extra, value in kind.samples(target, result):  # `_line`, written out: the usual case
                lines = pending.get(name)
                if lines is None:
                    lines = pending[name] = []
                v = repr(float(value)) if value - value == 0 else number(value)
                lines.append(f"{name}{{{extra},{t}}} {v}\n" if extra else f"{name}{{{t}}} {v}\n")
        yield pending


def _extra_samples(rows: list[_BlackboxRow]) -> Iterator[dict[str, list[str]]]:
    """Each chunk's lines of the kinds' `metrics` the results carry in `extra`."""
    shared = SHARED_GAUGES
    for part in _parts(rows):
        pending: dict[str, list[str]] = {}
        for t, result, _, kind in part:
            if kind is not None and result.extra:
                own = kind.metrics
                for key, value in result.extra.items():
                    name, labelled, extra = key.partition("{")
                    if name in own and name not in shared:
                        _line(pending, name, extra[:-1] if labelled else "", t, value)
        yield pending


def _held(names: Sequence[str], first: str | None, chunks: Iterator[dict[str, list[str]]]) -> Iterator[tuple[str, str]]:
    """(family, text) of a pass that writes several families: `first`'s (the first in
    `names`' order it can write) passed on chunk by chunk, the others' kept and passed
    on after the pass, in `names`' order."""
    rank = {name: i for i, name in enumerate(names)}
    held: dict[str, list[str]] = {}
    for pending in chunks:
        for name, lines in pending.items():
            if name == first:
                yield name, "".join(lines)
            else:
                held.setdefault(name, []).append("".join(lines))
    for name in sorted(held, key=rank.__getitem__):
        for text in held[name]:
            yield name, text


def _first(names: Sequence[str], rows: list[_BlackboxRow], of: Callable[[ProbeKind], Iterable[str]]) -> str | None:
    """The first family in `names` that `of(kind)` names for a kind among `rows`."""
    kinds = {id(kind): kind for _, _, _, kind in rows if kind is not None}
    possible = {name for kind in kinds.values() for name in of(kind)}
    return next((name for name in names if name in possible), None)


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
