"""On call across replicas, with real `monitor run` processes on a real PostgreSQL: an
acknowledgement and a mute sent to the replica that neither sends nor probes the target
hold where the alerts are decided (the sender, which probes it): the acknowledged
outage gets no reminder while a younger outage gets its own, the muted target's outage
is never announced, and both show on each replica's admin API. After a `kill -9` of
that sender, the other replica probes, decides and sends, and both still hold (read
back from the store).

One reminder period of each replica, overlapping: the outages are staggered. The
acknowledged one is the oldest, so a tick that sends a younger outage's reminder has
offered the acknowledged one's too (due earlier); `later` starts failing `STAGGER`
seconds after `loud`, so its first reminder falls due after `a` is killed (the outbox
in the store shows `a` never queued it) and comes from `b`, at a tick after `b` took
the targets over, which offers the acknowledged outage's first reminder again (a
resumed outage's current reminder is offered again, `Policy.restore`) and the muted
outage's unannounced "down"."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from monitor.cluster import owner
from tests.alertkit import Receiver, receiver
from tests.cluster.instances import Hits, Instance, hits_server, instances
from tests.postgresql import PostgreSQL
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

TARGETS = [f"t{n}" for n in range(12)]
TOKEN = "cluster-token"
REPEAT = 60  # seconds: the shortest `repeat_every`
STAGGER = 30  # seconds between `loud` and `later` failing: more than a reminder's delay (a tick, 10 s) and a kill


@pytest.fixture
def database(postgresql: PostgreSQL) -> Iterator[str]:
    url = postgresql.create_database()
    yield url
    postgresql.drop_database(url)


def test_an_ack_and_a_mute_sent_to_the_other_replica_hold_on_the_sender_and_after_its_kill(
    tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", TOKEN)  # inherited by the instances
    # Four targets the sender `a` probes: two left alone (their reminders are the proof
    # that reminders come, from a then from b), one acknowledged on b, one muted on b.
    loud, later, acked, muted = [t for t in TARGETS if owner(t, ["a", "b"]) == "a"][:4]
    with (
        receiver() as rec,
        hits_server() as hits,
        instances(tmp_path, database, hits, TARGETS, ["a", "b"], hook=rec.url + "/hook") as (a, b),
    ):
        for instance in (a, b):  # reminders every minute
            instance.path.write_text(
                instance.path.read_text().replace('type = "webhook"', f'type = "webhook"\nrepeat_every = "{REPEAT}s"')
            )
        a.start()  # first: it takes the lease
        wait_for(lambda: "this instance sends alerts now" in a.log.read_text(), 20, what="a sending")
        b.start()
        wait_for(lambda: _probers(hits) == {"a", "b"}, 30, what="the targets split between a and b")

        answer = _call(b, "POST", f"/admin/api/targets/{muted}/mute", {"for": "1h"})
        assert answer.status_code == 200, answer.text
        for instance in (a, b):  # the admin view of every replica shows it
            wait_for(lambda i=instance: muted in _oncall(i, "mutes"), 20, what=f"{instance.name} showing the mute")

        hits.failing |= {acked, muted}  # the oldest outages
        wait_for(lambda: _kinds(rec, acked) == ["down"], 30, what="the down alert of the acknowledged")
        # b shows the outage from a's published state: acknowledged there once it does.
        wait_for(lambda: _acknowledge(b, acked) == 200, 20, what="b acknowledging the outage a probes")
        for instance in (a, b):
            wait_for(lambda i=instance: acked in _oncall(i, "acks"), 20, what=f"{instance.name} showing the ack")
        again = _call(a, "POST", f"/admin/api/targets/{acked}/ack", {"note": "me too"})
        assert again.json()["who"] == "token" and again.json()["note"] == "", again.text  # the first one keeps it
        calm = next(t for t in TARGETS if t not in (loud, later, acked, muted))  # UP: nothing to acknowledge
        for instance in (a, b):
            refused = _call(instance, "POST", f"/admin/api/targets/{calm}/ack", {})
            assert (refused.status_code, refused.json()["code"]) == (409, "no_incident"), refused.text
            unknown = _call(instance, "POST", "/admin/api/targets/nope/ack", {})
            assert (unknown.status_code, unknown.json()["code"]) == (404, "no_target"), unknown.text

        hits.failing.add(loud)  # younger than the acknowledged outage
        wait_for(lambda: _kinds(rec, loud) == ["down"], 30, what="the loud outage's down alert")
        loud_down = time.monotonic()
        # `later` fails STAGGER s after `loud`: the clock is the condition here.
        wait_for(lambda: time.monotonic() >= loud_down + STAGGER, STAGGER + 5, what="the stagger", every=0.5)
        hits.failing.add(later)
        wait_for(lambda: _kinds(rec, later) == ["down"], 30, what="the later outage's down alert")

        # The first reminder of the loud outage: the tick that sent it offered the older
        # acknowledged outage's too; the queue empty, none of it came.
        wait_for(lambda: _kinds(rec, loud) == ["down", "reminder"], REPEAT + 40, what="the loud outage's reminder")
        _drained(a)
        assert _kinds(rec, acked) == ["down"]
        assert _kinds(rec, muted) == []

        a.kill()  # the sender, and the prober of all four
        assert _queued(database, later, "reminder") == 0, "a queued the later outage's reminder before its kill"
        wait_for(lambda: "this instance sends alerts now" in b.log.read_text(), 40, what="b sending")
        wait_for(lambda: _probers(hits) == {"b"}, 30, what="b probing every target")
        wait_for(lambda: _kinds(rec, later) == ["down", "reminder"], REPEAT + 40, what="b's reminder of the later")
        _drained(b)
        assert _kinds(rec, acked) == ["down"]  # b took it over acknowledged
        assert _kinds(rec, muted) == []  # and muted
        assert muted in _oncall(b, "mutes") and acked in _oncall(b, "acks")


def _probers(hits: Hits) -> set[str]:
    """The instances that probed in the last three seconds, once every target was probed."""
    probers = hits.probers(time.monotonic() - 3.0)
    return set().union(*probers.values()) if set(probers) == set(TARGETS) else set()


def _call(instance: Instance, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.request(
        method, f"{instance.base}{path}", json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )


def _acknowledge(instance: Instance, target: str) -> int:
    return _call(instance, "POST", f"/admin/api/targets/{target}/ack", {}).status_code


def _oncall(instance: Instance, key: str) -> set[str]:
    """The targets of the instance's on-call API's `acks` or `mutes`."""
    answer = httpx.get(f"{instance.base}/admin/api/oncall", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    return {row["target"] for row in answer.json()[key]}


def _kinds(rec: Receiver, target: str) -> list[str]:
    """The kinds of the alerts of `target` the webhook received, in order."""
    bodies = [r.json() for r in rec.accepted()]
    return [b["event"] for b in bodies if b["target"]["id"] == target]


def _queued(database: str, target: str, kind: str) -> int:
    """How many alerts of `kind` about `target` the shared outbox ever queued."""
    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM outbox WHERE target = %s AND kind = %s", (target, kind)).fetchone()
    assert row is not None
    return int(row[0])


def _drained(instance: Instance) -> None:
    """The sender's queue empty: what it decided has arrived."""
    wait_for(
        lambda: 'monitor_notification_queue{notifier="hook"} 0' in httpx.get(f"{instance.base}/metrics").text,
        20,
        what=f"{instance.name}'s queue empty",
    )
