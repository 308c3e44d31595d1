"""Replicas and the one sender with real `monitor run` processes on a real PostgreSQL:
two instances of one location split the targets (each target probed by one of them,
counted at the local server); the sender killed with `kill -9` during an outage of one
of its targets leaves its targets to the other replica, and exactly one "down" and one
"up" at the webhook receiver; each instance's status page, `/api/v1/status` and
`/metrics` show every target's state, and a target the other replica probes that goes
DOWN is DOWN on both, with one alert."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.cluster import owner
from tests.alertkit import Receiver, receiver
from tests.cluster.instances import Hits, Instance, hits_server, instances
from tests.postgresql import PostgreSQL
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

TARGETS = [f"t{n}" for n in range(12)]


@pytest.fixture
def database(postgresql: PostgreSQL) -> Iterator[str]:
    url = postgresql.create_database()
    yield url
    postgresql.drop_database(url)


def split(hits: Hits, at: float, names: set[str]) -> bool:
    """Since `at`, every target was probed, each by one instance, and by all of `names`."""
    probers = hits.probers(at)
    return (
        set(probers) == set(TARGETS)
        and all(len(p) == 1 for p in probers.values())
        and set().union(*probers.values()) == names
    )


def test_replicas_split_the_targets_and_a_killed_sender_leaves_both_to_the_other(tmp_path: Path, database: str) -> None:
    # One test for the three behaviours, as they share the slow part (a dead member is
    # seen after two renewals): the split, a replica's kill -9, the sender's kill -9
    # during an outage of one of its own targets.
    failing = next(t for t in TARGETS if owner(t, ["a", "b"]) == "a")
    with (
        receiver() as rec,
        hits_server() as hits,
        instances(tmp_path, database, hits, TARGETS, ["a", "b"], hook=rec.url + "/hook") as (a, b),
    ):
        a.start()  # first: it takes the lease
        wait_for(lambda: "this instance sends alerts now" in a.log.read_text(), 20, what="a sending")
        b.start()
        # Once each has seen the other (one renewal), every target is probed by one of them.
        steady = [time.monotonic()]

        def settled() -> bool:
            if split(hits, steady[0], {"a", "b"}):
                return True
            steady[0] = time.monotonic() - 3.0  # the last three seconds
            return False

        wait_for(settled, 30, what="the targets split between a and b")
        start = time.monotonic()
        wait_for(lambda: all(n >= 3 for n in _counts(hits, start).values()), 20, what="three more rounds of probes")
        assert split(hits, start, {"a", "b"}), hits.probers(start)
        probers = hits.probers(start)
        assert {t for t, p in probers.items() if p == {"a"}} == {t for t in TARGETS if owner(t, ["a", "b"]) == "a"}

        hits.failing.add(failing)
        wait_for(lambda: [e for e, _ in _events(rec)] == ["down"], 30, what="the down alert")
        a.kill()  # the sender, and the failing target's prober
        hits.failing.discard(failing)
        # Within two renewals (10 s) b counts a dead and probes every target; within the
        # lease (15 s) it sends, and the recovery of a's target is its to announce.
        wait_for(lambda: split(hits, time.monotonic() - 2.5, {"b"}), 40, what="b probing every target")
        wait_for(lambda: [e for e, _ in _events(rec)] == ["down", "up"], 40, what="the up alert, sent by b")
        assert "this instance sends alerts now" in b.log.read_text()
        # Nothing left in the queue that could still arrive twice.
        wait_for(
            lambda: 'monitor_notification_queue{notifier="hook"} 0' in _metrics(b.base), 20, what="b's queue empty"
        )
        events = _events(rec)
        assert [e for e, _ in events] == ["down", "up"]
        assert len({i for _, i in events}) == 2


def test_each_replica_shows_every_targets_state_and_a_down_is_alerted_once(tmp_path: Path, database: str) -> None:
    failing = next(t for t in TARGETS if owner(t, ["a", "b"]) == "b")  # probed by b, which does not send
    with (
        receiver() as rec,
        hits_server() as hits,
        instances(tmp_path, database, hits, TARGETS, ["a", "b"], hook=rec.url + "/hook") as (a, b),
    ):
        a.start()  # first: it takes the lease
        wait_for(lambda: "this instance sends alerts now" in a.log.read_text(), 20, what="a sending")
        b.start()
        wait_for(lambda: split(hits, time.monotonic() - 3.0, {"a", "b"}), 30, what="the targets split between a and b")
        everything_up = dict.fromkeys(TARGETS, "UP")
        for instance in (a, b):
            wait_for(lambda i=instance: _views(i) == [everything_up] * 3, 30, what=f"{instance.name} showing all UP")

        hits.failing.add(failing)
        one_down = {**everything_up, failing: "DOWN"}
        for instance in (a, b):
            wait_for(lambda i=instance: _views(i) == [one_down] * 3, 30, what=f"{instance.name} showing it DOWN")
        wait_for(lambda: [e for e, _ in _events(rec)] == ["down"], 30, what="the down alert")
        wait_for(
            lambda: 'monitor_notification_queue{notifier="hook"} 0' in _metrics(a.base), 20, what="a's queue empty"
        )
        assert [e for e, _ in _events(rec)] == ["down"]  # one, though both show it

        hits.failing.discard(failing)
        for instance in (a, b):
            wait_for(lambda i=instance: _views(i) == [everything_up] * 3, 30, what=f"{instance.name} showing it UP")
        wait_for(lambda: [e for e, _ in _events(rec)] == ["down", "up"], 30, what="the up alert")
        wait_for(
            lambda: 'monitor_notification_queue{notifier="hook"} 0' in _metrics(a.base), 20, what="a's queue empty"
        )
        events = _events(rec)
        assert [e for e, _ in events] == ["down", "up"] and len({i for _, i in events}) == 2
        assert f'probe_success{{target="{failing}"}}' not in _metrics(a.base)  # b's probe, b's series


# A target's row of the status page (not an incident's line, which shows DOWN for ever).
_ROW = re.compile(
    r'<li class="card target">\s*<div><a class="name" href="/targets/([^"?]+)\?[^"]*">[^<]*</a>\s*'
    r'<div class="meta">[^<]*</div></div>\s*<div><span class="state s-([A-Z]+)">'
)
_STATE = re.compile(r'^monitor_target_state\{state="([A-Z]+)",target="([^"]+)"\} 1\.0$', re.M)


def _views(instance: Instance) -> list[dict[str, str]]:
    """Each target's state on the instance's status page, `/api/v1/status` and `/metrics`."""
    page = httpx.get(f"{instance.base}/", timeout=5).text
    api = httpx.get(f"{instance.base}/api/v1/status", timeout=5).json()
    return [
        dict(_ROW.findall(page)),
        {t["id"]: t["state"] for t in api["targets"]},
        {target: state for state, target in _STATE.findall(_metrics(instance.base))},
    ]


def _counts(hits: Hits, at: float) -> dict[str, int]:
    counts = dict.fromkeys(TARGETS, 0)
    for target, _ in hits.since(at):
        counts[target] = counts.get(target, 0) + 1
    return counts


def _events(rec: Receiver) -> list[tuple[str, str]]:
    return [(r.json()["event"], r.json()["id"]) for r in rec.accepted()]


def _metrics(base: str) -> str:
    return httpx.get(f"{base}/metrics", timeout=5).text
