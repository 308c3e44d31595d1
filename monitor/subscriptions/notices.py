"""What to tell subscribers of the configuration's maintenance windows (`[[maintenance]]`).

A window in `targets.toml` has no id: it is known by what it covers (its targets and
groups, in any order), and `key` names that and its times. `plan(windows, told, now)`
compares the windows configured now with the notices remembered in the store
(`Subscribers.notices`) and says what to mail:

- `new`: a window not told of before that has not ended (ahead, or under way);
- `changed`: a window told of whose times changed: the notice of a window that is gone
  paired with a new one covering the same (the earliest with the earliest);
- `cancelled`: a window told of that is gone before its start.

A window gone after its start, and a notice of a window that is over, are forgotten
without a mail. A change of the reason alone is no new notice. Pure: the caller mails,
then remembers (`remember`) and forgets (`forget`) what the plan says, so a crash in
between mails again under the same keys (queued once) rather than never.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.config import Maintenance, Target
from monitor.store import Notice
from monitor.subscriptions.tokens import digest

NEW, CHANGED, CANCELLED = "new", "changed", "cancelled"


@dataclass(frozen=True)
class Window:
    """A configured maintenance window, in unix times."""

    start: float
    end: float
    targets: tuple[str, ...]
    groups: tuple[str, ...]
    reason: str = ""

    @classmethod
    def of(cls, window: Maintenance) -> Window:
        start, end = window.start.timestamp(), window.end.timestamp()
        return cls(start, end, window.targets, window.groups, window.reason)

    @property
    def scope(self) -> str:
        """What it covers, whatever the order it is written in."""
        return scope(self.targets, self.groups)

    @property
    def key(self) -> str:
        return digest("config-maintenance", self.scope, f"{self.start:.3f}", f"{self.end:.3f}")

    def covers(self, target: Target) -> bool:
        """As `config.Maintenance.covers`."""
        return target.id in self.targets or target.group in self.groups

    def notice(self, at: float) -> Notice:
        return Notice(self.key, self.start, self.end, self.targets, self.groups, self.reason, at)


def scope(targets: Sequence[str], groups: Sequence[str]) -> str:
    return json.dumps([sorted(set(targets)), sorted(set(groups))])


@dataclass(frozen=True)
class Tell:
    """One notice to mail: `what` is `NEW`, `CHANGED` or `CANCELLED`; `window` the window
    announced (for a cancellation, the one told of); `before` the notice it replaces."""

    what: str
    window: Window
    before: Notice | None = None


@dataclass(frozen=True)
class Plan:
    tell: tuple[Tell, ...] = ()
    forget: tuple[str, ...] = field(default=())  # keys of notices to forget without a mail

    def __bool__(self) -> bool:
        return bool(self.tell or self.forget)


def plan(windows: Sequence[Window], told: Sequence[Notice], now: float) -> Plan:
    """See the module docstring."""
    configured = {w.key for w in windows}
    known = {n.key for n in told}
    gone = sorted((n for n in told if n.key not in configured), key=lambda n: (n.start, n.key))
    fresh = sorted((w for w in windows if w.key not in known and now < w.end), key=lambda w: (w.start, w.key))
    fresh = list({w.key: w for w in fresh}.values())  # a window written twice is one
    tell: list[Tell] = []
    for window in fresh:
        before = next((n for n in gone if scope(n.targets, n.groups) == window.scope), None)
        if before is not None:
            gone.remove(before)
            tell.append(Tell(CHANGED, window, before))
        else:
            tell.append(Tell(NEW, window))
    forget = [n.key for n in told if n.key in configured and n.end <= now]
    for notice in gone:
        if now < notice.start:
            window = Window(notice.start, notice.end, notice.targets, notice.groups, notice.reason)
            tell.append(Tell(CANCELLED, window, notice))
        else:
            forget.append(notice.key)
    return Plan(tuple(tell), tuple(forget))
