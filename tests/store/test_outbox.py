"""The durable outbox on every backend (`store.outbox(clock)`): an alert id is queued once
per notifier, ever; a notifier's alerts leave in the order they came; retries, failures
and deliveries are recorded; the keep times of docs/alerts.md hold."""

from __future__ import annotations

from monitor.store import DELIVERED, FAILED, PENDING, Outbox
from tests.alertkit import alert
from tests.store.conftest import StoreFactory

DAY = 86400.0


def test_it_queues_an_alert_id_once_per_notifier(backend: StoreFactory) -> None:
    box = backend.outbox()
    assert box.enqueue(alert(), ["a", "b"]) == ["a", "b"]
    assert box.enqueue(alert(), ["a", "b", "c"]) == ["c"]
    assert box.queue_sizes(["a", "b", "c", "d"]) == {"a": 1, "b": 1, "c": 1, "d": 0}
    # Still remembered after a restart, even once delivered.
    box = backend.restart(box)
    head = box.head("a")
    assert head is not None and head.alert == alert()
    box.delivered(head.seq)
    assert box.enqueue(alert(), ["a"]) == []


def test_it_prunes_delivered_entries_but_remembers_their_ids(outbox: Outbox, backend: StoreFactory) -> None:
    outbox.enqueue(alert(), ["a"])
    head = outbox.head("a")
    assert head is not None
    outbox.delivered(head.seq)
    backend.clock.now += 6 * DAY
    outbox.prune()
    assert [e.status for e in outbox.entries()] == [DELIVERED]  # kept 7 days
    backend.clock.now += 2 * DAY
    outbox.prune()
    assert outbox.entries() == []
    assert outbox.enqueue(alert(), ["a"]) == []


def test_a_newer_refresh_replaces_one_still_waiting(outbox: Outbox, backend: StoreFactory) -> None:
    outbox.enqueue(alert("web:refresh:1", "refresh"), ["am"])
    outbox.enqueue(alert("web:refresh:2", "refresh"), ["am"])
    assert [e.alert.id for e in outbox.entries()] == ["web:refresh:2"]
    # Only the same notifier's: another one still has its own.
    outbox.enqueue(alert("web:refresh:2", "refresh"), ["tg"])
    outbox.enqueue(alert("web:refresh:3", "refresh"), ["am"])
    assert [(e.notifier, e.alert.id) for e in outbox.entries()] == [("am", "web:refresh:3"), ("tg", "web:refresh:2")]
    # Not remembered either: once delivered and pruned, the same refresh queues again.
    head = outbox.head("am")
    assert head is not None
    outbox.delivered(head.seq)
    backend.clock.now += 8 * DAY
    outbox.prune()
    assert outbox.enqueue(alert("web:refresh:3", "refresh"), ["am"]) == ["am"]


def test_a_notifiers_alerts_leave_in_the_order_they_came(outbox: Outbox) -> None:
    outbox.enqueue(alert("web:down:1"), ["a", "b"])
    outbox.enqueue(alert("web:up:1", "up"), ["a"])
    outbox.enqueue(alert("web:down:2"), ["a", "b"])
    sent = []
    while (head := outbox.head("a")) is not None:
        assert head.status == PENDING and head.notifier == "a"
        sent.append(head.alert.id)
        outbox.delivered(head.seq)
    assert sent == ["web:down:1", "web:up:1", "web:down:2"]
    assert outbox.queue_sizes() == {"b": 2}  # only notifiers with alerts waiting
    head = outbox.head("b")
    assert head is not None and head.alert.id == "web:down:1"


def test_a_retry_counts_the_attempt_and_keeps_the_alert_first_in_line(outbox: Outbox, backend: StoreFactory) -> None:
    outbox.enqueue(alert("web:down:1"), ["hook"])
    outbox.enqueue(alert("web:up:1", "up"), ["hook"])
    first = outbox.head("hook")
    assert first is not None and (first.attempts, first.error) == (0, None)
    assert first.created == first.next_at == backend.clock.now
    outbox.retry(first.seq, backend.clock.now + 30, "HTTP 503")
    outbox.retry(first.seq, backend.clock.now + 60, "timeout")
    again = outbox.head("hook")
    assert again is not None and again.seq == first.seq
    assert (again.status, again.attempts, again.next_at, again.error) == (PENDING, 2, backend.clock.now + 60, "timeout")
    assert outbox.queue_sizes(["hook"]) == {"hook": 2}


def test_a_failed_alert_leaves_the_queue_with_its_error_and_is_kept_30_days(
    outbox: Outbox, backend: StoreFactory
) -> None:
    outbox.enqueue(alert("web:down:1"), ["hook"])
    outbox.enqueue(alert("web:up:1", "up"), ["hook"])
    head = outbox.head("hook")
    assert head is not None
    outbox.failed(head.seq, "HTTP 404: Not Found")
    after = outbox.head("hook")
    assert after is not None and after.alert.id == "web:up:1"
    [failed] = outbox.entries(FAILED)
    assert (failed.seq, failed.alert, failed.error) == (head.seq, alert("web:down:1"), "HTTP 404: Not Found")
    assert failed.done_at == backend.clock.now
    assert outbox.queue_sizes(["hook"]) == {"hook": 1}
    assert outbox.enqueue(alert("web:down:1"), ["hook"]) == []  # never retried
    backend.clock.now += 29 * DAY
    outbox.prune()
    assert [e.alert.id for e in outbox.entries(FAILED)] == ["web:down:1"]
    backend.clock.now += 2 * DAY
    outbox.prune()
    assert outbox.entries(FAILED) == []


def test_alerts_waiting_for_a_notifier_no_longer_configured_are_failed(outbox: Outbox) -> None:
    outbox.enqueue(alert("web:down:1"), ["kept", "gone", "also-gone"])
    outbox.enqueue(alert("web:up:1", "up"), ["gone"])
    done = outbox.head("also-gone")
    assert done is not None
    outbox.delivered(done.seq)
    assert outbox.fail_orphans(["kept"], "notifier no longer configured") == 2
    assert outbox.queue_sizes(["kept", "gone", "also-gone"]) == {"kept": 1, "gone": 0, "also-gone": 0}
    failed = outbox.entries(FAILED)
    assert {(e.notifier, e.alert.id) for e in failed} == {("gone", "web:down:1"), ("gone", "web:up:1")}
    assert {e.error for e in failed} == {"notifier no longer configured"}
    assert [e.status for e in outbox.entries() if e.notifier == "also-gone"] == [DELIVERED]
    assert outbox.fail_orphans(["kept"], "notifier no longer configured") == 0


def test_entries_are_listed_newest_first_by_status_and_up_to_a_limit(outbox: Outbox) -> None:
    for n in range(5):
        outbox.enqueue(alert(f"web:down:{n}"), ["hook"])
    head = outbox.head("hook")
    assert head is not None
    outbox.delivered(head.seq)
    listed = outbox.entries()
    assert [e.alert.id for e in listed] == [f"web:down:{n}" for n in (4, 3, 2, 1, 0)]
    assert [e.seq for e in listed] == sorted((e.seq for e in listed), reverse=True)
    assert [e.alert.id for e in outbox.entries(limit=2)] == ["web:down:4", "web:down:3"]
    assert [e.alert.id for e in outbox.entries(PENDING, limit=10)] == [f"web:down:{n}" for n in (4, 3, 2, 1)]
    assert [e.alert.id for e in outbox.entries(DELIVERED)] == ["web:down:0"]
