"""Rendezvous hashing: every member computes the same split, the split is even, and a
member leaving or joining moves only the targets it must."""

from __future__ import annotations

from collections import Counter

from monitor.cluster import owner

TARGETS = [f"target-{n}" for n in range(3000)]


def test_it_splits_the_targets_about_evenly() -> None:
    counts = Counter(owner(t, ["a", "b", "c"]) for t in TARGETS)
    assert set(counts) == {"a", "b", "c"}
    assert all(800 <= n <= 1200 for n in counts.values()), counts


def test_every_member_computes_the_same_owner_whatever_the_order_of_the_list() -> None:
    assert [owner(t, ["a", "b", "c"]) for t in TARGETS] == [owner(t, ["c", "a", "b"]) for t in TARGETS]


def test_a_member_leaving_moves_only_its_own_targets() -> None:
    before = {t: owner(t, ["a", "b", "c"]) for t in TARGETS}
    after = {t: owner(t, ["a", "b"]) for t in TARGETS}
    moved = {t for t in TARGETS if before[t] != after[t]}
    assert moved == {t for t in TARGETS if before[t] == "c"}


def test_a_member_joining_takes_targets_only_for_itself() -> None:
    before = {t: owner(t, ["a", "b"]) for t in TARGETS}
    after = {t: owner(t, ["a", "b", "c"]) for t in TARGETS}
    assert all(after[t] in (before[t], "c") for t in TARGETS)
