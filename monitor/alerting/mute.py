"""Mutes: a quiet period of one target that ends by itself.

While muted, nothing is sent about the target (`Alerting` drops its alerts before the
outbox); it is still probed, its state shown, and its time counted in availability as
usual (unlike maintenance, which is excluded). The admin view lists each mute with its
end; the chat's `/mute ID 2h`, the button "Bisukan 1 jam" and
`POST /admin/api/targets/{id}/mute` set one, `/unmute ID` and `DELETE .../mute` end it
early. Kept in the store (`OnCallRecords.set_mute`), so a restart keeps the quiet, and
read from there by every instance sharing the store (`monitor.alerting.oncall`), so the
one that decides the target's alerts holds them whichever instance was asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from monitor.config.reader import format_duration, parse_duration
from monitor.errors import OnCallError
from monitor.store import Mute

SHORTEST, LONGEST = 60.0, 30 * 86400.0  # a mute's length, seconds


def mute_seconds(text: str) -> float:
    """`"1h"`, `"30m"`, `"2d"` -> seconds; `OnCallError("bad_duration")` otherwise."""
    try:
        seconds = parse_duration(text)
    except ValueError:
        seconds = -1.0
    if not SHORTEST <= seconds <= LONGEST:
        raise OnCallError(
            "bad_duration",
            f"{text!r}: write a duration from {format_duration(SHORTEST)} to {format_duration(LONGEST)}, e.g. 1h",
        )
    return seconds


@dataclass
class Mutes:
    """Each muted target's mute (in memory, as the store keeps them)."""

    by_target: dict[str, Mute] = field(default_factory=dict)

    def active(self, target_id: str, now: float) -> Mute | None:
        mute = self.by_target.get(target_id)
        return mute if mute is not None and mute.start <= now < mute.until else None

    def replace(self, mutes: Iterable[Mute]) -> None:
        """Hold exactly these (the store's, read again)."""
        self.by_target = {m.target: m for m in mutes}

    def expired(self, now: float) -> list[Mute]:
        """Forget and return the mutes that have ended."""
        gone = [m for m in self.by_target.values() if m.until <= now]
        for mute in gone:
            del self.by_target[mute.target]
        return gone
