"""The Prometheus text format (0.0.4) of the monitor's metrics, written directly.

prometheus-client builds an object per sample and validates and escapes every label on
every scrape: about 9 µs a line, over 6 s of CPU for 20,000 targets (36 lines each).
Here each target's `target="id"` is rendered once per scrape and each line is one
string format: several times faster, same text. `Metrics`' registry collector parses
this very text back (prometheus-client's own parser), so the registry API and `/metrics`
can never disagree.

A family is written as its `# HELP`/`# TYPE` lines and its samples, contiguous;
`Writer` keeps the families in the order they were declared.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from monitor.probes import PROBES
from monitor.probes.base import escape_label
from monitor.result import Result

if TYPE_CHECKING:
    from monitor.config import Target
    from monitor.probes import ProbeKind, Sample

# What this module writes (the text format every Prometheus reads), whatever version
# prometheus-client would announce for its own output.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The blackbox exporter's gauges that every kind shares, name -> help: the first two are
# written for every result, the others from the `Result` fields a probe fills when it saw
# a certificate or resolved a name. A kind's own gauges are declared on its `ProbeKind`.
_EVERY_RESULT: Mapping[str, str] = {
    "probe_success": "Last probe: 1 passed (degraded included), 0 failed.",
    "probe_duration_seconds": "Last probe's duration in seconds.",
}
_FROM_FIELDS: Mapping[str, str] = {
    "probe_ssl_earliest_cert_expiry": "Unix time of the earliest certificate expiry seen.",
    "probe_dns_lookup_time_seconds": "Name resolution time of the last probe.",
}
SHARED_GAUGES: Mapping[str, str] = {**_EVERY_RESULT, **_FROM_FIELDS}


def number(value: float) -> str:
    """A sample value as Prometheus reads it."""
    if math.isfinite(value):
        return repr(float(value))
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


label = escape_label  # a label value, escaped for the text format (kinds render theirs with it too)


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


class Writer:
    """Collects sample lines per family; `pieces()` writes the families out in the order
    they were declared. A family declared but left empty is written without samples.
    With `only` (sample names, as `/metrics?name[]=...` gives them) every other sample is
    dropped, and so is a family left without samples, as prometheus-client does.

    Families may also be filled late, by a source (`fill`) run when `pieces()` reaches
    them: its text is passed on as it comes, so a scrape of 100,000 targets never holds
    more than a chunk of it (the whole text is ~2 KB a target)."""

    def __init__(self, only: Collection[str] | None = None) -> None:
        self._families: dict[str, tuple[str, str, list[str]]] = {}
        self._sources: dict[str, tuple[tuple[str, ...], Callable[[], Iterator[tuple[str, str]]]]] = {}
        self.only = None if only is None else frozenset(only)

    def family(self, name: str, kind: str, doc: str) -> list[str]:
        """Declare a family (`kind`: gauge, counter, histogram); returns its lines."""
        known = self._families.get(name)
        if known is None:
            known = self._families[name] = (kind, doc, [])
        return known[2]

    def add(self, family: str, labels: str, value: float, sample: str = "") -> None:
        """One sample of a declared family; `labels` is already rendered (`a="b",c="d"`)."""
        name = sample or family
        if self.only is not None and name not in self.only:
            return
        line = f"{name}{{{labels}}} {number(value)}\n" if labels else f"{name} {number(value)}\n"
        self._families[family][2].append(line)

    def extend(self, family: str, text: str) -> None:
        """Whole lines of a declared family at once (`name{labels} value\n`...); with
        `only`, the lines of other samples are dropped."""
        if self.only is not None:
            text = "".join(line for line in text.splitlines(keepends=True) if _sample_name(line) in self.only)
        if text:
            self._families[family][2].append(text)

    def names(self, first: str) -> tuple[str, ...]:
        """The families declared so far from `first` on, in order."""
        declared = list(self._families)
        return tuple(declared[declared.index(first) :])

    def fill(self, names: Sequence[str], source: Callable[[], Iterator[tuple[str, str]]]) -> None:
        """The families `names` (declared, consecutive in the order of declaration) get
        their lines from `source()`, run when `pieces()` reaches the first of them: it
        yields (family, whole lines), each family's contiguously, in that order."""
        for name in names:
            self._sources[name] = (tuple(names), source)

    def pieces(self) -> Iterator[str]:
        """The text in pieces (each whole lines), in order: what `text()` joins."""
        families = self._families
        skip: set[str] = set()
        for name, (_kind, _doc, lines) in families.items():
            if name in skip:
                continue
            group = self._sources.get(name)
            if group is not None:
                skip.update(group[0])
                yield from self._run(*group)
                continue
            if self.only is not None and not lines:
                continue
            yield self._head(name)
            yield from lines

    def _run(self, names: tuple[str, ...], source: Callable[[], Iterator[tuple[str, str]]]) -> Iterator[str]:
        """One source's families, each head before its lines; with `only`, filtered and
        held until the source is done (a family left empty is then not written)."""
        if self.only is not None:
            for family, text in source():
                self.extend(family, text)
            for name in names:
                lines = self._families[name][2]
                if lines:
                    yield self._head(name)
                    yield from lines
            return
        order = iter(names)
        current = None
        for family, text in source():
            while current != family:  # the families before it are done: heads, earlier lines
                current = next(order, None)
                if current is None:
                    raise ValueError(f"a source wrote {family!r} out of the order of {names}")
                yield self._head(current)
                yield from self._families[current][2]
            yield text
        for name in order:
            yield self._head(name)
            yield from self._families[name][2]

    def _head(self, name: str) -> str:
        kind, doc, _lines = self._families[name]
        return f"# HELP {name} {_help(doc)}\n# TYPE {name} {kind}\n"

    def text(self) -> str:
        return "".join(self.pieces())


def _sample_name(line: str) -> str:
    end = line.find("{")
    return line[:end] if end >= 0 else line.partition(" ")[0]


def declare_blackbox(writer: Writer) -> None:
    """Declare the shared blackbox gauges and every probe kind's own, in a fixed order:
    success and duration, each kind's `gauges`, certificate expiry and lookup time, then
    each kind's `metrics`."""
    kinds = PROBES.values()
    for name, doc in _EVERY_RESULT.items():
        writer.family(name, "gauge", doc)
    for kind in kinds:
        for name, doc in kind.gauges.items():
            writer.family(name, "gauge", doc)
    for name, doc in _FROM_FIELDS.items():
        writer.family(name, "gauge", doc)
    for kind in kinds:
        for name, doc in kind.metrics.items():
            writer.family(name, "gauge", doc)


def blackbox_samples(target: Target, result: Result) -> Iterator[Sample]:
    """One result as the blackbox exporter reports it: (gauge, extra labels, value).
    The target's kind's `samples` are written whatever the result holds; of its `metrics`,
    those the result carries in `Result.extra` (nothing undeclared), a key `name{a="b"}`
    as the sample of `name` with those labels."""
    yield "probe_success", "", 1.0 if result.ok else 0.0
    yield "probe_duration_seconds", "", result.duration
    kind = PROBES.get(target.kind)
    if kind is not None and kind.samples is not None:
        yield from kind.samples(target, result)
    if "resolve" in result.phases:
        yield "probe_dns_lookup_time_seconds", "", result.phases["resolve"]
    if result.cert_expiry is not None:
        yield "probe_ssl_earliest_cert_expiry", "", result.cert_expiry
    if kind is not None:
        for key, value in result.extra.items():
            name, labelled, labels = key.partition("{")  # `name{a="b"}`: one sample of a labelled gauge
            if name in kind.metrics and name not in SHARED_GAUGES:
                yield name, labels[:-1] if labelled else "", value


def add_blackbox(writer: Writer, prefix: str, target: Target, result: Result) -> None:
    """Add one result's blackbox samples, labelled `prefix` (`target="id"` or nothing).
    Label names stay sorted (`phase` before `target`), as prometheus-client writes them."""
    for name, extra, value in blackbox_samples(target, result):
        labels = f"{extra},{prefix}" if prefix and extra else prefix or extra
        writer.add(name, labels, value)


def probe_text(target: Target, result: Result) -> str:
    """What the blackbox exporter's /probe would answer for this result: only the
    families that have a sample, no `target` label."""
    writer = Writer()
    docs = _docs(PROBES.get(target.kind))
    for name, _extra, _value in blackbox_samples(target, result):
        writer.family(name, "gauge", docs[name])
    add_blackbox(writer, "", target, result)
    return writer.text()


def _docs(kind: ProbeKind | None) -> dict[str, str]:
    """The help of every gauge a target of `kind` may have, by name."""
    docs = dict(SHARED_GAUGES)
    if kind is not None:
        docs.update(kind.gauges)
        docs.update(kind.metrics)
    return docs
