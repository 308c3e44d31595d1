"""Fixtures for the notifier tests: a sample alert and a notifier context."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from monitor.notifiers.base import Alert, NotifyContext
from monitor.notifiers.texts import Texts

AT = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC, 15:00:00 WIB


@pytest.fixture
def alert() -> Alert:
    return Alert(
        id="web:down:1800000000",
        kind="down",
        target="web",
        name="Website <Pemkab>",
        group="Layanan publik",
        old="UP",
        new="DOWN",
        reason="timeout",
        detail="no answer within 10s",
        at=AT,
        since=AT,
        url="https://status.example.go.id/targets/web",
        dependents=("CCTV lobi",),
    )


@pytest.fixture
async def ctx() -> AsyncIterator[NotifyContext]:
    async with httpx.AsyncClient() as client:
        yield NotifyContext(client, Texts("en", "Asia/Jakarta", "Status Pemkab"))
