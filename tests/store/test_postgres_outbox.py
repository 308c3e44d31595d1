"""The PostgreSQL outbox's own machinery: claims that another instance's outbox on the
same table respects without waiting on them (`FOR UPDATE SKIP LOCKED`), a damaged row
failed instead of blocking its queue, and refreshes left out of the dedup memory."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from monitor.store.postgres.outbox import CLAIM_SECONDS, PostgresOutbox
from tests.alertkit import alert
from tests.history import T0, Clock
from tests.postgresql import PostgreSQL

pytestmark = pytest.mark.integration


@pytest.fixture
def url(postgresql: PostgreSQL) -> Iterator[str]:
    url = postgresql.create_database()
    yield url
    postgresql.drop_database(url)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def boxes(url: str, clock: Clock) -> Iterator[tuple[PostgresOutbox, PostgresOutbox]]:
    """Two instances' outboxes on one database."""
    first, second = PostgresOutbox(url, clock), PostgresOutbox(url, clock)
    first.open()
    second.open()
    yield first, second
    first.close()
    second.close()


def test_a_claimed_alert_is_not_sent_by_another_instance_until_the_claim_ends(
    boxes: tuple[PostgresOutbox, PostgresOutbox], clock: Clock
) -> None:
    mine, theirs = boxes
    mine.enqueue(alert("web:down:1"), ["hook"])
    mine.enqueue(alert("web:up:1", "up"), ["hook"])
    claimed = mine.head("hook")
    assert claimed is not None and claimed.next_at == T0
    # The other instance sees the same first alert, due only once the claim has ended,
    # and never the second one ahead of it.
    held = theirs.head("hook")
    assert held is not None and held.seq == claimed.seq
    assert held.next_at > T0 + CLAIM_SECONDS
    again = mine.head("hook")  # the claimant's own claim does not hold it back
    assert again is not None and again.next_at == T0
    mine.close()  # a clean stop gives the claims up
    taken = theirs.head("hook")
    assert taken is not None and (taken.seq, taken.next_at) == (claimed.seq, T0)


def test_a_claim_of_an_instance_that_died_expires(
    boxes: tuple[PostgresOutbox, PostgresOutbox], clock: Clock, url: str
) -> None:
    dead, alive = boxes
    dead.enqueue(alert("web:down:1"), ["hook"])
    assert dead.head("hook") is not None
    dead.claimant = "a process killed with -9"  # its claim is never given up
    clock.now += CLAIM_SECONDS + 1
    taken = alive.head("hook")
    assert taken is not None and taken.next_at == T0
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT claimed_by FROM outbox").fetchone() == (alive.claimant,)


def test_head_skips_a_row_locked_elsewhere_instead_of_waiting(
    boxes: tuple[PostgresOutbox, PostgresOutbox], url: str
) -> None:
    box, _ = boxes
    box.enqueue(alert("web:down:1"), ["hook"])
    box.enqueue(alert("web:up:1", "up"), ["hook"])
    box.db.execute("SET lock_timeout = '5s'")  # waiting would fail the test, not hang it
    with psycopg.connect(url) as other:
        other.execute("SELECT seq FROM outbox WHERE alert_id = 'web:down:1' FOR UPDATE")
        busy = box.head("hook")
        assert busy is not None and busy.alert.id == "web:down:1"  # not the next one
        assert busy.next_at > T0  # looked at again shortly
    free = box.head("hook")
    assert free is not None and (free.alert.id, free.next_at) == ("web:down:1", T0)


def test_an_unreadable_row_is_failed_instead_of_blocking_the_queue(url: str, clock: Clock) -> None:
    box = PostgresOutbox(url, clock)
    box.open()
    try:
        box.enqueue(alert("web:down:1"), ["hook"])
        box.enqueue(alert("web:down:2"), ["hook"])
        box.db.execute("UPDATE outbox SET alert = '{\"id\": \"web:down:1\"}' WHERE alert_id = 'web:down:1'")
        head = box.head("hook")
        assert head is not None and head.alert.id == "web:down:2"
        [failed] = box.entries("failed")
        assert (failed.alert.id, failed.alert.target) == ("web:down:1", "web")
        assert failed.error is not None and failed.error.startswith("unreadable alert")
    finally:
        box.close()


def test_a_refresh_leaves_no_row_in_the_dedup_table(url: str, clock: Clock) -> None:
    box = PostgresOutbox(url, clock)
    box.open()
    try:
        box.enqueue(alert("web:refresh:1", "refresh"), ["am"])
        box.enqueue(alert("web:refresh:2", "refresh"), ["am"])
        assert [e.alert.id for e in box.entries()] == ["web:refresh:2"]
        assert box.db.execute("SELECT COUNT(*) FROM outbox_seen").fetchone() == (0,)
    finally:
        box.close()
