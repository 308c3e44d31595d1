"""One poller per bot token: every `interactive = true` telegram notifier sharing a token
shares its bot (their `allowed_users` together may act). `sync(config)` starts the
pollers of new tokens and stops those no longer configured (at a reload)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import httpx

from monitor.config import Config
from monitor.notifiers.telegrambot.api import BotApi
from monitor.notifiers.telegrambot.commands import Desk, Handler
from monitor.notifiers.telegrambot.poller import Poller
from monitor.store import OnCallRecords


def interactive(config: Config) -> dict[tuple[str, str], tuple[float, frozenset[int]]]:
    """(api_url, token) -> (long poll wait, allowed user ids) of every interactive bot."""
    found: dict[tuple[str, str], tuple[float, frozenset[int]]] = {}
    for notifier in config.notifiers.values():
        spec = notifier.spec
        if notifier.type != "telegram" or not getattr(spec, "interactive", False):
            continue
        key = (spec.api_url, spec.bot_token)
        wait, allowed = found.get(key, (spec.poll_timeout, frozenset()))
        found[key] = (min(wait, spec.poll_timeout), allowed | frozenset(spec.allowed_users))
    return found


class Bots:
    """The running pollers, by (api_url, token)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        offsets: OnCallRecords,
        desk: Desk,
        is_sender: Callable[[], bool] = lambda: True,
    ) -> None:
        self.client, self.offsets, self.desk, self.is_sender = client, offsets, desk, is_sender
        self.tasks: dict[tuple[str, str], tuple[tuple[float, frozenset[int]], asyncio.Task[None]]] = {}

    def sync(self, config: Config) -> None:
        wanted = interactive(config)
        for key in [k for k, (how, _) in self.tasks.items() if wanted.get(k) != how]:
            self.tasks.pop(key)[1].cancel()
        for key, how in wanted.items():
            if key in self.tasks:
                continue
            api = BotApi(self.client, *key)
            handler = Handler(api, self.desk, how[1])
            poller = Poller(api, self.offsets, handler.handle, wait=how[0], is_sender=self.is_sender)
            self.tasks[key] = (how, asyncio.create_task(poller.run(), name=f"telegram-{api.bot_id}"))

    async def stop(self) -> None:
        tasks = [task for _, task in self.tasks.values()]
        self.tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
