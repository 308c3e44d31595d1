"""Acknowledgements: "someone has it". One per incident (a target's outage, known by
the time it began); the next outage of the same target is a new incident, unacknowledged.

An acknowledgement stops the outage's reminders and escalations
(`Policy.acknowledge`), edits the chat's alert message to say who took it, shows on the
admin view (who, when, note) and on the public page as "sedang ditangani" / "being
handled" without the name. It is kept in the store (`OnCallRecords.add_ack`) and
applied again after a restart while its outage is still open.

Which outage an acknowledgement is of: the one that began at its `since`, or the one
open when it was taken (`at` at or after the outage's start). Among several instances
the one that took it may have known the outage's start from another's published state
(`monitor.cluster.view`) a little apart from the start the deciding instance's policy
holds; an acknowledgement taken during an outage is of that outage either way, and one
taken before an outage began is never of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from monitor.store import Ack

KEEP_DAYS = 30  # acknowledgements read back at a start: of outages that began this recently


def applies(ack: Ack, since: float) -> bool:
    """Whether `ack` is of the outage that began at `since` (see the module doc)."""
    return round(ack.since) == round(since) or ack.at >= since


@dataclass
class Acks:
    """The acknowledgements of the last `KEEP_DAYS` as the store keeps them (in memory:
    a few per target, one per incident, in the order they were taken)."""

    by_target: dict[str, list[Ack]] = field(default_factory=dict)

    def keep(self, ack: Ack) -> None:
        kept = self.by_target.setdefault(ack.target, [])
        if all(a.since != ack.since for a in kept):  # the store keeps the first of an incident
            kept.append(ack)
            kept.sort(key=lambda a: a.at)

    def replace(self, acks: Iterable[Ack]) -> None:
        """Hold exactly these (the store's, read again)."""
        self.by_target = {}
        for ack in acks:
            self.keep(ack)

    def __iter__(self) -> Iterator[Ack]:
        for kept in self.by_target.values():
            yield from kept

    def of(self, target_id: str, since: float | None) -> Ack | None:
        """The first acknowledgement of the outage that began at `since`; None when
        nobody took it (or `since` is None: no open outage)."""
        if since is None:
            return None
        return next((a for a in self.by_target.get(target_id, ()) if applies(a, since)), None)
