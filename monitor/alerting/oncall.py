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
(with the alert policy's) ends expired mutes and expires the silences of
acknowledgements whose outage is over. Failures of a refused action are `OnCallError`.

**Several instances on one store.** The acknowledgements and mutes are the store's
(`monitor.alerting.book`): every instance follows them (`follow()`, every
`FOLLOW_SECONDS`), so an action taken on any instance holds on the one that decides
the target's alerts (`decides(target)`: the replica that probes it, or the sender once
locations combine): a mute is asked of the book (`Alerting.muted`) and each
acknowledgement is applied to the policy's open outage it is of (`apply()`, after each
read, each tick and each take-over). An instance whose policy does not follow the
target answers from the state it shows (another replica's published state, or the
combined one): "no open outage" is refused alike everywhere. Two instances taking the
same incident at once keep the first one the store kept. The instance that decides a
target expires its acknowledgements' silences, and the sender removes expired mutes
from the store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import httpx

from monitor.alerting.book import OnCallBook
from monitor.alerting.duty import Board, boards
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
        decides: Callable[[str], bool] = lambda _: True,
        sending: Callable[[], bool] = lambda: True,
    ) -> None:
        self.config, self.store, self.states, self.alerting, self.clock = config, store, states, alerting, clock
        self.decides, self.sending = decides, sending
        self.book = OnCallBook(store, clock)
        self.acks, self.mutes = self.book.acks, self.book.mutes  # held in place by every read
        self.silences = Silences(client, config)
        self._expired: dict[tuple[str, float], float] = {}  # acknowledgements whose silences ended: when taken
        if alerting is not None:
            alerting.muted = lambda tid: self.book.mutes.active(tid, self.clock()) is not None

    def update(self, config: Config) -> None:
        self.config = config
        self.silences.config = config

    async def load(self) -> None:
        """At the start (after the alert policy resumed): the acknowledgements and the
        mutes, applied. A store that cannot answer is logged: the monitor starts all the
        same (reminders then go on for an acknowledged outage until `follow` reads them)."""
        try:
            await self.book.read()
        except StoreError as exc:
            log.error("acknowledgements and mutes not read", extra=kv(error=str(exc)))
            return
        for ack in self.acks:  # outages over before this start: their silences ended with them
            if self._over(ack):
                self._expired[(ack.target, ack.since)] = ack.at
        self.apply()

    async def follow(self) -> None:
        """What other instances sharing the store changed, read and applied here."""
        if await self.book.follow():
            self.states.version += 1  # the public page shows "being handled"
        self.apply()

    def apply(self) -> None:
        """Tell the policy of every acknowledgement of an outage it holds open (again
        after a restart, a read or a take-over: `Policy.acknowledge` is idempotent)."""
        if self.alerting is None:
            return
        policy = self.alerting.policy
        for target_id in list(self.acks.by_target):
            since = policy.open_since(target_id)
            if self.acks.of(target_id, since) is not None:
                policy.acknowledge(target_id, since)

    def open_since(self, target_id: str) -> float | None:
        """The start of the target's open outage: the alert policy's where it decides
        the target's alerts here, else (another instance decides, or alerting off) the
        shown state's DOWN."""
        if self.alerting is not None and self.decides(target_id) and self.alerting.policy.follows(target_id):
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
        self.apply()
        self.states.version += 1  # the public page shows "being handled"

    async def acknowledge(self, target_id: str, who: str, note: str = "", via: str = "api") -> Ack:
        target = self._target(target_id)
        await self.follow()  # what another instance took meanwhile, before judging
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
        kept = await self.store.add_ack(ack)
        self._take(kept)
        if kept != ack:  # another instance took it a moment before: the first keeps it
            await self.silences.expire(silences)
            return kept
        log.info("acknowledged", extra=kv(target=target_id, who=who, via=via, since=round(since)))
        await self._audit(who, "incident.ack", target_id, via, note)
        return ack

    async def mute(self, target_id: str, seconds: float, who: str, via: str = "api") -> Mute:
        target = self._target(target_id)
        await self.follow()  # the mute another instance set, whose silences this one replaces
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
        """End expired mutes (the sender removes them from the store); expire the
        silences of the acknowledgements whose outage is over, where this instance
        decides the target's alerts."""
        now = self.clock()
        for mute in self.mutes.expired(now):
            if not self.sending():
                continue
            try:
                await self.store.remove_mute(mute.target)
            except StoreError as exc:
                log.error("an expired mute stays in the store", extra=kv(target=mute.target, error=str(exc)))
                continue
            log.info("mute ended", extra=kv(target=mute.target))
        for ack in list(self.acks):
            if ack.silences and now - ack.at < ACK_SILENCE_SECONDS and self._over(ack):
                self._expired[(ack.target, ack.since)] = ack.at
                await self.silences.expire(ack.silences)
        self._expired = {key: at for key, at in self._expired.items() if now - at < ACK_SILENCE_SECONDS}
        self.apply()

    def _over(self, ack: Ack) -> bool:
        """The acknowledged outage is over, as the instance that decides it knows (its
        silences not expired yet here)."""
        if (ack.target, ack.since) in self._expired or not self.decides(ack.target):
            return False
        if self.alerting is not None and not self.alerting.policy.follows(ack.target):
            return False  # not resumed yet (a take-over under way): nothing known
        return self.acks.of(ack.target, self.open_since(ack.target)) != ack
