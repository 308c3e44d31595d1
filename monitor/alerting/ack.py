"""Acknowledgements: "someone has it". One per incident (a target's outage, known by
the time it began); the next outage of the same target is a new incident, unacknowledged.

An acknowledgement stops the outage's reminders and escalations
(`Policy.acknowledge`), edits the chat's alert message to say who took it, shows on the
admin view (who, when, note) and on the public page as "sedang ditangani" / "being
handled" without the name. It is kept in the store (`OnCallRecords.add_ack`) and
applied again after a restart while its outage is still open.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.store import Ack

KEEP_DAYS = 30  # acknowledgements read back at a start: of outages that began this recently


@dataclass
class Acks:
    """The acknowledgement of each target's open outage (in memory; the store keeps all)."""

    by_target: dict[str, Ack] = field(default_factory=dict)

    def keep(self, ack: Ack) -> None:
        self.by_target[ack.target] = ack

    def of(self, target_id: str, since: float | None) -> Ack | None:
        """The acknowledgement of the outage that began at `since`; None for another one."""
        ack = self.by_target.get(target_id)
        if ack is None or since is None or round(ack.since) != round(since):
            return None
        return ack

    def ended(self, open_since: dict[str, float | None]) -> list[Ack]:
        """Forget and return the acknowledgements whose outage is over (`open_since`:
        each target's open outage's start, None when it has none)."""
        gone = [a for tid, a in self.by_target.items() if self.of(tid, open_since.get(tid)) is None]
        for ack in gone:
            del self.by_target[ack.target]
        return gone
