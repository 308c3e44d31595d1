"""`monitor`'s runtime on PostgreSQL through an outage of its database, as
`test_durability.py` on a full disk: a target's outage during it is alerted from memory,
in order, the storage is announced failing ("database unreachable") and recovered,
`/readyz` says why it is not ready, and once the database is back the incident is in the
history and every alert is recorded as delivered, once."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import psycopg
import pytest

from monitor.config import Config
from monitor.probes import PROBES, ProbeContext, ProbeKind
from monitor.result import Reason, Result, State
from monitor.runtime import Monitor
from monitor.store.postgres.store import PostgresStore
from monitor.web import create_app
from tests.alertkit import Receiver, receiver, target, webhook_config
from tests.postgresql import PostgreSQL
from tests.waiting import until

pytestmark = pytest.mark.integration


class Switch:
    """A probe kind whose outcome the test flips."""

    def __init__(self) -> None:
        self.ok = True

    async def probe(self, target: object, ctx: ProbeContext) -> Result:
        if self.ok:
            return Result(True, duration=0.001, started=time.time())
        return Result(False, Reason.CONNECTION_REFUSED, "refused", started=time.time())


@pytest.fixture
def switch(monkeypatch: pytest.MonkeyPatch) -> Switch:
    fake = Switch()
    monkeypatch.setitem(PROBES, "fake", ProbeKind("fake", (), lambda t, u: None, fake.probe))
    return fake


@pytest.fixture
def url(postgresql: PostgreSQL) -> Iterator[str]:
    found = postgresql.create_database()
    yield found
    postgresql.accept(found)
    postgresql.drop_database(found)


def fake_config(hook: str, store: str) -> Config:
    config = webhook_config(hook)
    web = target("web", "Website", ("hook",), interval=0.1, timeout=0.1, failure_threshold=2, success_threshold=2)
    return dataclasses.replace(
        config,
        settings=dataclasses.replace(config.settings, store=store),
        targets={"web": dataclasses.replace(web, kind="fake")},
    )


def kinds(rec: Receiver) -> list[str]:
    return [r.json()["event"] for r in rec.accepted()]


@pytest.fixture
async def running(url: str, switch: Switch) -> AsyncIterator[tuple[Monitor, httpx.AsyncClient, Receiver]]:
    with receiver() as rec:
        monitor = Monitor(fake_config(rec.url + "/hook", url), PostgresStore(url, flush_interval=0.05), alerting=True)
        await monitor.start()
        app = create_app(monitor)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://monitor") as client:
            try:
                yield monitor, client, rec
            finally:
                await monitor.stop()


async def test_an_outage_while_the_database_is_unreachable_is_alerted_shown_unready_and_stored_once_it_returns(
    running: tuple[Monitor, httpx.AsyncClient, Receiver], switch: Switch, url: str, postgresql: PostgreSQL
) -> None:
    monitor, client, rec = running
    assert monitor.alerting is not None
    await until(lambda: monitor.states.status("web").state == State.UP, what="web UP")
    assert (await client.get("/readyz")).status_code == 200
    postgresql.refuse(url)
    await until(lambda: not monitor.store.health().ok, what="the history's writes fail")
    switch.ok = False
    await until(lambda: kinds(rec) == ["down"], what="the down delivered")
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["problems"][0].startswith("store: database unreachable")
    await monitor.alerting.tick()
    await until(lambda: len(rec.accepted()) == 2, what="the storage alert")
    assert rec.accepted()[1].json()["reason"] == "database unreachable"
    switch.ok = True
    await until(lambda: len(rec.accepted()) == 3, what="the up delivered")

    postgresql.accept(url)
    await until(lambda: monitor.store.health().ok, what="the history written")
    await monitor.alerting.tick()
    await until(lambda: len(rec.accepted()) == 4, what="the recovery")
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()["problems"]) == (200, [])
    assert kinds(rec) == ["down", "storage_failing", "up", "storage_recovered"]
    down_at = rec.accepted()[0].json()["since"]
    found = (await client.get("/api/v1/incidents", params={"since": "2020-01-01T00:00:00Z"})).json()["incidents"]
    assert [(i["target"]["id"], i["start"][:23], i["ongoing"]) for i in found] == [("web", down_at[:23], False)]
    await monitor.alerting.tick()  # writes what the outbox could not record, if anything is left
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT alert_id, status FROM outbox ORDER BY seq").fetchall()
    assert [(ident.split(":")[1], status) for ident, status in rows] == [
        ("down", "delivered"),
        ("storage_failing", "delivered"),
        ("up", "delivered"),
        ("storage_recovered", "delivered"),
    ]
