"""Hourly rollups: the running aggregate of one target's probes in one hour, and its
compact on-disk form.

A rollup row must stay small (8,760 rows per target per year within a 1 MB budget), so
latencies are whole microseconds (SQLite stores small integers in 1-4 bytes) and the
histogram is sparse: for each non-empty bucket one byte of index and the count as a
LEB128 varint — a steady service fills three to six buckets, about ten bytes.
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, MutableSequence, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.store import LATENCY_BUCKETS, Rollup, StoredResult, latency_bucket

HOUR = 3600


def encode_histogram(counts: Iterable[int]) -> bytes:
    """Sparse varint encoding of a histogram (see the module doc)."""
    out = bytearray()
    for index, count in enumerate(counts):
        if count <= 0:
            continue
        out.append(index)
        _varint(out, count)
    return bytes(out)


def _varint(out: bytearray, value: int) -> None:
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte, pos = data[pos], pos + 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def decode_histogram(data: bytes | None) -> list[int]:
    """The inverse of `encode_histogram`: a full list of `LATENCY_BUCKETS` counts."""
    counts = [0] * LATENCY_BUCKETS
    pos, size = 0, len(data or b"")
    while data and pos < size:
        index, pos = data[pos], pos + 1
        value, pos = _read_varint(data, pos)
        if index < LATENCY_BUCKETS:
            counts[index] += value
    return counts


@dataclass(slots=True)
class Accumulator:
    """One (target, hour) aggregate while the writer fills it. Latencies in µs."""

    count: int = 0
    failures: int = 0
    degraded: int = 0
    maintenance: int = 0
    lat_count: int = 0
    lat_sum: int = 0
    lat_min: int | None = None
    lat_max: int | None = None
    # Kept as 32-bit counts (`array`): 352 bytes, not a list's 632, for each target's
    # current hour in the writer; a list given is taken as such.
    hist: MutableSequence[int] = field(default_factory=lambda: array("I", bytes(4 * LATENCY_BUCKETS)))

    def __post_init__(self) -> None:
        if not isinstance(self.hist, array):
            self.hist = array("I", self.hist)

    def add(self, ok: bool, degraded: bool, maintenance: bool, duration: float) -> None:
        self.count += 1
        if maintenance:
            self.maintenance += 1
            return
        if not ok:
            self.failures += 1
            return
        self.degraded += degraded
        micros = max(round(duration * 1_000_000), 0)
        self.lat_count += 1
        self.lat_sum += micros
        self.lat_min = micros if self.lat_min is None else min(self.lat_min, micros)
        self.lat_max = micros if self.lat_max is None else max(self.lat_max, micros)
        self.hist[latency_bucket(duration)] += 1

    def row(self) -> tuple[object, ...]:
        """The values of the `rollups` columns after (target, hour)."""
        return (
            self.count,
            self.failures,
            self.degraded,
            self.maintenance,
            self.lat_count,
            self.lat_sum,
            self.lat_min,
            self.lat_max,
            encode_histogram(self.hist),
        )

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Accumulator:
        """Read back `row()`'s values (as the `rollups` table returns them)."""
        count, failures, degraded, maint, lat_count, lat_sum, lat_min, lat_max, hist = row
        return cls(count, failures, degraded, maint, lat_count, lat_sum, lat_min, lat_max, decode_histogram(hist))

    def merge(self, other: Accumulator) -> None:
        self.count += other.count
        self.failures += other.failures
        self.degraded += other.degraded
        self.maintenance += other.maintenance
        self.lat_count += other.lat_count
        self.lat_sum += other.lat_sum
        self.lat_min = min(_known(self.lat_min, other.lat_min), default=None)
        self.lat_max = max(_known(self.lat_max, other.lat_max), default=None)
        self.hist = array("I", [a + b for a, b in zip(self.hist, other.hist, strict=True)])

    def rollup(self, target: str, start: float, end: float) -> Rollup:
        return Rollup(
            target=target,
            start=start,
            end=end,
            count=self.count,
            failures=self.failures,
            degraded=self.degraded,
            maintenance=self.maintenance,
            latency_count=self.lat_count,
            latency_sum=self.lat_sum / 1e6,
            latency_min=None if self.lat_min is None else self.lat_min / 1e6,
            latency_max=None if self.lat_max is None else self.lat_max / 1e6,
            histogram=tuple(self.hist),
        )


def pack_hours(hours: Iterable[tuple[int, Accumulator]]) -> bytes:
    """Several hours' aggregates in one value (a day of them is ~700 bytes): per hour
    its index (one byte, e.g. the hour of the day), then the counts and latencies as
    varints (a missing min/max as 0, a present one plus one), then the histogram's
    length and `encode_histogram` bytes. A backend stores finished days this way: one
    row per day costs a row's overhead once instead of 24 times."""
    out = bytearray()
    for index, acc in hours:
        out.append(index)
        for value in (acc.count, acc.failures, acc.degraded, acc.maintenance, acc.lat_count, acc.lat_sum):
            _varint(out, value)
        _varint(out, 0 if acc.lat_min is None else acc.lat_min + 1)
        _varint(out, 0 if acc.lat_max is None else acc.lat_max + 1)
        hist = encode_histogram(acc.hist)
        _varint(out, len(hist))
        out += hist
    return bytes(out)


def unpack_hours(data: bytes) -> list[tuple[int, Accumulator]]:
    """The inverse of `pack_hours`."""
    out, pos = [], 0
    while pos < len(data):
        index, pos = data[pos], pos + 1
        values = []
        for _ in range(9):
            value, pos = _read_varint(data, pos)
            values.append(value)
        count, failures, degraded, maint, lat_count, lat_sum, low, high, size = values
        hist = decode_histogram(data[pos : pos + size])
        pos += size
        lat_min, lat_max = (low - 1 if low else None), (high - 1 if high else None)
        out.append((index, Accumulator(count, failures, degraded, maint, lat_count, lat_sum, lat_min, lat_max, hist)))
    return out


def _known(*values: int | None) -> list[int]:
    return [v for v in values if v is not None]


def merge_rollups(parts: Iterable[Rollup], target: str, start: float, end: float) -> Rollup:
    """Several rollups (hours, or targets of a group) as one."""
    parts = list(parts)
    hist = [0] * LATENCY_BUCKETS
    for part in parts:
        for index, count in enumerate(part.histogram):
            hist[index] += count
    lows = [p.latency_min for p in parts if p.latency_min is not None]
    highs = [p.latency_max for p in parts if p.latency_max is not None]
    return Rollup(
        target=target,
        start=start,
        end=end,
        count=sum(p.count for p in parts),
        failures=sum(p.failures for p in parts),
        degraded=sum(p.degraded for p in parts),
        maintenance=sum(p.maintenance for p in parts),
        latency_count=sum(p.latency_count for p in parts),
        latency_sum=sum(p.latency_sum for p in parts),
        latency_min=min(lows, default=None),
        latency_max=max(highs, default=None),
        histogram=tuple(hist),
    )


# What every backend answers from its hourly accumulators and raw results: `hours` maps a
# target to its (hour number, accumulator) pairs, as the backends' rollup reads give them.
Hours = Mapping[str, Sequence[tuple[int, Accumulator]]]


def hourly(hours: Hours) -> dict[str, list[Rollup]]:
    """Each hour's accumulator as its `Rollup`."""
    return {tid: [acc.rollup(tid, h * HOUR, (h + 1) * HOUR) for h, acc in rows] for tid, rows in hours.items()}


def stats(hours: Hours, target_ids: Collection[str] | None, start: float, end: float) -> dict[str, Rollup]:
    """Each target's hours merged into one rollup over `[start, end)` (an empty one for
    a named target without any)."""
    out = {}
    for tid in target_ids if target_ids is not None else hours:
        total = Accumulator()
        for _, acc in hours.get(tid, []):
            total.merge(acc)
        out[tid] = total.rollup(tid, start, end)
    return out


def raw_series(raw: Iterable[StoredResult], target_id: str, start: float, end: float, points: int) -> list[Rollup]:
    """Raw results binned into at most `points` equal buckets of `[start, end)`."""
    width = max((end - start) / max(points, 1), 1e-6)
    bins: dict[int, Accumulator] = defaultdict(Accumulator)
    for r in raw:
        bins[int((r.at - start) // width)].add(r.ok, r.degraded, r.maintenance, r.duration)
    return [acc.rollup(target_id, start + i * width, start + (i + 1) * width) for i, acc in sorted(bins.items())]


def hourly_series(hours: Hours, target_id: str, start: float, end: float, points: int) -> list[Rollup]:
    """Hourly rollups merged into at most `points` buckets of whole hours."""
    step = max(1, math.ceil((end - start) / HOUR / max(points, 1)))
    first = int(start // HOUR)
    merged: dict[int, Accumulator] = defaultdict(Accumulator)
    for hour, acc in hours.get(target_id, []):
        merged[(hour - first) // step].merge(acc)
    return [
        acc.rollup(target_id, (first + i * step) * HOUR, (first + (i + 1) * step) * HOUR)
        for i, acc in sorted(merged.items())
    ]
