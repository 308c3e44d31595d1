"""Citizens' subscriptions and their mail queue on every backend (`store.subscribers(clock)`):
an address is one subscriber whatever its case, a confirmation again replaces what it is
subscribed to, a mail is queued once per key and leaves in order, a removed subscriber's
waiting mails go with it, and the signing key is made once and shared."""

from __future__ import annotations

from monitor.config import Target
from monitor.store import Outgoing, Subscriber
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


def test_sent_mails_are_pruned_and_waiting_ones_kept(backend: StoreFactory) -> None:
    book = backend.subscribers()
    book.enqueue([Outgoing("k1", None, "a@example.go.id", "m1")])
    book.enqueue([Outgoing("k2", None, "a@example.go.id", "m2")])
    head = book.next_mail()
    assert head is not None
    book.sent(head.seq)
    assert book.prune(backend.clock.now - DAY) == 0
    assert book.prune(backend.clock.now + 1) == 1
    assert book.pending() == 1


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
