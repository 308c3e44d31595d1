"""A real `monitor run` whose PostgreSQL server is stopped for a while (`pg_ctl stop`,
then `start`, on a server of this test's own): it keeps probing and deciding from
memory, alerts from there, fails `/readyz` with the reason, is even restarted while the
server is away (what waits is in its spool), and once the server is back nothing is
lost and nothing is doubled: every probe the local server answered is one stored
result, counted once in the rollups; each change of state is one event; one "down" and
one "up" reached the webhook receiver."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.alertkit import receiver
from tests.cluster.instances import hits_server, instances
from tests.postgresql import PostgreSQL
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def test_postgresql_stopped_for_a_while_loses_nothing_and_doubles_nothing(server: PostgreSQL, tmp_path: Path) -> None:
    url = server.create_database()
    with (
        receiver() as rec,
        hits_server() as hits,
        instances(tmp_path, url, hits, ["web"], ["a"], hook=rec.url + "/hook") as (a,),
    ):

        def kinds() -> list[str]:
            return [r.json()["event"] for r in rec.accepted() if r.json()["event"] in ("down", "up")]

        a.start()
        wait_for(lambda: a.readyz()[0] == 200, 20, what="a ready")
        server.halt()
        wait_for(lambda: "database unreachable" in a.readyz()[1], 20, what="/readyz saying the database is away")
        assert a.readyz()[0] == 503
        hits.failing.add("web")
        wait_for(lambda: kinds() == ["down"], 20, what="the down alert, sent from memory")
        hits.failing.discard("web")
        wait_for(lambda: kinds() == ["down", "up"], 20, what="the up alert, sent from memory")
        a.stop()  # a restart while the server is still away: the spool keeps what waits
        probes = len(hits.since(0.0))

        server.resume()
        a.start()
        wait_for(lambda: a.readyz()[0] == 200, 30, what="a ready again, the spool written")
        a.stop()
        probes_total = len(hits.since(0.0))
    with psycopg.connect(url) as conn:
        stored = conn.execute("SELECT count(*) FROM results").fetchone()
        counted = conn.execute("SELECT sum(count) FROM rollups").fetchone()
        events = conn.execute("SELECT old, new FROM events ORDER BY at").fetchall()
        sent = conn.execute("SELECT alert_id, status FROM outbox WHERE kind IN ('down', 'up') ORDER BY seq").fetchall()
    assert stored is not None and counted is not None
    # Each stop may cut one probe short after the server answered it: never more.
    assert probes_total - 2 <= stored[0] <= probes_total, (stored, probes, probes_total)
    assert counted[0] == stored[0]
    assert events == [("UNKNOWN", "UP"), ("UP", "DOWN"), ("DOWN", "UP")]
    assert [status for _, status in sent] == ["delivered", "delivered"]
    assert len({alert for alert, _ in sent}) == 2
    assert kinds() == ["down", "up"]
