"""Citizens' subscriptions and their mail queue on every backend (`store.subscribers(clock)`):
an address is one subscriber whatever its case, a confirmation again replaces what it is
subscribed to, a mail is queued once per key and leaves in order, a removed subscriber's
waiting mails go with it, and the signing key is made once and shared."""

from __future__ import annotations

from monitor.config import Target
from monitor.store import Notice, Outgoing, Subscriber
from tests.store.conftest import StoreFactory

DAY = 86400.0


def web(tid: str, group: str = "") -> Target:
    return Target(id=tid, name=tid, kind="http", url=None, spec=None, group=group)


def test_an_address_is_one_subscriber_and_a_new_confirmation_replaces_its_choice(backend: StoreFactory) -> None:
    book = backend.subscribers()
    first = book.confirm("Warga@Example.go.id ", ["web"], [], "id", 10.0)
    again = book.confirm("warga@example.go.id", [], ["Kesehatan"], "en", 20.0)
    assert again == Subscriber(first.id, "warga@example.go.id", (), ("Kesehatan",), "en", 20.0)
    assert book.subscribers() == [again]


def test_a_subscriber_covers_what_they_chose_or_everything(backend: StoreFactory) -> None:
    book = backend.subscribers()
    everything = book.confirm("a@example.go.id", [], [], "id", 1.0)
    chosen = book.confirm("b@example.go.id", ["web"], ["Kesehatan"], "id", 1.0)
    assert everything.covers(web("dns")) and everything.covers(web("web"))
    assert chosen.covers(web("web")) and chosen.covers(web("rs", "Kesehatan"))
    assert not chosen.covers(web("dns")) and not chosen.covers(web("dns", "Jaringan"))


def test_a_mail_is_queued_once_per_key_and_leaves_in_order(backend: StoreFactory) -> None:
    book = backend.subscribers()
    assert book.enqueue([Outgoing("event:1", 7, "a@example.go.id", "first")])
    assert book.enqueue([Outgoing("event:2", 7, "a@example.go.id", "second")])
    assert not book.enqueue([Outgoing("event:1", 7, "a@example.go.id", "first again")])
    assert book.pending() == 2
    head = book.next_mail()
    assert head is not None and (head.key, head.message, head.attempts) == ("event:1", "first", 0)
    book.retry(head.seq, backend.clock.now + 60, "451 try again later")
    head = book.next_mail()  # still the first: a later mail never overtakes it
    assert head is not None and (head.key, head.attempts, head.next_at) == ("event:1", 1, backend.clock.now + 60)
    book.sent(head.seq)
    head = book.next_mail()
    assert head is not None and head.key == "event:2"
    book.failed(head.seq, "550 no such user")
    assert book.next_mail() is None and book.pending() == 0
    assert not book.enqueue([Outgoing("event:1", 7, "a@example.go.id", "sent already")])


def test_removing_a_subscriber_drops_their_waiting_mails(backend: StoreFactory) -> None:
    book = backend.subscribers()
    one = book.confirm("a@example.go.id", [], [], "id", 1.0)
    other = book.confirm("b@example.go.id", [], [], "id", 1.0)
    book.enqueue([Outgoing("event:1:a", one.id, one.address, "to a")])
    book.enqueue([Outgoing("event:1:b", other.id, other.address, "to b")])
    assert book.remove(one.id)
    assert not book.remove(one.id)
    assert book.subscribers() == [other]
    head = book.next_mail()
    assert head is not None and head.recipient == "b@example.go.id" and book.pending() == 1


def test_sent_mails_are_pruned_and_waiting_and_failed_ones_kept(backend: StoreFactory) -> None:
    book = backend.subscribers()
    book.enqueue([Outgoing(f"k{n}", None, "a@example.go.id", f"m{n}") for n in range(4)])
    sent = book.next_mail()
    assert sent is not None and sent.key == "k0"
    book.sent(sent.seq)
    sent_at = backend.clock.now
    backend.clock.now += 60
    failed = book.next_mail()
    assert failed is not None and failed.key == "k1"
    book.failed(failed.seq, "550 no such user")
    retried = book.next_mail()
    assert retried is not None and retried.key == "k2"
    book.retry(retried.seq, backend.clock.now + 3600, "451 try again later")
    assert book.prune(sent_at) == 0  # sent at that moment: not before it
    backend.clock.now += 90 * DAY
    assert book.prune(backend.clock.now) == 1  # the sent one only
    assert book.prune(backend.clock.now) == 0
    assert book.pending() == 2  # k2 waiting for its retry, k3 not tried yet
    assert not book.enqueue([Outgoing("k1", None, "a@example.go.id", "given up, still known")])
    assert book.enqueue([Outgoing("k0", None, "a@example.go.id", "forgotten once sent and pruned")])


def test_a_notice_is_remembered_replaced_and_forgotten(backend: StoreFactory) -> None:
    book = backend.subscribers()
    later = Notice("w2", 2 * DAY, 3 * DAY, ("web",), (), "", 10.0)
    first = Notice("w1", DAY, DAY + 3600, ("web", "dns"), ("Kesehatan",), "Ganti switch", 10.0)
    book.remember_notice(later)
    book.remember_notice(first)
    assert book.notices() == [first, later]  # by start
    moved = Notice("w1", DAY, DAY + 7200, ("web",), (), "Ganti switch inti", 20.0)
    book.remember_notice(moved)
    assert book.notices() == [moved, later]
    book.forget_notice("w1")
    book.forget_notice("nothing")
    assert backend.subscribers().notices() == [later]  # shared by every connection


def test_the_signing_key_is_made_once_and_shared(backend: StoreFactory) -> None:
    key = backend.subscribers().secret()
    assert len(key) == 32
    assert backend.subscribers().secret() == key


def test_two_instances_never_send_the_same_mail_at_once(backend: StoreFactory) -> None:
    first, second = backend.subscribers(), backend.subscribers()
    first.enqueue([Outgoing("k1", None, "a@example.go.id", "m1"), Outgoing("k2", None, "b@example.go.id", "m2")])
    taken = first.next_mail()
    assert taken is not None and taken.key == "k1"
    held = second.next_mail()  # the oldest is the first one's: wait for its claim, never the next
    assert held is not None and held.key == "k1" and held.next_at > backend.clock.now
    first.sent(taken.seq)
    after = second.next_mail()
    assert after is not None and after.key == "k2" and after.next_at <= backend.clock.now
    # A claim of an instance that went away ends by itself.
    assert first.next_mail() is not None and first.next_mail().next_at > backend.clock.now  # type: ignore[union-attr]
    backend.clock.now = held.next_at
    again = first.next_mail()
    assert again is not None and again.key == "k2" and again.next_at <= backend.clock.now
