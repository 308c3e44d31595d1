"""Rendezvous (highest-random-weight) hashing: each target goes to the member whose
hash of (member, target) is highest.

Every instance computes the same answer from the same list of members, with no
coordination; when a member leaves, only its targets move (each to the member with its
next-highest weight), and a member that joins takes about `1/n` of the targets from
the others, never a reshuffle of the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def weight(member: str, target_id: str) -> int:
    """The (member, target) pair's weight: 64 bits of BLAKE2b, the same on every machine."""
    digest = hashlib.blake2b(f"{member}\0{target_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(target_id: str, members: Sequence[str]) -> str:
    """The member that probes `target_id` (ties, which 64 bits make unlikely, go to the
    greater id). `members` must not be empty."""
    return max(members, key=lambda member: (weight(member, target_id), member))
