"""Several instances on one PostgreSQL database: who is alive (by the database's clock),
one sender's lease at a time, the claims of a dead sender given up at a change of
holder, and each incident event stored once however often a batch is written."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from monitor.result import Event, Result, State
from monitor.store import Member
from monitor.store.postgres.members import Members
from monitor.store.postgres.outbox import PostgresOutbox
from monitor.store.postgres.store import PostgresStore
from tests.alertkit import alert
from tests.history import T0, Clock
from tests.postgresql import PostgreSQL
from tests.waiting import until

pytestmark = pytest.mark.integration


@pytest.fixture
def url(postgresql: PostgreSQL) -> Iterator[str]:
    url = postgresql.create_database()
    yield url
    postgresql.drop_database(url)


@pytest.fixture
def members(url: str) -> Iterator[Members]:
    found = Members(url)
    yield found
    found.close()


def _age(url: str, table: str, column: str, seconds: float) -> None:
    """Make every row of `table` look `seconds` older, as time passing would."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"UPDATE {table} SET {column} = {column} - %s", (seconds,))


def test_members_of_one_location_see_each_other_and_not_the_other_location(members: Members) -> None:
    members.renew(Member("b", "sampit", 1.0), 10.0)
    members.renew(Member("c", "jakarta", 1.0), 10.0)
    live = members.renew(Member("a", "sampit", 2.0), 10.0)
    assert [m.instance for m in live] == ["a", "b"]


def test_a_member_whose_row_is_older_than_two_renewals_is_dead(url: str, members: Members) -> None:
    members.renew(Member("b"), 10.0)
    _age(url, "members", "renewed_at", 11.0)
    live = members.renew(Member("a"), 10.0)
    assert [m.instance for m in live] == ["a"]


def test_only_one_member_holds_the_lease_until_it_expires(url: str, members: Members) -> None:
    assert members.lease("a", 15.0)
    assert not members.lease("b", 15.0)
    assert members.lease("a", 15.0)
    _age(url, "leases", "expires_at", 16.0)
    assert members.lease("b", 15.0)
    assert not members.lease("a", 15.0)


def test_a_member_leaving_frees_its_lease_and_row_at_once(members: Members) -> None:
    members.renew(Member("a"), 10.0)
    assert members.lease("a", 15.0)
    members.leave("a")
    assert members.lease("b", 15.0)
    assert [m.instance for m in members.renew(Member("b"), 10.0)] == ["b"]


def test_a_new_sender_can_claim_at_once_what_the_dead_one_had_claimed(url: str, members: Members) -> None:
    clock = Clock(T0)
    dead, alive = PostgresOutbox(url, clock), PostgresOutbox(url, clock)
    killed = Members(url)  # the dead instance's; `members` is the one alive
    dead.open()
    alive.open()
    try:
        dead.enqueue(alert("down-1"), ["hook"])
        assert killed.lease("dead", 15.0)
        claimed = dead.head("hook")
        assert claimed is not None
        seen = alive.head("hook")
        assert seen is not None and seen.next_at > clock()  # claimed: waited for, not sent
        _age(url, "leases", "expires_at", 16.0)  # the dead sender's lease ran out
        assert members.lease("alive", 15.0)
        taken = alive.head("hook")
        assert taken is not None and taken.seq == claimed.seq and taken.next_at <= clock()
    finally:
        dead.db.close()  # killed: its session ends without giving its claims up
        dead.close()
        alive.close()
        killed.close()


def test_an_instance_restarted_after_a_crash_frees_the_claims_of_its_run_before(url: str) -> None:
    clock = Clock(T0)
    before, after = Members(url), Members(url)
    crashed, box = PostgresOutbox(url, clock), PostgresOutbox(url, clock)
    crashed.open()
    box.open()
    try:
        crashed.enqueue(alert("down-1"), ["hook"])
        assert before.lease("a", 15.0)
        assert crashed.head("hook") is not None  # claimed, then the process died
        assert after.lease("a", 15.0)  # the same instance, restarted: still its lease
        taken = box.head("hook")
        assert taken is not None and taken.next_at <= clock()
    finally:
        crashed.db.close()
        crashed.close()
        box.close()
        before.close()
        after.close()


async def test_an_event_written_twice_is_stored_once(url: str) -> None:
    store = PostgresStore(url)
    await store.open()
    try:
        event = Event("web", T0, State.UP, State.DOWN, "timeout", "no answer")
        store.add_event(event)  # committed at once
        store._writer.put(event)  # and again in a batch, as a replay would
        store._writer.put(event)
        store.add_result("web", Result(False, "timeout", "no answer", started=T0))
        await store.flush()
        events = await store.events(None, T0 - 1, T0 + 1)
    finally:
        await store.close()
    assert [(e.target, e.at, e.new) for e in events] == [("web", T0, State.DOWN)]


async def test_an_event_whose_target_another_instance_holds_locked_is_kept_for_later(url: str) -> None:
    store = PostgresStore(url, flush_interval=0.05)
    await store.open()
    other = psycopg.connect(url)  # another instance's batch, its transaction still open
    try:
        other.execute("INSERT INTO targets (id) VALUES ('web')")
        event = Event("web", T0, State.UP, State.DOWN, "timeout", "no answer")
        store.add_event(event)  # must not wait for the other transaction: kept instead
        other.rollback()
        await until(lambda: store.health().ok, 15, what="the kept event written")
        await store.flush()
        events = await store.events(None, T0 - 1, T0 + 1)
    finally:
        other.close()
        await store.close()
    assert [(e.target, e.new) for e in events] == [("web", State.DOWN)]
