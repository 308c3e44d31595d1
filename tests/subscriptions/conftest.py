"""A `Subscriptions` on a real SQLite store file, sending to a real local SMTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from monitor.config import Config
from monitor.subscriptions.service import Subscriptions
from tests.fakestore import MemoryStore
from tests.mailbox import with_subscriptions
from tests.web.conftest import make_config, target

Build = Callable[..., Subscriptions]


def config(port: int) -> Config:
    targets = [
        target("web", "Website"),
        target("rs", "Rumah sakit", group="Kesehatan"),
        target("dns", "DNS", group="Jaringan"),
        target("secret", "Router rahasia", group="Jaringan", public=False),
    ]
    return with_subscriptions(make_config(targets, language="id"), port)


@pytest.fixture
async def subscriptions(tmp_path: Path) -> AsyncIterator[Build]:
    """`build(port)`: opened and started; stopped after the test. The sender retries
    after 0.05 s (doubling) instead of 5 s."""
    made: list[Subscriptions] = []

    def build(port: int) -> Subscriptions:
        store = MemoryStore(subscribers_path=tmp_path / "monitor.db")
        service = Subscriptions(config(port), store)
        service.sender.base = 0.05
        service.open()
        service.start()
        made.append(service)
        return service

    yield build
    for service in made:
        await service.stop()
