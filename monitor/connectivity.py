"""The monitor's own uplink: is this instance the one cut off?

`[monitor] connectivity` lists checks that should always pass while the instance is
online (the upstream resolver, a well-known site): probes of the usual kinds, run by
the runtime on a schedule of their own, beside the targets'. `Connectivity` judges
their results, and nothing else; it does no I/O and takes the time from its clock:

- **offline** once every check has failed `ROUNDS` times in a row (one lost packet flips
  nothing). `since` is when the last of them began failing: from then on every check
  failed, so that is when the instance lost its uplink as far as it can tell;
- **online** again at the first check that passes (a pass is no accident); the
  `Change` carries the outage's `since` and `duration`;
- **unknown** before either is known (just started: nothing passed yet, and not every
  check has failed `ROUNDS` times); **off** without checks, and then never offline.

Each flip is one `Change` (`observe` returns it) for the runtime, which holds the
targets it cannot judge (`monitor.runtime.Monitor.record`: a failing probe of an
`external` target is no verdict while `cut_off(started)`) and tells the alerting
(`monitor.alerting.uplink`). A location of a cluster reads the same `state`: an offline
location stops counting toward a target's quorum.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from monitor.config import Target
from monitor.result import Result

ROUNDS = 2  # consecutive failures of every check before the instance is offline
CHECK_INTERVAL = 15.0  # a check's default interval and timeout, in seconds
CHECK_TIMEOUT = 5.0
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})


class Uplink(StrEnum):
    """What the instance knows of its own uplink."""

    OFF = "off"  # no checks configured
    UNKNOWN = "unknown"  # not decided yet (just started)
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class CheckState:
    """One check as last seen: its last result, how many times in a row it failed and
    since when (the start of the first of those probes)."""

    name: str
    last: Result | None = None
    failures: int = 0
    failing_since: float | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """The instance went `OFFLINE` or came back `ONLINE` at `at`. `since` is when the
    outage began (for both); `checks` are the checks as they were then."""

    state: Uplink
    at: float
    since: float
    checks: tuple[CheckState, ...]

    @property
    def duration(self) -> float:
        """How long the outage has lasted (`OFFLINE`: so far, i.e. the detection's delay)."""
        return max(0.0, self.at - self.since)


class Connectivity:
    """Decides from the checks' results whether this instance is offline (see the
    module docstring). `observe` is called with each check's result, `update` after a
    reload, `resume` at the start with an outage announced before a restart."""

    def __init__(
        self, checks: Sequence[Target] = (), rounds: int = ROUNDS, clock: Callable[[], float] = time.time
    ) -> None:
        self.rounds, self.clock = rounds, clock
        self.checks: dict[str, CheckState] = {}
        self.state = Uplink.OFF
        self.since: float | None = None  # when the current state began (None: not known)
        self.back_at: float | None = None  # start of the probe that ended the last outage
        self._announced: float | None = None  # an outage's start a previous run announced
        self.update(checks)

    def update(self, checks: Sequence[Target]) -> None:
        """Take the configured checks (after a reload): kept names keep what they saw.
        With none left the instance is off, and held targets are judged by their next
        results as usual."""
        self.checks = {c.id: self.checks.get(c.id) or CheckState(c.id) for c in checks}
        if not self.checks:
            self.state, self.since = Uplink.OFF, None
        elif self.state is Uplink.OFF:
            self.state = Uplink.UNKNOWN

    def resume(self, since: float | None) -> None:
        """A previous run announced an outage beginning at `since` and no recovery: if
        this run finds the instance offline too, it is the same outage (the same alert,
        which the outbox drops as sent); if it finds it online, that outage ends now."""
        self._announced = since

    @property
    def offline(self) -> bool:
        return self.state is Uplink.OFFLINE

    def cut_off(self, started: float) -> bool:
        """Whether a probe that started at `started` may have failed for want of the
        uplink: the instance is offline, or came back online after the probe began."""
        return self.offline or (self.back_at is not None and started < self.back_at)

    def observe(self, name: str, result: Result) -> Change | None:
        """One check's result; the `Change` it makes, if any."""
        known = self.checks.get(name)
        if known is None:
            return None  # removed by a reload while it ran
        started = result.started or self.clock()
        if result.ok:
            self.checks[name] = CheckState(name, result)
            return self._online(started)
        since = known.failing_since if known.failures else started
        self.checks[name] = CheckState(name, result, known.failures + 1, since)
        return self._offline()

    def _online(self, started: float) -> Change | None:
        began = self.since if self.offline else self._announced
        self._announced = None
        if self.state is Uplink.ONLINE:
            return None
        self.state, self.since = Uplink.ONLINE, self.clock()
        if began is None:  # from unknown: nothing was lost as far as anyone was told
            return None
        self.back_at = started
        return Change(Uplink.ONLINE, self.since, began, tuple(self.checks.values()))

    def _offline(self) -> Change | None:
        states = self.checks.values()
        if self.offline or any(c.failures < self.rounds for c in states):
            return None
        began = max(c.failing_since or 0.0 for c in states)
        if self._announced is not None and self._announced <= began:
            began = self._announced  # the outage a previous run announced goes on
        self._announced = None
        self.state, self.since = Uplink.OFFLINE, began
        return Change(Uplink.OFFLINE, self.clock(), began, tuple(states))


def own_host(host: str | None, listens: Collection[str] = ()) -> bool:
    """Whether `host` (a URL's host) is this machine as a target sees it: `localhost`
    (and names under `.localhost`), a loopback address (127.0.0.0/8, ::1), or the host
    of one of the monitor's own `listens` ("HOST:PORT"; a wildcard address names no one
    host). Such a target is the monitor's own health, judged even while it is offline."""
    if not host:
        return False
    name = host.strip("[]").lower().rstrip(".")
    if _loopback(name):
        return True
    own = {listen.rpartition(":")[0].strip("[]").lower() for listen in listens}
    return name in own - _WILDCARDS


@lru_cache(maxsize=4096)
def _loopback(name: str) -> bool:
    """`localhost`, a name under `.localhost`, or a loopback address. Cached (a pure
    function of the name): a configuration's targets share a few hosts, and the loader
    asks once per target."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
