"""The on-call desk: the actions people take on an alert, one function each, called the
same way from the chat (`monitor.notifiers.telegrambot`) and from the admin API
(`monitor.web.admin.oncall`).

- `acknowledge(target, who, note)`: the target's open outage is taken
  (`monitor.alerting.ack`);
- `mute(target, seconds, who)` / `unmute(target, who)`: a quiet period
  (`monitor.alerting.mute`);
- `maintenance(target, seconds, reason, who)`: a maintenance window from now, planned
  as the admin API plans one (excluded from availability, unlike a mute);
- `overview(now)`: what `/status` and the admin view show: the targets not UP with
  their acknowledgement and mute, and every duty roster now and next.

Each action is logged with who took it and where (`via`: `telegram` or `api`), goes to
the audit log (`incident.ack`, `mute.add`, `mute.remove`, `maintenance.add`, the
detail saying where from), and may create or expire Alertmanager silences (`monitor.alerting.silences`). `tick()`
(with the alert policy's) ends expired mutes and forgets acknowledgements whose outage
is over, expiring their silences. Failures of a refused action are `OnCallError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import httpx

from monitor.alerting.ack import KEEP_DAYS, Acks
from monitor.alerting.duty import Board, boards
from monitor.alerting.mute import Mutes
from monitor.alerting.silences import ACK_SILENCE_SECONDS, Silences
from monitor.config import Config, Target
from monitor.config.reader import format_duration
from monitor.errors import OnCallError, StoreError
from monitor.log import kv
from monitor.result import State
from monitor.state import StateMachine
from monitor.store import Ack, Annotations, Audit, AuditEntry, Mute, OnCallRecords, PlannedMaintenance

if TYPE_CHECKING:
    from monitor.alerting.service import Alerting

log = logging.getLogger("monitor.oncall")


class Records(OnCallRecords, Annotations, Audit, Protocol):
    """What the desk needs of the store."""


@dataclass(frozen=True)
class Row:
    """A target that is not UP, as `/status` and the admin view list it."""

    target: Target
    state: State
    since: float
    ack: Ack | None
    mute: Mute | None
    reason: str = ""


@dataclass(frozen=True)
class Overview:
    rows: tuple[Row, ...]
    mutes: tuple[Mute, ...]
    boards: tuple[Board, ...]


class OnCall:
    """See the module docstring."""

    def __init__(
        self,
        config: Config,
        store: Records,
        states: StateMachine,
        client: httpx.AsyncClient,
        alerting: Alerting | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config, self.store, self.states, self.alerting, self.clock = config, store, states, alerting, clock
        self.acks, self.mutes = Acks(), Mutes()
        self.silences = Silences(client, config)
        if alerting is not None:
            alerting.muted = lambda tid: self.mutes.active(tid, self.clock()) is not None

    def update(self, config: Config) -> None:
        self.config = config
        self.silences.config = config

    async def load(self) -> None:
        """At the start (after the alert policy resumed): the acknowledgements of outages
        still open, and the mutes. A store that cannot answer is logged: the monitor
        starts all the same (reminders then go on for an acknowledged outage)."""
        try:
            acks, mutes = await self.store.acks(self.clock() - KEEP_DAYS * 86400.0), await self.store.mutes()
        except StoreError as exc:
            log.error("acknowledgements and mutes not read", extra=kv(error=str(exc)))
            return
        for ack in acks:
            since = self.open_since(ack.target)
            if since is not None and round(since) == round(ack.since):
                self._take(ack)
        for mute in mutes:
            self.mutes.by_target[mute.target] = mute

    def open_since(self, target_id: str) -> float | None:
        """The start of the target's open outage: the alert policy's, or (alerting off)
        the state machine's DOWN."""
        if self.alerting is not None:
            return self.alerting.policy.open_since(target_id)
        status = self.states.statuses.get(target_id)
        return status.since if status is not None and status.underlying == State.DOWN else None

    def _target(self, target_id: str) -> Target:
        target = self.config.targets.get(target_id)
        if target is None:
            raise OnCallError("no_target", f"no target {target_id!r}")
        return target

    def _take(self, ack: Ack) -> None:
        self.acks.keep(ack)
        if self.alerting is not None:
            self.alerting.policy.acknowledge(ack.target, ack.since)
        self.states.version += 1  # the public page shows "being handled"

    async def acknowledge(self, target_id: str, who: str, note: str = "", via: str = "api") -> Ack:
        target = self._target(target_id)
        since = self.open_since(target_id)
        if since is None:
            raise OnCallError("no_incident", f"{target.name} has no open outage to acknowledge")
        known = self.acks.of(target_id, since)
        if known is not None:
            return known  # taken already: the first one keeps it
        now = self.clock()
        silences = await self.silences.create(
            target, now, now + ACK_SILENCE_SECONDS, who, f"acknowledged by {who}" + (f": {note}" if note else "")
        )
        ack = Ack(target_id, since, now, who, note, silences)
        await self.store.add_ack(ack)
        self._take(ack)
        log.info("acknowledged", extra=kv(target=target_id, who=who, via=via, since=round(since)))
        await self._audit(who, "incident.ack", target_id, via, note)
        return ack

    async def mute(self, target_id: str, seconds: float, who: str, via: str = "api") -> Mute:
        target = self._target(target_id)
        now = self.clock()
        old = self.mutes.by_target.get(target_id)
        comment = f"muted by {who} for {format_duration(seconds)}"
        silences = await self.silences.create(target, now, now + seconds, who, comment)
        mute = Mute(target_id, now, now + seconds, who, silences)
        await self.store.set_mute(mute)
        self.mutes.by_target[target_id] = mute
        if old is not None:
            await self.silences.expire(old.silences)
        log.info("muted", extra=kv(target=target_id, who=who, via=via, seconds=round(seconds)))
        await self._audit(who, "mute.add", target_id, via, f"for {format_duration(seconds)}")
        return mute

    async def unmute(self, target_id: str, who: str, via: str = "api") -> Mute:
        self._target(target_id)
        mute = await self.store.remove_mute(target_id)
        self.mutes.by_target.pop(target_id, None)
        if mute is None:
            raise OnCallError("not_muted", f"{target_id!r} is not muted")
        await self.silences.expire(mute.silences)
        log.info("unmuted", extra=kv(target=target_id, who=who, via=via))
        await self._audit(who, "mute.remove", target_id, via)
        return mute

    async def maintenance(
        self, target_id: str, seconds: float, reason: str, who: str, via: str = "api"
    ) -> PlannedMaintenance:
        self._target(target_id)
        now = self.clock()
        window = await self.store.add_maintenance(now, now + seconds, [target_id], [], reason)
        log.info("maintenance planned", extra=kv(target=target_id, who=who, via=via, seconds=round(seconds)))
        await self._audit(
            who, "maintenance.add", str(window.id), via, f"{target_id} for {format_duration(seconds)}: {reason}"
        )
        return window

    async def _audit(self, who: str, action: str, subject: str, via: str, detail: str = "") -> None:
        """The audit log's entry; the action stands even when it cannot be written."""
        text = f"via {via}" + (f": {detail}" if detail else "")
        try:
            await self.store.record_audit(AuditEntry(self.clock(), who, action, subject, text))
        except StoreError as exc:
            log.error("audit entry not written", extra=kv(action=action, subject=subject, error=str(exc)))

    def ack_of(self, target_id: str) -> Ack | None:
        """The acknowledgement of the target's open outage, if someone took it."""
        return self.acks.of(target_id, self.open_since(target_id))

    def handled(self, target_id: str) -> bool:
        return self.ack_of(target_id) is not None

    def overview(self, now: float | None = None) -> Overview:
        now = self.clock() if now is None else now
        rows = []
        for target in self.config.targets.values():
            status = self.states.statuses.get(target.id)
            if status is None or status.state in (State.UP, State.UNKNOWN):
                continue
            ack, mute = self.ack_of(target.id), self.mutes.active(target.id, now)
            rows.append(Row(target, status.state, status.since, ack, mute, status.reason))
        mutes = tuple(m for m in self.mutes.by_target.values() if m.until > now)
        return Overview(tuple(rows), mutes, tuple(boards(self.config, now)))

    async def tick(self) -> None:
        """End expired mutes; forget the acknowledgements of outages that are over and
        expire their silences."""
        now = self.clock()
        for mute in self.mutes.expired(now):
            try:
                await self.store.remove_mute(mute.target)
            except StoreError as exc:
                log.error("an expired mute stays in the store", extra=kv(target=mute.target, error=str(exc)))
                continue
            log.info("mute ended", extra=kv(target=mute.target))
        ended = self.acks.ended({tid: self.open_since(tid) for tid in list(self.acks.by_target)})
        for ack in ended:
            await self.silences.expire(ack.silences)
        if ended:
            self.states.version += 1
