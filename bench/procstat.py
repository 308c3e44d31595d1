"""CPU time and resident memory of another process, read from /proc from the outside, so
the measured process pays nothing for being measured."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` (all its threads) so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3 of proc(5)); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _TICK


def rss_bytes(pid: int) -> int:
    """Resident set size of `pid` now."""
    with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * _PAGE


@dataclass
class CpuWindow:
    """CPU time of one process over a wall-clock window: `start()`, then `stop()`."""

    pid: int
    cpu0: float = 0.0
    wall0: float = 0.0
    cpu: float = 0.0
    wall: float = 0.0

    def start(self) -> None:
        self.cpu0, self.wall0 = cpu_seconds(self.pid), time.monotonic()

    def stop(self) -> None:
        self.cpu = cpu_seconds(self.pid) - self.cpu0
        self.wall = time.monotonic() - self.wall0

    @property
    def utilisation(self) -> float:
        """Cores used on average over the window."""
        return self.cpu / self.wall if self.wall else 0.0


def children(pid: int) -> list[int]:
    """Direct children of `pid` (e.g. nginx's workers)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                found += [int(p) for p in handle.read().split()]
    except OSError:
        pass
    return found


def pin(pid: int, cpus: set[int]) -> None:
    """Restrict `pid`, its threads and its children to `cpus`."""
    for each in (pid, *children(pid)):
        try:
            for task in os.listdir(f"/proc/{each}/task"):
                os.sched_setaffinity(int(task), cpus)
        except OSError:
            pass
