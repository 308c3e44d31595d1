from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from monitor.config import Config, Target
from monitor.config.loader import load_config
from monitor.errors import StoreError
from monitor.probes import PROBES
from monitor.probes.base import ProbeContext
from monitor.probes.push import HeartbeatBook
from monitor.probes.tlsutil import TlsContextCache
from monitor.result import Reason, Result
from monitor.web.push import routes

TOKEN = "s3cret-token-0123456789"


class Runtime:
    """The part of the runtime the push route uses, recording what it was handed."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.book = HeartbeatBook()
        self.recorded: list[tuple[str, Result]] = []
        self.refusing: StoreError | None = None  # a shared store that cannot take heartbeats

    async def record_heartbeat(self, target: Target, result: Result) -> None:
        if self.refusing is not None:
            raise self.refusing
        self.recorded.append((target.id, result))
        self.book.record(target.id, result)


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    path = tmp_path / "targets.toml"
    path.write_text(
        f'[targets.backup]\nkind = "push"\nperiod = "1h"\ntoken = "{TOKEN}"\n'
        '[targets.site]\nkind = "push"\nperiod = "1h"\ntoken = "another-token-0123456789"\n',
        encoding="utf-8",
    )
    return Runtime(load_config(path, env={}))


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=routes())
    app.state.monitor = runtime
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://monitor") as client:
        yield client


async def probe(runtime: Runtime) -> Result:
    ctx = ProbeContext(tls=TlsContextCache(), heartbeats=runtime.book)
    return await PROBES["push"].probe(runtime.config.targets["backup"], ctx)


async def test_a_get_heartbeat_makes_the_target_up(client: httpx.AsyncClient, runtime: Runtime) -> None:
    response = await client.get("/push/backup", params={"token": TOKEN, "duration": "1500ms"})
    assert response.status_code == 200
    [(target_id, heartbeat)] = runtime.recorded
    assert target_id == "backup" and heartbeat.ok and heartbeat.duration == 1.5
    assert (await probe(runtime)).ok


async def test_a_heartbeat_the_shared_store_cannot_take_is_a_503_with_the_reason(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.refusing = StoreError("cannot store the heartbeat", "database unreachable")
    response = await client.get("/push/backup", params={"token": TOKEN})
    assert response.status_code == 503 and response.headers["retry-after"] == "10"
    assert response.json() == {"error": "the heartbeat was not stored, send it again", "reason": "database unreachable"}
    assert runtime.recorded == []


async def test_a_post_with_a_form_body_reports_down_with_its_message(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    response = await client.post(
        f"/push/backup?token={TOKEN}",
        data={"status": "down", "msg": "dump failed", "duration": "42"},
    )
    assert response.status_code == 200
    [(_, heartbeat)] = runtime.recorded
    assert not heartbeat.ok and heartbeat.detail == "dump failed" and heartbeat.duration == 42.0
    result = await probe(runtime)
    assert result.reason == Reason.REPORTED_DOWN and result.detail == "dump failed"


async def test_a_wrong_token_and_an_unknown_id_get_the_same_404(client: httpx.AsyncClient, runtime: Runtime) -> None:
    wrong = await client.get("/push/backup", params={"token": "another-token-0123456789"})
    missing = await client.get("/push/nope", params={"token": TOKEN})
    no_token = await client.post("/push/backup")
    assert wrong.status_code == missing.status_code == no_token.status_code == 404
    assert wrong.content == missing.content == no_token.content
    assert runtime.recorded == []


@pytest.mark.parametrize("params", [{"status": "maybe"}, {"duration": "soon"}, {"duration": "-1"}])
async def test_it_rejects_an_unknown_status_or_duration(
    client: httpx.AsyncClient, runtime: Runtime, params: dict[str, str]
) -> None:
    response = await client.get("/push/backup", params={"token": TOKEN, **params})
    assert response.status_code == 400
    assert runtime.recorded == []


async def test_it_truncates_long_messages_and_refuses_huge_bodies(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await client.get("/push/backup", params={"token": TOKEN, "msg": "x" * 2000})
    assert len(runtime.recorded[0][1].detail) == 500
    huge = await client.post(f"/push/backup?token={TOKEN}", content=b"a" * 20000)
    assert huge.status_code == 413


async def test_wrong_tokens_are_refused_with_429_per_client_and_others_push_on(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    app = Starlette(routes=routes())
    app.state.monitor = runtime

    def from_address(host: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(host, 40000)), base_url="http://m")

    async with from_address("127.0.0.2") as guesser, from_address("127.0.0.3") as job:
        with caplog.at_level(logging.WARNING):
            for i in range(30):
                wrong = await guesser.get("/push/backup", params={"token": f"guess-{i:04d}"})
                assert wrong.status_code == 404
            refused = await guesser.get("/push/backup", params={"token": TOKEN})  # not compared
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
            assert runtime.recorded == []
            assert (await job.get("/push/backup", params={"token": TOKEN})).status_code == 200
            assert (await job.post(f"/push/site?token={TOKEN}")).status_code == 404  # its own failure only
            assert (await job.get("/push/backup", params={"token": TOKEN})).status_code == 200
    assert [tid for tid, _ in runtime.recorded] == ["backup", "backup"]
    lines = [r for r in caplog.records if r.name == "monitor.web.ratelimit"]
    assert len(lines) == 1 and lines[0].kv_fields["client"] == "127.0.0.2"
    assert lines[0].kv_fields["path"] == "/push/backup"
    assert "guess-" not in caplog.text and TOKEN not in caplog.text


async def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(runtime: Runtime) -> None:
    app = Starlette(routes=routes())
    app.state.monitor = runtime
    received: list[object] = []

    async def receive() -> dict[str, object]:
        received.append("read")
        return {"type": "http.request", "body": b"", "more_body": False}

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/push/backup",
        "raw_path": b"/push/backup",
        "query_string": f"token={TOKEN}".encode(),
        "headers": [(b"content-length", b"100000000"), (b"content-type", b"application/x-www-form-urlencoded")],
        "client": ("127.0.0.2", 40000),
        "server": ("127.0.0.1", 8080),
        "scheme": "http",
        "http_version": "1.1",
        "root_path": "",
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 413 and (b"connection", b"close") in sent[0]["headers"]
    assert received == []  # not a byte of the body was asked for
