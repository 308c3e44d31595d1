"""`python -m bench.probers [KIND ...]`: only `make bench`'s probes-per-CPU-second figures
(`probers` in `bench/__main__.py`), for the kinds named (default `http`), pinned and
alternating with the blackbox exporter as there: a quick before/after of a change to
the probing path."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.__main__ import Sizes, _pin_farm, probers
from bench.farm import farm
from bench.report import Report


def main(kinds: list[str]) -> None:
    sizes = Sizes(quick=False)
    sizes.rates = {kind: sizes.rates[kind] for kind in kinds or ["http"]}
    report = Report()
    with tempfile.TemporaryDirectory(prefix="monitor-probers-") as tmp, farm(Path(tmp) / "farm") as targets:
        probers(Path(tmp), targets, sizes, _pin_farm(targets), report)
    report.print()


if __name__ == "__main__":
    main(sys.argv[1:])
