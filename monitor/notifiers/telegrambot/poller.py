"""Long polling `getUpdates`: no public address needed behind the office's NAT.

The poller asks for updates after the last one it handled (the offset, kept in the
store per bot: `OnCallRecords.bot_offset`, so a restart neither answers an update twice
nor misses one), hands each to its handler, and stores the next offset after each.
Only the instance that may send polls (`is_sender`; one instance alone always may —
with several instances on one database this is where the sender lease plugs in), so
there is one poller per bot token. Telegram down, a 409 (another poller or a webhook on
the same token), a wrong token: logged, and polled again after a backoff doubling from
`base` up to `cap` (or the 429's wait); a handler's failure is logged and that update
skipped. Nothing here raises into the monitor, and alerts never wait for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from monitor.errors import NotifyError, StoreError, TransientNotifyError
from monitor.log import kv
from monitor.notifiers.telegrambot.api import BotApi
from monitor.store import OnCallRecords

log = logging.getLogger("monitor.telegram")
IDLE_SECONDS = 5.0  # how often a poller that may not poll looks again


class Poller:
    """One bot's update loop; `run()` until cancelled."""

    def __init__(
        self,
        api: BotApi,
        offsets: OnCallRecords,
        handle: Callable[[dict[str, Any]], Awaitable[None]],
        *,
        wait: float = 50.0,
        is_sender: Callable[[], bool] = lambda: True,
        base: float = 1.0,
        cap: float = 300.0,
    ) -> None:
        self.api, self.offsets, self.handle, self.wait, self.is_sender = api, offsets, handle, wait, is_sender
        self.base, self.cap = base, cap
        self.offset: int | None = None
        self.failures = 0
        self._read = False

    async def run(self) -> None:
        while True:
            if not self.is_sender():
                await asyncio.sleep(IDLE_SECONDS)
                continue
            try:
                delay = await self.poll_once()
            except Exception:  # a bug here must not end the bot for the rest of the holiday
                self.failures += 1
                delay = self._backoff()
                log.exception("telegram polling crashed", extra=kv(bot=self.api.bot_id, retry_in=f"{delay:.1f}s"))
            if delay:
                await asyncio.sleep(delay)

    def _backoff(self) -> float:
        return min(self.cap, self.base * 2.0 ** min(self.failures - 1, 20))

    async def poll_once(self) -> float:
        """One long poll and its updates; the seconds to wait before the next (0: none)."""
        try:
            if not self._read:
                self.offset, self._read = await self.offsets.bot_offset(self.api.bot_id), True
            updates = await self.api.get_updates(self.offset, self.wait)
        except (NotifyError, StoreError) as exc:
            self.failures += 1
            retry = exc.retry_after if isinstance(exc, TransientNotifyError) else None
            delay = retry if retry is not None else self._backoff()
            log.warning(
                "telegram polling failed",
                extra=kv(bot=self.api.bot_id, error=str(exc), attempt=self.failures, retry_in=f"{delay:.1f}s"),
            )
            return delay
        if self.failures:
            log.info("telegram polling works again", extra=kv(bot=self.api.bot_id, after=self.failures))
        self.failures = 0
        for update in updates:
            await self._one(update)
        return 0.0

    async def _one(self, update: dict[str, Any]) -> None:
        ident = update.get("update_id")
        try:
            await self.handle(update)
        except Exception:  # a bad update or a failed answer must not stop the bot
            log.exception("telegram update not handled", extra=kv(bot=self.api.bot_id, update=ident))
        if isinstance(ident, int):
            self.offset = max(self.offset or 0, ident + 1)
            try:
                await self.offsets.set_bot_offset(self.api.bot_id, self.offset)
            except StoreError as exc:  # kept in memory; stored with the next update
                log.error("telegram offset not stored", extra=kv(bot=self.api.bot_id, error=str(exc)))
