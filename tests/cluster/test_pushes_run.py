"""Push heartbeats between real `monitor run` replicas on a real PostgreSQL server of the
test's own: pushes sent to the replica that does not own the push target are stored,
and the owner judges them (UP, a reported DOWN, UP, then DOWN once they stop); with the
server stopped the push is answered 503 with the reason, never a 200 for a heartbeat
that was not kept."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg
import pytest

from monitor.cluster import owner
from tests.cluster.instances import Instance, hits_server, instances
from tests.postgresql import PostgreSQL
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

TOKEN = "push-token-0123456789"
PUSH = f"""
[targets.job]
kind = "push"
period = "2s"
grace = "1s"
token = "{TOKEN}"
"""


def _push(instance: Instance, status: str = "up") -> httpx.Response:
    with httpx.Client(timeout=15) as client:
        return client.get(f"{instance.base}/push/job", params={"token": TOKEN, "status": status})


def _job(instance: Instance) -> tuple[str, str | None]:
    """The push target's state and reason on `instance`'s own API."""
    with httpx.Client(timeout=5) as client:
        targets = client.get(f"{instance.base}/api/v1/status").json()["targets"]
    found = next(t for t in targets if t["id"] == "job")
    return found["state"], found["reason"]


def _received_by(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {str(r[0]) for r in conn.execute("SELECT received_by FROM heartbeats").fetchall()}


def test_a_push_to_the_replica_that_does_not_own_it_is_judged_by_the_owner(server: PostgreSQL, tmp_path: Path) -> None:
    url = server.create_database()
    with hits_server() as hits, instances(tmp_path, url, hits, ["web"], ["a", "b"], extra=PUSH) as (a, b):
        a.start()
        b.start()
        wait_for(lambda: all("members=a,b" in i.log.read_text() for i in (a, b)), 30, what="both seeing both")
        judge, other = (a, b) if owner("job", ["a", "b"]) == "a" else (b, a)

        # No push yet: DOWN by the owner's own probe; only pushes judged by it lift it.
        wait_for(lambda: _job(judge) == ("DOWN", "no_heartbeat"), 30, what="DOWN before any push")

        def up() -> bool:
            assert _push(other).status_code == 200
            return _job(judge)[0] == "UP"

        wait_for(up, 20, every=0.5, what="the owner judging the pushes UP")
        assert _push(other, "down").status_code == 200
        wait_for(lambda: _job(judge) == ("DOWN", "reported_down"), 20, what="the owner judging the reported DOWN")
        wait_for(up, 20, every=0.5, what="UP again")
        wait_for(lambda: _job(judge) == ("DOWN", "no_heartbeat"), 30, what="DOWN once the pushes stopped")
        assert _received_by(url) == {other.name}

        server.halt()
        try:
            wait_for(lambda: _push(other).status_code == 503, 30, what="a 503 while the database is away")
            refused = _push(other)
            assert refused.status_code == 503 and refused.json()["reason"]
            assert refused.headers["retry-after"]
        finally:
            server.resume()
