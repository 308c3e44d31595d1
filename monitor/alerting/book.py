"""`OnCallBook`: the acknowledgements and mutes as the store holds them, on every instance.

The store is their one truth (`OnCallRecords`). An action taken here (`monitor.alerting.
oncall`) is written there and kept here at once; what other instances sharing the store
wrote reaches this one through `follow()`, which the runtime calls every
`FOLLOW_SECONDS`: it reads the store's change count (`oncall_changes`, one row) and reads
the acknowledgements and mutes again only when the count moved since the last read.
One read of each is small (the acknowledgements of the last `KEEP_DAYS`, the mutes):
they change when people act, not with the probes.

A store that cannot answer keeps what was read last; the failure is logged once, and
the recovery too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from monitor.alerting.ack import KEEP_DAYS, Acks
from monitor.alerting.mute import Mutes
from monitor.errors import StoreError
from monitor.log import kv
from monitor.store import OnCallRecords

log = logging.getLogger("monitor.oncall")

# Seconds between two looks at the store's change count: the delay before an
# acknowledgement or a mute taken on another instance holds here.
FOLLOW_SECONDS = 2.0


class OnCallBook:
    """The acknowledgements (`acks`) and mutes (`mutes`) known here; see the module doc."""

    def __init__(self, store: OnCallRecords, clock: Callable[[], float] = time.time) -> None:
        self.store, self.clock = store, clock
        self.acks, self.mutes = Acks(), Mutes()
        self.seen: int | None = None  # the change count of the last read; None: not read yet
        self.failing = False

    async def read(self) -> None:
        """Read every acknowledgement and mute again (at the start). `StoreError` when
        the store cannot answer."""
        changes = await self.store.oncall_changes()
        acks = await self.store.acks(self.clock() - KEEP_DAYS * 86400.0)
        mutes = await self.store.mutes()
        self.acks.replace(acks)
        self.mutes.replace(mutes)
        self.seen = changes  # read before the rows: a change between them is read again next time

    async def follow(self) -> bool:
        """Read again if another instance changed something since the last read;
        whether anything was read."""
        try:
            changes = await self.store.oncall_changes()
            if changes == self.seen:
                self._recovered()
                return False
            await self.read()
        except StoreError as exc:
            if not self.failing:
                log.error("acknowledgements and mutes not read again", extra=kv(error=str(exc)))
            self.failing = True
            return False
        self._recovered()
        return True

    def _recovered(self) -> None:
        if self.failing:
            log.warning("acknowledgements and mutes read again")
        self.failing = False
