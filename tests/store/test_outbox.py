"""The durable outbox on every backend (`store.outbox(clock)`): an alert id is queued once
per notifier, ever; a notifier's alerts leave in the order they came; retries, failures
and deliveries are recorded; the keep times of docs/alerts.md hold; alerts held in
memory while it failed are adopted with the status they reached; what was last said
about each target is remembered for ever, for the alert policy to resume from."""

from __future__ import annotations

from dataclasses import replace

from monitor.store import DELIVERED, FAILED, PENDING, RESUME_KINDS, Entry, Outbox
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


def test_head_passes_over_the_entries_it_is_told_to_skip(outbox: Outbox) -> None:
    for ident in ("web:down:1", "web:up:1", "web:down:2"):
        outbox.enqueue(alert(ident, ident.split(":")[1]), ["hook"])
    first = outbox.head("hook")
    assert first is not None
    second = outbox.head("hook", skip={first.seq})
    assert second is not None and second.alert.id == "web:up:1"
    third = outbox.head("hook", skip=[first.seq, second.seq])
    assert third is not None and third.alert.id == "web:down:2"
    assert outbox.head("hook", skip={first.seq, second.seq, third.seq}) is None
    again = outbox.head("hook")  # skipping is no outcome: the first is still first
    assert again is not None and again.seq == first.seq


def test_adopted_entries_keep_the_status_and_attempts_they_reached_in_memory(
    outbox: Outbox, backend: StoreFactory
) -> None:
    now = backend.clock.now
    held = [
        Entry(-1, alert("web:down:1"), "hook", DELIVERED, 1, now, now, now + 5, None),
        Entry(-2, alert("web:up:1", "up"), "hook", PENDING, 2, now + 10, now + 40, None, "HTTP 503"),
    ]
    seqs = outbox.adopt(held)
    first, second = seqs
    assert first is not None and second is not None and 0 < first < second  # in order
    head = outbox.head("hook")
    assert head is not None and head.seq == second
    assert (head.alert, head.attempts, head.next_at, head.error) == (alert("web:up:1", "up"), 2, now + 40, "HTTP 503")
    [done] = outbox.entries(DELIVERED)
    assert (done.seq, done.alert.id, done.attempts, done.done_at) == (first, "web:down:1", 1, now + 5)
    # Remembered like any other: offered again, the delivered one is not sent twice.
    assert outbox.known("web:down:1") == {"hook"}
    assert outbox.enqueue(alert("web:down:1"), ["hook"]) == []
    said = outbox.latest(RESUME_KINDS)
    assert [(a.id, n) for a, n in said["web"]] == [("web:up:1", "hook")]


def test_an_adopted_alert_already_queued_for_its_notifier_is_not_written_twice(
    outbox: Outbox, backend: StoreFactory
) -> None:
    now = backend.clock.now
    outbox.enqueue(alert("web:down:1"), ["a"])
    both = [Entry(-1, alert("web:down:1"), name, PENDING, 0, now, now, None, None) for name in ("a", "b")]
    seqs = outbox.adopt(both)
    assert seqs[0] is None and seqs[1] is not None
    assert outbox.queue_sizes(["a", "b"]) == {"a": 1, "b": 1}


def test_known_names_every_notifier_an_alert_id_was_ever_queued_for(outbox: Outbox, backend: StoreFactory) -> None:
    assert outbox.known("web:down:1") == set()
    outbox.enqueue(alert("web:down:1"), ["a", "b"])
    outbox.enqueue(alert("web:up:1", "up"), ["a"])
    head = outbox.head("b")
    assert head is not None
    outbox.delivered(head.seq)
    backend.clock.now += 8 * DAY
    outbox.prune()  # the delivered entry goes, its id is remembered
    assert outbox.known("web:down:1") == {"a", "b"}
    assert outbox.known("web:up:1") == {"a"}


def test_latest_says_what_was_last_said_about_each_target_to_each_notifier(outbox: Outbox) -> None:
    outbox.enqueue(alert("web:down:1"), ["a", "b"])
    outbox.enqueue(alert("web:up:1", "up"), ["a"])
    outbox.enqueue(replace(alert("mail:down:1"), target="mail"), ["a"])
    outbox.enqueue(alert("web:reminder:1", "reminder"), ["a", "b"])  # not what the policy resumes from
    found = outbox.latest(RESUME_KINDS)
    assert {target: [(a.id, n) for a, n in said] for target, said in found.items()} == {
        "web": [("web:down:1", "b"), ("web:up:1", "a")],  # oldest first
        "mail": [("mail:down:1", "a")],
    }
    downs = outbox.latest(["down"])
    assert [(a.id, n) for a, n in downs["web"]] == [("web:down:1", "a"), ("web:down:1", "b")]
    assert found["web"][1][0] == alert("web:up:1", "up")  # the whole alert, as queued


def test_what_was_last_said_outlives_prune_and_a_restart(outbox: Outbox, backend: StoreFactory) -> None:
    outbox.enqueue(alert("web:down:1"), ["hook"])
    head = outbox.head("hook")
    assert head is not None
    outbox.delivered(head.seq)
    backend.clock.now += 500 * DAY  # past every keep time, the dedup memory's too
    outbox.prune()
    assert outbox.entries() == [] and outbox.known("web:down:1") == set()
    box = backend.restart(outbox)
    assert [(a.id, n) for a, n in box.latest(RESUME_KINDS)["web"]] == [("web:down:1", "hook")]
